// File ▸ Compare Corpora on real widgets (offscreen). Two short leases, PDFs written here, go into
// corpus A (the original) and corpus B (the amended one) through the corpus pane's "Into A / Into B"
// (and a note dropped on corpus B's row goes into B); the compare view asks the built-in default model
// (SmolLM2-135M; skipped when it is not fetched) of both corpora, "each" (two answer columns) and
// "both" (one answer about the differences), and the answers are kept in the store with their corpus.
// The 135M model rarely cites, so verified citations are synthesised (made and verified here as the
// worker would) and fed through the view's citation path: a chip for corpus B opens B's viewer at the
// cited page with the quoted words' boxes highlighted and leaves A's viewer alone, and the other way
// round, in both modes. "Redline…" opens the word-level redline of the two documents the viewers show;
// Stop ends a comparison and keeps nothing of it.

#include "app/answers/citation_verifier.h"
#include "app/answers/store_corpus.h"
#include "app/store/store.h"
#include "inference/model/default_model.h"
#include "ui/compare/compare_documents_dialog.h"
#include "ui/compare/compare_view.h"
#include "ui/compare/redline_view.h"
#include "ui/conversation/answer_widget.h"
#include "ui/corpus/corpus_panel.h"
#include "ui/main_window.h"
#include "ui/viewer/document_viewer.h"
#include "ui/viewer/pdf_view.h"

#include <QAction>
#include <QComboBox>
#include <QDropEvent>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMimeData>
#include <QPainter>
#include <QPdfWriter>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <QTreeWidget>
#include <QUrl>

using namespace lectern;
using namespace lectern::ui;

namespace {

// A two-page PDF: the rent on page 1, the term on page 2.
QString writeLease(const QString& path, const QString& rent, const QString& term) {
    QPdfWriter writer(path);
    writer.setPageSize(QPageSize(QSizeF(400, 500), QPageSize::Point));
    writer.setPageMargins(QMarginsF(0, 0, 0, 0));
    writer.setResolution(72);
    QPainter painter(&writer);
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPixelSize(12);
    painter.setFont(font);
    painter.drawText(QPointF(40, 60), QStringLiteral("Lease between Harbor Point and Ostrander Freight."));
    painter.drawText(QPointF(40, 100),
                     QStringLiteral("The monthly rent is %1, due on the first day.").arg(rent));
    writer.newPage();
    painter.drawText(QPointF(40, 60), QStringLiteral("The lease runs for %1 from 1 March.").arg(term));
    painter.end();
    return path;
}

// A verified citation of the first passage of `corpus` (from marker `first_marker` on) that mentions
// `word`, quoting five words of it.
answers::VerifiedCitation citationOf(const answers::Corpus& corpus, int first_marker, const QString& word,
                                     int number) {
    for (int marker = first_marker; marker <= corpus.passageCount(); ++marker) {
        const importers::Passage& passage = corpus.passage(*corpus.find(marker));
        if (!passage.text.contains(word)) continue;
        const QStringList words = passage.text.simplified().split(u' ');
        const qsizetype at = std::max<qsizetype>(0, words.indexOf(word) - 2);
        answers::Citation citation;
        citation.number = number;
        citation.marker = marker;
        citation.quote = words.mid(at, 5).join(u' ');
        return answers::CitationVerifier(corpus).verify(citation);
    }
    return {};
}

} // namespace

class CompareViewTest : public QObject {
    Q_OBJECT

