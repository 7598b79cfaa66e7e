#pragma once
// What the store hands out and takes in, besides importers::Document. Ids are database row ids.

#include "importers/document.h"

#include <QDateTime>
#include <QList>
#include <QRectF>
#include <QString>

#include <optional>

namespace lectern::store {

struct SessionInfo {
    qint64 id = 0;
    QString name;
    QDateTime created;
    int corpora = 0;
    qint64 documents = 0; // imported documents
    qint64 tokens = 0;    // estimated tokens over all their passages
};

struct CorpusInfo {
    qint64 id = 0;
    qint64 session = 0;
    QString label; // "A" or "B"
    qint64 documents = 0;
    qint64 tokens = 0;
};

// pending: begun and not finished (the next import redoes it); duplicate: same bytes as `duplicateOf`.
enum class ImportState { Pending, Imported, Failed, Duplicate };
QString importStateName(ImportState state); // "pending", "imported", "failed", "duplicate"

struct DocumentInfo {
    qint64 id = 0;
    qint64 corpus = 0;
    QString corpusLabel;
    QString path;
    QString parentPath;
    QString contentHash;
    QString format;
    QString title;
    ImportState state = ImportState::Pending;
    QString errorKind; // importers::failureKindName, for Failed
    QString error;
    QString duplicateOf;
    qint64 fileSize = -1; // bytes of the source file when imported; -1 when unknown
    int pages = 0;
    int passages = 0;
    qint64 tokens = 0;
};

struct DocumentFilter {
    qint64 session = 0;           // required
    std::optional<qint64> corpus; // one corpus of it
};

struct StoredPassage {
    qint64 id = 0;    // row id: what citations and search hits refer to
    QString stableId; // "<hash16>:<ordinal>", stable across re-imports of the same bytes
    qint64 document = 0;
    int ordinal = 0;
    int page = 1;
    importers::TextRange range;
    QString text;
    QList<QRectF> boxes;
    int tokens = 0;
    bool ocr = false;
};

struct SearchQuery {
    qint64 session = 0; // required
    std::optional<qint64> corpus;
    std::optional<qint64> document;
    QString text; // words as a person types them; quotes group a phrase
    int offset = 0;
    int limit = 20;
    QString highlightStart = QStringLiteral("[");
    QString highlightEnd = QStringLiteral("]");
};

struct SearchHit {
    qint64 passage = 0;
    QString stableId;
    qint64 document = 0;
    QString documentPath;
    int page = 1;
    importers::TextRange range; // of the passage in its page's text
    QString snippet;            // a window of the passage with the matched words highlighted
    double score = 0;           // higher is better (negated bm25)
};

struct SearchResults {
    QList<SearchHit> hits;
    bool more = false;    // another page exists after this one
    bool trigram = false; // matched as substrings (CJK, parts of words) rather than as words
};

struct ConversationInfo {
    qint64 id = 0;
    qint64 session = 0;
    QString title;
    QDateTime created;
};

enum class CitationStatus { Verified, Partial, Unverified };
QString citationStatusName(CitationStatus status); // "verified", "partial", "unverified"

struct CitationRecord {
    int number = 0;                // [n] in the answer
    std::optional<qint64> passage; // empty when the cited passage was deleted since
    QString passageStableId;
    QString quote;              // the quoted span
    importers::TextRange range; // of the quote in the passage's text
    CitationStatus status = CitationStatus::Unverified;
    // Where [n] stood in MessageRecord::answer (answers::Citation::answer_offset); empty for answers
    // saved before the store kept it.
    std::optional<qsizetype> answerOffset;
};

// A passage the model's sparse attention looked at while answering (app/answers/looked_at.h).
struct LookedAtRecord {
    std::optional<qint64> passage; // empty when the passage was deleted since
    QString passageStableId;
    double weight = 0.0; // its share of the indexer's weight over the answer, 0..1
    bool cited = false;  // the answer cites it too
};

struct MessageRecord {
    qint64 id = 0; // set by the store
    QString question;
    QString answer;
    QString thinking;
    QString modelId;
    QDateTime created; // set by the store when invalid
    double prefillMs = 0;
    double decodeMs = 0;
    qint64 promptTokens = 0;
    qint64 cachedTokens = 0;
    qint64 answerTokens = 0;
    std::optional<qint64> corpus;         // answered from this corpus; empty for older answers
    std::optional<qint64> comparedCorpus; // and this one, when one prompt held both side by side
    QList<CitationRecord> citations;
    QList<LookedAtRecord> lookedAt; // best first
};

struct CacheEntry {
    qint64 id = 0;
    qint64 corpus = 0;
    QString filePath;
    QString modelId;
    QString corpusHash;
    qint64 tokens = 0;
    qint64 sizeBytes = 0;
    QDateTime created;
};

} // namespace lectern::store
