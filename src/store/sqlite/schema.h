// The embedded store's tables, and bringing an existing file up to date.
#pragma once

#include "store/sqlite/db.h"

namespace stratus::sqlite {

// Schema 2: tasks and tombstones are WITHOUT ROWID tables clustered on their key, and a task's
// attempt bookkeeping has columns of its own (rows.h). Schema 0/1 files are migrated.
inline constexpr int kSchemaVersion = 2;

// Creates or migrates the tables in one transaction. A file from a newer stratus is refused
// rather than misread.
Status MigrateSchema(Db& db);

}  // namespace stratus::sqlite
