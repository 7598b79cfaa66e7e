#pragma once
// Bytes to text: a byte-order mark, else UTF-8 when the bytes are valid UTF-8, else Windows-1252 (the
// superset of Latin-1 that old mail and documents actually use); or a named charset through ICU.

#include <QByteArray>
#include <QString>

#include <optional>

namespace lectern::importers {

QString decodeDetected(QByteArrayView bytes);

// A charset by name (any name or alias ICU knows: "iso-8859-2", "Shift_JIS", "cp1251", ...); nothing when
// ICU does not know it.
std::optional<QString> decodeCharset(QByteArrayView bytes, const QByteArray& charset);

bool looksLikeText(QByteArrayView bytes);

// "\r\n" and lone "\r" become "\n", so that offsets mean the same in every format.
QString normalizedLineEnds(QString text);

} // namespace lectern::importers
