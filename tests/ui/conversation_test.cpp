// The conversation pane and status bar on real widgets (offscreen), inside the main window: an answer
// with citations into a PDF made here; clicking a chip, an inline [n] or a "looked at" passage opens the
// viewer at the cited page with the quoted words' box highlighted.

#include "tests/ui/test_pdf.h"
#include "ui/conversation/answer_widget.h"
#include "ui/conversation/citation_chips.h"
#include "ui/conversation/conversation_view.h"
#include "ui/main_window.h"
#include "ui/status/status_panel.h"
#include "ui/viewer/document_viewer.h"
#include "ui/viewer/pdf_view.h"

#include <QAbstractTextDocumentLayout>
#include <QFileInfo>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSplitter>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBlock>
#include <QTextBrowser>
#include <QToolButton>

using namespace lectern::ui;
using namespace lectern::ui::testing;

class ConversationTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    QString pdf_;

    AnswerViewModel answer() const {
        AnswerViewModel model;
        model.question = QStringLiteral("Where is the needle?");
        model.thinking = QStringLiteral("The user asks about the needle. Passage P2 mentions it.");
        model.markdown = QStringLiteral("The needle is on **page two**, and the passage is on page three.");
        CitationChip first;
        first.number = 1;
        first.quote = QStringLiteral("cited passage");
        first.documentTitle = QStringLiteral("known.pdf");
        first.location = {pdf_, 3, {expectedRect(kWords[2], QStringLiteral("passage"))}, {}};
        first.answerOffset = model.markdown.indexOf(QLatin1Char(',')); // after "**page two**"
        CitationChip second;
        second.number = 2;
        second.quote = QStringLiteral("the needle in a haystack");
        second.documentTitle = QStringLiteral("known.pdf");
        second.location = {pdf_, 2, {expectedRect(kWords[1], QStringLiteral("needle"))}, {}};
        second.flagged = true;
        second.flagReason = QStringLiteral("the quoted words are not in passage P2");
        second.answerOffset = model.markdown.size() - 1; // before the final full stop
        model.citations = {first, second};
        model.lookedAt = {
            {QStringLiteral("known.pdf"), QStringLiteral("Lectern test document"), {pdf_, 1, {}, {}}}};
        return model;
    }

    // `sized`: at a size big enough for the tests, rather than the one the last window saved.
    std::unique_ptr<MainWindow> window(bool sized = true) {
        auto profile = lectern::Profile::open(dir_.path() + QStringLiteral("/profile"));
        if (!profile) return nullptr;
        auto window = std::make_unique<MainWindow>(*profile);
        if (sized) window->resize(1300, 800);
        window->show();
        return window;
    }

    static void expectShown(MainWindow& window, const QString& path, int page, const QList<QRectF>& rects) {
        PdfView* view = window.viewer()->pdfView();
        QCOMPARE(window.viewer()->currentPath(), QFileInfo(path).absoluteFilePath());
        QCOMPARE(view->locationPage(), page);
        QCOMPARE(view->locationRects(), rects);
        QCOMPARE(view->currentPage(), page);
        for (const QRectF& rect : rects)
            QVERIFY(view->viewport()->rect().contains(view->mapFromPage(page, rect).toAlignedRect()));
    }

