// DOCX and ODT without an office suite: the ZIP container through libarchive (bounded), the XML through
// QXmlStreamReader.

#include "importers/encoding.h"
#include "importers/formats.h"
#include "importers/office_xml.h"
#include "importers/zip_reader.h"

#include <QFileInfo>

namespace lectern::importers {

ParseResult parseOfficeZip(const ParseInput& input, const QString& format) {
    ParseResult result;
    const bool docx = format == QLatin1String("docx");
    const QString name = QFileInfo(input.fileName).fileName();
    const QString kind = docx ? QStringLiteral("Word (.docx)") : QStringLiteral("OpenDocument (.odt)");
    const QString bodyName = docx ? QStringLiteral("word/document.xml") : QStringLiteral("content.xml");
    const QString metadataName = docx ? QStringLiteral("docProps/core.xml") : QStringLiteral("meta.xml");
    const ZipMembers zip =
        readZipMembers(input.bytes, {bodyName, metadataName}, input.options->maxExpandedBytes);
    if (!zip.error.isEmpty()) {
        result.failures.append(failureOf(
            input, zip.tooLarge ? FailureKind::TooLarge : FailureKind::Corrupt,
            QStringLiteral("\"%1\" could not be read as a %2 document: %3.").arg(name, kind, zip.error)));
        return result;
    }
    if (!zip.members.contains(bodyName)) {
        result.failures.append(
            failureOf(input, FailureKind::Corrupt,
                      QStringLiteral("\"%1\" is a ZIP archive but not a %2 document (it has no %3).")
                          .arg(name, kind, bodyName)));
        return result;
    }
    const OfficeText body =
        docx ? docxText(zip.members.value(bodyName)) : odtText(zip.members.value(bodyName));
    if (!body.error.isEmpty()) {
        result.failures.append(
            failureOf(input, FailureKind::Corrupt,
                      QStringLiteral("\"%1\" is damaged: its text (%2) is not well-formed XML: %3.")
                          .arg(name, bodyName, body.error)));
        return result;
    }
    if (body.text.trimmed().isEmpty()) {
        result.failures.append(
            failureOf(input, FailureKind::Empty, QStringLiteral("\"%1\" contains no text.").arg(name)));
        return result;
    }
    Document document;
    document.format = format;
    const OfficeMetadata metadata = officeMetadata(zip.members.value(metadataName));
    document.title = metadata.title;
    document.author = metadata.author;
    document.created = metadata.created;
    document.modified = metadata.modified;
    Page page;
    page.text = normalizedLineEnds(body.text);
    document.pages.append(std::move(page));
    result.documents.append(std::move(document));
    return result;
}

} // namespace lectern::importers
