#include "importers/office_xml.h"

#include <QXmlStreamReader>

namespace lectern::importers {

namespace {

class ParagraphText {
public:
    void append(QStringView text) { paragraph_ += text; }
    void append(QChar c) { paragraph_ += c; }
    void endParagraph() {
        const QString trimmed = paragraph_.trimmed();
        if (!trimmed.isEmpty()) {
            if (!text_.isEmpty()) text_ += QLatin1String("\n\n");
            text_ += trimmed;
        }
        paragraph_.clear();
    }
    QString take() {
        endParagraph();
        return std::move(text_);
    }

private:
    QString text_;
    QString paragraph_;
};

QString errorOf(const QXmlStreamReader& xml) {
    return QStringLiteral("%1 (line %2, column %3)")
        .arg(xml.errorString())
        .arg(xml.lineNumber())
        .arg(xml.columnNumber());
}

} // namespace

OfficeText docxText(const QByteArray& documentXml) {
    QXmlStreamReader xml(documentXml);
    ParagraphText out;
    // Text inside w:delText (deleted revisions) and w:instrText (field codes) is not document text.
    bool inText = false;
    while (!xml.atEnd()) {
        switch (xml.readNext()) {
        case QXmlStreamReader::StartElement: {
            const QStringView name = xml.name();
            if (name == QLatin1String("t"))
                inText = true;
            else if (name == QLatin1String("tab"))
                out.append(QLatin1Char('\t'));
            else if (name == QLatin1String("br") || name == QLatin1String("cr"))
                out.append(QLatin1Char('\n'));
            break;
        }
        case QXmlStreamReader::EndElement: {
            const QStringView name = xml.name();
            if (name == QLatin1String("t"))
                inText = false;
            else if (name == QLatin1String("p"))
                out.endParagraph();
            else if (name == QLatin1String("tc"))
                out.append(QLatin1Char('\t'));
            break;
        }
        case QXmlStreamReader::Characters:
            if (inText) out.append(xml.text());
            break;
        default:
            break;
        }
    }
    if (xml.hasError()) return {QString(), errorOf(xml)};
    return {out.take(), QString()};
}

OfficeText odtText(const QByteArray& contentXml) {
    QXmlStreamReader xml(contentXml);
    ParagraphText out;
    // Paragraphs and headings may nest (a note inside a paragraph); text counts inside the body only.
    int paragraphDepth = 0;
    bool inBody = false;
    int skippedDepth = 0; // inside notes' citations and similar non-text elements
    while (!xml.atEnd()) {
        switch (xml.readNext()) {
        case QXmlStreamReader::StartElement: {
            const QStringView name = xml.name();
            if (skippedDepth > 0) {
                ++skippedDepth;
            } else if (name == QLatin1String("body")) {
                inBody = true;
            } else if (name == QLatin1String("note-citation")) {
                skippedDepth = 1;
            } else if (name == QLatin1String("p") || name == QLatin1String("h")) {
                if (paragraphDepth > 0) out.append(QLatin1Char(' '));
                ++paragraphDepth;
            } else if (name == QLatin1String("s")) {
                const int count = xml.attributes().value(QLatin1String("text:c")).toInt();
                for (int i = 0; i < std::clamp(count, 1, 1000); ++i) out.append(QLatin1Char(' '));
            } else if (name == QLatin1String("tab")) {
                out.append(QLatin1Char('\t'));
            } else if (name == QLatin1String("line-break")) {
                out.append(QLatin1Char('\n'));
            }
            break;
        }
        case QXmlStreamReader::EndElement: {
            const QStringView name = xml.name();
            if (skippedDepth > 0) {
                --skippedDepth;
            } else if (name == QLatin1String("p") || name == QLatin1String("h")) {
                paragraphDepth = std::max(paragraphDepth - 1, 0);
                if (paragraphDepth == 0) out.endParagraph();
            } else if (name == QLatin1String("body")) {
                inBody = false;
            }
            break;
        }
        case QXmlStreamReader::Characters:
            if (inBody && paragraphDepth > 0 && skippedDepth == 0) out.append(xml.text());
            break;
        default:
            break;
        }
    }
    if (xml.hasError()) return {QString(), errorOf(xml)};
    return {out.take(), QString()};
}

OfficeMetadata officeMetadata(const QByteArray& metadataXml) {
    OfficeMetadata metadata;
    QXmlStreamReader xml(metadataXml);
    while (!xml.atEnd()) {
        if (xml.readNext() != QXmlStreamReader::StartElement) continue;
        const QStringView name = xml.name();
        const QStringView prefix = xml.prefix();
        if (name == QLatin1String("title") && metadata.title.isEmpty())
            metadata.title = xml.readElementText(QXmlStreamReader::IncludeChildElements).trimmed();
        else if ((name == QLatin1String("creator") || name == QLatin1String("initial-creator")) &&
                 metadata.author.isEmpty())
            metadata.author = xml.readElementText(QXmlStreamReader::IncludeChildElements).trimmed();
        else if (name == QLatin1String("created") || name == QLatin1String("creation-date"))
            metadata.created = QDateTime::fromString(xml.readElementText().trimmed(), Qt::ISODate);
        else if ((name == QLatin1String("modified") && prefix == QLatin1String("dcterms")) ||
                 (name == QLatin1String("date") && prefix == QLatin1String("dc")))
            metadata.modified = QDateTime::fromString(xml.readElementText().trimmed(), Qt::ISODate);
    }
    return metadata;
}

} // namespace lectern::importers
