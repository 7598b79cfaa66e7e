// Durability: a writer SIGKILLed mid-import or mid-answer loses nothing it committed and leaves a database
// that opens and passes integrity checks; a full disk and a read-only folder give clear errors and never a
// damaged file.

#include "app/store/store.h"
#include "tests/store/fixtures.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <sys/mount.h>
#include <unistd.h>

using namespace lectern;
using namespace lectern::store;

namespace {

constexpr int kPassagesPerDocument = 400; // as store_helper writes them

// Runs store_helper MODE DB until it has reported `commits` commits, then SIGKILLs it at a random moment
// of the next one. Returns the numbers it reported.
QList<qint64> runAndKill(const QString& mode, const QString& database, int commits) {
    QProcess helper;
    helper.start(QStringLiteral(STORE_HELPER), {mode, database});
    if (!helper.waitForStarted()) qFatal("store_helper did not start");
    QList<qint64> reported;
    QByteArray pending;
    while (reported.size() < commits) {
        if (!helper.waitForReadyRead(60000))
            qFatal("store_helper stopped: %s", helper.readAllStandardError().constData());
        pending += helper.readAllStandardOutput();
        while (pending.contains('\n')) {
            const qsizetype end = pending.indexOf('\n');
            reported.push_back(pending.left(end).split(' ').last().toLongLong());
            pending.remove(0, end + 1);
        }
    }
    QThread::msleep(QRandomGenerator::global()->bounded(5, 60));
    helper.kill(); // SIGKILL
    helper.waitForFinished();
    // Anything it printed before dying was committed before it was printed.
    pending += helper.readAllStandardOutput();
    for (const QByteArray& line : pending.split('\n'))
        if (!line.trimmed().isEmpty()) reported.push_back(line.split(' ').last().toLongLong());
    return reported;
}

qint64 scalar(Store& store, const char* sql) {
    Statement statement = store.database().prepare(sql);
    statement.step();
    return statement.int64(0);
}

// A helper owned by nobody, so that permissions apply even when the tests run as root.
bool dropPrivilegesSupported() {
    return geteuid() == 0;
}

Result<void> importDocument(Store& store, qint64 corpus, const importers::Document& document) {
    if (auto begun = store.beginFile(corpus, document.path, document.contentHash); !begun) return begun;
    if (auto stored = store.storeDocument(corpus, document); !stored) return Error{stored.error()};
    return store.finishFile(corpus, document.path);
}

} // namespace

