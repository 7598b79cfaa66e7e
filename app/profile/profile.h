#pragma once
// Where one user's Lectern data lives: the database, corpus caches and settings. By default the XDG
// data directory; `--profile DIR` (tests, portable use) puts all of it under DIR instead.

#include "kernels/result.h"

#include <QString>

namespace lectern {

class Profile {
public:
    // The user's default profile, e.g. ~/.local/share/Lectern.
    static QString defaultDirectory();

    // Uses `directory`, creating it if needed; the error says why it cannot be used.
    static Result<Profile> open(const QString& directory);

    const QString& directory() const { return directory_; }
    QString databasePath() const;
    QString cacheDirectory() const;
    QString settingsPath() const;

private:
    explicit Profile(QString directory) : directory_(std::move(directory)) {}
    QString directory_;
};

} // namespace lectern
