#include "app/store/open_profile.h"

#include "app/profile/profile.h"

namespace lectern::store {

Result<std::unique_ptr<Store>> openProfileStore(const QString& directory) {
    Result<Profile> profile = Profile::open(directory.isEmpty() ? Profile::defaultDirectory() : directory);
    if (!profile) return std::move(profile).take_error();
    return Store::open(profile->databasePath());
}

} // namespace lectern::store
