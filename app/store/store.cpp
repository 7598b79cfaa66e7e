#include "app/store/store.h"

#include "app/store/blobs.h"
#include "app/store/schema.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace lectern::store {
namespace {

QString now() {
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
}

QString isoOrNull(const QDateTime& time) {
    return time.isValid() ? time.toUTC().toString(Qt::ISODateWithMs) : QString();
}

QDateTime fromIso(const QString& text) {
    return text.isEmpty() ? QDateTime() : QDateTime::fromString(text, Qt::ISODateWithMs);
}

QString nullIfEmpty(const QString& text) {
    return text.isEmpty() ? QString() : text;
}

[[noreturn]] void refuse(const std::string& message) {
    throw SqlFailure(SQLITE_MISUSE, message);
}

ImportState parseState(const QString& name) {
    if (name == QLatin1String("imported")) return ImportState::Imported;
    if (name == QLatin1String("failed")) return ImportState::Failed;
    if (name == QLatin1String("duplicate")) return ImportState::Duplicate;
    return ImportState::Pending;
}

CitationStatus parseStatus(const QString& name) {
    if (name == QLatin1String("verified")) return CitationStatus::Verified;
    if (name == QLatin1String("partial")) return CitationStatus::Partial;
    return CitationStatus::Unverified;
}

QString encodeOutline(const QList<importers::OutlineEntry>& outline) {
    if (outline.isEmpty()) return {};
    QJsonArray entries;
    for (const importers::OutlineEntry& entry : outline)
        entries.append(QJsonObject{{QStringLiteral("title"), entry.title},
                                   {QStringLiteral("page"), entry.page},
                                   {QStringLiteral("level"), entry.level}});
    return QString::fromUtf8(QJsonDocument(entries).toJson(QJsonDocument::Compact));
}

QList<importers::OutlineEntry> decodeOutline(const QString& json) {
    QList<importers::OutlineEntry> outline;
    for (const QJsonValue& value : QJsonDocument::fromJson(json.toUtf8()).array()) {
        const QJsonObject entry = value.toObject();
        outline.push_back({entry.value(QStringLiteral("title")).toString(),
                           entry.value(QStringLiteral("page")).toInt(),
                           entry.value(QStringLiteral("level")).toInt()});
    }
    return outline;
}

// The importer's contract (importers/document.h), checked before anything is written so that a broken
// document fails alone instead of storing anchors that point nowhere.
void checkDocument(const importers::Document& document) {
    const std::string name = document.path.toStdString();
    if (document.path.isEmpty()) refuse("a document without a path cannot be stored");
    QHash<int, qsizetype> pageLengths;
    for (const importers::Page& page : document.pages) {
        if (pageLengths.contains(page.number))
            refuse(name + ": page " + std::to_string(page.number) + " appears twice");
        pageLengths.insert(page.number, page.text.size());
    }
    for (const importers::Passage& passage : document.passages) {
        const auto length = pageLengths.find(passage.page);
        if (length == pageLengths.end())
            refuse(name + ": passage " + passage.id.toStdString() + " is on page " +
                   std::to_string(passage.page) + ", which the document does not have");
        if (passage.range.start < 0 || passage.range.end < passage.range.start || passage.range.end > *length)
            refuse(name + ": passage " + passage.id.toStdString() +
                   " has a character range outside its page");
    }
}

constexpr const char* kDocumentSelect =
    "SELECT d.id, d.corpus_id, c.label, d.path, d.parent_path, d.content_hash, d.format, d.title, d.state, "
    "d.error_kind, d.error, d.duplicate_of, d.file_size, "
    "(SELECT count(*) FROM pages g WHERE g.document_id = d.id), "
    "(SELECT count(*) FROM passages p WHERE p.document_id = d.id), "
    "(SELECT coalesce(sum(p.tokens), 0) FROM passages p WHERE p.document_id = d.id) "
    "FROM documents d JOIN corpora c ON c.id = d.corpus_id ";

DocumentInfo readDocument(const Statement& row) {
    DocumentInfo info;
    info.id = row.int64(0);
    info.corpus = row.int64(1);
    info.corpusLabel = row.text(2);
    info.path = row.text(3);
    info.parentPath = row.text(4);
    info.contentHash = row.text(5);
    info.format = row.text(6);
    info.title = row.text(7);
    info.state = parseState(row.text(8));
    info.errorKind = row.text(9);
    info.error = row.text(10);
    info.duplicateOf = row.text(11);
    info.fileSize = row.isNull(12) ? -1 : row.int64(12);
    info.pages = static_cast<int>(row.int64(13));
    info.passages = static_cast<int>(row.int64(14));
    info.tokens = row.int64(15);
    return info;
}

constexpr const char* kPassageSelect =
    "SELECT id, stable_id, document_id, ordinal, page, start, end, text, boxes, tokens, ocr FROM passages ";

StoredPassage readPassage(const Statement& row) {
    StoredPassage passage;
    passage.id = row.int64(0);
    passage.stableId = row.text(1);
    passage.document = row.int64(2);
    passage.ordinal = static_cast<int>(row.int64(3));
    passage.page = static_cast<int>(row.int64(4));
    passage.range = {row.int64(5), row.int64(6)};
    passage.text = row.text(7);
    passage.boxes = decodeRects(row.blob(8));
    passage.tokens = static_cast<int>(row.int64(9));
    passage.ocr = row.int64(10) != 0;
    return passage;
}

constexpr const char* kSessionSelect =
    "SELECT s.id, s.name, s.created, "
    "(SELECT count(*) FROM corpora c WHERE c.session_id = s.id), "
    "(SELECT count(*) FROM documents d JOIN corpora c ON c.id = d.corpus_id "
    " WHERE c.session_id = s.id AND d.state = 'imported'), "
    "(SELECT coalesce(sum(p.tokens), 0) FROM passages p JOIN documents d ON d.id = p.document_id "
    " JOIN corpora c ON c.id = d.corpus_id WHERE c.session_id = s.id) "
    "FROM sessions s ";

SessionInfo readSession(const Statement& row) {
    return {row.int64(0), row.text(1), fromIso(row.text(2)), static_cast<int>(row.int64(3)),
            row.int64(4), row.int64(5)};
}

constexpr const char* kCacheSelect =
    "SELECT id, corpus_id, file_path, model_id, corpus_hash, tokens, size_bytes, created FROM corpus_caches ";

CacheEntry readCache(const Statement& row) {
    return {row.int64(0), row.int64(1), row.text(2),  row.text(3),
            row.text(4),  row.int64(5), row.int64(6), fromIso(row.text(7))};
}

// Deletes a document row and the items it contains (attachments, mailbox messages); pages, passages and
// their index rows go with them through the foreign keys and triggers.
void deleteDocumentRows(Database& db, qint64 corpus, const QString& path) {
    db.prepare("DELETE FROM documents WHERE corpus_id = ?1 AND (path = ?2 OR parent_path = ?2)")
        .bind(1, corpus)
        .bind(2, path)
        .run();
}

} // namespace

