#pragma once
// Where the corpus cache lives and how large it may grow: the profile's settings file (settings.ini,
// QSettings' INI format) holds them, for the app and lectern-cli alike. Unset, the cache lives in the
// profile's cache directory under answers::CorpusCache's default limit (32 GiB).

#include "app/profile/profile.h"

#include <QString>

namespace lectern {

struct CacheSettings {
    QString directory;
    qint64 limitBytes = 0;

    static CacheSettings load(const Profile& profile);
    void save(const Profile& profile) const;
};

} // namespace lectern
