#pragma once
// Documents built by hand for the store tests: the shapes an importer produces, with anchors that hold.

#include "importers/document.h"

#include <QCryptographicHash>
#include <QStringList>

namespace lectern::store::testing {

// A stand-in for the importer's xxh3-128: 32 hex digits determined by `seed`.
inline QString fakeHash(const QString& seed) {
    return QString::fromLatin1(QCryptographicHash::hash(seed.toUtf8(), QCryptographicHash::Md5).toHex());
}

// One page per entry of `pageTexts`; each page is cut into passages at blank lines ("\n\n").
inline importers::Document makeDocument(const QString& path, const QStringList& pageTexts,
                                        const QString& hashSeed = {}) {
    importers::Document document;
    document.path = path;
    document.contentHash = fakeHash(hashSeed.isEmpty() ? pageTexts.join(u'|') : hashSeed);
    document.format = QStringLiteral("pdf");
    document.title = QStringLiteral("Title of ") + path.section(u'/', -1);
    int ordinal = 0;
    for (int n = 0; n < pageTexts.size(); ++n) {
        importers::Page page;
        page.number = n + 1;
        page.text = pageTexts[n];
        page.size = QSizeF(612, 792);
        qsizetype start = 0;
        while (start < page.text.size()) {
            qsizetype end = page.text.indexOf(QStringLiteral("\n\n"), start);
            if (end < 0) end = page.text.size();
            importers::Passage passage;
            passage.ordinal = ordinal;
            passage.id = document.contentHash.left(16) + u':' + QString::number(ordinal);
            passage.page = page.number;
            passage.range = {start, end};
            passage.text = page.text.mid(start, end - start);
            passage.boxes = {QRectF(72, 72 + 14.0 * ordinal, 400, 12.5)};
            passage.tokens = static_cast<int>(passage.text.size() / 4 + 1);
            document.passages.push_back(passage);
            ++ordinal;
            start = end + 2;
        }
        // One word box per word, as a PDF importer records them.
        qsizetype wordStart = -1;
        for (qsizetype i = 0; i <= page.text.size(); ++i) {
            const bool letter = i < page.text.size() && !page.text[i].isSpace();
            if (letter && wordStart < 0) wordStart = i;
            if (!letter && wordStart >= 0) {
                page.words.push_back(
                    {{wordStart, i}, QRectF(72 + wordStart * 5.0, 100.0 + n, (i - wordStart) * 5.0, 11)});
                wordStart = -1;
            }
        }
        document.pages.push_back(page);
    }
    return document;
}

} // namespace lectern::store::testing
