// The embedded store's tables, and bringing an existing file up to date.
#pragma once

#include "store/sqlite/db.h"

namespace stratus::sqlite {

// Schema 2: a task's attempt bookkeeping has columns of its own (rows.h), tasks lost the queue
// index, tombstones are clustered on their key. Schema 0/1 files are migrated in place.
inline constexpr int kSchemaVersion = 2;

// Creates or migrates the tables in one transaction. A file from a newer stratus is refused
// rather than misread.
Status MigrateSchema(Db& db);

}  // namespace stratus::sqlite
