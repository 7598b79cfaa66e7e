#pragma once
// The database schema as an ordered list of forward migrations. `PRAGMA user_version` records how many
// have run; each runs in its own transaction together with the version bump, so a crash mid-migration
// leaves the previous version intact.

#include "app/store/database.h"

namespace lectern::store {

// The version this build writes.
int latestSchemaVersion();

// Brings `db` to `target` (default: the latest). Throws SqlFailure, with a message, for a database made by
// a newer Lectern or a failed step.
void migrate(Database& db, int target = latestSchemaVersion());

int schemaVersion(Database& db);

} // namespace lectern::store
