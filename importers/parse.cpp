#include "importers/parse.h"

#include "importers/chunker.h"
#include "importers/encoding.h"
#include "importers/formats.h"

#include <KSyntaxHighlighting/Definition>
#include <KSyntaxHighlighting/Repository>
#include <QFileInfo>
#include <QHash>

#include <mutex>

namespace lectern::importers {

namespace {

// The definition repository loads every syntax definition once; lookups are serialized because the
// repository is not documented as thread-safe.
QString syntaxLanguage(const QString& fileName) {
    static std::mutex mutex;
    static std::unique_ptr<KSyntaxHighlighting::Repository> repository;
    const std::lock_guard lock(mutex);
    if (!repository) repository = std::make_unique<KSyntaxHighlighting::Repository>();
    const KSyntaxHighlighting::Definition definition = repository->definitionForFileName(fileName);
    return definition.isValid() ? definition.name() : QString();
}

QString imageKind(QByteArrayView bytes) {
    if (bytes.startsWith("\x89PNG\r\n\x1a\n")) return QStringLiteral("a PNG image");
    if (bytes.startsWith("\xFF\xD8\xFF")) return QStringLiteral("a JPEG image");
    if (bytes.startsWith("GIF87a") || bytes.startsWith("GIF89a")) return QStringLiteral("a GIF image");
    if (bytes.startsWith(QByteArrayView("II*\0", 4)) || bytes.startsWith(QByteArrayView("MM\0*", 4)))
        return QStringLiteral("a TIFF image");
    return {};
}

bool isPdf(QByteArrayView bytes) {
    return bytes.first(std::min<qsizetype>(bytes.size(), 1024)).contains("%PDF-");
}

ParseResult failed(const ParseInput& input, FailureKind kind, const QString& message) {
    ParseResult result;
    result.failures.append(failureOf(input, kind, message));
    return result;
}

ParseResult dispatch(const ParseInput& input) {
    const QFileInfo info(input.fileName);
    const QString name = info.fileName();
    const QString suffix = info.suffix().toLower();
    const QByteArray& bytes = input.bytes;
    if (bytes.isEmpty())
        return failed(input, FailureKind::Empty, QStringLiteral("\"%1\" is empty (0 bytes).").arg(name));
    if (isPdf(bytes)) return parsePdf(input);
    const bool zip = bytes.startsWith("PK\x03\x04");
    if (suffix == QLatin1String("docx") || suffix == QLatin1String("odt")) {
        if (!zip)
            return failed(
                input, FailureKind::Corrupt,
                QStringLiteral("\"%1\" is not a valid .%2 document: it is not a ZIP archive. It may be "
                               "damaged or misnamed.")
                    .arg(name, suffix));
        return parseOfficeZip(input, suffix);
    }
    if (const QString image = imageKind(bytes); !image.isEmpty()) {
        const QString misnamed =
            suffix == QLatin1String("pdf") ? QStringLiteral(" although it is named .pdf") : QString();
        return failed(
            input, FailureKind::Unsupported,
            QStringLiteral("\"%1\" is %2%3. Lectern imports text documents; convert scanned images to "
                           "PDF to import them with OCR.")
                .arg(name, image, misnamed));
    }
    if (suffix == QLatin1String("pdf"))
        return failed(
            input, FailureKind::Corrupt,
            QStringLiteral("\"%1\" is not a PDF: it does not start like one. It may be damaged or misnamed.")
                .arg(name));
    if (zip && suffix == QLatin1String("zip"))
        return failed(input, FailureKind::Unsupported,
                      QStringLiteral("\"%1\" is a ZIP archive; unpack it and import the folder.").arg(name));
    if (zip)
        return failed(
            input, FailureKind::Unsupported,
            QStringLiteral("\"%1\" is a .%2 file (a ZIP container), which Lectern does not import; save "
                           "it as PDF to import it.")
                .arg(name, suffix));
    if (bytes.startsWith("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"))
        return failed(
            input, FailureKind::Unsupported,
            QStringLiteral("\"%1\" is an older Microsoft Office file (.doc, .xls, .ppt or .msg); save it "
                           "as .docx or PDF to import it.")
                .arg(name));
    if (!looksLikeText(bytes))
        return failed(
            input, FailureKind::Unsupported,
            QStringLiteral("\"%1\" is not a format Lectern can import (binary content).").arg(name));
    if (suffix == QLatin1String("html") || suffix == QLatin1String("htm") || suffix == QLatin1String("xhtml"))
        return parseHtml(input);
    if (suffix == QLatin1String("eml")) return parseEmail(input);
    if (suffix == QLatin1String("mbox") || suffix == QLatin1String("mbx")) return parseMailbox(input);
    if (suffix == QLatin1String("md") || suffix == QLatin1String("markdown"))
        return parseText(input, QStringLiteral("markdown"), QString());
    if (suffix == QLatin1String("csv") || suffix == QLatin1String("tsv"))
        return parseText(input, QStringLiteral("csv"), QString());
    if (suffix == QLatin1String("txt") || suffix == QLatin1String("text") || suffix.isEmpty())
        return parseText(input, QStringLiteral("text"), QString());
    if (const QString language = syntaxLanguage(name); !language.isEmpty())
        return parseText(input, QStringLiteral("code"), language);
    return parseText(input, QStringLiteral("text"), QString());
}

} // namespace

FileFailure failureOf(const ParseInput& input, FailureKind kind, const QString& message) {
    return FileFailure{input.path, input.parentPath, input.contentHash, kind, message};
}

ParseResult parseFile(const ParseInput& input) {
    ParseResult result = dispatch(input);
    if (result.cancelled) return result;
    for (Document& document : result.documents) {
        if (document.path.isEmpty()) {
            document.path = input.path;
            document.parentPath = input.parentPath;
            document.contentHash = input.contentHash;
        }
        if (document.title.isEmpty()) document.title = QFileInfo(input.fileName).completeBaseName();
        if (document.passages.isEmpty()) chunkDocument(document, input.options->targetTokens);
        if (input.pagesDone != nullptr && document.format != QLatin1String("pdf") && input.depth == 0)
            *input.pagesDone += document.pages.size();
    }
    return result;
}

} // namespace lectern::importers