QString importStateName(ImportState state) {
    switch (state) {
    case ImportState::Pending:
        return QStringLiteral("pending");
    case ImportState::Imported:
        return QStringLiteral("imported");
    case ImportState::Failed:
        return QStringLiteral("failed");
    case ImportState::Duplicate:
        return QStringLiteral("duplicate");
    }
    return QStringLiteral("pending");
}

QString citationStatusName(CitationStatus status) {
    switch (status) {
    case CitationStatus::Verified:
        return QStringLiteral("verified");
    case CitationStatus::Partial:
        return QStringLiteral("partial");
    case CitationStatus::Unverified:
        return QStringLiteral("unverified");
    }
    return QStringLiteral("unverified");
}

Store::Store(const QString& path) : db_(path) {}

Result<std::unique_ptr<Store>> Store::open(const QString& databasePath) {
    try {
        std::unique_ptr<Store> store(new Store(databasePath));
        migrate(store->db_);
        return store;
    } catch (const SqlFailure& failure) {
        return Error{failure.what()};
    }
}

// ---- sessions and corpora ----

Result<qint64> Store::createSession(const QString& name) {
    return guarded([&] {
        const QString trimmed = name.trimmed();
        if (trimmed.isEmpty()) refuse("a session needs a name");
        Statement existing = db_.prepare("SELECT 1 FROM sessions WHERE name = ?1");
        if (existing.bind(1, trimmed).step())
            refuse("a session named \"" + trimmed.toStdString() + "\" already exists");
        Transaction transaction(db_);
        db_.prepare("INSERT INTO sessions(name, created) VALUES (?1, ?2)")
            .bind(1, trimmed)
            .bind(2, now())
            .run();
        const qint64 session = db_.lastInsertId();
        db_.prepare("INSERT INTO corpora(session_id, label) VALUES (?1, 'A')").bind(1, session).run();
        transaction.commit();
        return session;
    });
}

