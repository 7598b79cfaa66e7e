#include "importers/memory_sink.h"

namespace lectern::importers {

bool MemorySink::isComplete(const QString& path, const QString& contentHash) {
    return finished.value(path) == contentHash;
}

QString MemorySink::pathWithContent(const QString& contentHash) {
    for (auto it = finished.cbegin(); it != finished.cend(); ++it) {
        if (it.value() == contentHash && !duplicates.contains(it.key())) return it.key();
    }
    return {};
}

void MemorySink::beginFile(const QString& path, const QString& contentHash) {
    finished.remove(path);
    inProgress.insert(path, contentHash);
}

Result<void> MemorySink::storeDocument(const Document& document) {
    documents.insert(document.path, document);
    failures.remove(document.path);
    ++documentsStored;
    return {};
}

void MemorySink::recordFailure(const FileFailure& failure) {
    documents.remove(failure.path);
    failures.insert(failure.path, failure);
}

void MemorySink::recordDuplicate(const QString& path, const QString& contentHash,
                                 const QString& originalPath) {
    documents.remove(path);
    duplicates.insert(path, originalPath);
    finished.insert(path, contentHash);
}

void MemorySink::finishFile(const QString& path, const QString& contentHash) {
    inProgress.remove(path);
    finished.insert(path, contentHash);
}

} // namespace lectern::importers