private slots:
    void initTestCase() {
        QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
        QVERIFY(dir_.isValid());
        pdf_ = makePdf(dir_.path());
    }

    void chipClickOpensTheCitedBox() {
        auto main = window();
        QVERIFY(main);
        QVERIFY(QTest::qWaitForWindowExposed(main.get()));
        const AnswerViewModel model = answer();
        QCOMPARE(main->conversation()->addAnswer(model), 0);
        AnswerWidget* widget = main->conversation()->answer(0);

        QToolButton* first = widget->chip(1);
        QVERIFY(first && first->isVisible());
        QTest::mouseClick(first, Qt::LeftButton);
        expectShown(*main, pdf_, 3, model.citations[0].location.rects);

        QToolButton* second = widget->chip(2);
        QVERIFY(second);
        QTest::mouseClick(second, Qt::LeftButton);
        expectShown(*main, pdf_, 2, model.citations[1].location.rects);
    }

    void verifiedCitationsBecomeChips() {
        lectern::importers::Document document;
        document.path = pdf_;
        document.format = QStringLiteral("pdf");
        document.title = QStringLiteral("Known words");
        for (int number = 1; number <= 3; ++number) {
            lectern::importers::Page page;
            page.number = number;
            page.size = kPageSize;
            page.text = kWords[number - 1].text;
            document.pages.append(page);
        }
        lectern::importers::Passage passage;
        passage.id = QStringLiteral("0123456789abcdef:0");
        passage.page = 3;
        passage.range = {0, kWords[2].text.size()};
        passage.text = kWords[2].text;
        passage.boxes = {QRectF(50, 280, 300, 25)};
        document.passages.append(passage);
        const lectern::answers::Corpus corpus({document});

        lectern::answers::VerifiedCitation verified;
        verified.citation.number = 1;
        verified.citation.marker = 1;
        verified.citation.quote = QStringLiteral("passage");
        verified.citation.answer_offset = 4;
        verified.verification = lectern::answers::Verification::Exact;
        verified.passage = corpus.find(1);
        verified.range = {6, 13};
        verified.boxes = {expectedRect(kWords[2], QStringLiteral("passage"))};
        const CitationChip chip = chipFor(verified, corpus);
        QCOMPARE(chip.number, 1);
        QVERIFY(!chip.flagged);
        QCOMPARE(chip.documentTitle, QStringLiteral("Known words"));
        QCOMPARE(chip.location.documentPath, pdf_);
        QCOMPARE(chip.location.page, 3);
        QCOMPARE(chip.location.rects, verified.boxes);
        QCOMPARE(chip.answerOffset, qsizetype(4));

        lectern::answers::VerifiedCitation notFound = verified;
        notFound.verification = lectern::answers::Verification::NotFound;
        notFound.boxes.clear();
        notFound.range = {};
        const CitationChip flagged = chipFor(notFound, corpus);
        QVERIFY(flagged.flagged);
        QCOMPARE(flagged.flagReason, QStringLiteral("the quoted words are not in passage P1"));
        QCOMPARE(flagged.location.rects, passage.boxes); // the cited passage, for the reader to judge

        lectern::answers::VerifiedCitation unknown = verified;
        unknown.citation.marker = 9;
        unknown.verification = lectern::answers::Verification::UnknownPassage;
        unknown.passage = nullptr;
        const CitationChip nowhere = chipFor(unknown, corpus);
        QVERIFY(nowhere.flagged);
        QVERIFY(nowhere.location.documentPath.isEmpty());
        QVERIFY(nowhere.flagReason.contains(QStringLiteral("no passage P9")));

        // Fed to the pane, the verified chip opens its words in the viewer.
        auto main = window();
        QVERIFY(main);
        AnswerViewModel model;
        model.markdown = QStringLiteral("See the passage.");
        model.citations = {chip, flagged};
        main->conversation()->addAnswer(model);
        QTest::mouseClick(main->conversation()->answer(0)->chip(1), Qt::LeftButton);
        expectShown(*main, pdf_, 3, verified.boxes);
    }

    void chipsSayWhatTheyQuoteAndFlagTheUnverified() {
        auto main = window();
        QVERIFY(main);
        main->conversation()->addAnswer(answer());
        AnswerWidget* widget = main->conversation()->answer(0);
        QToolButton* first = widget->chip(1);
        QToolButton* second = widget->chip(2);
        QVERIFY(first->toolTip().contains(QStringLiteral("cited passage")));
        QVERIFY(first->toolTip().contains(QStringLiteral("known.pdf, page 3")));
        QVERIFY(!first->toolTip().contains(QStringLiteral("Not verified")));
        QCOMPARE(first->property("flagged").toBool(), false);
        QCOMPARE(second->property("flagged").toBool(), true);
        QVERIFY(second->text().contains(QStringLiteral("⚠")));
        QVERIFY(second->toolTip().contains(QStringLiteral("Not verified")));
        QVERIFY(second->toolTip().contains(QStringLiteral("not in passage P2")));
        QVERIFY(second->accessibleName().contains(QStringLiteral("not verified")));
        QVERIFY(first->styleSheet() != second->styleSheet());
    }

    void answerIsMarkdownWithInlineCitationLinks() {
        auto main = window();
        QVERIFY(main);
        QVERIFY(QTest::qWaitForWindowExposed(main.get()));
        main->conversation()->addAnswer(answer());
        AnswerWidget* widget = main->conversation()->answer(0);
        QTextBrowser* browser = widget->answerBrowser();
        const QString shown = browser->document()->toPlainText();
        QCOMPARE(shown, QStringLiteral("The needle is on page two[1], and the passage is on page three[2]."));

        // Find the [1] link in the laid-out text and click it: the viewer opens citation 1.
        QTextCursor link;
        for (QTextBlock block = browser->document()->begin(); block.isValid(); block = block.next())
            for (auto it = block.begin(); !it.atEnd(); ++it)
                if (it.fragment().charFormat().anchorHref() == QLatin1String("cite:1")) {
                    link = QTextCursor(browser->document());
                    link.setPosition(it.fragment().position() + 1);
                }
        QVERIFY(!link.isNull());
        QTRY_VERIFY(browser->isVisible() && browser->height() > 10);
        const QPoint at = browser->cursorRect(link).center();
        QTest::mouseClick(browser->viewport(), Qt::LeftButton, {}, at);
        expectShown(*main, pdf_, 3, answer().citations[0].location.rects);
    }

    void thinkingIsCollapsedUntilOpened() {
        auto main = window();
        QVERIFY(main);
        main->conversation()->addAnswer(answer());
        AnswerWidget* widget = main->conversation()->answer(0);
        QVERIFY(widget->thinkingToggle()->isVisible());
        QVERIFY(!widget->thinkingBrowser()->isVisible());
        QTest::mouseClick(widget->thinkingToggle(), Qt::LeftButton);
        QVERIFY(widget->thinkingBrowser()->isVisible());
        QVERIFY(widget->thinkingBrowser()->toPlainText().contains(QStringLiteral("Passage P2")));
        QTest::mouseClick(widget->thinkingToggle(), Qt::LeftButton);
        QVERIFY(!widget->thinkingBrowser()->isVisible());
    }

    void lookedAtPassagesOpenInTheViewer() {
        auto main = window();
        QVERIFY(main);
        main->conversation()->addAnswer(answer());
        AnswerWidget* widget = main->conversation()->answer(0);
        QListWidget* list = widget->lookedAtList();
        QCOMPARE(list->count(), 1);
        QVERIFY(list->item(0)->text().contains(QStringLiteral("Lectern test document")));
        emit list->itemActivated(list->item(0));
        QCOMPARE(main->viewer()->currentPath(), QFileInfo(pdf_).absoluteFilePath());
        QCOMPARE(main->viewer()->currentPage(), 1);
    }

    void streamingUpdatesTheSameAnswer() {
        auto main = window();
        QVERIFY(main);
        AnswerViewModel model;
        model.question = QStringLiteral("Summarise");
        model.streaming = true;
        const int index = main->conversation()->addAnswer(model);
        AnswerWidget* widget = main->conversation()->answer(index);
        QVERIFY(!widget->answerBrowser()->isVisible());
        model.markdown = QStringLiteral("First words");
        main->conversation()->setAnswer(index, model);
        QCOMPARE(widget->answerBrowser()->toPlainText(), QStringLiteral("First words"));
        model.markdown += QStringLiteral(" and the rest.");
        model.streaming = false;
        main->conversation()->setAnswer(index, model);
        QCOMPARE(main->conversation()->answerCount(), 1);
        QCOMPARE(widget->answerBrowser()->toPlainText(), QStringLiteral("First words and the rest."));
    }

    void askSendsTheQuestionOnlyWhenEnabled() {
        ConversationView view;
        QSignalSpy asked(&view, &ConversationView::askRequested);
        QVERIFY(!view.askButton()->isEnabled());
        QVERIFY(!view.askButton()->toolTip().isEmpty());
        view.setAskEnabled(true);
        QVERIFY(!view.askButton()->isEnabled()); // nothing typed yet
        view.questionEdit()->setPlainText(QStringLiteral("  What is due in March?  "));
        QVERIFY(view.askButton()->isEnabled());
        QTest::mouseClick(view.askButton(), Qt::LeftButton);
        QCOMPARE(asked.size(), 1);
        QCOMPARE(asked.first().first().toString(), QStringLiteral("What is due in March?"));
        QVERIFY(view.questionEdit()->toPlainText().isEmpty());
    }

    void statusBarShowsContextBackendAndSpeed() {
        StatusPanel panel;
        panel.setContext(612340, 1048576);
        QCOMPARE(panel.contextText(), QStringLiteral("612,340 / 1,048,576 tokens"));
        panel.setKvCacheBytes(qint64(3) << 30);
        QCOMPARE(panel.kvCacheText(), QStringLiteral("KV cache 3.0 GiB"));
        panel.setBackend(QStringLiteral("CUDA"), QStringLiteral("NVIDIA H200"));
        QCOMPARE(panel.backendText(), QStringLiteral("CUDA · NVIDIA H200"));
        panel.setBackend(QStringLiteral("Vulkan"), QStringLiteral("Radeon"), {},
                         QStringLiteral("24 of 43 layers on the GPU, MoE experts on the CPU"));
        QCOMPARE(panel.backendText(),
                 QStringLiteral("Vulkan · Radeon · 24 of 43 layers on the GPU, MoE experts on the CPU"));
        panel.setTokensPerSecond(42.14);
        QCOMPARE(panel.speedText(), QStringLiteral("42.1 tokens/s"));
        panel.setPrefill(0.456, 80);
        QCOMPARE(panel.prefillText(), QStringLiteral("Reading the corpus 46% · 1 min 20 s left"));
        panel.setPrefill(0.5, 3, 812.4);
        QCOMPARE(panel.prefillText(), QStringLiteral("Reading the corpus 50% at 812 tokens/s · 3 s left"));
        panel.clearPrefill();
        QVERIFY(panel.prefillText().isEmpty());
        QCOMPARE(StatusPanel::formatDuration(3725), QStringLiteral("1 h 2 min"));
        QCOMPARE(StatusPanel::formatBytes(512), QStringLiteral("512 bytes"));
    }

    void layoutIsRestoredOnRestart() {
        QList<int> sizes;
        QSize size;
        {
            auto main = window();
            QVERIFY(main);
            QVERIFY(QTest::qWaitForWindowExposed(main.get()));
            main->resize(1100, 700);
            auto* splitter = main->findChild<QSplitter*>(QStringLiteral("mainSplitter"));
            splitter->setSizes({200, 500, 380});
            sizes = splitter->sizes();
            size = main->size();
            main->close();
        }
        auto again = window(false);
        QVERIFY(again);
        QCOMPARE(again->findChild<QSplitter*>(QStringLiteral("mainSplitter"))->sizes(), sizes);
        QCOMPARE(again->size(), size);
    }
};

QTEST_MAIN(ConversationTest)
#include "conversation_test.moc"