Result<std::optional<SessionInfo>> Store::findSession(const QString& name) {
    return guarded([&]() -> std::optional<SessionInfo> {
        Statement row = db_.prepare((QByteArray(kSessionSelect) + "WHERE s.name = ?1").constData());
        if (!row.bind(1, name.trimmed()).step()) return std::nullopt;
        return readSession(row);
    });
}

Result<QList<SessionInfo>> Store::sessions() {
    return guarded([&] {
        QList<SessionInfo> list;
        Statement row = db_.prepare((QByteArray(kSessionSelect) + "ORDER BY s.name").constData());
        while (row.step()) list.push_back(readSession(row));
        return list;
    });
}

Result<void> Store::deleteSession(qint64 session) {
    QStringList files;
    Result<void> result = guarded([&] {
        Transaction transaction(db_);
        Statement corpora = db_.prepare("SELECT id FROM corpora WHERE session_id = ?1");
        corpora.bind(1, session);
        QList<qint64> ids;
        while (corpora.step()) ids.push_back(corpora.int64(0));
        for (qint64 corpus : ids) files += dropCaches(corpus);
        db_.prepare("DELETE FROM sessions WHERE id = ?1").bind(1, session).run();
        transaction.commit();
    });
    if (result) removeFiles(files);
    return result;
}

Result<qint64> Store::corpus(qint64 session, const QString& label) {
    return guarded([&] {
        if (label != QLatin1String("A") && label != QLatin1String("B"))
            refuse("a corpus is labelled A or B, not \"" + label.toStdString() + "\"");
        Statement exists = db_.prepare("SELECT 1 FROM sessions WHERE id = ?1");
        if (!exists.bind(1, session).step()) refuse("the session no longer exists");
        db_.prepare("INSERT OR IGNORE INTO corpora(session_id, label) VALUES (?1, ?2)")
            .bind(1, session)
            .bind(2, label)
            .run();
        Statement row = db_.prepare("SELECT id FROM corpora WHERE session_id = ?1 AND label = ?2");
        row.bind(1, session).bind(2, label).step();
        return row.int64(0);
    });
}

Result<QList<CorpusInfo>> Store::corpora(qint64 session) {
    return guarded([&] {
        QList<CorpusInfo> list;
        Statement row = db_.prepare(
            "SELECT c.id, c.session_id, c.label, "
            "(SELECT count(*) FROM documents d WHERE d.corpus_id = c.id AND d.state = 'imported'), "
            "(SELECT coalesce(sum(p.tokens), 0) FROM passages p JOIN documents d ON d.id = p.document_id "
            " WHERE d.corpus_id = c.id) "
            "FROM corpora c WHERE c.session_id = ?1 ORDER BY c.label");
        row.bind(1, session);
        while (row.step())
            list.push_back({row.int64(0), row.int64(1), row.text(2), row.int64(3), row.int64(4)});
        return list;
    });
}

Result<void> Store::deleteCorpus(qint64 corpus) {
    QStringList files;
    Result<void> result = guarded([&] {
        Transaction transaction(db_);
        files = dropCaches(corpus);
        db_.prepare("DELETE FROM corpora WHERE id = ?1").bind(1, corpus).run();
        transaction.commit();
    });
    if (result) removeFiles(files);
    return result;
}

// ---- import bookkeeping ----

Result<bool> Store::isComplete(qint64 corpus, const QString& path, const QString& contentHash) {
    return guarded([&] {
        // A failed file is never complete: the next import tries it again (a password may have been
        // supplied since, or the disk has room now).
        Statement row = db_.prepare("SELECT 1 FROM documents WHERE corpus_id = ?1 AND path = ?2 AND "
                                    "content_hash = ?3 AND state IN ('imported', 'duplicate')");
        return row.bind(1, corpus).bind(2, path).bind(3, contentHash).step();
    });
}

Result<std::optional<QString>> Store::pathWithContent(qint64 corpus, const QString& contentHash) {
    return guarded([&]() -> std::optional<QString> {
        Statement row = db_.prepare("SELECT path FROM documents WHERE corpus_id = ?1 AND content_hash = ?2 "
                                    "AND state = 'imported' AND parent_path IS NULL ORDER BY id LIMIT 1");
        if (!row.bind(1, corpus).bind(2, contentHash).step()) return std::nullopt;
        return row.text(0);
    });
}

