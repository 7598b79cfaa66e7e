#include "app/store/schema.h"

#include <array>

namespace lectern::store {
namespace {

// Version 1: the first schema. Never edit a released step; add a new one.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE sessions(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created TEXT NOT NULL);

-- A session holds one corpus, or two ("A" and "B") when it compares them.
CREATE TABLE corpora(
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  label TEXT NOT NULL CHECK(label IN ('A', 'B')),
  UNIQUE(session_id, label));

CREATE TABLE documents(
  id INTEGER PRIMARY KEY,
  corpus_id INTEGER NOT NULL REFERENCES corpora(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  parent_path TEXT,
  content_hash TEXT,
  format TEXT,
  language TEXT,
  title TEXT,
  author TEXT,
  created TEXT,
  modified TEXT,
  outline TEXT,
  -- pending: begun, not finished (a crash or cancel left it; the next import redoes it).
  state TEXT NOT NULL CHECK(state IN ('pending', 'imported', 'failed', 'duplicate')),
  error_kind TEXT,
  error TEXT,
  duplicate_of TEXT,
  imported_at TEXT,
  UNIQUE(corpus_id, path));
CREATE INDEX documents_by_parent ON documents(corpus_id, parent_path);

CREATE TABLE pages(
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  text TEXT NOT NULL,
  width REAL,
  height REAL,
  ocr INTEGER NOT NULL DEFAULT 0,
  words BLOB,
  repeated BLOB,
  PRIMARY KEY(document_id, number)) WITHOUT ROWID;

CREATE TABLE passages(
  id INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  stable_id TEXT NOT NULL,
  ordinal INTEGER NOT NULL,
  page INTEGER NOT NULL,
  start INTEGER NOT NULL,
  end INTEGER NOT NULL,
  text TEXT NOT NULL,
  boxes BLOB,
  tokens INTEGER NOT NULL DEFAULT 0,
  ocr INTEGER NOT NULL DEFAULT 0,
  UNIQUE(document_id, ordinal));
CREATE INDEX passages_by_stable_id ON passages(stable_id);

-- Two external-content full-text indexes over passages.text: words with diacritics folded (ranked
-- search in any alphabetic script), and trigrams (CJK, which has no spaces, and parts of words).
CREATE VIRTUAL TABLE passages_words USING fts5(
  text, content='passages', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE passages_trigrams USING fts5(
  text, content='passages', content_rowid='id', tokenize='trigram');
CREATE TRIGGER passages_indexed AFTER INSERT ON passages BEGIN
  INSERT INTO passages_words(rowid, text) VALUES (new.id, new.text);
  INSERT INTO passages_trigrams(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER passages_unindexed AFTER DELETE ON passages BEGIN
  INSERT INTO passages_words(passages_words, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO passages_trigrams(passages_trigrams, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER passages_reindexed AFTER UPDATE OF text ON passages BEGIN
  INSERT INTO passages_words(passages_words, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO passages_trigrams(passages_trigrams, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO passages_words(rowid, text) VALUES (new.id, new.text);
  INSERT INTO passages_trigrams(rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE conversations(
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  title TEXT NOT NULL DEFAULT '',
  created TEXT NOT NULL);

CREATE TABLE messages(
  id INTEGER PRIMARY KEY,
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  thinking TEXT NOT NULL DEFAULT '',
  model_id TEXT NOT NULL,
  created TEXT NOT NULL,
  prefill_ms REAL NOT NULL DEFAULT 0,
  decode_ms REAL NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  cached_tokens INTEGER NOT NULL DEFAULT 0,
  answer_tokens INTEGER NOT NULL DEFAULT 0);

-- A cited passage keeps its stable id even if the passage row is later deleted.
CREATE TABLE citations(
  id INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  passage_id INTEGER REFERENCES passages(id) ON DELETE SET NULL,
  passage_stable_id TEXT NOT NULL,
  quote TEXT NOT NULL DEFAULT '',
  start INTEGER NOT NULL DEFAULT 0,
  end INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK(status IN ('verified', 'partial', 'unverified')));
CREATE INDEX citations_by_message ON citations(message_id);
CREATE INDEX citations_by_passage ON citations(passage_id);

-- Engine-state snapshots of a whole corpus, prefilled once per model.
CREATE TABLE corpus_caches(
  id INTEGER PRIMARY KEY,
  corpus_id INTEGER NOT NULL REFERENCES corpora(id) ON DELETE CASCADE,
  file_path TEXT NOT NULL UNIQUE,
  model_id TEXT NOT NULL,
  corpus_hash TEXT NOT NULL,
  tokens INTEGER NOT NULL,
  size_bytes INTEGER NOT NULL,
  created TEXT NOT NULL);
CREATE INDEX corpus_caches_by_corpus ON corpus_caches(corpus_id);
)sql";

// Version 2: the source file's size (the document list shows it), and indexes for the import protocol's
// look-ups: a duplicate by content hash, and files left unfinished.
constexpr const char* kVersion2 = R"sql(
ALTER TABLE documents ADD COLUMN file_size INTEGER;
CREATE INDEX documents_by_hash ON documents(corpus_id, content_hash);
CREATE INDEX documents_by_state ON documents(corpus_id, state);
)sql";

// Version 3: the corpus an answer was given from (lectern-cli ask --corpus, comparisons), and the second
// corpus when one prompt held both side by side. NULL for older answers and deleted corpora.
constexpr const char* kVersion3 = R"sql(
ALTER TABLE messages ADD COLUMN corpus_id INTEGER REFERENCES corpora(id) ON DELETE SET NULL;
ALTER TABLE messages ADD COLUMN compared_corpus_id INTEGER REFERENCES corpora(id) ON DELETE SET NULL;
)sql";

// Version 4: the passages DeepSeek-V4's sparse attention looked at while answering, beside the citations,
// best first, with each one's share of the indexer's weight. Like a citation, a row keeps the passage's
// stable id when the passage row is deleted.
constexpr const char* kVersion4 = R"sql(
CREATE TABLE looked_at(
  id INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  passage_id INTEGER REFERENCES passages(id) ON DELETE SET NULL,
  passage_stable_id TEXT NOT NULL,
  weight REAL NOT NULL,
  cited INTEGER NOT NULL DEFAULT 0);
CREATE INDEX looked_at_by_message ON looked_at(message_id);
CREATE INDEX looked_at_by_passage ON looked_at(passage_id);
)sql";

// Version 5: where each [n] stood in the answer's text (the text is kept without its brackets), so a
// reopened answer shows its citations inline again. NULL for older answers: they show chips only.
constexpr const char* kVersion5 = R"sql(
ALTER TABLE citations ADD COLUMN answer_offset INTEGER;
)sql";

constexpr std::array kMigrations = {kVersion1, kVersion2, kVersion3, kVersion4, kVersion5};

} // namespace

int latestSchemaVersion() {
    return static_cast<int>(kMigrations.size());
}

int schemaVersion(Database& db) {
    Statement version = db.prepare("PRAGMA user_version");
    version.step();
    return static_cast<int>(version.int64(0));
}

void migrate(Database& db, int target) {
    const int current = schemaVersion(db);
    if (current > latestSchemaVersion())
        throw SqlFailure(SQLITE_CANTOPEN, "the database " + db.path().toStdString() +
                                              " was written by a newer Lectern (schema " +
                                              std::to_string(current) + ", this build knows up to " +
                                              std::to_string(latestSchemaVersion()) +
                                              "): update Lectern to open it");
    for (int version = current + 1; version <= target; ++version) {
        Transaction transaction(db);
        db.exec(kMigrations[static_cast<size_t>(version - 1)]);
        db.exec(("PRAGMA user_version=" + std::to_string(version)).c_str());
        transaction.commit();
    }
}

} // namespace lectern::store
