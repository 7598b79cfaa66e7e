#include "app/profile/profile.h"

#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace lectern {

QString Profile::defaultDirectory() {
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + QStringLiteral("/Lectern");
}

Result<Profile> Profile::open(const QString& directory) {
    const QString absolute = QFileInfo(directory).absoluteFilePath();
    if (!QDir().mkpath(absolute))
        return Error{"cannot create the profile directory " + absolute.toStdString() +
                     ": check that its parent exists and is writable"};
    const QFileInfo info(absolute);
    if (!info.isDir()) return Error{"the profile path " + absolute.toStdString() + " is not a directory"};
    if (!info.isWritable())
        return Error{"the profile directory " + absolute.toStdString() + " is not writable"};
    return Profile(absolute);
}

QString Profile::databasePath() const {
    return directory_ + QStringLiteral("/lectern.sqlite3");
}
QString Profile::cacheDirectory() const {
    return directory_ + QStringLiteral("/cache");
}
QString Profile::settingsPath() const {
    return directory_ + QStringLiteral("/settings.ini");
}

} // namespace lectern
