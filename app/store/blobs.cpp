#include "app/store/blobs.h"

#include <QDataStream>
#include <QIODevice>

#include <algorithm>

namespace lectern::store {
namespace {

constexpr quint8 kFormat = 1;

// Reflowable formats carry words without rects; leaving the rects out halves those blobs.
constexpr quint8 kWithRects = 1;

void configure(QDataStream& stream) {
    stream.setVersion(QDataStream::Qt_6_0);
    stream.setFloatingPointPrecision(QDataStream::SinglePrecision);
}

// Positions `stream` after the version byte; false for an empty blob or one of an unknown version.
bool openReader(const QByteArray& blob, QDataStream& stream) {
    configure(stream);
    if (blob.isEmpty()) return false;
    quint8 format = 0;
    stream >> format;
    return format == kFormat;
}

void writeRect(QDataStream& stream, const QRectF& rect) {
    stream << float(rect.x()) << float(rect.y()) << float(rect.width()) << float(rect.height());
}

QRectF readRect(QDataStream& stream) {
    float x = 0, y = 0, w = 0, h = 0;
    stream >> x >> y >> w >> h;
    return QRectF(x, y, w, h);
}

} // namespace

QByteArray encodeWords(const QList<importers::WordBox>& words) {
    if (words.isEmpty()) return {};
    QByteArray blob;
    QDataStream stream(&blob, QIODevice::WriteOnly);
    configure(stream);
    const bool withRects =
        std::any_of(words.begin(), words.end(), [](const auto& w) { return !w.rect.isNull(); });
    stream << kFormat << quint8(withRects ? kWithRects : 0) << quint32(words.size());
    for (const importers::WordBox& word : words) {
        stream << qint32(word.range.start) << qint32(word.range.end);
        if (withRects) writeRect(stream, word.rect);
    }
    return blob;
}

QList<importers::WordBox> decodeWords(const QByteArray& blob) {
    QDataStream stream(blob);
    QList<importers::WordBox> words;
    if (!openReader(blob, stream)) return words;
    quint8 flags = 0;
    quint32 count = 0;
    stream >> flags >> count;
    words.reserve(qMin<qsizetype>(count, blob.size() / 8));
    for (quint32 i = 0; i < count && stream.status() == QDataStream::Ok; ++i) {
        qint32 start = 0, end = 0;
        stream >> start >> end;
        importers::WordBox word{{start, end}, {}};
        if (flags & kWithRects) word.rect = readRect(stream);
        if (stream.status() == QDataStream::Ok) words.push_back(word);
    }
    return words;
}

QByteArray encodeRanges(const QList<importers::TextRange>& ranges) {
    if (ranges.isEmpty()) return {};
    QByteArray blob;
    QDataStream stream(&blob, QIODevice::WriteOnly);
    configure(stream);
    stream << kFormat << quint32(ranges.size());
    for (const importers::TextRange& range : ranges) stream << qint32(range.start) << qint32(range.end);
    return blob;
}

QList<importers::TextRange> decodeRanges(const QByteArray& blob) {
    QDataStream stream(blob);
    QList<importers::TextRange> ranges;
    if (!openReader(blob, stream)) return ranges;
    quint32 count = 0;
    stream >> count;
    for (quint32 i = 0; i < count && stream.status() == QDataStream::Ok; ++i) {
        qint32 start = 0, end = 0;
        stream >> start >> end;
        if (stream.status() == QDataStream::Ok) ranges.push_back({start, end});
    }
    return ranges;
}

QByteArray encodeRects(const QList<QRectF>& rects) {
    if (rects.isEmpty()) return {};
    QByteArray blob;
    QDataStream stream(&blob, QIODevice::WriteOnly);
    configure(stream);
    stream << kFormat << quint32(rects.size());
    for (const QRectF& rect : rects) writeRect(stream, rect);
    return blob;
}

QList<QRectF> decodeRects(const QByteArray& blob) {
    QDataStream stream(blob);
    QList<QRectF> rects;
    if (!openReader(blob, stream)) return rects;
    quint32 count = 0;
    stream >> count;
    for (quint32 i = 0; i < count && stream.status() == QDataStream::Ok; ++i) {
        const QRectF rect = readRect(stream);
        if (stream.status() == QDataStream::Ok) rects.push_back(rect);
    }
    return rects;
}

} // namespace lectern::store