Result<void> Store::beginFile(qint64 corpus, const QString& path, const QString& contentHash) {
    QStringList files;
    Result<void> result = guarded([&] {
        Transaction transaction(db_);
        Statement previous =
            db_.prepare("SELECT 1 FROM documents WHERE corpus_id = ?1 AND (path = ?2 OR parent_path = ?2)");
        if (previous.bind(1, corpus).bind(2, path).step()) {
            files = dropCaches(corpus);
            deleteDocumentRows(db_, corpus, path);
        }
        const QFileInfo source(path);
        Statement insert =
            db_.prepare("INSERT INTO documents(corpus_id, path, content_hash, state, file_size) "
                        "VALUES (?1, ?2, ?3, 'pending', ?4)");
        insert.bind(1, corpus).bind(2, path).bind(3, contentHash);
        if (source.isFile()) insert.bind(4, source.size());
        insert.run();
        transaction.commit();
    });
    if (result) removeFiles(files);
    return result;
}

Result<qint64> Store::storeDocument(qint64 corpus, const importers::Document& document) {
    QStringList files;
    Result<qint64> result = guarded([&] {
        checkDocument(document);
        Transaction transaction(db_);
        files = dropCaches(corpus);
        const bool contained = !document.parentPath.isEmpty();
        Statement existing =
            db_.prepare("SELECT id, state FROM documents WHERE corpus_id = ?1 AND path = ?2");
        qint64 id = 0;
        if (existing.bind(1, corpus).bind(2, document.path).step()) {
            id = existing.int64(0);
            db_.prepare("DELETE FROM pages WHERE document_id = ?1").bind(1, id).run();
            db_.prepare("DELETE FROM passages WHERE document_id = ?1").bind(1, id).run();
        } else {
            // A contained item, or a file stored without beginFile (a one-shot import).
            db_.prepare("INSERT INTO documents(corpus_id, path, state) VALUES (?1, ?2, 'pending')")
                .bind(1, corpus)
                .bind(2, document.path)
                .run();
            id = db_.lastInsertId();
        }
        // A file stays pending until finishFile; an item inside it is complete once stored (the file's
        // pending state already makes the next import redo the whole file).
        db_.prepare("UPDATE documents SET parent_path = ?2, content_hash = ?3, format = ?4, language = ?5, "
                    "title = ?6, author = ?7, created = ?8, modified = ?9, outline = ?10, error_kind = NULL, "
                    "error = NULL, imported_at = ?11, state = CASE WHEN ?12 THEN 'imported' ELSE state END "
                    "WHERE id = ?1")
            .bind(1, id)
            .bind(2, nullIfEmpty(document.parentPath))
            .bind(3, nullIfEmpty(document.contentHash))
            .bind(4, nullIfEmpty(document.format))
            .bind(5, nullIfEmpty(document.language))
            .bind(6, nullIfEmpty(document.title))
            .bind(7, nullIfEmpty(document.author))
            .bind(8, isoOrNull(document.created))
            .bind(9, isoOrNull(document.modified))
            .bind(10, encodeOutline(document.outline))
            .bind(11, now())
            .bind(12, contained ? 1 : 0)
            .run();

        Statement page =
            db_.prepare("INSERT INTO pages(document_id, number, text, width, height, ocr, words, "
                        "repeated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        for (const importers::Page& p : document.pages) {
            page.bind(1, id).bind(2, p.number).bind(3, p.text.isNull() ? QStringLiteral("") : p.text);
            if (p.size.isEmpty()) {
                page.bindNull(4).bindNull(5);
            } else {
                page.bind(4, p.size.width()).bind(5, p.size.height());
            }
            page.bind(6, p.ocr ? 1 : 0)
                .bindBlob(7, encodeWords(p.words))
                .bindBlob(8, encodeRanges(p.repeated));
            page.run();
        }
        Statement passage = db_.prepare("INSERT INTO passages(document_id, stable_id, ordinal, page, start, "
                                        "end, text, boxes, tokens, ocr) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                                        "?8, ?9, ?10)");
        for (const importers::Passage& p : document.passages) {
            passage.bind(1, id)
                .bind(2, p.id)
                .bind(3, p.ordinal)
                .bind(4, p.page)
                .bind(5, static_cast<qint64>(p.range.start))
                .bind(6, static_cast<qint64>(p.range.end))
                .bind(7, p.text.isNull() ? QStringLiteral("") : p.text)
                .bindBlob(8, encodeRects(p.boxes))
                .bind(9, p.tokens)
                .bind(10, p.ocr ? 1 : 0);
            passage.run();
        }
        transaction.commit();
        return id;
    });
    if (result) removeFiles(files);
    return result;
}

