#include "store/postgres/rows.h"

#include "common/json.h"
#include "model/storage_codec.h"

namespace stratus::pg {
namespace {

// Names and ids compare bytewise (COLLATE "C"), as the embedded store and its page cursors
// expect, whatever the database's default collation is.
constexpr const char* kTables = R"sql(
CREATE TABLE IF NOT EXISTS stratus_schema(
  version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS queues(
  name TEXT COLLATE "C" PRIMARY KEY,
  state INTEGER NOT NULL,
  doc TEXT NOT NULL,
  ext TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks(
  queue TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  schedule_us BIGINT NOT NULL,
  create_us BIGINT NOT NULL,
  doc TEXT NOT NULL,
  body BYTEA NOT NULL,
  exec_count INTEGER NOT NULL,
  prev_response INTEGER NOT NULL,
  dispatch_count INTEGER NOT NULL,
  response_count INTEGER NOT NULL,
  first_dispatch_us BIGINT NOT NULL,
  last_schedule_us BIGINT NOT NULL,
  last_dispatch_us BIGINT NOT NULL,
  last_response_us BIGINT NOT NULL,
  last_code INTEGER NOT NULL,
  last_message TEXT NOT NULL,
  PRIMARY KEY(queue, id));
CREATE TABLE IF NOT EXISTS dead_letters(
  queue TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  dead_us BIGINT NOT NULL,
  doc TEXT NOT NULL,
  body BYTEA NOT NULL,
  reason TEXT NOT NULL,
  status INTEGER NOT NULL,
  headers TEXT NOT NULL,
  response BYTEA NOT NULL,
  PRIMARY KEY(queue, id));
CREATE INDEX IF NOT EXISTS dead_letters_by_time ON dead_letters(queue, dead_us, id);
CREATE TABLE IF NOT EXISTS tombstones(
  kind INTEGER NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  deleted_us BIGINT NOT NULL,
  PRIMARY KEY(kind, name));
CREATE TABLE IF NOT EXISTS stratus_nodes(
  id TEXT COLLATE "C" PRIMARY KEY,
  address TEXT NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  heartbeat_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS queue_leases(
  queue TEXT COLLATE "C" PRIMARY KEY,
  node TEXT COLLATE "C" NOT NULL,
  epoch BIGINT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL);
)sql";

// Schema 3: Cloud Scheduler jobs (scheduler/postgres/pg_job_store.h), each a versioned JSON
// document as in the embedded scheduler.db. The executor's lease is the queue_leases row
// named "scheduler" (a name no queue can have).
constexpr const char* kSchedulerJobs = R"sql(
CREATE TABLE IF NOT EXISTS scheduler_jobs(
  name TEXT COLLATE "C" PRIMARY KEY,
  parent TEXT COLLATE "C" NOT NULL,
  doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS scheduler_jobs_by_parent ON scheduler_jobs(parent, name);
)sql";

// Steps need not be contiguous: each is idempotent and applied when the database is older
// than it.

// Step 4: the cluster's OIDC signing keys (store/postgres/pg_oidc_keys.h). They are private
// keys: no role but the table's owner (the stratus user) and superusers may read them.
constexpr int kOidcKeysStep = 4;
constexpr const char* kOidcKeysTable = R"sql(
CREATE TABLE IF NOT EXISTS oidc_keys(
  kid TEXT COLLATE "C" PRIMARY KEY,
  private_pem TEXT NOT NULL,
  created_us BIGINT NOT NULL,
  signs_from_us BIGINT NOT NULL);
REVOKE ALL ON oidc_keys FROM PUBLIC;
)sql";

// Any constant both sides agree on: the lock every migrating node takes.
constexpr int64_t kMigrationLock = 0x5374726174757301;  // "Stratus", 1

template <typename T>
auto* BodyOf(T& t) {
  if (t.http_request) return &t.http_request->body;
  return t.app_engine_http_request ? &t.app_engine_http_request->body : nullptr;
}

Status MigrateLocked(Conn& c) {
  STRATUS_RETURN_IF_ERROR(c.Query("SELECT pg_advisory_xact_lock($1)", {Param(kMigrationLock)}).status());
  STRATUS_ASSIGN_OR_RETURN(auto has, c.Query("SELECT to_regclass('stratus_schema') IS NOT NULL"));
  int64_t version = 0;
  if (has.Text(0, 0) == "t") {
    STRATUS_ASSIGN_OR_RETURN(auto v, c.Query("SELECT COALESCE(MAX(version), 0) FROM stratus_schema"));
    version = v.Int(0, 0);
    if (version > kSchemaVersion) {
      return FailedPrecondition("the database was written by a newer stratus (schema " + std::to_string(version) +
                                "; this one reads up to " + std::to_string(kSchemaVersion) + ")");
    }
    if (version == kSchemaVersion) return Status::Ok();
  }
  STRATUS_RETURN_IF_ERROR(c.Exec(kTables));
  STRATUS_RETURN_IF_ERROR(c.Exec(kSchedulerJobs));  // schema 3
  if (version < kOidcKeysStep) STRATUS_RETURN_IF_ERROR(c.Exec(kOidcKeysTable));
  STRATUS_RETURN_IF_ERROR(c.Exec("DELETE FROM stratus_schema"));
  return c.Query("INSERT INTO stratus_schema(version) VALUES($1)", {Param(int64_t{kSchemaVersion})}).status();
}

}  // namespace

Status Migrate(Conn& c) {
  STRATUS_RETURN_IF_ERROR(c.Exec("BEGIN"));
  Status st = MigrateLocked(c);
  if (!st.ok()) {
    c.Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return c.Exec("COMMIT");
}

std::vector<Param> StateParams(const Task& t) {
  const Attempt none;
  const Attempt& last = t.last_attempt ? *t.last_attempt : none;
  return {Param(t.schedule_time),
          Param(int64_t{t.execution_count}),
          Param(int64_t{t.previous_response}),
          Param(int64_t{t.dispatch_count}),
          Param(int64_t{t.response_count}),
          Param(t.first_attempt ? t.first_attempt->dispatch_time : 0),
          Param(last.schedule_time),
          Param(t.last_attempt ? last.dispatch_time : 0),
          Param(last.response_time),
          Param(last.response_status ? static_cast<int64_t>(last.response_status->code()) : -1),
          Param(last.response_status ? last.response_status->message() : std::string())};
}

std::string_view TaskBody(const Task& t) {
  const std::string* body = BodyOf(t);
  return body ? std::string_view(*body) : std::string_view();
}

StatusOr<Task> DecodeTaskDoc(const std::string& doc, std::string body) {
  STRATUS_ASSIGN_OR_RETURN(auto t, storage::DecodeTask(doc));
  if (std::string* own = BodyOf(t)) *own = std::move(body);
  return t;
}

StatusOr<Task> DecodeTaskRow(const Result& r, int row, int col) {
  STRATUS_ASSIGN_OR_RETURN(auto t,
                           DecodeTaskDoc(r.Text(row, col), r.IsNull(row, col + 1) ? "" : r.Bytes(row, col + 1)));
  const int a = col + 2;
  t.schedule_time = r.Int(row, a);
  t.execution_count = static_cast<int32_t>(r.Int(row, a + 1));
  t.previous_response = static_cast<int32_t>(r.Int(row, a + 2));
  t.dispatch_count = static_cast<int32_t>(r.Int(row, a + 3));
  t.response_count = static_cast<int32_t>(r.Int(row, a + 4));
  t.first_attempt.reset();
  if (r.Int(row, a + 5) != 0) t.first_attempt = Attempt{0, r.Int(row, a + 5), 0, std::nullopt};
  t.last_attempt.reset();
  if (r.Int(row, a + 7) != 0) {
    Attempt last{r.Int(row, a + 6), r.Int(row, a + 7), r.Int(row, a + 8), std::nullopt};
    if (r.Int(row, a + 9) >= 0)
      last.response_status = Status(static_cast<Code>(r.Int(row, a + 9)), r.Text(row, a + 10));
    t.last_attempt = std::move(last);
  }
  return t;
}

StatusOr<Queue> DecodeQueueRow(const Result& r, int row, int col) {
  return storage::DecodeQueue(r.Text(row, col), r.Text(row, col + 1));
}

std::string HeadersJson(const std::map<std::string, std::string>& headers) {
  Json j = Json::object();
  for (const auto& [k, v] : headers) j[k] = v;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace stratus::pg
