// The redline engine: the two sample leases (every amended term found, nothing else), edge cases,
// Unicode and CJK, page mapping, and the bounds on size and work.
#include "app/compare/word_diff.h"

#include <QElapsedTimer>
#include <QFile>
#include <QRandomGenerator>
#include <QtTest>

using namespace lectern::compare;

namespace {

QString readSample(const char* name) {
    QFile file(QStringLiteral(LECTERN_SOURCE_DIR "/resources/sample-corpus/") + QLatin1String(name));
    if (!file.open(QIODevice::ReadOnly)) qFatal("cannot read %s", name);
    return QString::fromUtf8(file.readAll());
}

QString slice(const QString& text, TextRange range) {
    return text.mid(range.start, range.end - range.start);
}

// Rebuilds both texts from the spans: the spans must cover each text exactly, in order.
void checkCoverage(const QString& left, const QString& right, const Redline& redline) {
    QString rebuilt_left, rebuilt_right;
    qsizetype left_at = 0, right_at = 0;
    for (const DiffSpan& span : redline.spans) {
        QCOMPARE(span.left.start, left_at);
        QCOMPARE(span.right.start, right_at);
        if (span.kind == SpanKind::Equal) QCOMPARE(slice(left, span.left), slice(right, span.right));
        if (span.kind == SpanKind::Deleted) QCOMPARE(span.right.start, span.right.end);
        if (span.kind == SpanKind::Inserted) QCOMPARE(span.left.start, span.left.end);
        rebuilt_left += slice(left, span.left);
        rebuilt_right += slice(right, span.right);
        left_at = span.left.end;
        right_at = span.right.end;
    }
    QCOMPARE(rebuilt_left, left);
    QCOMPARE(rebuilt_right, right);
}

// For failure messages: every change as [deleted|inserted].
QString describe(const QString& left, const QString& right, const Redline& redline) {
    QString out;
    for (const Change& change : redline.changes)
        out += QStringLiteral("[%1|%2] ").arg(slice(left, change.left), slice(right, change.right));
    return out;
}

Redline compareOk(const QString& left, const QString& right, const CompareLimits& limits = {}) {
    auto result = compareTexts(left, right, limits);
    if (!result) qFatal("compare failed: %s", result.error().c_str());
    checkCoverage(left, right, *result);
    return std::move(result).value();
}

} // namespace

class WordDiffTest : public QObject {
    Q_OBJECT
private slots:
    void leasesShowExactlyTheAmendedTerms() {
        const QString before = readSample("lease-agreement.md");
        const QString after = readSample("lease-agreement-amended.md");
        const Redline redline = compareOk(before, after);

        struct Expected {
            QString deleted, inserted, leftContext, rightContext;
        };
        // Each change with the words around it, to pin its position in both texts.
        const QList<Expected> expected = {
            {"", " (Consolidated with First Amendment)", "Lease Agreement\n",
             "Agreement (Consolidated with First Amendment)\n"},
            {"", ", as amended by the First Amendment dated 14 August 2025", "3 February 2024 between",
             "3 February 2024, as amended by the First Amendment dated 14 August 2025 between"},
            {"2027", "2029", "31 March 2027 (", "31 March 2029 ("},
            {"214,000", "226,000 from 1 October 2025", "$214,000, payable", "$226,000 from 1 October 2025,"},
            {"3", "2.5", "by 3% on", "by 2.5% on"},
            {"2,000,000", "5,000,000", "$2,000,000 per", "$5,000,000 per"},
            {" shall not unreasonably withhold or delay",
             " may withhold at its discretion where the proposed assignee is a competitor of the Landlord's "
             "other tenants at Dock Road",
             "Landlord shall not unreasonably withhold or delay.",
             "Landlord may withhold at its discretion where the proposed assignee is a competitor of the "
             "Landlord's other tenants at Dock Road."},
        };
        QVERIFY2(redline.changes.size() == expected.size(), qPrintable(describe(before, after, redline)));
        for (qsizetype i = 0; i < expected.size(); ++i) {
            const Change& change = redline.changes[i];
            QCOMPARE(slice(before, change.left), expected[i].deleted);
            QCOMPARE(slice(after, change.right), expected[i].inserted);
            // The ranges sit where the surrounding words are, in each text.
            const qsizetype left_context = before.indexOf(expected[i].leftContext);
            const qsizetype right_context = after.indexOf(expected[i].rightContext);
            QVERIFY(left_context >= 0 && right_context >= 0);
            QVERIFY(change.left.start >= left_context &&
                    change.left.end <= left_context + expected[i].leftContext.size());
            QVERIFY(change.right.start >= right_context &&
                    change.right.end <= right_context + expected[i].rightContext.size());
        }
        // The figures, by value, in both texts.
        const qsizetype old_year = before.indexOf("31 March 2027") + 9;
        const qsizetype new_year = after.indexOf("31 March 2029") + 9;
        QCOMPARE(redline.changes[2].left.start, old_year);
        QCOMPARE(redline.changes[2].right.start, new_year);
        QCOMPARE(redline.changes[2].right.end, new_year + 4);
        // Spans: a replaced term is a deletion followed by an insertion.
        int deleted = 0, inserted = 0;
        for (const DiffSpan& span : redline.spans) {
            deleted += span.kind == SpanKind::Deleted;
            inserted += span.kind == SpanKind::Inserted;
        }
        QCOMPARE(deleted, 5);
        QCOMPARE(inserted, 7);
    }

