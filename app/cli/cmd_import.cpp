// lectern-cli import: files and folders into a session's corpus, through the import pipeline.
// An interrupted import (Ctrl-C, a crash) loses nothing finished; running it again redoes only the rest.

#include "app/cli/cli.h"
#include "app/cli/session_access.h"
#include "app/store/import_sink.h"
#include "importers/pipeline.h"

#include <QFileInfo>
#include <QJsonArray>

namespace lectern::cli {
namespace {

QString statusName(importers::FileStatus status) {
    switch (status) {
    case importers::FileStatus::Imported:
        return QStringLiteral("imported");
    case importers::FileStatus::Unchanged:
        return QStringLiteral("unchanged");
    case importers::FileStatus::Duplicate:
        return QStringLiteral("duplicate");
    case importers::FileStatus::Failed:
        return QStringLiteral("failed");
    case importers::FileStatus::Cancelled:
        return QStringLiteral("cancelled");
    }
    return QStringLiteral("failed");
}

QStringList globs(const Context& context, const QString& name) {
    const std::optional<QString> value = context.args.value(name);
    return value ? value->split(u',', Qt::SkipEmptyParts) : QStringList();
}

int runImport(Context& context) {
    if (context.args.positional.isEmpty())
        return context.fail(Usage, QStringLiteral("import needs at least one PATH"));
    importers::ImportOptions options;
    options.include = globs(context, QStringLiteral("include"));
    options.exclude = globs(context, QStringLiteral("exclude"));
    if (const auto password = context.args.value(QStringLiteral("password"))) options.passwords << *password;
    if (const auto ocr = context.args.value(QStringLiteral("ocr"))) {
        if (*ocr == QLatin1String("off"))
            options.ocr = importers::OcrMode::Off;
        else if (*ocr == QLatin1String("auto"))
            options.ocr = importers::OcrMode::Auto;
        else if (*ocr == QLatin1String("on"))
            options.ocr = importers::OcrMode::On;
        else
            return context.fail(Usage, QStringLiteral("--ocr is off, auto or on, not '%1'").arg(*ocr));
    }
    if (const auto language = context.args.value(QStringLiteral("ocr-language")))
        options.ocrLanguage = *language;

    auto opened = openSession(context, IfMissing::Create);
    if (const int* code = std::get_if<int>(&opened)) return *code;
    OpenSession& open = std::get<OpenSession>(opened);
    if (!context.args.value(QStringLiteral("corpus")))
        context.args.values[QStringLiteral("corpus")] = QStringLiteral("A");
    auto corpus = corpusOption(context, open, true);
    if (const int* code = std::get_if<int>(&corpus)) return *code;

    QStringList paths;
    for (const QString& path : context.args.positional) paths << QFileInfo(path).absoluteFilePath();
    store::StoreImportSink sink(*open.store, *std::get<std::optional<qint64>>(corpus));
    const importers::ImportReport report = importers::importPaths(paths, options, sink);

    int failed = 0;
    QJsonArray files;
    QString out;
    for (const importers::FileOutcome& file : report.files) {
        if (file.status == importers::FileStatus::Failed) ++failed;
        files.append(QJsonObject{{QStringLiteral("path"), file.path},
                                 {QStringLiteral("status"), statusName(file.status)},
                                 {QStringLiteral("pages"), file.pages},
                                 {QStringLiteral("passages"), file.passages},
                                 {QStringLiteral("error"), file.error}});
        out += QStringLiteral("%1  %2").arg(statusName(file.status), -9).arg(file.path);
        if (file.status == importers::FileStatus::Imported)
            out += QStringLiteral("  (%1 page(s), %2 passage(s))").arg(file.pages).arg(file.passages);
        out += u'\n';
        if (!file.error.isEmpty()) out += QStringLiteral("    %1\n").arg(file.error);
    }
    if (context.json)
        context.printJson({{QStringLiteral("files"), files}});
    else
        context.print(out.isEmpty() ? QStringLiteral("No files found.") : out);

    // A store failure the pipeline could not see (it was in a notification) still fails the import.
    if (!sink.firstError().isEmpty()) return context.fail(Failure, sink.firstError());
    if (failed == 0) return Success;
    if (failed == report.files.size())
        return context.fail(Failure, QStringLiteral("no file could be imported (%1 failed)").arg(failed));
    return context.fail(Partial,
                        QStringLiteral("%1 of %2 file(s) failed").arg(failed).arg(report.files.size()));
}

} // namespace

Command importCommand() {
    return {
        QStringLiteral("import"),
        QStringLiteral("import --session S [--corpus A|B] PATH..."),
        QStringLiteral("imports files and folders into a session (made if new); unchanged files are skipped"),
        {{QStringLiteral("session"), true, QStringLiteral("the session (created when missing)")},
         {QStringLiteral("corpus"), true,
          QStringLiteral("A (default) or B, the second corpus of a comparison")},
         {QStringLiteral("include"), true,
          QStringLiteral("only files matching these globs, comma-separated")},
         {QStringLiteral("exclude"), true,
          QStringLiteral("skip files matching these globs, comma-separated")},
         {QStringLiteral("password"), true, QStringLiteral("a password for encrypted PDFs")},
         {QStringLiteral("ocr"), true, QStringLiteral("off, auto (pages without text; default) or on")},
         {QStringLiteral("ocr-language"), true, QStringLiteral("Tesseract languages, e.g. eng+deu")}},
        runImport};
}

} // namespace lectern::cli
