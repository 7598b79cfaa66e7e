#pragma once
// What the conversation pane shows for one question: filled by whoever drives the model (the inference
// worker and app/answers), read by AnswerWidget. Plain data, so a stream can update it piece by piece.

#include "ui/viewer/location.h"

#include <QList>
#include <QString>

namespace lectern::ui {

struct CitationChip {
    int number = 0;              // [n] as the answer shows it
    QString quote;               // the words quoted, as the model wrote them
    QString documentTitle;       // how the document is called in the UI
    Location location;           // where the quote is: page, boxes or character range
    bool flagged = false;        // the quote could not be verified against the passage
    QString flagReason;          // plain words: "the quoted words are not in passage P12"
    QString verification;        // answers::toString(): "exact", "fuzzy", "not-found", ... (for export)
    qsizetype answerOffset = -1; // where [n] goes in AnswerViewModel::markdown; -1: only as a chip
};

struct LookedAtPassage {
    QString documentTitle;
    QString excerpt; // the passage's first words
    Location location;
    double weight = 0.0; // its share of the model's sparse attention over the answer, 0..1
    bool cited = false;  // the answer cites it as well
};

struct AnswerViewModel {
    QString question;
    QString thinking; // empty: no thinking section
    QString markdown; // the answer without its citation brackets
    QList<CitationChip> citations;
    QList<LookedAtPassage> lookedAt;
    bool streaming = false; // still being written
    QString error;          // why the answer stopped, in plain words; empty when it did not fail
};

// "report.pdf, page 12" for a tooltip or a list.
QString describeLocation(const QString& documentTitle, const Location& location);

} // namespace lectern::ui