    void identicalTextsHaveNoChanges() {
        const QString text = readSample("lease-agreement.md");
        const Redline redline = compareOk(text, text);
        QVERIFY(redline.changes.isEmpty());
        QCOMPARE(redline.spans.size(), 1);
        QCOMPARE(redline.spans[0].kind, SpanKind::Equal);
    }

    void emptyTexts() {
        QVERIFY(compareOk(QString(), QString()).spans.isEmpty());
        const Redline added = compareOk(QString(), "new words");
        QCOMPARE(added.changes.size(), 1);
        QCOMPARE(added.spans.size(), 1);
        QCOMPARE(added.spans[0].kind, SpanKind::Inserted);
        QCOMPARE(added.changes[0].right.end, 9);
        const Redline removed = compareOk("old words", QString());
        QCOMPARE(removed.spans.size(), 1);
        QCOMPARE(removed.spans[0].kind, SpanKind::Deleted);
    }

    void completelyDifferentTextsAreOneChange() {
        const Redline redline = compareOk("alpha beta gamma", "delta epsilon zeta eta");
        QCOMPARE(redline.changes.size(), 1);
        QCOMPARE(redline.changes[0].left.end, 16);
        QCOMPARE(redline.changes[0].right.end, 22);
    }

    void wordsNotCharactersAreCompared() {
        // "cat" -> "cart" is one replaced word, not an inserted "r".
        const QString left = "the cat sat", right = "the cart sat";
        const Redline redline = compareOk(left, right);
        QCOMPARE(redline.changes.size(), 1);
        QCOMPARE(slice(left, redline.changes[0].left), QStringLiteral("cat"));
        QCOMPARE(slice(right, redline.changes[0].right), QStringLiteral("cart"));
    }

    void unicodeRangesAreUtf16Offsets() {
        // Accents, an emoji outside the BMP (two UTF-16 units) and typographic quotes.
        const QString left = QStringLiteral("Le café “noir” 😀 coûte 3 €.");
        const QString right = QStringLiteral("Le café “blanc” 😀 coûte 4 €.");
        const Redline redline = compareOk(left, right);
        QCOMPARE(redline.changes.size(), 2);
        QCOMPARE(slice(left, redline.changes[0].left), QStringLiteral("noir"));
        QCOMPARE(slice(right, redline.changes[0].right), QStringLiteral("blanc"));
        QCOMPARE(slice(left, redline.changes[1].left), QStringLiteral("3"));
        QCOMPARE(slice(right, redline.changes[1].right), QStringLiteral("4"));
        QCOMPARE(redline.changes[1].left.start, left.indexOf(QStringLiteral(" 3 ")) + 1);
    }