Result<void> Store::recordFailure(qint64 corpus, const QString& path, const QString& parentPath,
                                  const QString& contentHash, const QString& kind, const QString& message) {
    QStringList files;
    Result<void> result = guarded([&] {
        Transaction transaction(db_);
        // What an earlier import stored for this path is replaced by the failure.
        Statement previous =
            db_.prepare("SELECT 1 FROM documents WHERE corpus_id = ?1 AND (path = ?2 OR parent_path = ?2)");
        if (previous.bind(1, corpus).bind(2, path).step()) {
            files = dropCaches(corpus);
            deleteDocumentRows(db_, corpus, path);
        }
        db_.prepare(
               "INSERT INTO documents(corpus_id, path, parent_path, content_hash, state, error_kind, error, "
               "imported_at) VALUES (?1, ?2, ?3, ?4, 'failed', ?5, ?6, ?7)")
            .bind(1, corpus)
            .bind(2, path)
            .bind(3, nullIfEmpty(parentPath))
            .bind(4, nullIfEmpty(contentHash))
            .bind(5, kind)
            .bind(6, message)
            .bind(7, now())
            .run();
        transaction.commit();
    });
    if (result) removeFiles(files);
    return result;
}

Result<void> Store::recordDuplicate(qint64 corpus, const QString& path, const QString& contentHash,
                                    const QString& originalPath) {
    QStringList files;
    Result<void> result = guarded([&] {
        Transaction transaction(db_);
        Statement previous =
            db_.prepare("SELECT 1 FROM documents WHERE corpus_id = ?1 AND (path = ?2 OR parent_path = ?2)");
        if (previous.bind(1, corpus).bind(2, path).step()) {
            files = dropCaches(corpus);
            deleteDocumentRows(db_, corpus, path);
        }
        db_.prepare("INSERT INTO documents(corpus_id, path, content_hash, state, duplicate_of, imported_at) "
                    "VALUES (?1, ?2, ?3, 'duplicate', ?4, ?5)")
            .bind(1, corpus)
            .bind(2, path)
            .bind(3, contentHash)
            .bind(4, originalPath)
            .bind(5, now())
            .run();
        transaction.commit();
    });
    if (result) removeFiles(files);
    return result;
}

Result<void> Store::finishFile(qint64 corpus, const QString& path) {
    return guarded([&] {
        db_.prepare("UPDATE documents SET state = 'imported', imported_at = ?3 "
                    "WHERE corpus_id = ?1 AND path = ?2 AND state = 'pending'")
            .bind(1, corpus)
            .bind(2, path)
            .bind(3, now())
            .run();
    });
}

Result<QStringList> Store::unfinishedFiles(qint64 corpus) {
    return guarded([&] {
        QStringList paths;
        Statement row = db_.prepare(
            "SELECT path FROM documents WHERE corpus_id = ?1 AND state = 'pending' ORDER BY path");
        row.bind(1, corpus);
        while (row.step()) paths << row.text(0);
        return paths;
    });
}

// ---- documents and passages ----

Result<QList<DocumentInfo>> Store::documents(const DocumentFilter& filter) {
    return guarded([&] {
        QList<DocumentInfo> list;
        Statement row = db_.prepare((QByteArray(kDocumentSelect) +
                                     "WHERE c.session_id = ?1 AND (?2 IS NULL OR c.id = ?2) "
                                     "ORDER BY c.label, d.path")
                                        .constData());
        row.bind(1, filter.session);
        if (filter.corpus) row.bind(2, *filter.corpus);
        while (row.step()) list.push_back(readDocument(row));
        return list;
    });
}

Result<std::optional<DocumentInfo>> Store::document(qint64 document) {
    return guarded([&]() -> std::optional<DocumentInfo> {
        Statement row = db_.prepare((QByteArray(kDocumentSelect) + "WHERE d.id = ?1").constData());
        if (!row.bind(1, document).step()) return std::nullopt;
        return readDocument(row);
    });
}

Result<std::optional<DocumentInfo>> Store::documentByPath(qint64 session, const QString& path) {
    return guarded([&]() -> std::optional<DocumentInfo> {
        Statement row = db_.prepare(
            (QByteArray(kDocumentSelect) + "WHERE c.session_id = ?1 AND d.path = ?2 ORDER BY c.label LIMIT 1")
                .constData());
        if (!row.bind(1, session).bind(2, path).step()) return std::nullopt;
        return readDocument(row);
    });
}

