// One inference worker per main window: the conversation pane and the compare view share it, so the
// model is loaded once (SmolLM2-135M, the built-in default; skipped when it is not fetched). The compare
// view asked while the window's load runs waits for it rather than loading again; a question in the
// conversation pane followed at once by a comparison queue on the one worker, and each view shows only
// its own requests' streamed text: checked at every streamed piece, and on the final answers.

#include "app/store/store.h"
#include "app/worker/inference_worker.h"
#include "inference/model/default_model.h"
#include "tests/queued_spy.h"
#include "ui/compare/compare_view.h"
#include "ui/conversation/answer_widget.h"
#include "ui/conversation/ask_controller.h"
#include "ui/conversation/conversation_view.h"
#include "ui/corpus/corpus_panel.h"
#include "ui/main_window.h"

#include <QFile>
#include <QLabel>
#include <QMap>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSet>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace lectern;
using namespace lectern::ui;

namespace {

QString writeNote(const QString& path, const QByteArray& text) {
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(text) != text.size()) return {};
    return path;
}

// What each view showed when a piece of answer text arrived (after the views took it).
struct Streamed {
    worker::RequestId request = 0;
    QString sent;         // the request's text so far
    QString before;       // the same before this piece
    QString conversation; // the conversation pane's latest answer
    QString columnA;
    QString columnB;
};

} // namespace

