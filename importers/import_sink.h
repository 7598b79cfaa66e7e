#pragma once
// The pipeline's only way to storage. The store implements ImportSink; tests use MemorySink.
//
// Call order for one file, all on the thread that called importPaths() (never concurrently):
//   isComplete(path, hash)            -> true: the file is skipped as unchanged
//   pathWithContent(hash)             -> a path: recordDuplicate(path, hash, thatPath), nothing else
//   beginFile(path, hash)             the file parsed; what it yielded follows:
//   storeDocument(document)...        the file's own document first (a mailbox has none), then contained
//                                     items (attachments, mailbox messages; Document::parentPath says whose)
//   recordFailure(failure)...         contained items that could not be imported
//   finishFile(path, hash)            marks the file complete
// A file that cannot be imported itself gets only recordFailure(), and is tried again on the next import
// (a password may have been supplied since). A file begun but never finished (crash, cancel) is not
// complete either: the next import redoes it. A sink that receives a document for a path it holds with
// another hash replaces the old one (a changed file). One file's calls come together, never interleaved
// with another file's; files come in completion order, not discovery order.

#include "importers/document.h"
#include "kernels/result.h"

#include <QString>

namespace lectern::importers {

enum class FailureKind {
    Corrupt,       // the bytes do not parse as the format they claim
    NeedsPassword, // encrypted; none of the supplied passwords opens it
    Empty,         // readable, but there is no text in it
    Unsupported,   // a format Lectern does not import
    TooLarge,      // over a size bound (file size, expanded archive size, page count)
    Unreadable,    // the file system refused (permissions, vanished, symlink loop)
};

// Stable lower-case names ("corrupt", "needs-password", ...) for stores and JSON.
QString failureKindName(FailureKind kind);

struct FileFailure {
    QString path;       // the file, or "<container>#<n>" for a contained item
    QString parentPath; // the container, for contained items
    QString contentHash;
    FailureKind kind = FailureKind::Corrupt;
    QString message; // plain language: what happened and what to do
};

class ImportSink {
public:
    virtual ~ImportSink() = default;

    // True when `path` was finished before with exactly this content hash.
    virtual bool isComplete(const QString& path, const QString& contentHash) = 0;
    // A finished file's path with this content hash, or empty.
    virtual QString pathWithContent(const QString& contentHash) = 0;

    virtual void beginFile(const QString& path, const QString& contentHash) = 0;
    // An error here (e.g. the disk is full) fails the file with Unreadable and the message.
    virtual Result<void> storeDocument(const Document& document) = 0;
    virtual void recordFailure(const FileFailure& failure) = 0;
    // `path` has the same bytes as the already imported `originalPath`.
    virtual void recordDuplicate(const QString& path, const QString& contentHash,
                                 const QString& originalPath) = 0;
    virtual void finishFile(const QString& path, const QString& contentHash) = 0;
};

} // namespace lectern::importers
