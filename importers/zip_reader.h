#pragma once
// Members of a ZIP archive in memory, through libarchive, with a bound on how much they may expand to
// (zip bombs).

#include <QByteArray>
#include <QMap>
#include <QString>
#include <QStringList>

#include <optional>

namespace lectern::importers {

struct ZipMembers {
    QMap<QString, QByteArray> members; // the wanted ones that exist
    QString error;                     // empty on success
    bool tooLarge = false;             // the error is the expansion bound
};

// Reads the members named in `wanted`; their expanded sizes together may not exceed `maxExpandedBytes`.
ZipMembers readZipMembers(const QByteArray& archive, const QStringList& wanted, qint64 maxExpandedBytes);

} // namespace lectern::importers
