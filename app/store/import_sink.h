#pragma once
// The import pipeline's storage (importers::ImportSink) over one corpus of the store. The interface's
// notifications return nothing, so a store failure there is kept: the caller reads firstError() after
// the import, and a failed storeDocument fails its file with the message.

#include "app/store/store.h"
#include "importers/import_sink.h"

#include <QString>

namespace lectern::store {

class StoreImportSink : public importers::ImportSink {
public:
    StoreImportSink(Store& store, qint64 corpus) : store_(store), corpus_(corpus) {}

    bool isComplete(const QString& path, const QString& contentHash) override;
    QString pathWithContent(const QString& contentHash) override;
    void beginFile(const QString& path, const QString& contentHash) override;
    Result<void> storeDocument(const importers::Document& document) override;
    void recordFailure(const importers::FileFailure& failure) override;
    void recordDuplicate(const QString& path, const QString& contentHash,
                         const QString& originalPath) override;
    void finishFile(const QString& path, const QString& contentHash) override;

    // The first store failure seen by a call that cannot return it; empty when there was none.
    const QString& firstError() const { return firstError_; }

private:
    template <typename T>
    void keep(const Result<T>& result);

    Store& store_;
    qint64 corpus_;
    QString firstError_;
};

} // namespace lectern::store
