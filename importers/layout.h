#pragma once
// From positioned words (a PDF text layer or OCR) to a Page: the page text in reading order with each
// word's range and box, hyphenation at line ends joined; and running headers/footers across pages.

#include "importers/document.h"

#include <QList>
#include <QRectF>
#include <QString>

namespace lectern::importers {

struct LayoutWord {
    QString text;
    QRectF rect; // points, top-left origin, as displayed
    bool lineEnd = false;
    bool paragraphEnd = false; // implies lineEnd
};

// Words are joined by one space, lines by "\n", paragraphs by "\n\n". A line ending in "-" whose next
// line starts with a lower-case letter is joined without the hyphen: the hyphen leaves the text and the
// first part's range, both parts keep their boxes.
Page buildPage(int number, QSizeF size, const QList<LayoutWord>& words);

// Marks lines in the top or bottom margin whose text (digits ignored) comes back on several pages.
void markRepeatedLines(QList<Page>& pages);

} // namespace lectern::importers