Result<importers::Document> Store::loadDocument(qint64 document) {
    return guarded([&] {
        Statement head =
            db_.prepare("SELECT path, parent_path, content_hash, format, language, title, author, "
                        "created, modified, outline FROM documents WHERE id = ?1");
        if (!head.bind(1, document).step()) refuse("the document no longer exists");
        importers::Document result;
        result.path = head.text(0);
        result.parentPath = head.text(1);
        result.contentHash = head.text(2);
        result.format = head.text(3);
        result.language = head.text(4);
        result.title = head.text(5);
        result.author = head.text(6);
        result.created = fromIso(head.text(7));
        result.modified = fromIso(head.text(8));
        result.outline = decodeOutline(head.text(9));

        Statement pages = db_.prepare("SELECT number, text, width, height, ocr, words, repeated FROM pages "
                                      "WHERE document_id = ?1 ORDER BY number");
        pages.bind(1, document);
        while (pages.step()) {
            importers::Page page;
            page.number = static_cast<int>(pages.int64(0));
            page.text = pages.text(1);
            if (!pages.isNull(2)) page.size = QSizeF(pages.real(2), pages.real(3));
            page.ocr = pages.int64(4) != 0;
            page.words = decodeWords(pages.blob(5));
            page.repeated = decodeRanges(pages.blob(6));
            result.pages.push_back(std::move(page));
        }
        Statement passages =
            db_.prepare((QByteArray(kPassageSelect) + "WHERE document_id = ?1 ORDER BY ordinal").constData());
        passages.bind(1, document);
        while (passages.step()) {
            const StoredPassage stored = readPassage(passages);
            result.passages.push_back({stored.stableId, stored.ordinal, stored.page, stored.range,
                                       stored.text, stored.boxes, stored.tokens, stored.ocr});
        }
        return result;
    });
}

Result<void> Store::deleteDocument(qint64 document) {
    QStringList files;
    Result<void> result = guarded([&] {
        Transaction transaction(db_);
        Statement row = db_.prepare("SELECT corpus_id, path FROM documents WHERE id = ?1");
        if (!row.bind(1, document).step()) refuse("the document no longer exists");
        const qint64 corpus = row.int64(0);
        files = dropCaches(corpus);
        deleteDocumentRows(db_, corpus, row.text(1));
        transaction.commit();
    });
    if (result) removeFiles(files);
    return result;
}

Result<QList<StoredPassage>> Store::passages(qint64 document) {
    return guarded([&] {
        QList<StoredPassage> list;
        Statement row =
            db_.prepare((QByteArray(kPassageSelect) + "WHERE document_id = ?1 ORDER BY ordinal").constData());
        row.bind(1, document);
        while (row.step()) list.push_back(readPassage(row));
        return list;
    });
}

Result<std::optional<StoredPassage>> Store::passage(qint64 passage) {
    return guarded([&]() -> std::optional<StoredPassage> {
        Statement row = db_.prepare((QByteArray(kPassageSelect) + "WHERE id = ?1").constData());
        if (!row.bind(1, passage).step()) return std::nullopt;
        return readPassage(row);
    });
}

Result<std::optional<StoredPassage>> Store::passageByStableId(qint64 corpus, const QString& stableId) {
    return guarded([&]() -> std::optional<StoredPassage> {
        Statement row = db_.prepare((QByteArray(kPassageSelect) +
                                     "WHERE stable_id = ?2 AND document_id IN "
                                     "(SELECT id FROM documents WHERE corpus_id = ?1) LIMIT 1")
                                        .constData());
        if (!row.bind(1, corpus).bind(2, stableId).step()) return std::nullopt;
        return readPassage(row);
    });
}

// ---- conversations ----

Result<qint64> Store::createConversation(qint64 session, const QString& title) {
    return guarded([&] {
        db_.prepare("INSERT INTO conversations(session_id, title, created) VALUES (?1, ?2, ?3)")
            .bind(1, session)
            .bind(2, title.isNull() ? QStringLiteral("") : title)
            .bind(3, now())
            .run();
        return db_.lastInsertId();
    });
}

Result<QList<ConversationInfo>> Store::conversations(qint64 session) {
    return guarded([&] {
        QList<ConversationInfo> list;
        Statement row =
            db_.prepare("SELECT id, session_id, title, created FROM conversations WHERE session_id = ?1 "
                        "ORDER BY id");
        row.bind(1, session);
        while (row.step()) list.push_back({row.int64(0), row.int64(1), row.text(2), fromIso(row.text(3))});
        return list;
    });
}

