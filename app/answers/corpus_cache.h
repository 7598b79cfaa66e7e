#pragma once
// The corpus cache: engine snapshots of prefilled corpus prefixes, one file each in the profile's cache
// directory, registered in the store per corpus and keyed by (model, corpus prefix, prompt version), so
// a later question, or a reopened session, starts with no corpus prefill. A changed corpus or prompt
// gives another key; a file that is gone is forgotten; the engine rejects a damaged or foreign file
// (the worker then removes it, see app/worker/). Total size is held under a limit: the least recently
// used files go first.

#include "app/store/store.h"
#include "kernels/result.h"

#include <QByteArray>
#include <QString>

#include <optional>

namespace lectern::answers {

struct CorpusCacheKey {
    QString model_id;    // the model file or folder: path, size and modification time
    QString corpus_hash; // hex SHA-256 of the corpus prefix's tokens, then ":" and the prompt version

    static CorpusCacheKey make(const QString& model_path, const QByteArray& prefix_hash,
                               const QString& prompt_version);
};

class CorpusCache {
public:
    static constexpr qint64 kDefaultLimitBytes = qint64(32) << 30;

    CorpusCache(store::Store& store, QString directory, qint64 limit_bytes = kDefaultLimitBytes)
        : store_(store), directory_(std::move(directory)), limit_bytes_(limit_bytes) {}

    const QString& directory() const { return directory_; }
    qint64 limitBytes() const { return limit_bytes_; }
    qint64 totalBytes() const; // of every snapshot file in the directory

    // The snapshot file registered for `key`, if it is still there (and marks it used).
    Result<std::optional<QString>> find(qint64 corpus, const CorpusCacheKey& key);
    // Where a new snapshot for `key` is written.
    QString pathFor(const CorpusCacheKey& key) const;
    // Registers a snapshot just written at pathFor(key), then evicts down to the limit.
    Result<void> add(qint64 corpus, const CorpusCacheKey& key, qint64 tokens);
    // Forgets `key` and removes its file (a file the engine refused).
    Result<void> remove(qint64 corpus, const CorpusCacheKey& key);
    // Removes least recently used files until the total is under the limit; returns how many.
    int evict();
    // Removes every snapshot file (the store forgets an entry when find() next meets its missing file);
    // returns how many.
    int clear();

private:
    store::Store& store_;
    QString directory_;
    qint64 limit_bytes_;
};

} // namespace lectern::answers
