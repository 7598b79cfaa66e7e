#pragma once
// The content hash that identifies a document's bytes: xxh3-128, 32 lower-case hex digits.

#include <QByteArray>
#include <QString>

namespace lectern::importers {

QString contentHash(QByteArrayView bytes);

} // namespace lectern::importers
