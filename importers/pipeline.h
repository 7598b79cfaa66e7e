#pragma once
// The import pipeline: files and folders in, documents and failures out through an ImportSink.
// Parsing runs on a thread pool; the sink is called only on the calling thread. Cancel is honoured within
// about a second; what was finished stays finished, the rest is redone by the next import.

#include "importers/import_sink.h"

#include <QString>
#include <QStringList>

#include <functional>
#include <stop_token>

namespace lectern::importers {

enum class OcrMode {
    Off,
    Auto, // pages without a text layer
    On,   // every page (the text layer is replaced)
};

struct ImportOptions {
    QStringList include;   // file-name globs ("*.pdf"); empty: every file
    QStringList exclude;   // globs matched against the file name and the path relative to the folder
    QStringList passwords; // tried in order on encrypted PDFs
    OcrMode ocr = OcrMode::Auto;
    QString ocrLanguage = QStringLiteral("eng"); // Tesseract language(s), e.g. "eng+deu"
    int targetTokens = 256;                      // passage size the chunker aims at
    qint64 maxFileBytes = qint64(2) << 30;       // larger files fail as TooLarge
    qint64 maxExpandedBytes = qint64(512) << 20; // bound on what one archive member / container expands to
    int maxPages = 100000;
    int threads = 0; // 0: QThread::idealThreadCount()
};

struct ImportProgress {
    int filesDone = 0;
    int filesTotal = 0;
    qint64 pagesDone = 0;
    qint64 bytesDone = 0;
    qint64 bytesTotal = 0;
    double etaSeconds = -1; // -1 until there is enough to estimate
    QString currentPath;
};

enum class FileStatus { Imported, Unchanged, Duplicate, Failed, Cancelled };

struct FileOutcome {
    QString path;
    FileStatus status = FileStatus::Failed;
    int pages = 0;
    int passages = 0;
    QString error; // for Failed; for Imported, what was left out (contained items that failed, unread pages)
};

struct ImportReport {
    QList<FileOutcome> files; // in the order the files were found
    bool cancelled = false;
};

using ProgressCallback = std::function<void(const ImportProgress&)>;

// Imports files and folders (recursively). Paths that do not exist are reported as Failed/Unreadable.
ImportReport importPaths(const QStringList& paths, const ImportOptions& options, ImportSink& sink,
                         const ProgressCallback& progress = {}, std::stop_token stop = {});

} // namespace lectern::importers
