// Answers asked in the GUI are kept in the store and come back when the app is started again: the
// built-in default model answers a question about an imported corpus (status bar: KV-cache size,
// backend, tokens/s); the store holds question, answer, thinking and citations; a second answer with a
// verified citation into the PDF is saved through the same call; after a restart the pane shows both,
// the citation chip opens the viewer at the quoted word's box, the passages the answer looked at are
// listed again and open the viewer, and asking again starts from the corpus cache on disk (in a cache
// location chosen in the settings) with no corpus tokens prefilled. Stop (Esc) while the model loads
// cancels the load.

#include "app/answers/citation_verifier.h"
#include "app/answers/store_corpus.h"
#include "app/profile/cache_settings.h"
#include "app/store/store.h"
#include "inference/model/default_model.h"
#include "tests/ui/test_pdf.h"
#include "ui/conversation/answer_widget.h"
#include "ui/conversation/ask_controller.h"
#include "ui/conversation/conversation_view.h"
#include "ui/conversation/saved_answers.h"
#include "ui/corpus/corpus_panel.h"
#include "ui/main_window.h"
#include "ui/status/status_panel.h"
#include "ui/viewer/document_viewer.h"
#include "ui/viewer/pdf_view.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>

using namespace lectern;
using namespace lectern::ui;
using namespace lectern::ui::testing;

class SavedConversationTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    QString corpus_;
    QString pdf_;
    QString cache_;

    std::unique_ptr<MainWindow> window() {
        auto opened = Profile::open(dir_.filePath(QStringLiteral("profile")));
        if (!opened) return nullptr;
        auto window = std::make_unique<MainWindow>(*opened);
        window->resize(1300, 800);
        window->show();
        return window;
    }

    static bool ask(MainWindow& main, const QString& question) {
        QSignalSpy finished(main.asker(), &AskController::answerFinished);
        main.conversation()->questionEdit()->setPlainText(question);
        if (!main.conversation()->askButton()->isEnabled()) return false;
        QTest::mouseClick(main.conversation()->askButton(), Qt::LeftButton);
        return finished.wait(240000) || !finished.isEmpty();
    }

    // The answer shown at `index`, empty when there is none.
    static AnswerViewModel shown(ConversationView* pane, int index) {
        const AnswerWidget* widget = pane->answer(index);
        return widget ? widget->model() : AnswerViewModel{};
    }

    static bool loadDefaultModel(MainWindow& main) {
        QSignalSpy loaded(main.asker(), &AskController::modelLoaded);
        main.asker()->setMaxAnswerTokens(24); // what is said does not matter here, that it is kept does
        main.loadModel();
        return loaded.wait(120000) || !loaded.isEmpty();
    }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        corpus_ = dir_.filePath(QStringLiteral("corpus"));
        QVERIFY(QDir().mkpath(corpus_));
        pdf_ = makePdf(corpus_);
        QFile notes(corpus_ + QStringLiteral("/notes.txt"));
        QVERIFY(notes.open(QIODevice::WriteOnly));
        notes.write("The rent is due on the first day of March.\n");
        notes.close();
        // The corpus cache goes where the settings say, not to the profile's default folder.
        cache_ = dir_.filePath(QStringLiteral("elsewhere/cache"));
        auto opened = Profile::open(dir_.filePath(QStringLiteral("profile")));
        QVERIFY(opened.ok());
        CacheSettings settings = CacheSettings::load(*opened);
        settings.directory = cache_;
        settings.save(*opened);
    }

    void answersAreKeptAndShownAfterARestart() {
        if (!model::default_model_path().ok())
            QSKIP("the default model is not fetched (scripts/fetch-models)");
        const QString question = QStringLiteral("Where is the needle?");
        QString askedAnswer, askedThinking;
        qsizetype askedCitations = 0;
        answers::VerifiedCitation verified;
        {
            auto main = window();
            QVERIFY(main);
            QSignalSpy imported(main->corpus(), &CorpusPanel::importFinished);
            QVERIFY(main->corpus()->importPaths({corpus_}));
            QVERIFY(imported.wait(120000));
            QVERIFY(loadDefaultModel(*main));
            QCOMPARE(main->statusPanel()->backendText(), QStringLiteral("CPU"));
            QVERIFY(main->statusPanel()->kvCacheText().startsWith(QStringLiteral("KV cache ")));
            QVERIFY(ask(*main, question));
            QCOMPARE(main->conversation()->answerCount(), 1);
            const AnswerViewModel asked = shown(main->conversation(), 0);
            QVERIFY2(asked.error.isEmpty(), qPrintable(asked.error));
            askedAnswer = asked.markdown;
            askedThinking = asked.thinking;
            askedCitations = asked.citations.size();
            QVERIFY(main->statusPanel()->kvCacheText().startsWith(QStringLiteral("KV cache ")));
            QVERIFY(main->statusPanel()->speedText().endsWith(QStringLiteral("tokens/s")));
            qInfo("after the answer: %s, %s, %s", qPrintable(main->statusPanel()->kvCacheText()),
                  qPrintable(main->statusPanel()->backendText()),
                  qPrintable(main->statusPanel()->speedText()));

            // In the store: the question, the answer as shown, its thinking and its citations.
            store::Store& store = *main->store();
            const qint64 session = main->corpus()->session();
            auto conversations = store.conversations(session);
            QVERIFY(conversations.ok());
            QCOMPARE(conversations->size(), 1);
            auto messages = store.messages(conversations->first().id);
            QVERIFY(messages.ok());
            QCOMPARE(messages->size(), 1);
            const store::MessageRecord& saved = messages->first();
            QCOMPARE(saved.question, question);
            QCOMPARE(saved.answer, asked.markdown);
            QCOMPARE(saved.thinking, asked.thinking);
            QCOMPARE(saved.citations.size(), asked.citations.size());
            QCOMPARE(saved.cachedTokens, 0);
            QVERIFY(saved.promptTokens > 0 && saved.answerTokens > 0);
            // The corpus was prefilled once and saved where the settings say.
            QCOMPARE(QDir(cache_).entryList({QStringLiteral("*.snapshot")}, QDir::Files).size(), 1);

            // A second answer with a verified citation of "needle" on the PDF's page 2, saved the same way.
            auto corpusId = store.corpus(session, QStringLiteral("A"));
            QVERIFY(corpusId.ok());
            auto loaded = answers::loadCorpus(store, session, *corpusId);
            QVERIFY(loaded.ok());
            const answers::Corpus corpus(std::move(*loaded));
            answers::Citation citation;
            citation.number = 1;
            for (const answers::MarkedPassage& marked : corpus.markers())
                if (corpus.passage(marked).text.contains(QStringLiteral("needle")))
                    citation.marker = marked.marker;
            QVERIFY(citation.marker > 0);
            citation.quote = QStringLiteral("the needle");
            verified = answers::CitationVerifier(corpus).verify(citation);
            QVERIFY(answers::isVerified(verified.verification));
            QVERIFY(!verified.boxes.isEmpty());
            worker::AnswerOutcome outcome;
            outcome.answer = QStringLiteral("It is on page two.");
            outcome.thinking = QStringLiteral("Passage P%1 has it.").arg(citation.marker);
            outcome.citations = {verified};
            const answers::MarkedPassage* cited = corpus.find(citation.marker);
            const answers::MarkedPassage& other = corpus.markers().front().marker != citation.marker
                                                      ? corpus.markers().front()
                                                      : corpus.markers().back();
            outcome.looked_at = {{citation.marker, corpus.passage(*cited).id, 0.3, true},
                                 {other.marker, corpus.passage(other).id, 0.1, false}};
            QVERIFY(saveAnswer(store, conversations->first().id, *corpusId, corpus,
                               QStringLiteral("Which page?"), QStringLiteral("test"), outcome)
                        .ok());
            main->close();
        }

        auto again = window();
        QVERIFY(again);
        ConversationView* pane = again->conversation();
        QCOMPARE(pane->answerCount(), 2);
        const AnswerViewModel first = shown(pane, 0);
        QCOMPARE(first.question, question);
        QCOMPARE(first.markdown, askedAnswer);
        QCOMPARE(first.thinking, askedThinking);
        QCOMPARE(first.citations.size(), askedCitations);
        const AnswerViewModel second = shown(pane, 1);
        QCOMPARE(second.question, QStringLiteral("Which page?"));
        QCOMPARE(second.citations.size(), 1);
        QVERIFY(!second.citations[0].flagged);
        QCOMPARE(second.citations[0].verification, QStringLiteral("verified"));
        QToolButton* chip = pane->answer(1)->chip(1);
        QVERIFY(chip);
        QTest::mouseClick(chip, Qt::LeftButton);
        QCOMPARE(again->viewer()->currentPath(), QFileInfo(pdf_).absoluteFilePath());
        QCOMPARE(again->viewer()->pdfView()->locationPage(), 2);
        QCOMPARE(again->viewer()->pdfView()->locationRects(), verified.boxes);
        // The passages the answer looked at come back too, best first, and open in the viewer.
        QCOMPARE(second.lookedAt.size(), 2);
        QVERIFY(second.lookedAt[0].cited && !second.lookedAt[1].cited);
        QCOMPARE(second.lookedAt[0].weight, 0.3);
        QCOMPARE(second.lookedAt[0].location.page, 2);
        QListWidget* looked = pane->answer(1)->lookedAtList();
        QCOMPARE(looked->count(), 2);
        emit looked->itemActivated(looked->item(0));
        QCOMPARE(again->viewer()->pdfView()->locationPage(), 2);
        const QRectF needle = expectedRect(kWords[1], QStringLiteral("needle"));
        bool covered = false;
        for (const QRectF& box : verified.boxes)
            covered |= box.adjusted(-1, -1, 1, 1).contains(needle.adjusted(1, 1, -1, -1));
        QVERIFY(covered);

        // Asking again after the restart continues the conversation and starts from the corpus cache.
        QVERIFY(loadDefaultModel(*again));
        QVERIFY(ask(*again, QStringLiteral("When is the rent due?")));
        QCOMPARE(pane->answerCount(), 3);
        const AnswerViewModel third = shown(pane, 2);
        QVERIFY2(third.error.isEmpty(), qPrintable(third.error));
        auto conversations = again->store()->conversations(again->corpus()->session());
        QVERIFY(conversations.ok());
        QCOMPARE(conversations->size(), 1);
        auto messages = again->store()->messages(conversations->first().id);
        QVERIFY(messages.ok());
        QCOMPARE(messages->size(), 3);
        qInfo("after the restart: %lld of %lld prompt tokens from the corpus cache",
              messages->last().cachedTokens, messages->last().promptTokens);
        QVERIFY(messages->last().cachedTokens > 0);
        QVERIFY(messages->last().cachedTokens < messages->last().promptTokens);
    }

    // While the model loads, Stop (Esc) cancels the load: no model is left, and loading again works.
    void stopCancelsLoadingTheModel() {
        if (!model::default_model_path().ok())
            QSKIP("the default model is not fetched (scripts/fetch-models)");
        auto main = window();
        QVERIFY(main);
        QSignalSpy failed(main->asker(), &AskController::modelFailed);
        QSignalSpy loaded(main->asker(), &AskController::modelLoaded);
        main->loadModel();
        QPushButton* stop = main->conversation()->stopButton();
        QVERIFY(stop->isVisible());
        QCOMPARE(stop->accessibleName(), QStringLiteral("Stop loading the model"));
        QCOMPARE(stop->shortcut(), QKeySequence(Qt::Key_Escape));
        QTest::mouseClick(stop, Qt::LeftButton);
        QVERIFY(failed.wait(10000) || !failed.isEmpty());
        QVERIFY(failed.first().first().toString().contains(QStringLiteral("cancelled")));
        QVERIFY(loaded.isEmpty());
        QVERIFY(!main->asker()->isModelLoaded());
        QVERIFY(!stop->isVisible());
        QVERIFY(main->conversation()->askButton()->isVisible());
        QVERIFY(!main->conversation()->askButton()->isEnabled());
        QVERIFY(loadDefaultModel(*main));
        QVERIFY(main->asker()->isModelLoaded());
    }
};

QTEST_MAIN(SavedConversationTest)
#include "saved_conversation_test.moc"
