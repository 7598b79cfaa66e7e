// Reopening a session shows its chat conversations only: two-corpus comparisons kept in the same
// session ("Compare: …" conversations, answers that hold both corpora or come from corpus B) belong to
// the compare view, and the chat history the next question carries is the latest chat conversation's,
// even when a comparison was made after it. A saved answer shows each [n] where it stood again (the
// store keeps its offset in the answer's text); an offset the store does not have, or one past the
// text's end, leaves a chip only.

#include "app/store/records.h"
#include "app/store/store.h"
#include "ui/conversation/answer_widget.h"
#include "ui/conversation/ask_controller.h"
#include "ui/conversation/conversation_view.h"
#include "ui/conversation/saved_answers.h"
#include "ui/status/status_panel.h"

#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>

using namespace lectern;
using namespace lectern::ui;

namespace {

store::MessageRecord answer(const QString& question, const QString& text, std::optional<qint64> corpus,
                            std::optional<qint64> compared = std::nullopt) {
    store::MessageRecord record;
    record.question = question;
    record.answer = text;
    record.modelId = QStringLiteral("test-model");
    record.corpus = corpus;
    record.comparedCorpus = compared;
    return record;
}

} // namespace

class RestoreSessionTest : public QObject {
    Q_OBJECT
private slots:
    void comparisonsAreLeftToTheCompareView() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto opened = store::Store::open(dir.filePath(QStringLiteral("lectern.db")));
        QVERIFY2(opened.ok(), opened.ok() ? "" : opened.error().c_str());
        store::Store& db = **opened;
        const qint64 session = *db.createSession(QStringLiteral("contracts"));
        const qint64 corpusA = *db.corpus(session, QStringLiteral("A"));
        const qint64 corpusB = *db.corpus(session, QStringLiteral("B"));

        const qint64 older = *db.createConversation(session, QStringLiteral("What is due?"));
        QVERIFY(
            db.saveMessage(older, answer(QStringLiteral("What is due?"), QStringLiteral("Rent."), corpusA)));
        const qint64 chat = *db.createConversation(session, QStringLiteral("Who signs?"));
        QVERIFY(db.saveMessage(chat,
                               answer(QStringLiteral("Who signs?"), QStringLiteral("The tenant."), corpusA)));
        QVERIFY(
            db.saveMessage(chat, answer(QStringLiteral("When?"), QStringLiteral("On the first."), corpusA)));
        // After the chat: a comparison of each corpus, one about both, and one stopped after side A.
        const qint64 each = *db.createConversation(session, QStringLiteral("Compare: Who pays?"));
        QVERIFY(
            db.saveMessage(each, answer(QStringLiteral("Who pays?"), QStringLiteral("A pays."), corpusA)));
        QVERIFY(
            db.saveMessage(each, answer(QStringLiteral("Who pays?"), QStringLiteral("B pays."), corpusB)));
        const qint64 both = *db.createConversation(session, QStringLiteral("Differences"));
        QVERIFY(db.saveMessage(
            both, answer(QStringLiteral("Differences"), QStringLiteral("Few."), corpusA, corpusB)));
        const qint64 sideB = *db.createConversation(session, QStringLiteral("Only B"));
        QVERIFY(db.saveMessage(sideB, answer(QStringLiteral("Only B"), QStringLiteral("B."), corpusB)));
        const qint64 stopped = *db.createConversation(session, QStringLiteral("Compare: Stopped"));
        QVERIFY(db.saveMessage(stopped, answer(QStringLiteral("Stopped"), QStringLiteral("A."), corpusA)));

        ConversationView pane;
        StatusPanel status;
        worker::InferenceWorker worker;
        AskController asker(worker, &pane, &status);
        asker.setStore(&db, session);

