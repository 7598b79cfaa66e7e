#pragma once
// Hand-made documents for the answers tests: pages laid out as monospaced lines (6 pt per character,
// 12 pt per line, one box per word) and one passage per paragraph.

#include "importers/document.h"

namespace lectern::test {

using importers::Document;
using importers::Page;
using importers::Passage;
using importers::TextRange;
using importers::WordBox;

// A page laid out as monospaced lines: 6 pt per character, 12 pt per line, one box per word.
inline Page makePage(int number, const QString& text, bool geometry) {
    Page page;
    page.number = number;
    page.text = text;
    if (geometry) page.size = QSizeF(612, 792);
    qsizetype line_start = 0;
    int line = 0;
    for (qsizetype i = 0; i <= text.size(); ++i) {
        if (i < text.size() && text[i] != u'\n') continue;
        for (qsizetype j = line_start; j < i;) {
            while (j < i && text[j].isSpace()) ++j;
            const qsizetype start = j;
            while (j < i && !text[j].isSpace()) ++j;
            if (j == start) break;
            const QRectF rect = geometry ? QRectF(72 + 6.0 * double(start - line_start), 72 + 12.0 * line,
                                                  6.0 * double(j - start), 10)
                                         : QRectF();
            page.words.append(WordBox{TextRange{start, j}, rect});
        }
        line_start = i + 1;
        ++line;
    }
    return page;
}

// Passages are the page's paragraphs (blank-line separated); ids use the document's contentHash.
inline void addPassages(Document& document, const Page& page) {
    qsizetype start = 0;
    while (start < page.text.size()) {
        qsizetype end = page.text.indexOf(QStringLiteral("\n\n"), start);
        if (end < 0) end = page.text.size();
        Passage passage;
        passage.ordinal = int(document.passages.size());
        passage.id = document.contentHash.left(16) + QStringLiteral(":%1").arg(passage.ordinal);
        passage.page = page.number;
        passage.range = {start, end};
        passage.text = page.text.mid(start, end - start);
        document.passages.append(passage);
        start = end + 2;
    }
}

} // namespace lectern::test
