#pragma once
// The one way the app and the CLI reach a profile's store.

#include "app/store/store.h"

namespace lectern::store {

// Opens (creating if needed) the store of the profile in `directory`; empty: the user's default profile.
Result<std::unique_ptr<Store>> openProfileStore(const QString& directory);

} // namespace lectern::store
