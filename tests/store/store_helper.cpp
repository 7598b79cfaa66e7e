// A child process for the store's durability tests, and the writer of the schema-v1 fixture.
//
//   store_helper import DB      imports documents forever, printing "done <n>" after each commit
//   store_helper answers DB     saves answers with citations forever, printing "saved <id>" after each
//   store_helper open DB        opens the store; prints the error and exits 1 if it cannot
//   store_helper make-v1 PATH   writes a database as schema version 1 left it (tests/data/store/v1.sqlite3)

#include "app/store/schema.h"
#include "app/store/store.h"
#include "tests/store/fixtures.h"

#include <QCoreApplication>
#include <QFile>

#include <cstdio>

using namespace lectern;
using namespace lectern::store;

namespace {

constexpr int kPassagesPerDocument = 400;

int fail(const std::string& message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    return 1;
}

// Document n: kPassagesPerDocument passages, each naming its document so a search can find them.
importers::Document crashDocument(int n) {
    QStringList pages;
    for (int page = 0; page < 8; ++page) {
        QStringList passages;
        for (int p = 0; p < kPassagesPerDocument / 8; ++p)
            passages << QStringLiteral(
                            "docmarker%1 passage %2 on page %3: the quick brown fox jumps over the "
                            "lazy dog while the committed answer waits for its citations to land "
                            "safely on the disk, durable and whole.")
                            .arg(n)
                            .arg(p)
                            .arg(page);
        pages << passages.join(QStringLiteral("\n\n"));
    }
    return testing::makeDocument(QStringLiteral("/crash/doc%1.txt").arg(n), pages);
}

int importForever(Store& store) {
    const auto existing = store.findSession(QStringLiteral("crash"));
    if (!existing) return fail(existing.error());
    const Result<qint64> session =
        *existing ? Result<qint64>((*existing)->id) : store.createSession(QStringLiteral("crash"));
    if (!session) return fail(session.error());
    const auto corpus = store.corpus(*session, QStringLiteral("A"));
    if (!corpus) return fail(corpus.error());
    for (int n = 0;; ++n) {
        const importers::Document document = crashDocument(n);
        const auto complete = store.isComplete(*corpus, document.path, document.contentHash);
        if (!complete) return fail(complete.error());
        if (*complete) continue;
        if (auto begun = store.beginFile(*corpus, document.path, document.contentHash); !begun)
            return fail(begun.error());
        if (auto stored = store.storeDocument(*corpus, document); !stored) return fail(stored.error());
        if (auto finished = store.finishFile(*corpus, document.path); !finished)
            return fail(finished.error());
        std::printf("done %d\n", n);
        std::fflush(stdout);
    }
}

int answersForever(Store& store) {
    const auto session = store.createSession(QStringLiteral("answers"));
    if (!session) return fail(session.error());
    const auto conversation = store.createConversation(*session, QStringLiteral("durability"));
    if (!conversation) return fail(conversation.error());
    for (int n = 0;; ++n) {
        MessageRecord message;
        message.question = QStringLiteral("question %1").arg(n);
        message.answer = QStringLiteral("answer %1 ").arg(n).repeated(200);
        message.thinking = QStringLiteral("thinking %1 ").arg(n).repeated(400);
        message.modelId = QStringLiteral("test-model");
        for (int c = 1; c <= 200; ++c)
            message.citations.push_back({c,
                                         std::nullopt,
                                         QStringLiteral("%1:%2").arg(n).arg(c),
                                         QStringLiteral("quoted span %1").arg(c),
                                         {c, c + 10},
                                         CitationStatus::Verified,
                                         c * 8});
        const auto saved = store.saveMessage(*conversation, message);
        if (!saved) return fail(saved.error());
        std::printf("saved %lld\n", static_cast<long long>(*saved));
        std::fflush(stdout);
    }
}

// The v1 fixture, written with version 1's own SQL so it holds exactly what that version stored.
int makeVersion1(const QString& path) {
    QFile::remove(path);
    try {
        Database db(path);
        migrate(db, 1);
        Transaction transaction(db);
        db.exec(
            "INSERT INTO sessions(id, name, created) VALUES (1, 'legacy', '2026-01-01T00:00:00.000Z');"
            "INSERT INTO corpora(id, session_id, label) VALUES (1, 1, 'A');"
            "INSERT INTO documents(id, corpus_id, path, content_hash, format, title, state, imported_at) "
            "VALUES (1, 1, '/legacy/résumé.pdf', '0123456789abcdef0123456789abcdef', 'pdf', 'Résumé', "
            "'imported', '2026-01-01T00:00:00.000Z');"
            "INSERT INTO pages(document_id, number, text, width, height) VALUES "
            "(1, 1, 'Un résumé de l''été.', 612, 792), (1, 2, '東京大学で機械学習を研究する。', 612, 792);"
            "INSERT INTO passages(id, document_id, stable_id, ordinal, page, start, end, text, tokens) "
            "VALUES "
            "(1, 1, '0123456789abcdef:0', 0, 1, 0, 19, 'Un résumé de l''été.', 6), "
            "(2, 1, '0123456789abcdef:1', 1, 2, 0, 15, '東京大学で機械学習を研究する。', 9);"
            "INSERT INTO conversations(id, session_id, title, created) VALUES "
            "(1, 1, 'Old questions', '2026-01-01T00:00:00.000Z');"
            "INSERT INTO messages(id, conversation_id, question, answer, model_id, created, prompt_tokens) "
            "VALUES (1, 1, 'What is summarised?', 'The summer [1].', 'old-model', "
            "'2026-01-01T00:00:00.000Z', 15);"
            "INSERT INTO citations(message_id, number, passage_id, passage_stable_id, quote, start, end, "
            "status) VALUES (1, 1, 1, '0123456789abcdef:0', 'l''été', 13, 18, 'verified');"
            "INSERT INTO corpus_caches(corpus_id, file_path, model_id, corpus_hash, tokens, size_bytes, "
            "created) VALUES (1, '/nonexistent/legacy.snapshot', 'old-model', 'abc', 15, 1024, "
            "'2026-01-01T00:00:00.000Z');");
        transaction.commit();
        // One self-contained file: no WAL beside it, no free pages.
        db.exec("PRAGMA journal_mode=DELETE");
        db.exec("VACUUM");
    } catch (const SqlFailure& failure) {
        return fail(failure.what());
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() != 3) return fail("usage: store_helper import|answers|open|make-v1 PATH");
    const QString& mode = args[1];
    if (mode == QLatin1String("make-v1")) return makeVersion1(args[2]);
    auto store = Store::open(args[2]);
    if (!store) return fail(store.error());
    if (mode == QLatin1String("import")) return importForever(**store);
    if (mode == QLatin1String("answers")) return answersForever(**store);
    if (mode == QLatin1String("open")) return 0;
    return fail("unknown mode " + mode.toStdString());
}
