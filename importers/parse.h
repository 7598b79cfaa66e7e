#pragma once
// One file's bytes in, its documents and failures out. Every format's parser sits behind parseFile();
// the pipeline only calls that. Parsers never touch the file system or the store.

#include "importers/import_sink.h"
#include "importers/pipeline.h"

#include <QByteArray>
#include <QString>

#include <atomic>
#include <stop_token>

namespace lectern::importers {

struct ParseInput {
    QString path;     // identity of the document (a file path, or "<container>#<n>")
    QString fileName; // the name the format is guessed from (an attachment's file name)
    QString parentPath;
    QByteArray bytes;
    QString contentHash;
    const ImportOptions* options = nullptr;
    std::stop_token stop;
    std::atomic<qint64>* pagesDone = nullptr; // progress, counted as pages are parsed; may be null
    int depth = 0; // containers inside containers (attachments of attached mails); bounded
};

struct ParseResult {
    QList<Document> documents;   // the file's own document first (a mailbox has none), then contained items
    QList<FileFailure> failures; // the file itself, or contained items that could not be imported
    QStringList notes;           // imported, but something was left out (e.g. scanned pages without OCR)
    bool cancelled = false;
};

// Detects the format from the content and the file name and runs its parser, then the chunker.
ParseResult parseFile(const ParseInput& input);

// A failure of `input` itself, with its identity filled in.
FileFailure failureOf(const ParseInput& input, FailureKind kind, const QString& message);

} // namespace lectern::importers
