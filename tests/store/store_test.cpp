// The store's schema, import bookkeeping, search, answers and deletion, on documents built by hand.

#include "app/store/schema.h"
#include "app/store/store.h"
#include "tests/store/fixtures.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace lectern;
using namespace lectern::store;
using lectern::store::testing::makeDocument;

namespace {

template <typename T>
T check(Result<T> result) {
    if (!result) qFatal("store call failed: %s", result.error().c_str());
    return std::move(result).value();
}

void check(Result<void> result) {
    if (!result) qFatal("store call failed: %s", result.error().c_str());
}

qint64 count(Store& store, const char* sql) {
    Statement statement = store.database().prepare(sql);
    statement.step();
    return statement.int64(0);
}

QStringList paths(const SearchResults& results) {
    QStringList list;
    for (const SearchHit& hit : results.hits) list << hit.documentPath;
    return list;
}

// Imports `document` into `corpus` the way the pipeline does.
qint64 importDocument(Store& store, qint64 corpus, const importers::Document& document) {
    check(store.beginFile(corpus, document.path, document.contentHash));
    const qint64 id = check(store.storeDocument(corpus, document));
    check(store.finishFile(corpus, document.path));
    return id;
}

} // namespace

class StoreTest : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    std::unique_ptr<Store> store_;
    qint64 session_ = 0;
    qint64 corpusA_ = 0;

    Store& store() { return *store_; }

