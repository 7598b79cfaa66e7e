#pragma once
// The document model: the contract between importers, the store, the viewer and citations.
//
//   Document -> Page -> Passage
//
// - Character offsets are UTF-16 code-unit offsets into `Page::text` (QString indices), half-open [start,
// end).
// - Geometry is in PDF points (1/72 inch) in the page's own coordinate system, origin at the top-left, as
//   the page is displayed (after /Rotate). Reflowable formats (text, DOCX, mail, code) have one logical page
//   per document (or per natural unit) with no geometry: `size` is empty and `words` carry no rects.
// - A passage id is stable across re-imports of the same bytes: "<first 16 hex digits of the document's
//   content hash>:<ordinal>".

#include <QDateTime>
#include <QList>
#include <QRectF>
#include <QSizeF>
#include <QString>

namespace lectern::importers {

struct TextRange {
    qsizetype start = 0;
    qsizetype end = 0;
};

// One word on a page: where it is in the page text and on the page.
struct WordBox {
    TextRange range;
    QRectF rect; // empty for reflowable formats
};

struct Page {
    int number = 1; // 1-based, as a reader says it
    QString text;   // reading order; hyphenation at line ends joined
    QSizeF size;    // points; empty for reflowable formats
    QList<WordBox> words;
    QList<TextRange> repeated; // running headers/footers detected on this page (kept, marked)
    bool ocr = false;          // the text came from OCR, not a text layer
};

struct Passage {
    QString id;          // "<hash16>:<ordinal>"
    int ordinal = 0;     // position in the document, from 0
    int page = 1;        // Page::number
    TextRange range;     // in that page's text
    QString text;        // == page.text.mid(range.start, range.end - range.start)
    QList<QRectF> boxes; // line-merged word rects covering the passage; empty for reflowable formats
    int tokens = 0;      // estimated tokens, for budgeting
    bool ocr = false;
};

struct OutlineEntry {
    QString title;
    int page = 0; // 0 when the entry has no page destination
    int level = 0;
};

struct Document {
    QString path;        // absolute path of the source file (or "<mbox>#<n>" for a contained item)
    QString parentPath;  // for attachments and mailbox items: the document they came from
    QString contentHash; // xxh3-128 of the file's bytes, 32 hex digits
    QString format;      // "pdf", "text", "markdown", "html", "docx", "odt", "email", "code", "csv"
    QString language;    // code: the syntax definition's name; otherwise empty
    QString title;
    QString author;
    QDateTime created;
    QDateTime modified;
    QList<OutlineEntry> outline;
    QList<Page> pages;
    QList<Passage> passages;
};

} // namespace lectern::importers
