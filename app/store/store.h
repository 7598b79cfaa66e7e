#pragma once
// The session store: one SQLite database per profile holding sessions, their corpora, imported documents
// (pages, passages and two full-text indexes), conversations with cited answers, and the registry of
// engine-state snapshots. Every method is one transaction and safe to call from any thread (calls are
// serialised); failures come back as plain-language errors (disk full, read-only folder, damaged file).

#include "app/store/database.h"
#include "app/store/records.h"
#include "importers/document.h"
#include "kernels/result.h"

#include <QString>

#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>

namespace lectern::store {

class Store {
public:
    // Opens or creates the database and migrates it to the latest schema.
    static Result<std::unique_ptr<Store>> open(const QString& databasePath);

    // Sessions. A session is created with corpus "A"; corpus "B" is added for a comparison.
    Result<qint64> createSession(const QString& name);
    Result<std::optional<SessionInfo>> findSession(const QString& name);
    Result<QList<SessionInfo>> sessions();
    // Removes the session, everything in it, and its snapshot files.
    Result<void> deleteSession(qint64 session);

    // The corpus labelled "A" or "B" in `session`, created when missing.
    Result<qint64> corpus(qint64 session, const QString& label);
    Result<QList<CorpusInfo>> corpora(qint64 session);
    Result<void> deleteCorpus(qint64 corpus);

    // Import bookkeeping for one file of a corpus (see importers/import_sink.h for the protocol).
    Result<bool> isComplete(qint64 corpus, const QString& path, const QString& contentHash);
    Result<std::optional<QString>> pathWithContent(qint64 corpus, const QString& contentHash);
    Result<void> beginFile(qint64 corpus, const QString& path, const QString& contentHash);
    Result<qint64> storeDocument(qint64 corpus, const importers::Document& document);
    Result<void> recordFailure(qint64 corpus, const QString& path, const QString& parentPath,
                               const QString& contentHash, const QString& kind, const QString& message);
    Result<void> recordDuplicate(qint64 corpus, const QString& path, const QString& contentHash,
                                 const QString& originalPath);
    Result<void> finishFile(qint64 corpus, const QString& path);
    // Files begun and never finished (crash, cancel): the next import redoes them.
    Result<QStringList> unfinishedFiles(qint64 corpus);

    // Documents: listing (a session's, or one corpus's), one in full, deletion.
    Result<QList<DocumentInfo>> documents(const DocumentFilter& filter);
    Result<std::optional<DocumentInfo>> document(qint64 document);
    Result<std::optional<DocumentInfo>> documentByPath(qint64 session, const QString& path);
    Result<importers::Document> loadDocument(qint64 document);
    // Removes the document, its pages, passages, index rows, and the corpus's snapshots (now stale).
    Result<void> deleteDocument(qint64 document);

    // Passages in document order.
    Result<QList<StoredPassage>> passages(qint64 document);
    Result<std::optional<StoredPassage>> passage(qint64 passage);
    // A stable id ("<hash16>:<ordinal>") names a passage within a corpus.
    Result<std::optional<StoredPassage>> passageByStableId(qint64 corpus, const QString& stableId);

    // Ranked full-text search (search.cpp).
    Result<SearchResults> search(const SearchQuery& query);

    // Conversations and answers with their citations (one transaction per saved answer).
    Result<qint64> createConversation(qint64 session, const QString& title);
    Result<QList<ConversationInfo>> conversations(qint64 session);
    Result<qint64> saveMessage(qint64 conversation, const MessageRecord& message);
    Result<QList<MessageRecord>> messages(qint64 conversation);
    Result<void> deleteConversation(qint64 conversation);

    // Corpus snapshot registry; removing an entry deletes its file.
    Result<qint64> registerCache(const CacheEntry& entry);
    Result<std::optional<CacheEntry>> findCache(qint64 corpus, const QString& modelId,
                                                const QString& corpusHash);
    Result<QList<CacheEntry>> caches(qint64 corpus);
    Result<void> removeCache(qint64 cache);

    // "ok", or what PRAGMA integrity_check found.
    Result<QString> integrityCheck();
    // For tests and maintenance (e.g. a page limit that simulates a full disk).
    Database& database() { return db_; }

private:
    explicit Store(const QString& path);
    template <typename F>
    auto guarded(F&& body) -> Result<decltype(body())>;
    QStringList dropCaches(qint64 corpus);
    void removeFiles(const QStringList& files);

    std::mutex mutex_;
    Database db_;
};

template <typename F>
auto Store::guarded(F&& body) -> Result<decltype(body())> {
    std::lock_guard lock(mutex_);
    try {
        if constexpr (std::is_void_v<decltype(body())>) {
            body();
            return {};
        } else {
            return body();
        }
    } catch (const SqlFailure& failure) {
        return Error{failure.what()};
    }
}

} // namespace lectern::store
