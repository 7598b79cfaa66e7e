#pragma once
// Export of an answer or a whole conversation to Markdown and PDF, each citation as a footnote naming
// the document (title and path), the page, the quote and whether the quote was verified. The PDF is laid
// out by QTextDocument from the same content (the answer's Markdown, then its notes) and written by
// QPdfWriter, so it needs a QGuiApplication (the GUI has one; a command-line caller creates one on the
// offscreen platform).

#include "kernels/result.h"

#include <QList>
#include <QString>

namespace lectern::answers {
class Corpus;
struct VerifiedCitation;
} // namespace lectern::answers

namespace lectern::exporting {

struct ExportCitation {
    qsizetype answerOffset = 0; // where the citation stood in the answer text (Citation::answer_offset)
    QString document;           // the title, or else the file name
    QString path;
    int page = 0; // Page::number; 0 when the passage names no page
    QString quote;
    QString verification; // answers::toString(): "exact", "normalized", "fuzzy", "not-found", ...
    bool verified = false;
};

struct ExportAnswer {
    QString question;
    QString answer; // Markdown, without the citation brackets (CitationParser::answerText())
    QList<ExportCitation> citations;
};

struct ExportConversation {
    QString title;
    QList<ExportAnswer> answers; // one for "export this answer"
};

ExportCitation toExportCitation(const answers::VerifiedCitation& citation, const answers::Corpus& corpus);

// Footnotes are numbered through the whole conversation ([^1], [^2], ...) in the order they appear.
QString toMarkdown(const ExportConversation& conversation);

Result<void> writeMarkdown(const QString& path, const ExportConversation& conversation);
Result<void> writePdf(const QString& path, const ExportConversation& conversation);

} // namespace lectern::exporting
