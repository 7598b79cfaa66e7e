#include "app/store/import_sink.h"

namespace lectern::store {

template <typename T>
void StoreImportSink::keep(const Result<T>& result) {
    if (!result && firstError_.isEmpty()) firstError_ = QString::fromStdString(result.error());
}

bool StoreImportSink::isComplete(const QString& path, const QString& contentHash) {
    const Result<bool> complete = store_.isComplete(corpus_, path, contentHash);
    keep(complete);
    // When the store cannot say, importing again is the safe answer.
    return complete && *complete;
}

QString StoreImportSink::pathWithContent(const QString& contentHash) {
    const Result<std::optional<QString>> original = store_.pathWithContent(corpus_, contentHash);
    keep(original);
    return original && *original ? **original : QString();
}

void StoreImportSink::beginFile(const QString& path, const QString& contentHash) {
    keep(store_.beginFile(corpus_, path, contentHash));
}

Result<void> StoreImportSink::storeDocument(const importers::Document& document) {
    const Result<qint64> stored = store_.storeDocument(corpus_, document);
    if (!stored) return Error{stored.error()};
    return {};
}

void StoreImportSink::recordFailure(const importers::FileFailure& failure) {
    keep(store_.recordFailure(corpus_, failure.path, failure.parentPath, failure.contentHash,
                              importers::failureKindName(failure.kind), failure.message));
}

void StoreImportSink::recordDuplicate(const QString& path, const QString& contentHash,
                                      const QString& originalPath) {
    keep(store_.recordDuplicate(corpus_, path, contentHash, originalPath));
}

void StoreImportSink::finishFile(const QString& path, const QString&) {
    keep(store_.finishFile(corpus_, path));
}

} // namespace lectern::store
