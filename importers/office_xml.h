#pragma once
// The XML walks of DOCX (WordprocessingML) and ODT (OpenDocument text): body text with paragraphs
// separated by blank lines, and core metadata. Streaming (QXmlStreamReader), so depth costs no stack.

#include <QByteArray>
#include <QDateTime>
#include <QString>

namespace lectern::importers {

struct OfficeText {
    QString text;
    QString error; // the XML is not well-formed: what and where
};

struct OfficeMetadata {
    QString title;
    QString author;
    QDateTime created;
    QDateTime modified;
};

OfficeText docxText(const QByteArray& documentXml);
OfficeText odtText(const QByteArray& contentXml);
// docProps/core.xml of a DOCX and meta.xml of an ODT share Dublin Core names; both are read here.
OfficeMetadata officeMetadata(const QByteArray& metadataXml);

} // namespace lectern::importers
