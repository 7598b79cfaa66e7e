#pragma once
// An ImportSink that keeps everything in memory: for tests, benchmarks and one-shot conversions.

#include "importers/import_sink.h"

#include <QHash>
#include <QList>

namespace lectern::importers {

class MemorySink : public ImportSink {
public:
    bool isComplete(const QString& path, const QString& contentHash) override;
    QString pathWithContent(const QString& contentHash) override;
    void beginFile(const QString& path, const QString& contentHash) override;
    Result<void> storeDocument(const Document& document) override;
    void recordFailure(const FileFailure& failure) override;
    void recordDuplicate(const QString& path, const QString& contentHash,
                         const QString& originalPath) override;
    void finishFile(const QString& path, const QString& contentHash) override;

    QHash<QString, Document> documents;   // by path
    QHash<QString, FileFailure> failures; // by path
    QHash<QString, QString> duplicates;   // path -> original path
    QHash<QString, QString> finished;     // path -> content hash
    QHash<QString, QString> inProgress;   // path -> content hash
    int documentsStored = 0;              // every storeDocument call, to count re-imports
};

} // namespace lectern::importers