        QCOMPARE(pane.answerCount(), 3);
        QStringList questions;
        for (int i = 0; i < pane.answerCount(); ++i) questions << pane.answer(i)->model().question;
        QCOMPARE(questions, (QStringList{QStringLiteral("What is due?"), QStringLiteral("Who signs?"),
                                         QStringLiteral("When?")}));
        QCOMPARE(asker.history().size(), std::size_t(2));
        QCOMPARE(asker.history()[0].question, QStringLiteral("Who signs?"));
        QCOMPARE(asker.history()[1].answer, QStringLiteral("On the first."));
    }

    void citationsComeBackInline() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto opened = store::Store::open(dir.filePath(QStringLiteral("lectern.db")));
        QVERIFY(opened.ok());
        store::Store& db = **opened;
        const qint64 session = *db.createSession(QStringLiteral("inline"));
        const qint64 corpusA = *db.corpus(session, QStringLiteral("A"));
        const qint64 conversation = *db.createConversation(session, QStringLiteral("Where?"));

        // As the worker reports an answer: the text without brackets, each citation's offset in it.
        worker::AnswerOutcome outcome;
        outcome.answer = QStringLiteral("On page two, and on page three.");
        for (const auto& [number, offset] : {std::pair{1, 11}, std::pair{2, 30}}) {
            answers::VerifiedCitation citation;
            citation.citation.number = number;
            citation.citation.answer_offset = offset;
            citation.verification = answers::Verification::UnknownPassage;
            outcome.citations.append(citation);
        }
        const answers::Corpus empty;
        QVERIFY(saveAnswer(db, conversation, corpusA, empty, QStringLiteral("Where?"), QStringLiteral("m"),
                           outcome));
        auto stored = *db.messages(conversation);
        QCOMPARE(stored[0].citations[0].answerOffset, std::optional<qsizetype>(11));

        ConversationView pane;
        StatusPanel status;
        worker::InferenceWorker worker;
        AskController asker(worker, &pane, &status);
        asker.setStore(&db, session);
        QCOMPARE(pane.answerCount(), 1);
        const AnswerWidget* widget = pane.answer(0);
        QVERIFY(widget);
        const AnswerViewModel& shown = widget->model();
        QCOMPARE(shown.citations.size(), 2);
        QCOMPARE(shown.citations[0].answerOffset, qsizetype(11));
        QCOMPARE(shown.citations[1].answerOffset, qsizetype(30));
        QCOMPARE(widget->answerBrowser()->document()->toPlainText(),
                 QStringLiteral("On page two[1], and on page three[2]."));

        // Answers saved before the store kept offsets, and an offset past the text, give chips only.
        stored[0].citations[0].answerOffset.reset();
        stored[0].citations[1].answerOffset = stored[0].answer.size() + 1;
        const AnswerViewModel older = savedAnswerView(stored[0], empty);
        QCOMPARE(older.citations[0].answerOffset, qsizetype(-1));
        QCOMPARE(older.citations[1].answerOffset, qsizetype(-1));
    }

    void onlyComparisonsLeaveAnEmptyChat() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto opened = store::Store::open(dir.filePath(QStringLiteral("lectern.db")));
        QVERIFY(opened.ok());
        store::Store& db = **opened;
        const qint64 session = *db.createSession(QStringLiteral("pair"));
        const qint64 corpusA = *db.corpus(session, QStringLiteral("A"));
        const qint64 corpusB = *db.corpus(session, QStringLiteral("B"));
        const qint64 each = *db.createConversation(session, QStringLiteral("Compare: Who pays?"));
        QVERIFY(
            db.saveMessage(each, answer(QStringLiteral("Who pays?"), QStringLiteral("A pays."), corpusA)));
        QVERIFY(
            db.saveMessage(each, answer(QStringLiteral("Who pays?"), QStringLiteral("B pays."), corpusB)));

        ConversationView pane;
        StatusPanel status;
        worker::InferenceWorker worker;
        AskController asker(worker, &pane, &status);
        asker.setStore(&db, session);
        QCOMPARE(pane.answerCount(), 0);
        QVERIFY(asker.history().empty());
    }
};

QTEST_MAIN(RestoreSessionTest)
#include "restore_session_test.moc"