private slots:
    void init() {
        QVERIFY(dir_.isValid());
        QFile::remove(dir_.filePath(QStringLiteral("lectern.sqlite3")));
        store_ = check(Store::open(dir_.filePath(QStringLiteral("lectern.sqlite3"))));
        session_ = check(store().createSession(QStringLiteral("thesis")));
        corpusA_ = check(store().corpus(session_, QStringLiteral("A")));
    }

    void cleanup() { store_.reset(); }

    void opensWithWalForeignKeysAndLatestSchema() {
        Statement mode = store().database().prepare("PRAGMA journal_mode");
        QVERIFY(mode.step());
        QCOMPARE(mode.text(0), QStringLiteral("wal"));
        QCOMPARE(count(store(), "PRAGMA foreign_keys"), 1);
        QCOMPARE(schemaVersion(store().database()), latestSchemaVersion());
        QVERIFY(latestSchemaVersion() >= 2);
        QCOMPARE(check(store().integrityCheck()), QStringLiteral("ok"));
    }

    void sessionsAndCorpora() {
        const auto duplicate = store().createSession(QStringLiteral(" thesis "));
        QVERIFY(!duplicate);
        QVERIFY(QString::fromStdString(duplicate.error()).contains(QStringLiteral("already exists")));
        QVERIFY(!store().createSession(QStringLiteral("   ")));
        QVERIFY(!store().corpus(session_, QStringLiteral("C")));

        QCOMPARE(check(store().corpus(session_, QStringLiteral("A"))), corpusA_);
        const qint64 corpusB = check(store().corpus(session_, QStringLiteral("B")));
        QVERIFY(corpusB != corpusA_);
        importDocument(store(), corpusA_,
                       makeDocument(QStringLiteral("/a.pdf"), {QStringLiteral("one two\n\nthree")}));
        importDocument(store(), corpusB, makeDocument(QStringLiteral("/b.pdf"), {QStringLiteral("four")}));

        const auto info = check(store().findSession(QStringLiteral("thesis")));
        QVERIFY(info);
        QCOMPARE(info->corpora, 2);
        QCOMPARE(info->documents, 2);
        QCOMPARE(info->tokens, qint64(2 + 2 + 2)); // size/4 + 1 per passage
        QVERIFY(!check(store().findSession(QStringLiteral("nope"))));
        check(store().createSession(QStringLiteral("another")));
        const auto all = check(store().sessions());
        QCOMPARE(all.size(), 2);
        QCOMPARE(all[0].name, QStringLiteral("another"));
        const auto corpora = check(store().corpora(session_));
        QCOMPARE(corpora.size(), 2);
        QCOMPARE(corpora[1].label, QStringLiteral("B"));
        QCOMPARE(corpora[1].documents, 1);
    }

    void documentRoundTrip() {
        importers::Document document =
            makeDocument(QStringLiteral("/docs/report.pdf"),
                         {QStringLiteral("First page, first passage.\n\nSecond passage here."),
                          QStringLiteral("Page two.")});
        document.author = QStringLiteral("Ada");
        document.created = QDateTime(QDate(2024, 3, 1), QTime(10, 30), Qt::UTC);
        document.outline = {{QStringLiteral("Intro"), 1, 0}, {QStringLiteral("Détails"), 2, 1}};
        document.pages[1].ocr = true;
        document.pages[1].repeated = {{0, 4}};
        document.passages[2].ocr = true;
        const qint64 id = importDocument(store(), corpusA_, document);

        const importers::Document loaded = check(store().loadDocument(id));
        QCOMPARE(loaded.path, document.path);
        QCOMPARE(loaded.contentHash, document.contentHash);
        QCOMPARE(loaded.author, QStringLiteral("Ada"));
        QCOMPARE(loaded.created, document.created);
        QCOMPARE(loaded.outline.size(), 2);
        QCOMPARE(loaded.outline[1].title, QStringLiteral("Détails"));
        QCOMPARE(loaded.outline[1].level, 1);
        QCOMPARE(loaded.pages.size(), 2);
        QCOMPARE(loaded.pages[0].text, document.pages[0].text);
        QCOMPARE(loaded.pages[0].size, QSizeF(612, 792));
        QCOMPARE(loaded.pages[0].words.size(), document.pages[0].words.size());
        QCOMPARE(loaded.pages[0].words[2].range.start, document.pages[0].words[2].range.start);
        QCOMPARE(loaded.pages[0].words[2].rect, document.pages[0].words[2].rect);
        QVERIFY(loaded.pages[1].ocr);
        QCOMPARE(loaded.pages[1].repeated.size(), 1);
        QCOMPARE(loaded.pages[1].repeated[0].end, qsizetype(4));
        QCOMPARE(loaded.passages.size(), 3);
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(loaded.passages[i].id, document.passages[i].id);
            QCOMPARE(loaded.passages[i].text, document.passages[i].text);
            QCOMPARE(loaded.passages[i].range.start, document.passages[i].range.start);
            QCOMPARE(loaded.passages[i].boxes, document.passages[i].boxes);
            QCOMPARE(loaded.passages[i].ocr, document.passages[i].ocr);
        }

        const auto info = check(store().document(id));
        QVERIFY(info);
        QCOMPARE(info->state, ImportState::Imported);
        QCOMPARE(info->pages, 2);
        QCOMPARE(info->passages, 3);
        const auto byStable = check(store().passageByStableId(corpusA_, document.passages[1].id));
        QVERIFY(byStable);
        QCOMPARE(byStable->text, QStringLiteral("Second passage here."));
        QCOMPARE(check(store().documentByPath(session_, document.path))->id, id);
    }

    void brokenAnchorsAreRefused() {
        importers::Document document = makeDocument(QStringLiteral("/bad.pdf"), {QStringLiteral("short")});
        document.passages[0].range.end = 99;
        const auto result = store().storeDocument(corpusA_, document);
        QVERIFY(!result);
        QVERIFY(QString::fromStdString(result.error()).contains(QStringLiteral("/bad.pdf")));
        document.passages[0].range.end = 5;
        document.passages[0].page = 7;
        QVERIFY(!store().storeDocument(corpusA_, document));
        QCOMPARE(count(store(), "SELECT count(*) FROM documents"), 0);
    }

    void importProtocolResumesAndDetectsChanges() {
        const auto v1 = makeDocument(QStringLiteral("/notes.txt"), {QStringLiteral("alpha beta")});
        QVERIFY(!check(store().isComplete(corpusA_, v1.path, v1.contentHash)));
        check(store().beginFile(corpusA_, v1.path, v1.contentHash));
        check(store().storeDocument(corpusA_, v1));
        // Not finished (a crash here): incomplete, listed for the next import.
        QVERIFY(!check(store().isComplete(corpusA_, v1.path, v1.contentHash)));
        QCOMPARE(check(store().unfinishedFiles(corpusA_)), QStringList{v1.path});
        importDocument(store(), corpusA_, v1);
        QVERIFY(check(store().isComplete(corpusA_, v1.path, v1.contentHash)));
        QVERIFY(check(store().unfinishedFiles(corpusA_)).isEmpty());
        QCOMPARE(count(store(), "SELECT count(*) FROM passages"), 1);

        // The file changed: the old content is replaced, not added to.
        const auto v2 = makeDocument(QStringLiteral("/notes.txt"), {QStringLiteral("gamma\n\ndelta")});
        QVERIFY(!check(store().isComplete(corpusA_, v2.path, v2.contentHash)));
        importDocument(store(), corpusA_, v2);
        QCOMPARE(count(store(), "SELECT count(*) FROM documents"), 1);
        QCOMPARE(count(store(), "SELECT count(*) FROM passages"), 2);
        QVERIFY(check(store().search({session_, {}, {}, QStringLiteral("alpha")})).hits.isEmpty());
        QCOMPARE(check(store().search({session_, {}, {}, QStringLiteral("delta")})).hits.size(), 1);

        // Same bytes at another path: a duplicate, stored once.
        QCOMPARE(check(store().pathWithContent(corpusA_, v2.contentHash)), std::optional<QString>(v2.path));
        check(store().recordDuplicate(corpusA_, QStringLiteral("/copy.txt"), v2.contentHash, v2.path));
        QVERIFY(check(store().isComplete(corpusA_, QStringLiteral("/copy.txt"), v2.contentHash)));
        QCOMPARE(count(store(), "SELECT count(*) FROM passages"), 2);
        const auto copy = check(store().documentByPath(session_, QStringLiteral("/copy.txt")));
        QCOMPARE(copy->state, ImportState::Duplicate);
        QCOMPARE(copy->duplicateOf, v2.path);

        // A file that failed is tried again next time (a password may have been supplied since).
        check(store().recordFailure(corpusA_, QStringLiteral("/broken.pdf"), {}, QStringLiteral("h1"),
                                    QStringLiteral("corrupt"), QStringLiteral("not a PDF")));
        QVERIFY(!check(store().isComplete(corpusA_, QStringLiteral("/broken.pdf"), QStringLiteral("h1"))));
        const auto broken = check(store().documentByPath(session_, QStringLiteral("/broken.pdf")));
        QCOMPARE(broken->state, ImportState::Failed);
        QCOMPARE(broken->errorKind, QStringLiteral("corrupt"));
        QCOMPARE(broken->error, QStringLiteral("not a PDF"));
        // A file that now fails loses what an earlier import stored for it.
        check(store().recordFailure(corpusA_, v2.path, {}, QStringLiteral("h3"), QStringLiteral("corrupt"),
                                    QStringLiteral("truncated")));
        QVERIFY(check(store().search({session_, {}, {}, QStringLiteral("delta")})).hits.isEmpty());
    }

    void containedItemsGoWithTheirFile() {
        auto mbox = makeDocument(QStringLiteral("/mail.mbox"), {QStringLiteral("mailbox")});
        auto message = makeDocument(QStringLiteral("/mail.mbox#1"), {QStringLiteral("hello from mail")});
        message.parentPath = mbox.path;
        check(store().beginFile(corpusA_, mbox.path, mbox.contentHash));
        check(store().storeDocument(corpusA_, mbox));
        check(store().storeDocument(corpusA_, message));
        check(store().finishFile(corpusA_, mbox.path));
        QCOMPARE(check(store().documents({session_, {}})).size(), 2);
        // Re-importing the file (changed) drops its old items first.
        check(store().beginFile(corpusA_, mbox.path, QStringLiteral("changed")));
        QCOMPARE(check(store().documents({session_, {}})).size(), 1);
        QCOMPARE(count(store(), "SELECT count(*) FROM passages"), 0);
    }

    void searchRanksWithSnippetsAndFolds() {
        importDocument(store(), corpusA_,
                       makeDocument(QStringLiteral("/en.pdf"),
                                    {QStringLiteral("The river flows. The river floods the river bank.\n\n"
                                                    "A quiet meadow beside a river.\n\nNothing here.")}));
        importDocument(
            store(), corpusA_,
            makeDocument(QStringLiteral("/fr.pdf"), {QStringLiteral("Le résumé de l'été à Zürich.")}));
        importDocument(store(), corpusA_,
                       makeDocument(QStringLiteral("/ru.pdf"), {QStringLiteral("Москва — столица России.")}));

        const SearchResults river = check(store().search({session_, {}, {}, QStringLiteral("river")}));
        QCOMPARE(river.hits.size(), 2);
        QVERIFY(!river.trigram);
        QVERIFY(river.hits[0].score > river.hits[1].score); // three mentions outrank one
        QVERIFY(river.hits[0].snippet.contains(QStringLiteral("[river]")));
        QCOMPARE(river.hits[0].page, 1);
        QCOMPARE(river.hits[0].stableId.section(u':', 1), QStringLiteral("0"));

        QCOMPARE(paths(check(store().search({session_, {}, {}, QStringLiteral("resume ete")}))),
                 QStringList{QStringLiteral("/fr.pdf")});
        QCOMPARE(paths(check(store().search({session_, {}, {}, QStringLiteral("ZURICH")}))),
                 QStringList{QStringLiteral("/fr.pdf")});
        QCOMPARE(paths(check(store().search({session_, {}, {}, QStringLiteral("москва")}))),
                 QStringList{QStringLiteral("/ru.pdf")});
        QCOMPARE(paths(check(store().search({session_, {}, {}, QStringLiteral("\"quiet meadow\"")}))),
                 QStringList{QStringLiteral("/en.pdf")});
        QVERIFY(check(store().search({session_, {}, {}, QStringLiteral("\"meadow quiet\"")})).hits.isEmpty());
        QCOMPARE(check(store().search({session_, {}, {}, QStringLiteral("flo*")})).hits.size(), 1);
        // Operators and punctuation are words, never query syntax.
        QVERIFY(
            check(store().search({session_, {}, {}, QStringLiteral("river AND (NOT\" ^ :")})).hits.size() <=
            2);
        QVERIFY(check(store().search({session_, {}, {}, QStringLiteral("-- !! ")})).hits.isEmpty());
    }

    void searchFindsCjkAndPartsOfWords() {
        importDocument(
            store(), corpusA_,
            makeDocument(QStringLiteral("/zh.txt"), {QStringLiteral("我们在东京大学学习机器学习。")}));
        importDocument(
            store(), corpusA_,
            makeDocument(QStringLiteral("/ja.txt"), {QStringLiteral("日本語の文書を検索します。")}));
        importDocument(
            store(), corpusA_,
            makeDocument(QStringLiteral("/de.txt"), {QStringLiteral("Die Donaudampfschifffahrt.")}));

        const SearchResults zh = check(store().search({session_, {}, {}, QStringLiteral("机器学习")}));
        QVERIFY(zh.trigram);
        QCOMPARE(paths(zh), QStringList{QStringLiteral("/zh.txt")});
        QVERIFY(zh.hits[0].snippet.contains(QStringLiteral("[机器学习]")));
        // Two characters: below a trigram, found by scanning.
        const SearchResults tokyo = check(store().search({session_, {}, {}, QStringLiteral("东京")}));
        QCOMPARE(paths(tokyo), QStringList{QStringLiteral("/zh.txt")});
        QVERIFY(tokyo.hits[0].snippet.contains(QStringLiteral("[东京]")));
        QCOMPARE(paths(check(store().search({session_, {}, {}, QStringLiteral("文書")}))),
                 QStringList{QStringLiteral("/ja.txt")});
        // A part of a long compound finds nothing as a word, then matches as a substring.
        const SearchResults part = check(store().search({session_, {}, {}, QStringLiteral("dampfschiff")}));
        QVERIFY(part.trigram);
        QCOMPARE(paths(part), QStringList{QStringLiteral("/de.txt")});
        QVERIFY(check(store().search({session_, {}, {}, QStringLiteral("xyzzy")})).hits.isEmpty());
    }

    void searchFiltersAndPaginates() {
        const qint64 corpusB = check(store().corpus(session_, QStringLiteral("B")));
        QList<qint64> ids;
        for (int d = 0; d < 5; ++d) {
            QStringList pages;
            for (int p = 0; p < 3; ++p)
                pages << QStringLiteral("alpha document %1 page %2\n\nfiller text %2").arg(d).arg(p);
            ids << importDocument(store(), d < 3 ? corpusA_ : corpusB,
                                  makeDocument(QStringLiteral("/doc%1.pdf").arg(d), pages));
        }
        const qint64 other = check(store().createSession(QStringLiteral("other")));
        importDocument(store(), check(store().corpus(other, QStringLiteral("A"))),
                       makeDocument(QStringLiteral("/elsewhere.pdf"), {QStringLiteral("alpha elsewhere")}));

        SearchQuery query{session_, {}, {}, QStringLiteral("alpha")};
        query.limit = 4;
        QSet<qint64> seen;
        int pagesRead = 0;
        for (query.offset = 0;; query.offset += query.limit) {
            const SearchResults page = check(store().search(query));
            for (const SearchHit& hit : page.hits) {
                QVERIFY(!seen.contains(hit.passage));
                seen.insert(hit.passage);
            }
            ++pagesRead;
            if (!page.more) break;
        }
        QCOMPARE(seen.size(), 15);
        QCOMPARE(pagesRead, 4);
        query.offset = 40;
        QVERIFY(check(store().search(query)).hits.isEmpty());

        query = {session_, corpusB, {}, QStringLiteral("alpha")};
        query.limit = 100;
        QCOMPARE(check(store().search(query)).hits.size(), 6);
        query = {session_, {}, ids[1], QStringLiteral("alpha")};
        query.limit = 100;
        const SearchResults one = check(store().search(query));
        QCOMPARE(one.hits.size(), 3);
        for (const SearchHit& hit : one.hits) QCOMPARE(hit.document, ids[1]);
    }

    void answersWithCitations() {
        const qint64 document = importDocument(
            store(), corpusA_, makeDocument(QStringLiteral("/src.pdf"), {QStringLiteral("cited text")}));
        const auto passage = check(store().passages(document)).at(0);
        const qint64 conversation = check(store().createConversation(session_, QStringLiteral("Questions")));
        MessageRecord message;
        message.question = QStringLiteral("What is cited?");
        message.answer = QStringLiteral("The text.");
        message.thinking = QStringLiteral("look it up");
        message.modelId = QStringLiteral("smollm2-135m");
        message.prefillMs = 12.5;
        message.promptTokens = 900;
        message.cachedTokens = 800;
        message.answerTokens = 5;
        message.citations = {
            {1, passage.id, passage.stableId, QStringLiteral("cited"), {0, 5}, CitationStatus::Verified, 8},
            {2, passage.id, passage.stableId, QString(), {}, CitationStatus::Unverified, std::nullopt}};
        message.lookedAt = {{passage.id, passage.stableId, 0.25, true},
                            {std::nullopt, QStringLiteral("0123456789abcdef:7"), 0.125, false}};
        const qint64 id = check(store().saveMessage(conversation, message));
        auto saved = check(store().messages(conversation));
        QCOMPARE(saved.size(), 1);
        QCOMPARE(saved[0].id, id);
        QCOMPARE(saved[0].thinking, message.thinking);
        QCOMPARE(saved[0].cachedTokens, qint64(800));
        QVERIFY(saved[0].created.isValid());
        QCOMPARE(saved[0].citations.size(), 2);
        QCOMPARE(saved[0].citations[0].passage, std::optional<qint64>(passage.id));
        QCOMPARE(saved[0].citations[0].status, CitationStatus::Verified);
        QCOMPARE(saved[0].citations[0].answerOffset, std::optional<qsizetype>(8)); // before the full stop
        QCOMPARE(saved[0].citations[1].answerOffset, std::nullopt);
        QCOMPARE(saved[0].lookedAt.size(), 2); // in the order given: best first
        QCOMPARE(saved[0].lookedAt[0].passage, std::optional<qint64>(passage.id));
        QCOMPARE(saved[0].lookedAt[0].weight, 0.25);
        QVERIFY(saved[0].lookedAt[0].cited && !saved[0].lookedAt[1].cited);
        QCOMPARE(saved[0].lookedAt[1].passage, std::nullopt);
        QCOMPARE(saved[0].lookedAt[1].passageStableId, QStringLiteral("0123456789abcdef:7"));

        // Deleting the source keeps the answer and the citation's stable id.
        check(store().deleteDocument(document));
        saved = check(store().messages(conversation));
        QCOMPARE(saved[0].citations[0].passage, std::nullopt);
        QCOMPARE(saved[0].citations[0].passageStableId, passage.stableId);
        QCOMPARE(saved[0].lookedAt[0].passage, std::nullopt);
        QCOMPARE(saved[0].lookedAt[0].passageStableId, passage.stableId);
        QCOMPARE(check(store().conversations(session_)).size(), 1);
        check(store().deleteConversation(conversation));
        QCOMPARE(count(store(), "SELECT count(*) FROM citations"), 0);
        QCOMPARE(count(store(), "SELECT count(*) FROM looked_at"), 0);
    }

    void deletionRemovesPassagesIndexRowsAndCaches() {
        const qint64 keep =
            importDocument(store(), corpusA_,
                           makeDocument(QStringLiteral("/keep.pdf"), {QStringLiteral("shared word kept")}));
        const qint64 drop = importDocument(
            store(), corpusA_,
            makeDocument(QStringLiteral("/drop.pdf"), {QStringLiteral("shared word dropped\n\nmore")}));
        const QString snapshot = dir_.filePath(QStringLiteral("corpus-a.snapshot"));
        QFile file(snapshot);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("state");
        file.close();
        check(store().registerCache(
            {0, corpusA_, snapshot, QStringLiteral("m"), QStringLiteral("h"), 100, 5, {}}));
        QVERIFY(check(store().findCache(corpusA_, QStringLiteral("m"), QStringLiteral("h"))));

        check(store().deleteDocument(drop));
        QVERIFY(!check(store().document(drop)));
        QCOMPARE(count(store(), "SELECT count(*) FROM passages"), 1);
        QCOMPARE(count(store(), "SELECT count(*) FROM pages"), 1);
        QCOMPARE(check(store().integrityCheck()), QStringLiteral("ok")); // the indexes match the passages
        QCOMPARE(paths(check(store().search({session_, {}, {}, QStringLiteral("shared")}))),
                 QStringList{QStringLiteral("/keep.pdf")});
        QVERIFY(check(store().search({session_, {}, {}, QStringLiteral("ropped")})).hits.isEmpty());
        QVERIFY(check(store().caches(corpusA_)).isEmpty());
        QVERIFY(!QFile::exists(snapshot));

        // Deleting the session removes everything in it, and its snapshot files.
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        check(store().registerCache(
            {0, corpusA_, snapshot, QStringLiteral("m"), QStringLiteral("h2"), 1, 1, {}}));
        const qint64 conversation = check(store().createConversation(session_, {}));
        check(store().saveMessage(conversation, MessageRecord{0,
                                                              QStringLiteral("q"),
                                                              QStringLiteral("a"),
                                                              {},
                                                              QStringLiteral("m"),
                                                              {},
                                                              0,
                                                              0,
                                                              0,
                                                              0,
                                                              0,
                                                              {},
                                                              {},
                                                              {},
                                                              {}}));
        check(store().deleteSession(session_));
        QVERIFY(!QFile::exists(snapshot));
        QVERIFY(!check(store().document(keep)));
        for (const char* table : {"SELECT count(*) FROM corpora", "SELECT count(*) FROM documents",
                                  "SELECT count(*) FROM passages", "SELECT count(*) FROM pages",
                                  "SELECT count(*) FROM messages", "SELECT count(*) FROM corpus_caches"})
            QCOMPARE(count(store(), table), 0);
        QCOMPARE(check(store().integrityCheck()), QStringLiteral("ok"));
    }

    void corpusDeletion() {
        const qint64 corpusB = check(store().corpus(session_, QStringLiteral("B")));
        importDocument(store(), corpusA_, makeDocument(QStringLiteral("/a.pdf"), {QStringLiteral("apple")}));
        importDocument(store(), corpusB, makeDocument(QStringLiteral("/b.pdf"), {QStringLiteral("apple")}));
        check(store().deleteCorpus(corpusB));
        QCOMPARE(paths(check(store().search({session_, {}, {}, QStringLiteral("apple")}))),
                 QStringList{QStringLiteral("/a.pdf")});
        QCOMPARE(check(store().integrityCheck()), QStringLiteral("ok"));
    }

    void newerSchemaIsRefused() {
        store().database().exec("PRAGMA user_version=99");
        store_.reset();
        const auto reopened = Store::open(dir_.filePath(QStringLiteral("lectern.sqlite3")));
        QVERIFY(!reopened);
        QVERIFY(QString::fromStdString(reopened.error()).contains(QStringLiteral("newer Lectern")));
    }

    void notADatabaseIsAClearError() {
        const QString path = dir_.filePath(QStringLiteral("garbage.sqlite3"));
        QFile garbage(path);
        QVERIFY(garbage.open(QIODevice::WriteOnly));
        garbage.write(QByteArray(8192, 'x'));
        garbage.close();
        const auto opened = Store::open(path);
        QVERIFY(!opened);
        QVERIFY2(QString::fromStdString(opened.error()).contains(QStringLiteral("not a Lectern database")),
                 opened.error().c_str());
    }
};

QTEST_GUILESS_MAIN(StoreTest)
#include "store_test.moc"