    void cjkIsComparedByCharacter() {
        const QString left = QStringLiteral("租期为三年，自二零二四年四月一日起。");
        const QString right = QStringLiteral("租期为五年，自二零二四年四月一日起。");
        const Redline redline = compareOk(left, right);
        QCOMPARE(redline.changes.size(), 1);
        QCOMPARE(slice(left, redline.changes[0].left), QStringLiteral("三"));
        QCOMPARE(slice(right, redline.changes[0].right), QStringLiteral("五"));
    }

    void whiteSpaceChangesAreSmall() {
        const QString left = "one two  three\nfour", right = "one two three four";
        const Redline redline = compareOk(left, right);
        QCOMPARE(redline.changes.size(), 2);
        QCOMPARE(slice(left, redline.changes[0].left), QStringLiteral("  "));
        QCOMPARE(slice(right, redline.changes[1].right), QStringLiteral(" "));
    }

    void pagesMapBack() {
        QList<lectern::importers::Page> pages(3);
        pages[0].number = 1;
        pages[0].text = "first page";
        pages[1].number = 2;
        pages[1].text = "second page";
        pages[2].number = 3;
        pages[2].text = "third";
        const PagedText paged = joinPages(pages);
        const qsizetype second = paged.text.indexOf("second");
        QCOMPARE(locate(paged, second).page, 2);
        QCOMPARE(locate(paged, second).offset, 0);
        QCOMPARE(locate(paged, second + 7).offset, 7);
        QCOMPARE(locate(paged, paged.text.indexOf("third") + 2).page, 3);
        QCOMPARE(locate(paged, paged.text.indexOf("third") + 2).offset, 2);
        // In the separator after page 1: the end of page 1.
        QCOMPARE(locate(paged, 11).page, 1);
        QCOMPARE(locate(paged, 11).offset, 10);
        QCOMPARE(locate(PagedText{}, 0).page, 0);
    }

    void largeDocumentsStayFast() {
        // 100,000 words, 200 scattered edits: the diff must find exactly those.
        QStringList words;
        QRandomGenerator random(7);
        for (int i = 0; i < 100'000; ++i) words << QStringLiteral("w%1").arg(random.bounded(5000));
        const QString left = words.join(' ');
        QStringList changed = words;
        for (int i = 0; i < 200; ++i) changed[i * 500 + 250] = QStringLiteral("edit%1").arg(i);
        const QString right = changed.join(' ');
        QElapsedTimer timer;
        timer.start();
        const Redline redline = compareOk(left, right);
        qInfo("100k words, 200 edits: %lld ms", static_cast<long long>(timer.elapsed()));
        QCOMPARE(redline.changes.size(), 200);
        for (int i = 0; i < 200; ++i)
            QCOMPARE(slice(right, redline.changes[i].right), QStringLiteral("edit%1").arg(i));
    }

    void unrelatedLargeDocumentsHitTheWorkBound() {
        // 50,000 words a side with no word in common (spaces aside): the default bound stops the search.
        QStringList left, right;
        for (int i = 0; i < 50'000; ++i)
            left << QStringLiteral("a%1").arg(i), right << QStringLiteral("b%1").arg(i);
        QElapsedTimer timer;
        timer.start();
        const auto result = compareTexts(left.join(' '), right.join(' '));
        qInfo("unrelated 50k-word texts: stopped after %lld ms", static_cast<long long>(timer.elapsed()));
        QVERIFY(!result);
        QVERIFY(QString::fromStdString(result.error()).contains("differ in too many places"));
    }

    void boundsGiveAClearMessage() {
        const auto too_long = compareTexts("a b c d e f", "a b", CompareLimits{4, 1'000'000});
        QVERIFY(!too_long);
        QVERIFY(QString::fromStdString(too_long.error()).contains("first document is too long"));

        QStringList left, right;
        for (int i = 0; i < 5000; ++i)
            left << QStringLiteral("a%1").arg(i), right << QStringLiteral("b%1").arg(i);
        const auto too_different =
            compareTexts(left.join(' '), right.join(' '), CompareLimits{2'000'000, 10'000});
        QVERIFY(!too_different);
        QVERIFY(QString::fromStdString(too_different.error()).contains("differ in too many places"));
    }
};

QTEST_GUILESS_MAIN(WordDiffTest)
#include "word_diff_test.moc"
