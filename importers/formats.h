#pragma once
// The parsers, one per format. Each fills pages (and metadata) of its documents; parseFile() chunks them.

#include "importers/parse.h"

namespace lectern::importers {

// "\r\n" and lone "\r" become "\n", so that offsets mean the same in every format.
QString normalizedLineEnds(QString text);

// HTML markup to plain text; the <title>, when asked for.
QString htmlToText(const QString& html, QString* title);

ParseResult parsePdf(const ParseInput& input);
ParseResult parseText(const ParseInput& input, const QString& format, const QString& language);
ParseResult parseHtml(const ParseInput& input);
ParseResult parseOfficeZip(const ParseInput& input, const QString& format); // "docx" or "odt"
ParseResult parseEmail(const ParseInput& input);
ParseResult parseMailbox(const ParseInput& input);

} // namespace lectern::importers
