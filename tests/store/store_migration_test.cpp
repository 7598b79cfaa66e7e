// A database written by schema version 1 (tests/data/store/v1.sqlite3, made by `store_helper make-v1`)
// opens in this build: it is migrated forward in place and everything it held is still there.

#include "app/store/schema.h"
#include "app/store/store.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace lectern::store;

class MigrationTest : public QObject {
    Q_OBJECT
private slots:
    void version1IsMigrated() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("lectern.sqlite3"));
        QVERIFY(QFile::copy(QStringLiteral(LECTERN_TEST_DATA "/store/v1.sqlite3"), path));
        QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner);
        {
            Database raw(path);
            QCOMPARE(schemaVersion(raw), 1);
        }

        auto opened = Store::open(path);
        QVERIFY2(opened, opened ? "" : opened.error().c_str());
        Store& store = **opened;
        QCOMPARE(schemaVersion(store.database()), latestSchemaVersion());
        QCOMPARE(*store.integrityCheck(), QStringLiteral("ok"));

        const auto session = *store.findSession(QStringLiteral("legacy"));
        QVERIFY(session);
        QCOMPARE(session->documents, 1);
        QCOMPARE(session->tokens, 15);
        const auto documents = *store.documents({session->id, {}});
        QCOMPARE(documents.size(), 1);
        QCOMPARE(documents[0].path, QStringLiteral("/legacy/résumé.pdf"));
        QCOMPARE(documents[0].fileSize, -1); // a version 2 column, unknown for old rows
        QCOMPARE(documents[0].passages, 2);

        // The full-text rows written by version 1's triggers still serve both kinds of search.
        QCOMPARE((*store.search({session->id, {}, {}, QStringLiteral("ete")})).hits.size(), 1);
        const SearchResults cjk = *store.search({session->id, {}, {}, QStringLiteral("機械学習")});
        QCOMPARE(cjk.hits.size(), 1);
        QCOMPARE(cjk.hits[0].stableId, QStringLiteral("0123456789abcdef:1"));

        const auto conversations = *store.conversations(session->id);
        QCOMPARE(conversations.size(), 1);
        const auto messages = *store.messages(conversations[0].id);
        QCOMPARE(messages.size(), 1);
        QCOMPARE(messages[0].citations.size(), 1);
        QCOMPARE(messages[0].citations[0].quote, QStringLiteral("l'été"));
        QCOMPARE(messages[0].citations[0].passage, std::optional<qint64>(1));
        QCOMPARE(messages[0].citations[0].answerOffset, std::nullopt); // version 5's column: not known
        QCOMPARE((*store.caches(documents[0].corpus)).size(), 1);

        // Version 2's index serves the duplicate look-up, and new imports record the file size.
        QCOMPARE(
            *store.pathWithContent(documents[0].corpus, QStringLiteral("0123456789abcdef0123456789abcdef")),
            std::optional<QString>(QStringLiteral("/legacy/résumé.pdf")));
        Statement plan = store.database().prepare(
            "EXPLAIN QUERY PLAN SELECT path FROM documents WHERE corpus_id = 1 AND content_hash = 'x'");
        QString detail;
        while (plan.step()) detail += plan.text(3);
        QVERIFY2(detail.contains(QStringLiteral("documents_by_hash")), qPrintable(detail));

        // Opening again is a no-op.
        opened->reset();
        auto again = Store::open(path);
        QVERIFY(again);
        QCOMPARE(schemaVersion((*again)->database()), latestSchemaVersion());
    }
};

QTEST_GUILESS_MAIN(MigrationTest)
#include "store_migration_test.moc"
