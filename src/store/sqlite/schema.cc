#include "store/sqlite/schema.h"

#include <string>

namespace stratus::sqlite {
namespace {

// One B-tree per task: the row sits in the key's tree, so a create or an attempt dirties one
// page there instead of a rowid table page plus one page in each index. Generated task ids
// grow with time, so new rows land at the end of the queue's key range.
constexpr const char* kTasksTable = R"sql(
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
  PRIMARY KEY(queue, id)) WITHOUT ROWID;
)sql";

constexpr const char* kTombstonesTable = R"sql(
  kind INTEGER NOT NULL,
  name TEXT NOT NULL,
  deleted_us INTEGER NOT NULL,
  PRIMARY KEY(kind, name)) WITHOUT ROWID;
)sql";

constexpr const char* kOtherTables = R"sql(
CREATE TABLE IF NOT EXISTS queues(
  name TEXT PRIMARY KEY,
  state INTEGER NOT NULL,
  doc TEXT NOT NULL,
  ext TEXT NOT NULL DEFAULT '{}');
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
)sql";

// Schema 0/1 had rowid tables and a queue index on tasks, and kept the attempt fields in the
// task document: the rows are copied with NULL attempt columns, which rows.cc reads as "see
// the document".
constexpr const char* kFromV1 = R"sql(
INSERT INTO tasks_v2(queue, id, schedule_us, create_us, doc, body, exec_count, prev_response)
  SELECT queue, id, schedule_us, create_us, doc, body, exec_count, prev_response FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_v2 RENAME TO tasks;
INSERT INTO tombstones_v2 SELECT kind, name, deleted_us FROM tombstones;
DROP TABLE tombstones;
ALTER TABLE tombstones_v2 RENAME TO tombstones;
)sql";

StatusOr<int64_t> QueryInt(Db& db, const char* sql) {
  auto s = db.Prepare(sql);
  if (!s.ok()) return s.status();
  auto row = s->Step();
  if (!row.ok()) return row.status();
  return *row ? s->Int(0) : 0;
}

Status Create(Db& db, const std::string& suffix) {
  std::string sql = "CREATE TABLE IF NOT EXISTS tasks" + suffix + "(" + kTasksTable +
                    "CREATE TABLE IF NOT EXISTS tombstones" + suffix + "(" + kTombstonesTable + kOtherTables;
  return db.Exec(sql.c_str());
}

Status Migrate(Db& db) {
  auto version = QueryInt(db, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version > kSchemaVersion) {
    return FailedPrecondition("the data directory was written by a newer stratus (schema " + std::to_string(*version) +
                              "; this one reads up to " + std::to_string(kSchemaVersion) + ")");
  }
  auto has_tasks = QueryInt(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'tasks'");
  if (!has_tasks.ok()) return has_tasks.status();
  if (*version < 2 && *has_tasks) {
    STRATUS_RETURN_IF_ERROR(Create(db, "_v2"));
    STRATUS_RETURN_IF_ERROR(db.Exec(kFromV1));
  }
  STRATUS_RETURN_IF_ERROR(Create(db, ""));
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
