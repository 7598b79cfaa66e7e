#pragma once
// The parsers, one per format. Each fills pages (and metadata) of its documents; parseFile() chunks them.

#include "importers/parse.h"

namespace lectern::importers {

ParseResult parsePdf(const ParseInput& input);
ParseResult parseText(const ParseInput& input, const QString& format, const QString& language);
ParseResult parseHtml(const ParseInput& input);
ParseResult parseOfficeZip(const ParseInput& input, const QString& format); // "docx" or "odt"
ParseResult parseEmail(const ParseInput& input);
ParseResult parseMailbox(const ParseInput& input);

} // namespace lectern::importers