Result<qint64> Store::saveMessage(qint64 conversation, const MessageRecord& message) {
    return guarded([&] {
        Transaction transaction(db_);
        const auto text = [](const QString& s) { return s.isNull() ? QStringLiteral("") : s; };
        Statement insert = db_.prepare(
            "INSERT INTO messages(conversation_id, question, answer, thinking, model_id, created, "
            "prefill_ms, decode_ms, prompt_tokens, cached_tokens, answer_tokens, corpus_id, "
            "compared_corpus_id) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
        insert.bind(1, conversation)
            .bind(2, text(message.question))
            .bind(3, text(message.answer))
            .bind(4, text(message.thinking))
            .bind(5, text(message.modelId))
            .bind(6, message.created.isValid() ? isoOrNull(message.created) : now())
            .bind(7, message.prefillMs)
            .bind(8, message.decodeMs)
            .bind(9, message.promptTokens)
            .bind(10, message.cachedTokens)
            .bind(11, message.answerTokens);
        for (const auto& [index, corpus] :
             {std::pair{12, message.corpus}, std::pair{13, message.comparedCorpus}})
            if (corpus)
                insert.bind(index, *corpus);
            else
                insert.bindNull(index);
        insert.run();
        const qint64 id = db_.lastInsertId();
        Statement citation = db_.prepare("INSERT INTO citations(message_id, number, passage_id, "
                                         "passage_stable_id, quote, start, end, status, answer_offset) "
                                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
        for (const CitationRecord& c : message.citations) {
            citation.bind(1, id).bind(2, c.number);
            if (c.passage) citation.bind(3, *c.passage);
            if (c.answerOffset) citation.bind(9, qint64(*c.answerOffset));
            citation.bind(4, text(c.passageStableId))
                .bind(5, text(c.quote))
                .bind(6, static_cast<qint64>(c.range.start))
                .bind(7, static_cast<qint64>(c.range.end))
                .bind(8, citationStatusName(c.status))
                .run();
        }
        Statement looked = db_.prepare("INSERT INTO looked_at(message_id, passage_id, passage_stable_id, "
                                       "weight, cited) VALUES (?1, ?2, ?3, ?4, ?5)");
        for (const LookedAtRecord& l : message.lookedAt) {
            looked.bind(1, id);
            if (l.passage) looked.bind(2, *l.passage);
            looked.bind(3, text(l.passageStableId)).bind(4, l.weight).bind(5, qint64(l.cited)).run();
        }
        transaction.commit();
        return id;
    });
}

Result<QList<MessageRecord>> Store::messages(qint64 conversation) {
    return guarded([&] {
        QList<MessageRecord> list;
        Statement row = db_.prepare("SELECT id, question, answer, thinking, model_id, created, prefill_ms, "
                                    "decode_ms, prompt_tokens, cached_tokens, answer_tokens, corpus_id, "
                                    "compared_corpus_id FROM messages "
                                    "WHERE conversation_id = ?1 ORDER BY id");
        row.bind(1, conversation);
        Statement citations = db_.prepare("SELECT number, passage_id, passage_stable_id, quote, start, end, "
                                          "status, answer_offset FROM citations WHERE message_id = ?1 "
                                          "ORDER BY number, id");
        Statement looked = db_.prepare("SELECT passage_id, passage_stable_id, weight, cited FROM looked_at "
                                       "WHERE message_id = ?1 ORDER BY id");
        while (row.step()) {
            MessageRecord message;
            message.id = row.int64(0);
            message.question = row.text(1);
            message.answer = row.text(2);
            message.thinking = row.text(3);
            message.modelId = row.text(4);
            message.created = fromIso(row.text(5));
            message.prefillMs = row.real(6);
            message.decodeMs = row.real(7);
            message.promptTokens = row.int64(8);
            message.cachedTokens = row.int64(9);
            message.answerTokens = row.int64(10);
            if (!row.isNull(11)) message.corpus = row.int64(11);
            if (!row.isNull(12)) message.comparedCorpus = row.int64(12);
            citations.bind(1, message.id);
            while (citations.step()) {
                CitationRecord c;
                c.number = static_cast<int>(citations.int64(0));
                if (!citations.isNull(1)) c.passage = citations.int64(1);
                c.passageStableId = citations.text(2);
                c.quote = citations.text(3);
                c.range = {citations.int64(4), citations.int64(5)};
                c.status = parseStatus(citations.text(6));
                if (!citations.isNull(7)) c.answerOffset = qsizetype(citations.int64(7));
                message.citations.push_back(std::move(c));
            }
            citations.reset();
            looked.bind(1, message.id);
            while (looked.step()) {
                LookedAtRecord l;
                if (!looked.isNull(0)) l.passage = looked.int64(0);
                l.passageStableId = looked.text(1);
                l.weight = looked.real(2);
                l.cited = looked.int64(3) != 0;
                message.lookedAt.push_back(std::move(l));
            }
            looked.reset();
            list.push_back(std::move(message));
        }
        return list;
    });
}

Result<void> Store::deleteConversation(qint64 conversation) {
    return guarded(
        [&] { db_.prepare("DELETE FROM conversations WHERE id = ?1").bind(1, conversation).run(); });
}

// ---- corpus snapshots ----

Result<qint64> Store::registerCache(const CacheEntry& entry) {
    return guarded([&] {
        if (entry.filePath.isEmpty()) refuse("a corpus snapshot needs a file path");
        db_.prepare(
               "INSERT INTO corpus_caches(corpus_id, file_path, model_id, corpus_hash, tokens, size_bytes, "
               "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(file_path) DO UPDATE SET "
               "corpus_id = excluded.corpus_id, model_id = excluded.model_id, corpus_hash = "
               "excluded.corpus_hash, tokens = excluded.tokens, size_bytes = excluded.size_bytes, "
               "created = excluded.created")
            .bind(1, entry.corpus)
            .bind(2, entry.filePath)
            .bind(3, entry.modelId)
            .bind(4, entry.corpusHash)
            .bind(5, entry.tokens)
            .bind(6, entry.sizeBytes)
            .bind(7, entry.created.isValid() ? isoOrNull(entry.created) : now())
            .run();
        Statement row = db_.prepare("SELECT id FROM corpus_caches WHERE file_path = ?1");
        row.bind(1, entry.filePath).step();
        return row.int64(0);
    });
}

Result<std::optional<CacheEntry>> Store::findCache(qint64 corpus, const QString& modelId,
                                                   const QString& corpusHash) {
    return guarded([&]() -> std::optional<CacheEntry> {
        Statement row = db_.prepare((QByteArray(kCacheSelect) +
                                     "WHERE corpus_id = ?1 AND model_id = ?2 AND corpus_hash = ?3 "
                                     "ORDER BY id DESC LIMIT 1")
                                        .constData());
        if (!row.bind(1, corpus).bind(2, modelId).bind(3, corpusHash).step()) return std::nullopt;
        return readCache(row);
    });
}

Result<QList<CacheEntry>> Store::caches(qint64 corpus) {
    return guarded([&] {
        QList<CacheEntry> list;
        Statement row =
            db_.prepare((QByteArray(kCacheSelect) + "WHERE corpus_id = ?1 ORDER BY id").constData());
        row.bind(1, corpus);
        while (row.step()) list.push_back(readCache(row));
        return list;
    });
}

Result<void> Store::removeCache(qint64 cache) {
    QStringList files;
    Result<void> result = guarded([&] {
        Statement row = db_.prepare("SELECT file_path FROM corpus_caches WHERE id = ?1");
        if (row.bind(1, cache).step()) files << row.text(0);
        db_.prepare("DELETE FROM corpus_caches WHERE id = ?1").bind(1, cache).run();
    });
    if (result) removeFiles(files);
    return result;
}

Result<QString> Store::integrityCheck() {
    return guarded([&] {
        QStringList problems;
        Statement row = db_.prepare("PRAGMA integrity_check");
        while (row.step()) problems << row.text(0);
        // The full-text indexes are external-content tables: check that they agree with the passages.
        for (const char* check :
             {"INSERT INTO passages_words(passages_words, rank) VALUES ('integrity-check', 1)",
              "INSERT INTO passages_trigrams(passages_trigrams, rank) VALUES "
              "('integrity-check', 1)"}) {
            if (sqlite3_exec(db_.handle(), check, nullptr, nullptr, nullptr) != SQLITE_OK)
                problems << QStringLiteral("full-text index: %1")
                                .arg(QString::fromUtf8(sqlite3_errmsg(db_.handle())));
        }
        return problems.join(u'\n');
    });
}

// Called inside a transaction: forgets the corpus's snapshots (its content is changing, so they no
// longer match it) and returns their files, to be removed once the transaction has committed.
QStringList Store::dropCaches(qint64 corpus) {
    QStringList files;
    Statement row = db_.prepare("SELECT file_path FROM corpus_caches WHERE corpus_id = ?1");
    row.bind(1, corpus);
    while (row.step()) files << row.text(0);
    if (!files.isEmpty()) db_.prepare("DELETE FROM corpus_caches WHERE corpus_id = ?1").bind(1, corpus).run();
    return files;
}

// After a commit: the rows are gone, so a file that cannot be removed now is merely left over, not
// dangling; it is not an error for the caller.
void Store::removeFiles(const QStringList& files) {
    for (const QString& file : files) QFile::remove(file);
}

} // namespace lectern::store
