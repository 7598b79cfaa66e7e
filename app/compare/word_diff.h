#pragma once
// The word-level redline of two texts: both are cut into tokens (words, runs of white space, single
// punctuation marks; Unicode word boundaries, so CJK text is compared character by character) and the
// token sequences are diffed with Myers' O(ND) algorithm in linear space. The result names every span
// by its character range in BOTH texts, so a viewer can highlight either side.
//
// Ranges are UTF-16 offsets (QString indices), half-open, like importers::TextRange everywhere else.
// A deleted span has an empty right range at the place where it would have been, and vice versa.

#include "importers/document.h"
#include "kernels/result.h"

#include <QList>
#include <QString>

namespace lectern::compare {

using importers::TextRange;

enum class SpanKind { Equal, Deleted, Inserted };

struct DiffSpan {
    SpanKind kind = SpanKind::Equal;
    TextRange left;  // in the left (old) text
    TextRange right; // in the right (new) text
};

// One change as a reader counts it: a run of deleted and/or inserted spans between two equal ones.
// Either range may be empty (a pure insertion or deletion).
struct Change {
    TextRange left;
    TextRange right;
};

struct Redline {
    QList<DiffSpan> spans; // in order, covering both texts completely
    QList<Change> changes;
    qsizetype leftTokens = 0;
    qsizetype rightTokens = 0;
};

struct CompareLimits {
    // About one million words a side; the token arrays and the index stay under ~100 MB.
    qsizetype maxTokens = 2'000'000;
    // Diagonals visited by the search; bounds the time (about 1 s on a 2-core build machine) when two
    // texts barely share anything. Texts with a few thousand changes stay far below it.
    qsizetype maxWork = 100'000'000;
};

// Fails, with a sentence saying why and what to do, when a text is longer than the limits allow or the
// texts differ too much to be compared word by word within them.
Result<Redline> compareTexts(const QString& left, const QString& right, const CompareLimits& limits = {});

// A paged document flattened for the redline: page texts joined by a blank line, with the offset at
// which each page starts, so that a span maps back to a page and an offset in that page's text.
struct PagedText {
    QString text;
    QList<qsizetype> pageStarts; // in `text`
    QList<int> pageNumbers;      // Page::number of each page
};

struct PagePosition {
    int page = 0;         // Page::number; 0 for an empty document
    qsizetype offset = 0; // in that page's text
};

PagedText joinPages(const QList<importers::Page>& pages);
// An offset inside a page separator maps to the end of the page before it.
PagePosition locate(const PagedText& paged, qsizetype offset);

} // namespace lectern::compare