    static void expectOpened(CompareView* view, CompareView::Side side, const QString& path,
                             const answers::VerifiedCitation& citation, const answers::Corpus& corpus) {
        DocumentViewer* viewer = view->viewer(side);
        QCOMPARE(viewer->currentPath(), QFileInfo(path).absoluteFilePath());
        QVERIFY(viewer->isPdf());
        const int page = corpus.passage(*citation.passage).page;
        QCOMPARE(viewer->pdfView()->locationPage(), page);
        QCOMPARE(viewer->pdfView()->locationRects(), citation.boxes);
        QCOMPARE(viewer->currentPage(), page);
    }

private slots:
    void comparesTwoCorporaSideBySide() {
        if (!model::default_model_path().ok())
            QSKIP("the default model is not fetched (scripts/fetch-models)");
        QTemporaryDir dir, documents;
        const QString original = writeLease(documents.filePath(QStringLiteral("lease.pdf")),
                                            QStringLiteral("4,000 euros"), QStringLiteral("five years"));
        const QString amended = writeLease(documents.filePath(QStringLiteral("lease-amended.pdf")),
                                           QStringLiteral("4,600 euros"), QStringLiteral("seven years"));
        auto profile = Profile::open(dir.path());
        QVERIFY(profile.ok());
        MainWindow window(*profile);
        window.show();
        QVERIFY(window.store());

        // Import: the choice under the list names the corpus; B appears once something is in it.
        CorpusPanel* corpus = window.corpus();
        QCOMPARE(corpus->importCorpus(), QStringLiteral("A"));
        QVERIFY(!corpus->importCorpusBox()->accessibleName().isEmpty());
        QSignalSpy imported(corpus, &CorpusPanel::importFinished);
        QVERIFY(corpus->importPaths({original}));
        QVERIFY(imported.wait(60000));
        QCOMPARE(corpus->tree()->topLevelItemCount(), 1);
        corpus->setImportCorpus(QStringLiteral("B"));
        QVERIFY(corpus->importPaths({amended}));
        QVERIFY(imported.wait(60000));
        QTreeWidget* tree = corpus->tree();
        QCOMPARE(tree->topLevelItemCount(), 2);
        QCOMPARE(tree->topLevelItem(0)->text(0), QStringLiteral("Corpus A"));
        QCOMPARE(tree->topLevelItem(1)->text(0), QStringLiteral("Corpus B"));
        QCOMPARE(tree->topLevelItem(0)->child(0)->text(0), QStringLiteral("lease.pdf"));
        QCOMPARE(tree->topLevelItem(1)->child(0)->text(0), QStringLiteral("lease-amended.pdf"));
        QVERIFY(!corpus->importPaths({original}, QStringLiteral("C"))); // refused in words

        // Dropped on corpus B's row, a file goes into B whatever the choice under the list says.
        corpus->setImportCorpus(QStringLiteral("A"));
        const QString note = documents.filePath(QStringLiteral("note.txt"));
        QFile file(note);
        QVERIFY(file.open(QIODevice::WriteOnly) &&
                file.write("The landlord repaired the roof in May.\n") > 0);
        file.close();
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(note)});
        const QRect row = tree->visualItemRect(tree->topLevelItem(1));
        const QPoint at = tree->viewport()->mapTo(corpus, row.center());
        QDropEvent drop(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        // Straight to the pane, as the drag manager hands a drop over (QApplication's routing of a drop
        // needs a drag in progress).
        static_cast<QObject*>(corpus)->event(&drop);
        QVERIFY(drop.isAccepted());
        QVERIFY(imported.wait(60000));
        QCOMPARE(tree->topLevelItem(1)->childCount(), 2);
        QCOMPARE(tree->topLevelItem(0)->childCount(), 1);

        store::Store* store = window.store();
        const qint64 session = corpus->session();
        const qint64 corpusA = *store->corpus(session, QStringLiteral("A"));
        const qint64 corpusB = *store->corpus(session, QStringLiteral("B"));
        auto loadedA = answers::loadCorpus(*store, session, corpusA);
        auto loadedB = answers::loadCorpus(*store, session, corpusB);
        QVERIFY(loadedA.ok() && loadedB.ok());
        const answers::Corpus& a = *loadedA;
        const answers::Corpus& b = *loadedB;

        auto* action = window.findChild<QAction*>(QStringLiteral("compareCorporaAction"));
        QVERIFY(action);
        QCOMPARE(action->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_K));
        action->trigger();
        CompareView* view = window.compareView();
        QVERIFY(view && view->isVisible());
        QVERIFY(QTest::qWaitForWindowExposed(view));
        for (QWidget* widget :
             {static_cast<QWidget*>(view->questionField()), static_cast<QWidget*>(view->modeBox()),
              static_cast<QWidget*>(view->askButton()), static_cast<QWidget*>(view->redlineButton())})
            QVERIFY(!widget->accessibleName().isEmpty());
        view->setMaxAnswerTokens(40); // the shape of the answers is what is checked, not their length

        // "Each": two answers, one per column, streamed and finished.
        QSignalSpy finished(view, &CompareView::answersFinished);
        view->modeBox()->setCurrentIndex(view->modeBox()->findData(int(answers::CompareMode::Each)));
        view->questionField()->setText(QStringLiteral("What is the monthly rent?"));
        QTest::mouseClick(view->askButton(), Qt::LeftButton);
        QVERIFY(!view->askButton()->isEnabled()); // one comparison at a time
        QVERIFY(finished.wait(240000) || !finished.isEmpty());
        QVERIFY2(finished.takeFirst().at(0).toString().isEmpty(), qPrintable(view->messageLabel()->text()));
        for (const CompareView::Side side : {CompareView::A, CompareView::B}) {
            const AnswerViewModel& answer = view->answerModel(side);
            QCOMPARE(answer.question, QStringLiteral("What is the monthly rent?"));
            QVERIFY2(answer.error.isEmpty(), qPrintable(answer.error));
            QVERIFY(!answer.streaming);
            QVERIFY(!answer.markdown.trimmed().isEmpty());
            qInfo("each, corpus %c: %s", side == CompareView::A ? 'A' : 'B',
                  qPrintable(answer.markdown.left(200)));
        }
        QCOMPARE(view->heading(CompareView::A)->text(), QStringLiteral("<b>Corpus A</b>"));
        QVERIFY(view->askButton()->isEnabled());

        // A citation of corpus B's answer opens B's viewer; one of A's answer opens A's.
        const answers::VerifiedCitation inB = citationOf(b, 1, QStringLiteral("rent"), 91);
        QVERIFY(inB.passage && answers::isVerified(inB.verification) && !inB.boxes.isEmpty());
        view->addCitation(1, inB);
        QToolButton* chipB = view->answerWidget(CompareView::B)->chip(91);
        QVERIFY(chipB && chipB->isVisible());
        QTest::mouseClick(chipB, Qt::LeftButton);
        expectOpened(view, CompareView::B, amended, inB, b);
        QVERIFY(view->viewer(CompareView::A)->currentPath().isEmpty());
        const answers::VerifiedCitation inA = citationOf(a, 1, QStringLiteral("rent"), 92);
        QVERIFY(inA.passage && answers::isVerified(inA.verification));
        view->addCitation(0, inA);
        QTest::mouseClick(view->answerWidget(CompareView::A)->chip(92), Qt::LeftButton);
        expectOpened(view, CompareView::A, original, inA, a);

        // "Redline…" compares the two documents shown.
        QTest::mouseClick(view->redlineButton(), Qt::LeftButton);
        CompareDocumentsDialog* redline = window.compareDocumentsDialog();
        QVERIFY(redline && redline->isVisible());
        QVERIFY2(redline->message().isEmpty(), qPrintable(redline->message()));
        QVERIFY(redline->redline()->changeCount() > 0);
        qInfo("redline of the two leases: %s", qPrintable(redline->redline()->summary()));
        redline->close();

        // "Both": one answer about the differences in the left column; its citations of corpus B (markers
        // after A's) open B's viewer.
        view->modeBox()->setCurrentIndex(view->modeBox()->findData(int(answers::CompareMode::Both)));
        QVERIFY(view->ask(QStringLiteral("How does the rent differ?"), answers::CompareMode::Both));
        QVERIFY(finished.wait(240000) || !finished.isEmpty());
        QVERIFY2(finished.takeFirst().at(0).toString().isEmpty(), qPrintable(view->messageLabel()->text()));
        QVERIFY(view->heading(CompareView::A)->text().contains(QStringLiteral("Corpora A and B")));
        QVERIFY(!view->answerModel(CompareView::A).markdown.trimmed().isEmpty());
        QVERIFY(
            view->answerModel(CompareView::B).markdown.contains(QStringLiteral("One answer compares both")));
        QVERIFY(view->messageLabel()->text().isEmpty()); // both fit: no fallback
        const answers::Corpus both =
            answers::Corpus::sideBySide(a, QStringLiteral("A"), b, QStringLiteral("B"));
        const answers::VerifiedCitation bothB =
            citationOf(both, a.passageCount() + 1, QStringLiteral("rent"), 93);
        const answers::VerifiedCitation bothA = citationOf(both, 1, QStringLiteral("rent"), 94);
        QVERIFY(answers::isVerified(bothB.verification) && answers::isVerified(bothA.verification));
        view->viewer(CompareView::A)->closeDocument();
        view->viewer(CompareView::B)->closeDocument();
        view->addCitation(0, bothB);
        view->addCitation(0, bothA);
        AnswerWidget* left = view->answerWidget(CompareView::A);
        QVERIFY(left->chip(93) && left->chip(94));
        QVERIFY(
            AnswerWidget::chipToolTip(left->model().citations.back()).contains(QStringLiteral("Corpus A")));
        QTest::mouseClick(left->chip(93), Qt::LeftButton);
        expectOpened(view, CompareView::B, amended, bothB, both);
        QVERIFY(view->viewer(CompareView::A)->currentPath().isEmpty());
        QTest::mouseClick(left->chip(94), Qt::LeftButton);
        expectOpened(view, CompareView::A, original, bothA, both);

        // The passages the answer looked at (hand-made evidence: the 135M model has no indexer) are
        // listed in its column, each naming its corpus (markers continue from A into B) and opening in
        // that corpus's viewer.
        view->viewer(CompareView::A)->closeDocument();
        view->viewer(CompareView::B)->closeDocument();
        answers::LookedAtPassage lookedB, lookedA;
        lookedB.marker = bothB.citation.marker;
        lookedB.weight = 0.6;
        lookedA.marker = bothA.citation.marker;
        lookedA.weight = 0.25;
        lookedA.cited = true;
        view->showLookedAt(0, {lookedB, lookedA});
        QListWidget* looked = left->lookedAtList();
        QCOMPARE(looked->count(), 2);
        QVERIFY2(looked->item(0)->text().contains(QStringLiteral("Corpus B · ")),
                 qPrintable(looked->item(0)->text()));
        QVERIFY2(looked->item(1)->text().contains(QStringLiteral("Corpus A · ")),
                 qPrintable(looked->item(1)->text()));
        emit looked->itemActivated(looked->item(0));
        QCOMPARE(view->viewer(CompareView::B)->currentPath(), QFileInfo(amended).absoluteFilePath());
        QVERIFY(view->viewer(CompareView::A)->currentPath().isEmpty());
        emit looked->itemActivated(looked->item(1));
        QCOMPARE(view->viewer(CompareView::A)->currentPath(), QFileInfo(original).absoluteFilePath());

        // Stop: the answer being written ends, corpus B is not asked, nothing is kept, asking works again.
        view->setMaxAnswerTokens(400);
        QVERIFY(view->ask(QStringLiteral("Describe both leases in detail."), answers::CompareMode::Each));
        auto* stop = view->findChild<QPushButton*>(QStringLiteral("compareStopButton"));
        QVERIFY(stop && stop->isEnabled());
        QTest::mouseClick(stop, Qt::LeftButton);
        QVERIFY(finished.wait(30000) || !finished.isEmpty());
        QVERIFY(finished.takeFirst().at(0).toString().contains(QStringLiteral("Stopped")));
        QVERIFY(view->answerModel(CompareView::B).error.startsWith(QStringLiteral("Not asked")));
        QVERIFY(view->askButton()->isEnabled() && !stop->isEnabled());

        // Kept in the store: one conversation per comparison, each answer with its corpus.
        auto conversations = store->conversations(session);
        QVERIFY(conversations.ok());
        QCOMPARE(conversations->size(), 2);
        auto each = store->messages(conversations->at(0).id);
        auto together = store->messages(conversations->at(1).id);
        QVERIFY(each.ok() && together.ok());
        QCOMPARE(each->size(), 2);
        QCOMPARE(each->at(0).corpus, std::optional<qint64>(corpusA));
        QCOMPARE(each->at(1).corpus, std::optional<qint64>(corpusB));
        QCOMPARE(together->size(), 1);
        QCOMPARE(together->at(0).corpus, std::optional<qint64>(corpusA));
        QCOMPARE(together->at(0).comparedCorpus, std::optional<qint64>(corpusB));
    }
};

QTEST_MAIN(CompareViewTest)
#include "compare_view_test.moc"
