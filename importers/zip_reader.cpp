#include "importers/zip_reader.h"

#include <QLocale>

#include <archive.h>
#include <archive_entry.h>
#include <memory>

namespace lectern::importers {

ZipMembers readZipMembers(const QByteArray& archive, const QStringList& wanted, qint64 maxExpandedBytes) {
    ZipMembers result;
    std::unique_ptr<struct archive, decltype(&archive_read_free)> reader(archive_read_new(),
                                                                         &archive_read_free);
    archive_read_support_format_zip(reader.get());
    if (archive_read_open_memory(reader.get(), archive.constData(), size_t(archive.size())) != ARCHIVE_OK) {
        result.error = QStringLiteral("it is not a ZIP archive");
        return result;
    }
    qint64 expanded = 0;
    archive_entry* entry = nullptr;
    while (true) {
        const int status = archive_read_next_header(reader.get(), &entry);
        if (status == ARCHIVE_EOF) break;
        if (status < ARCHIVE_WARN) {
            result.error = QStringLiteral("its ZIP structure is damaged (%1)")
                               .arg(QString::fromUtf8(archive_error_string(reader.get())));
            return result;
        }
        const QString name = QString::fromUtf8(archive_entry_pathname(entry));
        if (!wanted.contains(name)) continue;
        QByteArray data;
        char buffer[64 * 1024];
        while (true) {
            const la_ssize_t got = archive_read_data(reader.get(), buffer, sizeof buffer);
            if (got == 0) break;
            if (got < 0) {
                result.error = QStringLiteral("its member \"%1\" is damaged (%2)")
                                   .arg(name, QString::fromUtf8(archive_error_string(reader.get())));
                return result;
            }
            expanded += got;
            if (expanded > maxExpandedBytes) {
                result.error = QStringLiteral("it expands to more than %1 (a damaged file or a zip bomb)")
                                   .arg(QLocale::c().formattedDataSize(maxExpandedBytes));
                result.tooLarge = true;
                return result;
            }
            data.append(buffer, qsizetype(got));
        }
        result.members.insert(name, data);
    }
    return result;
}

} // namespace lectern::importers
