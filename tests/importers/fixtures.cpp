#include "fixtures.h"

#include <QBuffer>
#include <QFont>
#include <QPainter>
#include <QPdfWriter>

#include <archive.h>
#include <archive_entry.h>
#include <memory>

namespace fixtures {

namespace {

QByteArray pdfString(const QString& text) {
    QByteArray out = "(";
    for (char c : text.toLatin1()) {
        if (c == '(' || c == ')' || c == '\\') out += '\\';
        out += c;
    }
    return out + ")";
}

QByteArray number(double value) {
    return QByteArray::number(value, 'f', 2);
}

} // namespace

QByteArray writeHandPdf(const HandPdf& pdf) {
    // Objects: 1 catalog, 2 pages, 3 font, 4 info, 5 outlines, then per page: page, content; then outline
    // items.
    QList<QByteArray> objects(5);
    const int firstPage = 6;
    const int pageCount = int(pdf.pages.size());
    QByteArray kids;
    for (int i = 0; i < pageCount; ++i) kids += QByteArray::number(firstPage + 2 * i) + " 0 R ";
    const int firstOutline = firstPage + 2 * pageCount;
    const int outlineCount = int(pdf.outline.size());
    objects[0] =
        "<< /Type /Catalog /Pages 2 0 R" + QByteArray(outlineCount > 0 ? " /Outlines 5 0 R" : "") + " >>";
    objects[1] = "<< /Type /Pages /Kids [" + kids + "] /Count " + QByteArray::number(pageCount) + " >>";
    objects[2] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";
    objects[3] =
        "<< /Title " + pdfString(pdf.title) + " /Author " + pdfString(pdf.author) +
        (pdf.creationDate.isEmpty() ? QByteArray() : " /CreationDate " + pdfString(pdf.creationDate)) + " >>";
    objects[4] = outlineCount > 0 ? "<< /Type /Outlines /First " + QByteArray::number(firstOutline) +
                                        " 0 R /Last " + QByteArray::number(firstOutline + outlineCount - 1) +
                                        " 0 R /Count " + QByteArray::number(outlineCount) + " >>"
                                  : "<< /Type /Outlines /Count 0 >>";
    for (int i = 0; i < pageCount; ++i) {
        const HandPage& page = pdf.pages[i];
        QByteArray content;
        for (const PlacedText& text : page.texts) {
            content += "BT /F1 " + number(text.size) + " Tf " + number(text.baseline.x()) + " " +
                       number(page.height - text.baseline.y()) + " Td " + pdfString(text.text) + " Tj ET\n";
        }
        objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 " + number(page.width) + " " +
                       number(page.height) + "] /Rotate " + QByteArray::number(page.rotate) +
                       " /Resources << /Font << /F1 3 0 R >> >> /Contents " +
                       QByteArray::number(firstPage + 2 * i + 1) + " 0 R >>");
        objects.append("<< /Length " + QByteArray::number(content.size()) + " >>\nstream\n" + content +
                       "endstream");
    }
    for (int i = 0; i < outlineCount; ++i) {
        QByteArray item = "<< /Title " + pdfString(pdf.outline[i].first) + " /Parent 5 0 R /Dest [" +
                          QByteArray::number(firstPage + 2 * (pdf.outline[i].second - 1)) + " 0 R /Fit]";
        if (i > 0) item += " /Prev " + QByteArray::number(firstOutline + i - 1) + " 0 R";
        if (i + 1 < outlineCount) item += " /Next " + QByteArray::number(firstOutline + i + 1) + " 0 R";
        objects.append(item + " >>");
    }
    QByteArray out = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    QList<qsizetype> offsets;
    for (qsizetype i = 0; i < objects.size(); ++i) {
        offsets.append(out.size());
        out += QByteArray::number(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const qsizetype xref = out.size();
    out += "xref\n0 " + QByteArray::number(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (qsizetype offset : offsets)
        out += QByteArray::number(offset).rightJustified(10, '0') + " 00000 n \n";
    out += "trailer\n<< /Size " + QByteArray::number(objects.size() + 1) +
           " /Root 1 0 R /Info 4 0 R >>\nstartxref\n" + QByteArray::number(xref) + "\n%%EOF\n";
    return out;
}

QByteArray drawPdf(const QList<QList<PlacedText>>& pages) {
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QPdfWriter writer(&buffer);
    writer.setResolution(72);
    writer.setPageSize(QPageSize(QPageSize::Letter));
    writer.setPageMargins(QMarginsF(0, 0, 0, 0));
    writer.setTitle(QStringLiteral("Drawn fixture"));
    QPainter painter(&writer);
    for (qsizetype p = 0; p < pages.size(); ++p) {
        if (p > 0) writer.newPage();
        for (const PlacedText& text : pages[p]) {
            QFont font(QStringLiteral("DejaVu Sans"));
            font.setPixelSize(int(text.size));
            painter.setFont(font);
            painter.drawText(text.baseline, text.text);
        }
    }
    painter.end();
    return bytes;
}

QByteArray imagePdf(const QImage& image, const QString& stamp) {
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QPdfWriter writer(&buffer);
    writer.setResolution(72);
    writer.setPageSize(QPageSize(QPageSize::Letter));
    writer.setPageMargins(QMarginsF(0, 0, 0, 0));
    QPainter painter(&writer);
    painter.drawImage(QRectF(0, 0, 612, 792), image);
    if (!stamp.isEmpty()) {
        QFont font(QStringLiteral("DejaVu Sans"));
        font.setPixelSize(9);
        painter.setFont(font);
        painter.drawText(QPointF(480, 780), stamp);
    }
    painter.end();
    return bytes;
}

QByteArray zipArchive(const QMap<QString, QByteArray>& members) {
    QByteArray out;
    out.resize(qsizetype(64) << 20);
    size_t used = 0;
    std::unique_ptr<archive, decltype(&archive_write_free)> writer(archive_write_new(), &archive_write_free);
    archive_write_set_format_zip(writer.get());
    archive_write_open_memory(writer.get(), out.data(), size_t(out.size()), &used);
    for (auto it = members.cbegin(); it != members.cend(); ++it) {
        std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                            &archive_entry_free);
        archive_entry_set_pathname(entry.get(), it.key().toUtf8().constData());
        archive_entry_set_size(entry.get(), it.value().size());
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_perm(entry.get(), 0644);
        archive_write_header(writer.get(), entry.get());
        archive_write_data(writer.get(), it.value().constData(), size_t(it.value().size()));
    }
    archive_write_close(writer.get());
    out.truncate(qsizetype(used));
    return out;
}

namespace {

QByteArray xmlEscaped(const QString& text) {
    return text.toHtmlEscaped().toUtf8();
}

} // namespace

QByteArray docx(const QStringList& paragraphs, const QString& title, const QString& author) {
    QByteArray body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
        "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>";
    for (const QString& paragraph : paragraphs) {
        // Each word in its own run, as Word writes text that was edited.
        body += "<w:p><w:pPr><w:jc w:val=\"left\"/></w:pPr>";
        const QStringList words = paragraph.split(QLatin1Char(' '));
        for (qsizetype i = 0; i < words.size(); ++i)
            body += "<w:r><w:t xml:space=\"preserve\">" +
                    xmlEscaped(words[i] + (i + 1 < words.size() ? " " : "")) + "</w:t></w:r>";
        body += "<w:r><w:delText>DELETED</w:delText></w:r></w:p>";
    }
    body += "</w:body></w:document>";
    const QByteArray core =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><cp:coreProperties "
        "xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" "
        "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
        "xmlns:dcterms=\"http://purl.org/dc/terms/\"><dc:title>" +
        xmlEscaped(title) + "</dc:title><dc:creator>" + xmlEscaped(author) +
        "</dc:creator><dcterms:created>2024-03-01T10:00:00Z</dcterms:created></cp:coreProperties>";
    return zipArchive({{QStringLiteral("[Content_Types].xml"), "<Types/>"},
                       {QStringLiteral("word/document.xml"), body},
                       {QStringLiteral("docProps/core.xml"), core}});
}

QByteArray odt(const QStringList& paragraphs, const QString& title) {
    QByteArray body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-content "
        "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" "
        "xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\"><office:body><office:text>";
    for (const QString& paragraph : paragraphs)
        body += "<text:p>" + xmlEscaped(paragraph).replace("  ", "<text:s text:c=\"2\"/>") + "</text:p>";
    body += "</office:text></office:body></office:document-content>";
    const QByteArray meta = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-meta "
                            "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" "
                            "xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><office:meta><dc:title>" +
                            xmlEscaped(title) + "</dc:title></office:meta></office:document-meta>";
    return zipArchive({{QStringLiteral("mimetype"), "application/vnd.oasis.opendocument.text"},
                       {QStringLiteral("content.xml"), body},
                       {QStringLiteral("meta.xml"), meta}});
}

} // namespace fixtures

#include <QDir>
#include <QFile>
#include <QFileInfo>

namespace fixtures {

QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& bytes) {
    const QString path = dir.filePath(name);
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size())
        qFatal("cannot write fixture %s", qPrintable(path));
    file.close();
    return QFileInfo(path).canonicalFilePath();
}

const lectern::importers::Document* SingleImport::document() const {
    const auto it = sink.documents.constFind(path);
    return it == sink.documents.cend() ? nullptr : &it.value();
}

const lectern::importers::FileFailure* SingleImport::failure() const {
    const auto it = sink.failures.constFind(path);
    return it == sink.failures.cend() ? nullptr : &it.value();
}

std::unique_ptr<SingleImport> importBytes(const QString& name, const QByteArray& bytes,
                                          lectern::importers::ImportOptions options) {
    QTemporaryDir dir;
    auto result = std::make_unique<SingleImport>();
    result->path = writeFile(dir, name, bytes);
    result->report = lectern::importers::importPaths({result->path}, options, result->sink);
    return result;
}

} // namespace fixtures
