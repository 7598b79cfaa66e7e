// Reopening a session shows its chat conversations only: two-corpus comparisons kept in the same
// session ("Compare: …" conversations, answers that hold both corpora or come from corpus B) belong to
// the compare view, and the chat history the next question carries is the latest chat conversation's,
// even when a comparison was made after it.

#include "app/store/records.h"
#include "app/store/store.h"
#include "ui/conversation/answer_widget.h"
#include "ui/conversation/ask_controller.h"
#include "ui/conversation/conversation_view.h"
#include "ui/status/status_panel.h"

#include <QTemporaryDir>
#include <QTest>

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
        AskController asker(&pane, &status);
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
        AskController asker(&pane, &status);
        asker.setStore(&db, session);
        QCOMPARE(pane.answerCount(), 0);
        QVERIFY(asker.history().empty());
    }
};

QTEST_MAIN(RestoreSessionTest)
#include "restore_session_test.moc"
