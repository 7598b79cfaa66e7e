#pragma once
// Files to import from the paths a user gave: folders recursively (hidden entries skipped), include and
// exclude globs, each real file once, symbolic-link loops reported instead of followed.

#include "importers/import_sink.h"
#include "importers/pipeline.h"

namespace lectern::importers {

struct FoundFile {
    QString path; // canonical
    qint64 size = 0;
};

struct WalkResult {
    QList<FoundFile> files;
    QList<FileFailure> failures; // paths that do not exist, loops, dangling links, unreadable folders
};

WalkResult findFiles(const QStringList& paths, const ImportOptions& options, std::stop_token stop);

} // namespace lectern::importers
