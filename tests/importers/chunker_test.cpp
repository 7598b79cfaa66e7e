// The chunker: passages at sentence and paragraph boundaries, within the target, covering the text,
// with stable ids and line-merged boxes.

#include "importers/chunker.h"

#include <QRegularExpression>
#include <QTest>

using namespace lectern::importers;

namespace {

Document documentWith(const QList<Page>& pages) {
    Document document;
    document.contentHash = QStringLiteral("0123456789abcdef0123456789abcdef");
    document.pages = pages;
    return document;
}

Page textPage(int number, const QString& text) {
    Page page;
    page.number = number;
    page.text = text;
    return page;
}

QString sentences(int paragraph, int count) {
    QStringList out;
    for (int i = 0; i < count; ++i)
        out.append(QStringLiteral("Paragraph %1 sentence %2 says something plain about the matter.")
                       .arg(paragraph)
                       .arg(i));
    return out.join(QLatin1Char(' '));
}

QString nonSpace(QString text) {
    return text.remove(QRegularExpression(QStringLiteral("\\s")));
}

} // namespace

class ChunkerTest : public QObject {
    Q_OBJECT

private slots:
    void passagesFollowSentencesAndCoverTheText() {
        const QString text = sentences(1, 11) + QStringLiteral("\n\n") + sentences(2, 3) +
                             QStringLiteral("\n\n") + sentences(3, 14);
        Document document = documentWith({textPage(1, text), textPage(2, sentences(4, 2))});
        const int target = 64;
        chunkDocument(document, target);
        QVERIFY(document.passages.size() > 4);
        QString covered;
        qsizetype previousEnd = 0;
        int previousPage = 1;
        for (qsizetype i = 0; i < document.passages.size(); ++i) {
            const Passage& passage = document.passages[i];
            QCOMPARE(passage.ordinal, int(i));
            QCOMPARE(passage.id, QStringLiteral("0123456789abcdef:%1").arg(i));
            const Page& page = document.pages[passage.page - 1];
            if (passage.page != previousPage) previousEnd = 0;
            previousPage = passage.page;
            QVERIFY(passage.range.start >= previousEnd);
            previousEnd = passage.range.end;
            QCOMPARE(passage.text,
                     page.text.mid(passage.range.start, passage.range.end - passage.range.start));
            QVERIFY2(passage.tokens <= target, qPrintable(passage.text));
            QVERIFY(passage.text.startsWith(QStringLiteral("Paragraph")));
            QVERIFY(passage.text.endsWith(QLatin1Char('.')));
            covered += passage.text;
        }
        QCOMPARE(nonSpace(covered), nonSpace(text + sentences(4, 2)));
        // The short second paragraph starts its own passage rather than finishing the first one's.
        bool paragraphStart = false;
        for (const Passage& passage : document.passages)
            paragraphStart =
                paragraphStart || passage.text.startsWith(QStringLiteral("Paragraph 2 sentence 0"));
        QVERIFY(paragraphStart);

        Document again = documentWith(document.pages);
        chunkDocument(again, target);
        QCOMPARE(again.passages.size(), document.passages.size());
        for (qsizetype i = 0; i < again.passages.size(); ++i) {
            QCOMPARE(again.passages[i].id, document.passages[i].id);
            QCOMPARE(again.passages[i].text, document.passages[i].text);
        }
    }

    void runawayTextIsCut() {
        QString text(5000, QLatin1Char('x'));
        text += QString::fromUtf16(u"\U0001F600").repeated(300); // surrogate pairs
        Document document = documentWith({textPage(1, text)});
        chunkDocument(document, 32);
        QString joined;
        for (const Passage& passage : document.passages) {
            QVERIFY(passage.text.size() <= 32 * 4);
            QVERIFY(!passage.text.front().isLowSurrogate());
            QVERIFY(!passage.text.back().isHighSurrogate());
            joined += passage.text;
        }
        QCOMPARE(joined, text);
    }

    void boxesMergeByLine() {
        Page page = textPage(1, QStringLiteral("one two\nthree"));
        page.size = QSizeF(612, 792);
        page.words = {{{0, 3}, QRectF(72, 90, 20, 12)},
                      {{4, 7}, QRectF(96, 90, 20, 12)},
                      {{8, 13}, QRectF(72, 106, 30, 12)}};
        Document document = documentWith({page});
        chunkDocument(document, 64);
        QCOMPARE(document.passages.size(), 1);
        const QList<QRectF> boxes = document.passages[0].boxes;
        QCOMPARE(boxes.size(), 2);
        QCOMPARE(boxes[0], QRectF(72, 90, 44, 12));
        QCOMPARE(boxes[1], QRectF(72, 106, 30, 12));
    }

    void runningHeadersStayOutOfPassages() {
        Page page = textPage(1, QStringLiteral("CONFIDENTIAL\n\nThe body.\n\nPage 1"));
        page.repeated = {{0, 12}, {25, 31}};
        Document document = documentWith({page});
        chunkDocument(document, 64);
        QCOMPARE(document.passages.size(), 1);
        QCOMPARE(document.passages[0].text, QStringLiteral("The body."));
        QCOMPARE(document.passages[0].range.start, 14);
    }
};

QTEST_MAIN(ChunkerTest)
#include "chunker_test.moc"
