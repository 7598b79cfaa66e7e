// The "looked at" list under an answer: app/answers' looked-at passages become list items that give the
// passage's share, where it is and "(cited)" when the answer cites it too; activating one hands the
// viewer the passage's page and boxes, as a citation chip does. A marker that names no passage is dropped.
#include "tests/answers/corpus_fixture.h"
#include "ui/conversation/answer_widget.h"
#include "ui/conversation/citation_chips.h"

#include <QListWidget>
#include <QSignalSpy>
#include <QTest>

using namespace lectern;

class LookedAtListTest : public QObject {
    Q_OBJECT

private slots:
    void listsSharesAndOpensThePassage() {
        test::Document doc;
        doc.path = QStringLiteral("/docs/lease.pdf");
        doc.contentHash = QStringLiteral("dddddddddddddddddddddddddddddddd");
        doc.pages.append(
            test::makePage(1, QStringLiteral("Rent is due monthly.\n\nThe roof is the landlord's."), true));
        test::addPassages(doc, doc.pages[0]);
        for (importers::Passage& passage : doc.passages)
            for (const importers::WordBox& word : doc.pages[0].words)
                if (word.range.start >= passage.range.start && word.range.end <= passage.range.end)
                    passage.boxes.append(word.rect);
        const answers::Corpus corpus({doc});

        const auto second = ui::lookedAtFor({2, doc.passages[1].id, 0.425, true}, corpus);
        const auto first = ui::lookedAtFor({1, doc.passages[0].id, 0.1, false}, corpus);
        QVERIFY(first && second);
        QVERIFY(!ui::lookedAtFor({9, QStringLiteral("nope:0"), 0.2, false}, corpus));
        QCOMPARE(second->location.documentPath, doc.path);
        QCOMPARE(second->location.page, 1);
        QCOMPARE(second->location.rects, doc.passages[1].boxes);
        QVERIFY(!second->location.rects.isEmpty());

        ui::AnswerWidget widget;
        ui::AnswerViewModel model;
        model.question = QStringLiteral("Who repairs the roof?");
        model.markdown = QStringLiteral("The landlord.");
        model.lookedAt = {*second, *first};
        widget.setModel(model);
        QListWidget* list = widget.lookedAtList();
        QCOMPARE(list->count(), 2);
        QVERIFY2(list->item(0)->text().startsWith(QStringLiteral("42.5% · ")),
                 qPrintable(list->item(0)->text()));
        QVERIFY(list->item(0)->text().contains(QStringLiteral("(cited)")));
        QVERIFY(list->item(0)->text().contains(QStringLiteral("The roof is the landlord's.")));
        QVERIFY(list->item(1)->text().startsWith(QStringLiteral("10.0% · ")));
        QVERIFY(!list->item(1)->text().contains(QStringLiteral("(cited)")));

        QSignalSpy opened(&widget, &ui::AnswerWidget::locationActivated);
        emit list->itemActivated(list->item(0));
        QCOMPARE(opened.size(), 1);
        const auto location = opened.first().at(0).value<ui::Location>();
        QCOMPARE(location.documentPath, doc.path);
        QCOMPARE(location.rects, doc.passages[1].boxes);
    }
};

QTEST_MAIN(LookedAtListTest)
#include "looked_at_list_test.moc"
