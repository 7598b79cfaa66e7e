#include "app/answers/corpus_cache.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <algorithm>

namespace lectern::answers {
namespace {

const QString kSuffix = QStringLiteral(".snapshot");

QFileInfoList snapshotFiles(const QString& directory) {
    return QDir(directory).entryInfoList({QStringLiteral("*") + kSuffix}, QDir::Files);
}

} // namespace

CorpusCacheKey CorpusCacheKey::make(const QString& model_path, const QByteArray& prefix_hash,
                                    const QString& prompt_version) {
    const QFileInfo model(model_path);
    qint64 size = model.isFile() ? model.size() : 0;
    QDateTime modified = model.lastModified();
    if (model.isDir()) {
        for (const QFileInfo& file : QDir(model_path).entryInfoList(QDir::Files)) {
            size += file.size();
            modified = std::max(modified, file.lastModified());
        }
    }
    const QString path = model.exists() ? model.canonicalFilePath() : model_path;
    return {QStringLiteral("%1|%2|%3").arg(path).arg(size).arg(modified.toMSecsSinceEpoch()),
            QString::fromLatin1(prefix_hash.toHex()) + u':' + prompt_version};
}

qint64 CorpusCache::totalBytes() const {
    qint64 total = 0;
    for (const QFileInfo& file : snapshotFiles(directory_)) total += file.size();
    return total;
}

QString CorpusCache::pathFor(const CorpusCacheKey& key) const {
    const QByteArray name = QCryptographicHash::hash((key.model_id + u'\n' + key.corpus_hash).toUtf8(),
                                                     QCryptographicHash::Sha256)
                                .toHex()
                                .left(32);
    return QDir(directory_).filePath(QString::fromLatin1(name) + kSuffix);
}

Result<std::optional<QString>> CorpusCache::find(qint64 corpus, const CorpusCacheKey& key) {
    auto entry = store_.findCache(corpus, key.model_id, key.corpus_hash);
    if (!entry) return std::move(entry).take_error();
    if (!*entry) return std::optional<QString>();
    QFile file((*entry)->filePath);
    if (!file.exists()) {
        // Evicted or deleted by hand: forget it.
        if (auto removed = store_.removeCache((*entry)->id); !removed) return std::move(removed).take_error();
        return std::optional<QString>();
    }
    // Least recently used goes first on eviction: a hit counts as a use.
    if (file.open(QIODevice::ReadWrite))
        file.setFileTime(QDateTime::currentDateTimeUtc(), QFileDevice::FileModificationTime);
    return std::optional<QString>((*entry)->filePath);
}

Result<void> CorpusCache::add(qint64 corpus, const CorpusCacheKey& key, qint64 tokens) {
    const QString path = pathFor(key);
    const QFileInfo file(path);
    if (!file.exists())
        return Error{"The corpus cache file " + path.toStdString() +
                     " was not written; nothing was registered."};
    // An older entry for the key names the same path, and the store deletes an entry's file with it:
    // the new snapshot steps aside meanwhile.
    const QString aside = path + QStringLiteral(".new");
    QFile::remove(aside);
    if (!QFile::rename(path, aside))
        return Error{"The corpus cache file " + path.toStdString() +
                     " cannot be renamed; check the folder's permissions."};
    Result<void> forgotten = remove(corpus, key);
    QFile::rename(aside, path);
    if (!forgotten) return forgotten;
    store::CacheEntry entry;
    entry.corpus = corpus;
    entry.filePath = path;
    entry.modelId = key.model_id;
    entry.corpusHash = key.corpus_hash;
    entry.tokens = tokens;
    entry.sizeBytes = QFileInfo(path).size();
    if (auto registered = store_.registerCache(entry); !registered) return std::move(registered).take_error();
    evict();
    return {};
}

Result<void> CorpusCache::remove(qint64 corpus, const CorpusCacheKey& key) {
    auto entry = store_.findCache(corpus, key.model_id, key.corpus_hash);
    if (!entry) return std::move(entry).take_error();
    if (!*entry) return {};
    return store_.removeCache((*entry)->id);
}

int CorpusCache::evict() {
    QFileInfoList files = snapshotFiles(directory_);
    std::sort(files.begin(), files.end(),
              [](const QFileInfo& a, const QFileInfo& b) { return a.lastModified() < b.lastModified(); });
    qint64 total = 0;
    for (const QFileInfo& file : files) total += file.size();
    int removed = 0;
    for (const QFileInfo& file : files) {
        if (total <= limit_bytes_) break;
        if (!QFile::remove(file.filePath())) continue;
        total -= file.size();
        ++removed;
    }
    return removed;
}

int CorpusCache::clear() {
    int removed = 0;
    for (const QFileInfo& file : snapshotFiles(directory_)) removed += QFile::remove(file.filePath()) ? 1 : 0;
    return removed;
}

} // namespace lectern::answers
