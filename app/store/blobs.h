#pragma once
// Compact BLOB encodings for geometry that is read as a whole and never queried: a page's word boxes,
// its repeated header/footer ranges, a passage's boxes. Coordinates are stored as 32-bit floats (ample
// for PDF points); each encoding starts with a version byte so a later change can still read old rows.

#include "importers/document.h"

#include <QByteArray>
#include <QList>
#include <QRectF>

namespace lectern::store {

QByteArray encodeWords(const QList<importers::WordBox>& words);
QList<importers::WordBox> decodeWords(const QByteArray& blob);

QByteArray encodeRanges(const QList<importers::TextRange>& ranges);
QList<importers::TextRange> decodeRanges(const QByteArray& blob);

QByteArray encodeRects(const QList<QRectF>& rects);
QList<QRectF> decodeRects(const QByteArray& blob);

} // namespace lectern::store