class DurabilityTest : public QObject {
    Q_OBJECT
private slots:
    void killedMidImportLosesNothingCommitted() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("lectern.sqlite3"));
        QSet<qint64> committed;
        for (int round = 0; round < 3; ++round) {
            for (qint64 n : runAndKill(QStringLiteral("import"), path, 2)) committed.insert(n);

            auto opened = Store::open(path);
            QVERIFY2(opened, opened ? "" : opened.error().c_str());
            Store& store = **opened;
            QCOMPARE(*store.integrityCheck(), QStringLiteral("ok"));
            const auto session = *store.findSession(QStringLiteral("crash"));
            QVERIFY(session);
            const qint64 corpus = *store.corpus(session->id, QStringLiteral("A"));
            for (qint64 n : committed) {
                const auto document =
                    *store.documentByPath(session->id, QStringLiteral("/crash/doc%1.txt").arg(n));
                QVERIFY2(document, qPrintable(QStringLiteral("committed document %1 is missing").arg(n)));
                QCOMPARE(document->state, ImportState::Imported);
                QCOMPARE(document->passages, kPassagesPerDocument);
                SearchQuery query{session->id, corpus, {}, QStringLiteral("docmarker%1").arg(n)};
                query.limit = 1000;
                QCOMPARE((*store.search(query)).hits.size(), kPassagesPerDocument);
            }
            // At most the file in flight is unfinished, and it is listed for the next import to redo; the
            // helper's next round does exactly that.
            QVERIFY((*store.unfinishedFiles(corpus)).size() <= 1);
            // Every imported document has all its passages. Passages outside them can only be the file in
            // flight: stored whole in one transaction, killed before it was marked finished, and redone by
            // the next import — never a part of a document.
            const qint64 inImported = scalar(store, "SELECT count(*) FROM passages p JOIN documents d "
                                                    "ON d.id = p.document_id WHERE d.state = 'imported'");
            QCOMPARE(inImported, scalar(store, "SELECT count(*) FROM documents WHERE state = 'imported'") *
                                     kPassagesPerDocument);
            const qint64 inFlight = scalar(store, "SELECT count(*) FROM passages") - inImported;
            QVERIFY2(inFlight == 0 || inFlight == kPassagesPerDocument,
                     qPrintable(QStringLiteral("%1 passages outside imported documents").arg(inFlight)));
        }
        QVERIFY(committed.size() >= 6);
    }

    void killedMidAnswerLosesNothingCommitted() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("lectern.sqlite3"));
        const QList<qint64> saved = runAndKill(QStringLiteral("answers"), path, 20);
        auto opened = Store::open(path);
        QVERIFY2(opened, opened ? "" : opened.error().c_str());
        Store& store = **opened;
        QCOMPARE(*store.integrityCheck(), QStringLiteral("ok"));
        const auto session = *store.findSession(QStringLiteral("answers"));
        QVERIFY(session);
        const auto conversations = *store.conversations(session->id);
        QCOMPARE(conversations.size(), 1);
        const auto messages = *store.messages(conversations[0].id);
        QSet<qint64> present;
        for (const MessageRecord& message : messages) {
            present.insert(message.id);
            QCOMPARE(message.citations.size(), 200); // an answer is saved whole or not at all
            QVERIFY(message.answer.startsWith(
                message.question.section(u' ', 1).prepend(QStringLiteral("answer "))));
        }
        for (qint64 id : saved)
            QVERIFY2(present.contains(id), qPrintable(QStringLiteral("answer %1 lost").arg(id)));
        QVERIFY(messages.size() <= saved.size() + 1);
    }

    // SQLite's page limit stands in for a full disk everywhere.
    void fullDiskIsAClearErrorAndHarmless() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("lectern.sqlite3"));
        auto opened = Store::open(path);
        QVERIFY(opened);
        Store& store = **opened;
        const qint64 session = *store.createSession(QStringLiteral("full"));
        const qint64 corpus = *store.corpus(session, QStringLiteral("A"));
        const auto small =
            testing::makeDocument(QStringLiteral("/small.txt"), {QStringLiteral("kept words")});
        QVERIFY(importDocument(store, corpus, small));
        const qint64 pages = scalar(store, "PRAGMA page_count");
        store.database().exec(("PRAGMA max_page_count=" + std::to_string(pages + 8)).c_str());

        QStringList big;
        for (int i = 0; i < 200; ++i) big << QStringLiteral("filler paragraph %1 ").arg(i).repeated(40);
        const auto large =
            testing::makeDocument(QStringLiteral("/large.txt"), {big.join(QStringLiteral("\n\n"))});
        const auto stored = importDocument(store, corpus, large);
        QVERIFY(!stored);
        QVERIFY2(QString::fromStdString(stored.error()).contains(QStringLiteral("is full")),
                 stored.error().c_str());
        const auto half = *store.documentByPath(session, large.path); // begun, but nothing of it stored
        QVERIFY(half && half->state == ImportState::Pending && half->passages == 0 && half->pages == 0);
        QCOMPARE(*store.integrityCheck(), QStringLiteral("ok"));
        QCOMPARE((*store.search({session, {}, {}, QStringLiteral("kept")})).hits.size(), 1);

        store.database().exec("PRAGMA max_page_count=1073741823");
        QVERIFY(importDocument(store, corpus, large));
    }

    // A real full file system: a 1 MiB tmpfs, where mounting is allowed (root, outside most containers).
    void fullFileSystemIsAClearErrorAndHarmless() {
        QTemporaryDir dir;
        const QByteArray mountPoint = QFile::encodeName(dir.path());
        if (geteuid() != 0 || mount("tmpfs", mountPoint.constData(), "tmpfs", 0, "size=1m") != 0)
            QSKIP("cannot mount a small tmpfs here");
        const auto unmount = qScopeGuard([&] { umount(mountPoint.constData()); });
        const QString path = dir.filePath(QStringLiteral("lectern.sqlite3"));
        QString error;
        qint64 storedCount = 0;
        {
            auto opened = Store::open(path);
            if (opened) {
                Store& store = **opened;
                const qint64 session = *store.createSession(QStringLiteral("full"));
                const qint64 corpus = *store.corpus(session, QStringLiteral("A"));
                for (int n = 0; n < 200 && error.isEmpty(); ++n) {
                    QStringList paragraphs;
                    for (int i = 0; i < 20; ++i)
                        paragraphs << QStringLiteral("doc %1 paragraph %2 ").arg(n).arg(i).repeated(20);
                    const auto result =
                        importDocument(store, corpus,
                                       testing::makeDocument(QStringLiteral("/d%1.txt").arg(n),
                                                             {paragraphs.join(QStringLiteral("\n\n"))}));
                    if (result)
                        ++storedCount;
                    else
                        error = QString::fromStdString(result.error());
                }
            } else {
                error = QString::fromStdString(opened.error());
            }
        }
        QVERIFY2(error.contains(QStringLiteral("is full")), qPrintable(error));
        // Room again (as after the user frees space): the database opens whole, with what was committed.
        QVERIFY(mount("tmpfs", mountPoint.constData(), "tmpfs", MS_REMOUNT, "size=64m") == 0);
        {
            auto reopened = Store::open(path);
            QVERIFY2(reopened, reopened ? "" : reopened.error().c_str());
            QCOMPARE(*(*reopened)->integrityCheck(), QStringLiteral("ok"));
            const auto session = *(*reopened)->findSession(QStringLiteral("full"));
            if (storedCount > 0) QCOMPARE(session->documents, storedCount);
        }
    }

    void readOnlyFolderIsAClearError() {
        QTemporaryDir dir;
        const QString existing = dir.filePath(QStringLiteral("existing"));
        const QString empty = dir.filePath(QStringLiteral("empty"));
        QVERIFY(QDir().mkpath(existing) && QDir().mkpath(empty));
        const QString path = existing + QStringLiteral("/lectern.sqlite3");
        {
            auto opened = Store::open(path);
            QVERIFY(opened);
            QVERIFY((*opened)->createSession(QStringLiteral("kept")));
        }
        const auto readOnly = QFile::ReadOwner | QFile::ExeOwner | QFile::ReadGroup | QFile::ExeGroup |
                              QFile::ReadOther | QFile::ExeOther;
        QFile::setPermissions(dir.path(), readOnly);
        QFile::setPermissions(existing, readOnly);
        QFile::setPermissions(empty, readOnly);
        QFile::setPermissions(path, QFile::ReadOwner | QFile::ReadGroup | QFile::ReadOther);

        // The unprivileged helper must be able to reach its own program: the build may sit under a folder
        // only its owner can enter (a mktemp clone), so it runs from a copy in a folder anyone can read.
        QTemporaryDir programDir;
        const QString program = programDir.filePath(QStringLiteral("store_helper"));
        if (dropPrivilegesSupported()) {
            QVERIFY(QFile::copy(QStringLiteral(STORE_HELPER), program));
            QVERIFY(QFile::setPermissions(programDir.path(), readOnly | QFile::WriteOwner));
            QVERIFY(QFile::setPermissions(program, readOnly));
        }

        for (const QString& database : {path, empty + QStringLiteral("/lectern.sqlite3")}) {
            QString error;
            if (dropPrivilegesSupported()) {
                // Root writes anywhere; the store must be tried by an ordinary user to meet the permissions.
                QProcess helper;
                helper.setChildProcessModifier([] {
                    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(99);
                });
                helper.start(program, {QStringLiteral("open"), database});
                QVERIFY2(helper.waitForFinished(30000), qPrintable(helper.errorString()));
                QCOMPARE(helper.exitCode(), 1);
                error = QString::fromUtf8(helper.readAllStandardError());
            } else {
                const auto opened = Store::open(database);
                QVERIFY(!opened);
                error = QString::fromStdString(opened.error());
            }
            QVERIFY2(error.contains(QStringLiteral("read-only")), qPrintable(error));
        }
        QVERIFY(!QFile::exists(empty + QStringLiteral("/lectern.sqlite3")));

        // Writable again, the existing database is whole.
        const auto writable = readOnly | QFile::WriteOwner;
        QFile::setPermissions(dir.path(), writable);
        QFile::setPermissions(existing, writable);
        QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner);
        auto reopened = Store::open(path);
        QVERIFY(reopened);
        QCOMPARE(*(*reopened)->integrityCheck(), QStringLiteral("ok"));
        QVERIFY(*(*reopened)->findSession(QStringLiteral("kept")));
    }
};

QTEST_GUILESS_MAIN(DurabilityTest)
#include "store_durability_test.moc"
