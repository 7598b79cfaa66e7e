#pragma once
// Fixtures the importer tests build themselves: small PDFs written by hand (exact positions, /Rotate,
// outline, info dictionary), PDFs drawn with QPdfWriter, ZIP containers (DOCX/ODT) and mail.

#include <QByteArray>
#include <QImage>
#include <QList>
#include <QMap>
#include <QPointF>
#include <QString>

#include <memory>

namespace fixtures {

// Text drawn in Helvetica at `size` points with its baseline at `baseline` (top-left page coordinates).
struct PlacedText {
    QPointF baseline;
    double size = 12;
    QString text; // Latin-1 only
};

struct HandPage {
    double width = 612;
    double height = 792;
    int rotate = 0;
    QList<PlacedText> texts;
};

struct HandPdf {
    QList<HandPage> pages;
    QString title;
    QString author;
    QString creationDate;                   // PDF date, e.g. "D:20240131120000Z"
    QList<std::pair<QString, int>> outline; // title, 1-based page (one level)
};

QByteArray writeHandPdf(const HandPdf& pdf);

// One page per list entry, drawn with QPdfWriter at 72 dpi on US Letter, DejaVu Sans.
QByteArray drawPdf(const QList<QList<PlacedText>>& pages);

// A US Letter page whose content is `image` filling the page (a scan: no text layer), with `stamp` as
// real text at the bottom when given (a Bates number).
QByteArray imagePdf(const QImage& image, const QString& stamp = {});

// A ZIP archive with the given members (deflated).
QByteArray zipArchive(const QMap<QString, QByteArray>& members);

QByteArray docx(const QStringList& paragraphs, const QString& title, const QString& author);
QByteArray odt(const QStringList& paragraphs, const QString& title);

} // namespace fixtures

#include "importers/memory_sink.h"
#include "importers/pipeline.h"

#include <QTemporaryDir>

namespace fixtures {

// Writes `bytes` as `name` into `dir` and returns the canonical path.
QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& bytes);

struct SingleImport {
    lectern::importers::MemorySink sink;
    lectern::importers::ImportReport report;
    QString path;
    const lectern::importers::Document* document() const;
    const lectern::importers::FileFailure* failure() const;
};

// Imports one file (written to a fresh temporary folder) through the pipeline.
std::unique_ptr<SingleImport> importBytes(const QString& name, const QByteArray& bytes,
                                          lectern::importers::ImportOptions options = {});

} // namespace fixtures
