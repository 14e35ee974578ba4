#include "store/sqlite/schema.h"

#include <string>

namespace stratus::sqlite {
namespace {

// Tasks are a rowid table with the (queue, id) key index; the queue index of schema 1 is gone
// (listing pages by key). Generated task ids grow with time, so a create appends to both trees
// instead of dirtying a random index page. (A WITHOUT ROWID table would save the index but
// spills every row over about 1 KB into an overflow page of its own: 4.5 GB instead of 2 GB
// for a million 1 KB tasks.)
constexpr const char* kTables = R"sql(
CREATE TABLE IF NOT EXISTS queues(
  name TEXT PRIMARY KEY,
  state INTEGER NOT NULL,
  doc TEXT NOT NULL,
  ext TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS tasks(
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  schedule_us INTEGER NOT NULL,
  create_us INTEGER NOT NULL,
  doc TEXT NOT NULL,
  body BLOB,
  exec_count INTEGER NOT NULL DEFAULT 0,
  prev_response INTEGER NOT NULL DEFAULT 0,
  dispatch_count INTEGER,
  response_count INTEGER,
  first_dispatch_us INTEGER,
  last_schedule_us INTEGER,
  last_dispatch_us INTEGER,
  last_response_us INTEGER,
  last_code INTEGER,
  last_message TEXT,
  PRIMARY KEY(queue, id));
CREATE TABLE IF NOT EXISTS dead_letters(
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  dead_us INTEGER NOT NULL,
  doc TEXT NOT NULL,
  body BLOB,
  reason TEXT NOT NULL,
  status INTEGER NOT NULL,
  headers TEXT NOT NULL,
  response BLOB,
  PRIMARY KEY(queue, id));
CREATE INDEX IF NOT EXISTS dead_letters_by_time ON dead_letters(queue, dead_us, id);
CREATE TABLE IF NOT EXISTS tombstones(
  kind INTEGER NOT NULL,
  name TEXT NOT NULL,
  deleted_us INTEGER NOT NULL,
  PRIMARY KEY(kind, name)) WITHOUT ROWID;
)sql";

// Schema 0/1 kept the attempt fields in the task document and had a queue index on tasks and
// a rowid tombstone table. The task rows stay where they are, with NULL attempt columns, which
// rows.cc reads as "see the document"; tombstones (small rows) move to a clustered table.
constexpr const char* kFromV1 = R"sql(
ALTER TABLE tasks ADD COLUMN dispatch_count INTEGER;
ALTER TABLE tasks ADD COLUMN response_count INTEGER;
ALTER TABLE tasks ADD COLUMN first_dispatch_us INTEGER;
ALTER TABLE tasks ADD COLUMN last_schedule_us INTEGER;
ALTER TABLE tasks ADD COLUMN last_dispatch_us INTEGER;
ALTER TABLE tasks ADD COLUMN last_response_us INTEGER;
ALTER TABLE tasks ADD COLUMN last_code INTEGER;
ALTER TABLE tasks ADD COLUMN last_message TEXT;
DROP INDEX IF EXISTS tasks_by_queue;
CREATE TABLE tombstones_v2(
  kind INTEGER NOT NULL,
  name TEXT NOT NULL,
  deleted_us INTEGER NOT NULL,
  PRIMARY KEY(kind, name)) WITHOUT ROWID;
INSERT INTO tombstones_v2 SELECT kind, name, deleted_us FROM tombstones;
DROP TABLE tombstones;
ALTER TABLE tombstones_v2 RENAME TO tombstones;
)sql";

StatusOr<int64_t> QueryInt(Db& db, const char* sql) {
  STRATUS_ASSIGN_OR_RETURN(auto s, db.Prepare(sql));
  STRATUS_ASSIGN_OR_RETURN(auto row, s.Step());
  return row ? s.Int(0) : 0;
}

Status Migrate(Db& db) {
  STRATUS_ASSIGN_OR_RETURN(auto version, QueryInt(db, "PRAGMA user_version"));
  if (version > kSchemaVersion) {
    return FailedPrecondition("the data directory was written by a newer stratus (schema " + std::to_string(version) +
                              "; this one reads up to " + std::to_string(kSchemaVersion) + ")");
  }
  STRATUS_ASSIGN_OR_RETURN(auto has_tasks,
                           QueryInt(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'tasks'"));
  if (version < 2 && has_tasks) STRATUS_RETURN_IF_ERROR(db.Exec(kFromV1));
  STRATUS_RETURN_IF_ERROR(db.Exec(kTables));
  return db.Exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
}

}  // namespace

Status MigrateSchema(Db& db) {
  STRATUS_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  Status st = Migrate(db);
  if (!st.ok()) {
    db.Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return db.Exec("COMMIT");
}

}  // namespace stratus::sqlite
