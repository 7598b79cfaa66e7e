// The corpus cache's bookkeeping with a real store and files (the engine's side, snapshot and restore,
// is tested with the worker): keys, lookup, a vanished file forgotten, re-adding a key, a corpus change
// dropping its caches, least-recently-used eviction under the size limit, and clearing.

#include "app/answers/corpus_cache.h"
#include "tests/answers/corpus_fixture.h"
#include "tests/kernels/check.h"

#include <QDateTime>
#include <QFile>
#include <QTemporaryDir>

#include <cstdio>

using namespace lectern::answers;

namespace {

void writeFile(const QString& path, qsizetype bytes, qint64 age_seconds) {
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return;
    file.write(QByteArray(bytes, 'x'));
    file.flush(); // a write flushed later would set the time again
    file.setFileTime(QDateTime::currentDateTimeUtc().addSecs(-age_seconds),
                     QFileDevice::FileModificationTime);
}

} // namespace

int main() {
    QTemporaryDir directory;
    auto store = lectern::store::Store::open(directory.filePath(QStringLiteral("lectern.sqlite3")));
    if (!CHECK(store.ok())) return lectern::test::finish("answers_corpus_cache");
    const qint64 session = *(*store)->createSession(QStringLiteral("s"));
    const qint64 corpus = *(*store)->corpus(session, QStringLiteral("A"));
    const QString cache_dir = directory.filePath(QStringLiteral("cache"));
    QDir().mkpath(cache_dir);
    CorpusCache cache(**store, cache_dir, 250);

    // Keys: the model file's identity, the prefix and the prompt version all count.
    const QString model = directory.filePath(QStringLiteral("model.gguf"));
    writeFile(model, 10, 0);
    const CorpusCacheKey key = CorpusCacheKey::make(model, QByteArray(32, '\1'), QStringLiteral("v1"));
    CHECK(key.model_id.contains(QStringLiteral("model.gguf|10|")));
    CHECK(key.corpus_hash == QString(64, u'0').replace(QStringLiteral("00"), QStringLiteral("01")) + ":v1");
    const CorpusCacheKey other_prompt =
        CorpusCacheKey::make(model, QByteArray(32, '\1'), QStringLiteral("v2"));
    const CorpusCacheKey other_corpus =
        CorpusCacheKey::make(model, QByteArray(32, '\2'), QStringLiteral("v1"));
    CHECK(cache.pathFor(key) != cache.pathFor(other_prompt) &&
          cache.pathFor(key) != cache.pathFor(other_corpus));
    CHECK(cache.pathFor(key).startsWith(cache_dir) && cache.pathFor(key).endsWith(".snapshot"));

    auto missing = cache.find(corpus, key);
    CHECK(missing.ok() && !missing->has_value());
    CHECK(!cache.add(corpus, key, 100).ok()); // nothing written at pathFor(key)

    writeFile(cache.pathFor(key), 100, 30);
    CHECK(cache.add(corpus, key, 1000).ok());
    auto found = cache.find(corpus, key);
    CHECK(found.ok() && found->value_or(QString()) == cache.pathFor(key));
    CHECK(cache.find(corpus, other_prompt).ok() && !cache.find(corpus, other_prompt)->has_value());

    // Re-adding the key (a fresh snapshot at the same path) keeps the new file.
    writeFile(cache.pathFor(key), 120, 0);
    CHECK(cache.add(corpus, key, 1000).ok());
    CHECK(QFile(cache.pathFor(key)).size() == 120);
    CHECK((*store)->caches(corpus)->size() == 1);

    // Eviction: least recently used first, down to the limit (250 bytes).
    writeFile(cache.pathFor(other_corpus), 100, 60);
    CHECK(cache.add(corpus, other_corpus, 1000).ok()); // 220 bytes in all: both stay
    CHECK(cache.totalBytes() == 220);
    writeFile(cache.pathFor(other_prompt), 100, 0);
    CHECK(cache.add(corpus, other_prompt, 1000).ok()); // 320: the oldest (other_corpus) goes
    CHECK(!QFile::exists(cache.pathFor(other_corpus)) && QFile::exists(cache.pathFor(key)));
    CHECK(cache.totalBytes() == 220);
    // ... and its registry entry is forgotten when looked up.
    auto evicted = cache.find(corpus, other_corpus);
    CHECK(evicted.ok() && !evicted->has_value());
    CHECK((*store)->caches(corpus)->size() == 2);

    // A refused file is removed with its entry.
    CHECK(cache.remove(corpus, other_prompt).ok());
    CHECK(!QFile::exists(cache.pathFor(other_prompt)) && (*store)->caches(corpus)->size() == 1);

    // A changed corpus drops its caches (the store does it when a document is stored).
    lectern::test::Document doc;
    doc.path = QStringLiteral("/docs/new.txt");
    doc.contentHash = QStringLiteral("dddddddddddddddddddddddddddddddd");
    doc.pages.append(lectern::test::makePage(1, QStringLiteral("New text."), false));
    lectern::test::addPassages(doc, doc.pages[0]);
    CHECK((*store)->storeDocument(corpus, doc).ok());
    CHECK(!QFile::exists(cache.pathFor(key)));
    CHECK(cache.find(corpus, key).ok() && !cache.find(corpus, key)->has_value());

    // Clearing removes every snapshot file; the registry forgets each entry when it is next looked up.
    writeFile(cache.pathFor(key), 100, 0);
    CHECK(cache.add(corpus, key, 1000).ok());
    writeFile(cache.pathFor(other_prompt), 100, 0);
    CHECK(cache.add(corpus, other_prompt, 1000).ok());
    CHECK(cache.clear() == 2 && cache.totalBytes() == 0);
    CHECK(cache.find(corpus, key).ok() && !cache.find(corpus, key)->has_value());
    CHECK((*store)->caches(corpus)->size() == 1); // other_prompt's entry: forgotten when next looked up
    return lectern::test::finish("answers_corpus_cache");
}
