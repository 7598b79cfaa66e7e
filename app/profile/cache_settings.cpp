#include "app/profile/cache_settings.h"

#include "app/answers/corpus_cache.h"

#include <QSettings>

namespace lectern {
namespace {

const QString kDirectoryKey = QStringLiteral("cache/directory");
const QString kLimitKey = QStringLiteral("cache/limitBytes");

} // namespace

CacheSettings CacheSettings::load(const Profile& profile) {
    const QSettings settings(profile.settingsPath(), QSettings::IniFormat);
    CacheSettings loaded;
    loaded.directory = settings.value(kDirectoryKey).toString();
    if (loaded.directory.isEmpty()) loaded.directory = profile.cacheDirectory();
    bool valid = false;
    loaded.limitBytes = settings.value(kLimitKey).toLongLong(&valid);
    if (!valid || loaded.limitBytes <= 0) loaded.limitBytes = answers::CorpusCache::kDefaultLimitBytes;
    return loaded;
}

void CacheSettings::save(const Profile& profile) const {
    QSettings settings(profile.settingsPath(), QSettings::IniFormat);
    // The default location is not written down: it moves with the profile.
    if (directory.isEmpty() || directory == profile.cacheDirectory())
        settings.remove(kDirectoryKey);
    else
        settings.setValue(kDirectoryKey, directory);
    settings.setValue(kLimitKey, limitBytes);
}

} // namespace lectern