class SharedWorkerTest : public QObject {
    Q_OBJECT

private slots:
    void bothViewsShareOneModel() {
        if (!model::default_model_path().ok())
            QSKIP("the default model is not fetched (scripts/fetch-models)");
        QTemporaryDir dir, documents;
        const QString a = writeNote(documents.filePath(QStringLiteral("lease.txt")),
                                    "The monthly rent is 4,000 euros, due on the first day.\n");
        const QString b = writeNote(documents.filePath(QStringLiteral("lease-amended.txt")),
                                    "The monthly rent is 4,600 euros, due on the first day.\n");
        QVERIFY(!a.isEmpty() && !b.isEmpty());
        auto profile = Profile::open(dir.path());
        QVERIFY(profile.ok());
        MainWindow window(*profile);
        CorpusPanel* corpus = window.corpus();
        QSignalSpy imported(corpus, &CorpusPanel::importFinished);
        QVERIFY(corpus->importPaths({a}));
        QVERIFY(imported.wait(60000));
        corpus->setImportCorpus(QStringLiteral("B"));
        QVERIFY(corpus->importPaths({b}));
        QVERIFY(imported.wait(60000));

        worker::InferenceWorker& worker = window.inferenceWorker();
        CompareView* view = window.compareView();
        ConversationView* pane = window.conversation();
        // Recorded on this thread ahead of a comparison run's relay (connected when the run starts), so
        // the counts are complete once the compare view reports the run finished.
        test::QueuedSpy loads(&worker, &worker::InferenceWorker::memoryEstimated);
        test::QueuedSpy loaded(&worker, &worker::InferenceWorker::loaded);
        test::QueuedSpy answered(&worker, &worker::InferenceWorker::answered);
        QList<Streamed> streamed;
        QMap<worker::RequestId, QString> texts;
        // Connected after the views (but before a comparison run's relay): what they made of each piece.
        connect(&worker, &worker::InferenceWorker::answerText, this,
                [&](const QString& text, worker::RequestId request) {
                    const QString before = texts[request];
                    texts[request] += text;
                    const AnswerWidget* latest = pane->answer(pane->answerCount() - 1);
                    streamed.append({request, texts[request], before,
                                     latest ? latest->model().markdown : QString(),
                                     view->answerModel(CompareView::A).markdown,
                                     view->answerModel(CompareView::B).markdown});
                });
        window.asker()->setMaxAnswerTokens(24);
        view->setMaxAnswerTokens(24);

        // The compare view asked while the window loads the model waits for that load.
        QSignalSpy compared(view, &CompareView::answersFinished);
        window.loadModel();
        QVERIFY(view->ask(QStringLiteral("What is the monthly rent?"), answers::CompareMode::Each));
        QVERIFY(compared.wait(240000) || !compared.isEmpty());
        QVERIFY2(compared.takeFirst().at(0).toString().isEmpty(), qPrintable(view->messageLabel()->text()));
        QCOMPARE(loaded.size(), 1);
        QVERIFY(window.asker()->isModelLoaded());
        QCOMPARE(answered.size(), 2);

        // A question in the pane, and a comparison asked while it is answered: both queue on the worker.
        QSignalSpy finished(window.asker(), &AskController::answerFinished);
        pane->questionEdit()->setPlainText(QStringLiteral("When is the rent due?"));
        QVERIFY(pane->askButton()->isEnabled());
        QTest::mouseClick(pane->askButton(), Qt::LeftButton);
        QVERIFY(view->ask(QStringLiteral("How much is the rent?"), answers::CompareMode::Each));
        QVERIFY(finished.wait(240000) || !finished.isEmpty());
        QVERIFY(compared.wait(240000) || !compared.isEmpty());
        QVERIFY2(compared.takeFirst().at(0).toString().isEmpty(), qPrintable(view->messageLabel()->text()));
        QCOMPARE(finished.size(), 1);
        QCOMPARE(pane->answerCount(), 1);

        // Still one model: neither view loaded its own.
        QCOMPARE(loads.size(), 1);
        QCOMPARE(loaded.size(), 1);

        // The worker answers in order: compare A, compare B, the pane's question, compare A, compare B.
        QCOMPARE(answered.size(), 5);
        QList<worker::RequestId> ids;
        QList<worker::AnswerOutcome> outcomes;
        for (const QList<QVariant>& signal : answered) {
            outcomes.append(signal.at(0).value<worker::AnswerOutcome>());
            ids.append(signal.at(1).value<worker::RequestId>());
            QVERIFY2(outcomes.last().error.isEmpty(), qPrintable(outcomes.last().error));
        }
        QCOMPARE(QSet<worker::RequestId>(ids.begin(), ids.end()).size(), 5);
        const worker::RequestId question = ids[2];
        QCOMPARE(pane->answer(0)->model().markdown, outcomes[2].answer);
        QCOMPARE(view->answerModel(CompareView::A).markdown, outcomes[3].answer);
        QCOMPARE(view->answerModel(CompareView::B).markdown, outcomes[4].answer);
        QVERIFY(!outcomes[2].answer.trimmed().isEmpty());

        // While streaming, each piece went to its own view only.
        QVERIFY(!streamed.isEmpty());
        QString paneText;
        for (const Streamed& piece : streamed) {
            const qsizetype at = ids.indexOf(piece.request);
            QVERIFY(at >= 0);
            if (piece.request == question) {
                paneText = piece.conversation;
                QCOMPARE(piece.conversation, piece.sent);
            } else {
                // The comparison's text never reaches the pane: it shows its own streamed or final answer.
                QVERIFY(piece.conversation == paneText || piece.conversation == outcomes[2].answer);
                const QString& column = (at == 0 || at == 3) ? piece.columnA : piece.columnB;
                // The run relays the piece through a connection made after this one: it may be next.
                QVERIFY2(column == piece.sent || column == piece.before, qPrintable(column));
            }
        }

        // Kept apart in the store too: the pane's conversation holds its one answer.
        auto conversations = window.store()->conversations(corpus->session());
        QVERIFY(conversations.ok());
        int comparisons = 0, chats = 0;
        for (const store::ConversationInfo& info : *conversations) {
            auto messages = window.store()->messages(info.id);
            QVERIFY(messages.ok());
            if (info.title.startsWith(QLatin1String("Compare: "))) {
                ++comparisons;
                QCOMPARE(messages->size(), 2);
            } else {
                ++chats;
                QCOMPARE(messages->size(), 1);
                QCOMPARE(messages->first().answer, outcomes[2].answer);
            }
        }
        QCOMPARE(comparisons, 2);
        QCOMPARE(chats, 1);
    }
};

QTEST_MAIN(SharedWorkerTest)
#include "shared_worker_test.moc"
