#include "scheduler/sqlite_job_store.h"

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"

namespace stratus::scheduler {
namespace {

using Json = nlohmann::json;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs(
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_by_parent ON jobs(parent, name);
)sql";

std::string ParentOf(const std::string& name) {
  size_t p = name.rfind("/jobs/");
  return p == std::string::npos ? std::string() : name.substr(0, p);
}

Status SqlError(sqlite3* db, const std::string& what) {
  return Unavailable("scheduler store: " + what + ": " + sqlite3_errmsg(db));
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  void Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  int Step() { return sqlite3_step(s_); }
  std::string Text(int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  int64_t Int(int col) { return sqlite3_column_int64(s_, col); }
  bool IsNull(int col) { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

StatusOr<std::vector<Job>> ReadAll(sqlite3* db, const char* sql, const std::string* param) {
  Stmt s(db, sql);
  if (!s.ok()) return SqlError(db, "prepare");
  if (param) s.Bind(1, *param);
  std::vector<Job> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    STRATUS_ASSIGN_OR_RETURN(Job job, DecodeJobRow(s.Text(0)));
    out.push_back(std::move(job));
  }
  if (rc != SQLITE_DONE) return SqlError(db, "read");
  return out;
}

}  // namespace

std::string EncodeJobRow(const Job& j) {
  const JobHttpTarget& t = j.http_target;
  Json target = {{"uri", t.uri},
                 {"method", static_cast<int>(t.http_method)},
                 {"headers", t.headers},
                 {"body", Base64Encode(t.body)}};
  if (t.oidc_token)
    target["oidc"] = {{"email", t.oidc_token->service_account_email}, {"audience", t.oidc_token->audience}};
  if (t.oauth_token)
    target["oauth"] = {{"email", t.oauth_token->service_account_email}, {"scope", t.oauth_token->scope}};
  const JobRetryConfig& r = j.retry_config;
  Json doc = {{"v", 1},
              {"name", j.name},
              {"description", j.description},
              {"schedule", j.schedule},
              {"time_zone", j.time_zone},
              {"http_target", target},
              {"queue", j.queue},
              {"retry",
               {{"count", r.retry_count},
                {"max_duration_us", r.max_retry_duration},
                {"min_backoff_us", r.min_backoff},
                {"max_backoff_us", r.max_backoff},
                {"max_doublings", r.max_doublings}}},
              {"attempt_deadline_us", j.attempt_deadline},
              {"state", static_cast<int>(j.state)},
              {"user_update_us", j.user_update_time},
              {"schedule_us", j.schedule_time},
              {"last_attempt_us", j.last_attempt_time}};
  if (j.status) doc["status"] = {{"code", static_cast<int>(j.status->code())}, {"message", j.status->message()}};
  if (j.pending_runs != 0) doc["pending_runs"] = j.pending_runs;
  return doc.dump();
}

StatusOr<Job> DecodeJobRow(std::string_view text) {
  Json d = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!d.is_object()) return Internal("scheduler store: a job row is not a JSON object");
  if (d.value("v", 0) > 1) return FailedPrecondition("scheduler store: a job row has a newer format");
  try {
    Job j;
    j.name = d.at("name").get<std::string>();
    j.description = d.value("description", "");
    j.schedule = d.value("schedule", "");
    j.time_zone = d.value("time_zone", "");
    j.queue = d.value("queue", "");
    const Json& t = d.at("http_target");
    j.http_target.uri = t.value("uri", "");
    j.http_target.http_method = static_cast<HttpMethod>(t.value("method", 1));
    j.http_target.headers = t.value("headers", std::map<std::string, std::string>());
    auto body = Base64Decode(t.value("body", ""));
    if (!body.ok()) return Internal("scheduler store: a job row has a bad body");
    j.http_target.body = std::move(*body);
    if (t.contains("oidc")) {
      j.http_target.oidc_token = OidcToken{t["oidc"].value("email", ""), t["oidc"].value("audience", "")};
    }
    if (t.contains("oauth")) {
      j.http_target.oauth_token = OAuthToken{t["oauth"].value("email", ""), t["oauth"].value("scope", "")};
    }
    const Json& r = d.at("retry");
    j.retry_config.retry_count = r.value("count", 0);
    j.retry_config.max_retry_duration = r.value("max_duration_us", Micros{0});
    j.retry_config.min_backoff = r.value("min_backoff_us", JobRetryConfig().min_backoff);
    j.retry_config.max_backoff = r.value("max_backoff_us", JobRetryConfig().max_backoff);
    j.retry_config.max_doublings = r.value("max_doublings", JobRetryConfig().max_doublings);
    j.attempt_deadline = d.value("attempt_deadline_us", Micros{180'000'000});
    j.state = static_cast<JobState>(d.value("state", 1));
    j.user_update_time = d.value("user_update_us", Micros{0});
    j.schedule_time = d.value("schedule_us", Micros{0});
    j.last_attempt_time = d.value("last_attempt_us", Micros{0});
    j.pending_runs = d.value("pending_runs", int64_t{0});
    if (d.contains("status")) {
      j.status = Status(static_cast<Code>(d["status"].value("code", 0)), d["status"].value("message", ""));
    }
    return j;
  } catch (const Json::exception& e) {
    return Internal(std::string("scheduler store: a job row cannot be read: ") + e.what());
  }
}

StatusOr<std::unique_ptr<SqliteJobStore>> SqliteJobStore::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string err = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    return Unavailable("cannot open " + path + ": " + err);
  }
  std::unique_ptr<SqliteJobStore> store(new SqliteJobStore(raw));
  sqlite3_busy_timeout(raw, 10000);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    Status st = store->Exec(pragma);
    if (!st.ok()) return Unavailable("cannot open " + path + ": " + st.message());
  }
  Status st = store->Exec("BEGIN IMMEDIATE");
  if (!st.ok()) return Unavailable("cannot open " + path + ": " + st.message());
  st = store->Exec(kSchema);
  int64_t version = -1;
  if (st.ok()) {
    Stmt s(raw, "SELECT MAX(version) FROM schema_version");
    if (!s.ok() || s.Step() != SQLITE_ROW) {
      st = SqlError(raw, "read schema_version");
    } else if (!s.IsNull(0)) {
      version = s.Int(0);
    }
  }
  if (st.ok() && version > kJobSchemaVersion) {
    store->Exec("ROLLBACK").IgnoreError();
    return FailedPrecondition(path + " has scheduler schema version " + std::to_string(version) +
                              ", newer than this stratus reads (" + std::to_string(kJobSchemaVersion) +
                              "); run a newer stratus or use another --data-dir");
  }
  if (st.ok() && version < 0) {
    st = store->Exec(("INSERT INTO schema_version(version) VALUES(" + std::to_string(kJobSchemaVersion) + ")").c_str());
  }
  if (st.ok()) st = store->Exec("COMMIT");
  if (!st.ok()) {
    store->Exec("ROLLBACK").IgnoreError();
    return Unavailable("cannot open " + path + ": " + st.message());
  }
  return store;
}

SqliteJobStore::~SqliteJobStore() {
  sqlite3_close(db_);
}

Status SqliteJobStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Unavailable("scheduler store: " + m);
  }
  return Status::Ok();
}

StatusOr<std::optional<Job>> SqliteJobStore::Read(const std::string& name) {
  Stmt s(db_, "SELECT doc FROM jobs WHERE name = ?1");
  if (!s.ok()) return SqlError(db_, "prepare");
  s.Bind(1, name);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<Job>();
  if (rc != SQLITE_ROW) return SqlError(db_, "read");
  STRATUS_ASSIGN_OR_RETURN(Job job, DecodeJobRow(s.Text(0)));
  return std::optional<Job>(std::move(job));
}

Status SqliteJobStore::Write(const Job& job, bool insert) {
  Stmt s(db_, insert ? "INSERT INTO jobs(name, parent, doc) VALUES(?1, ?2, ?3)"
                     : "UPDATE jobs SET doc = ?3 WHERE name = ?1 AND parent = ?2");
  if (!s.ok()) return SqlError(db_, "prepare");
  s.Bind(1, job.name);
  s.Bind(2, ParentOf(job.name));
  s.Bind(3, EncodeJobRow(job));
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "write");
  return Status::Ok();
}

StatusOr<Job> SqliteJobStore::Create(const Job& job) {
  std::lock_guard lock(mu_);
  STRATUS_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto existing = Read(job.name);
  Status st = existing.ok() ? Status::Ok() : existing.status();
  if (st.ok() && existing->has_value()) st = AlreadyExists("job exists: " + job.name);
  if (st.ok()) st = Write(job, /*insert=*/true);
  if (st.ok()) st = Exec("COMMIT");
  if (!st.ok()) {
    Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return job;
}

StatusOr<Job> SqliteJobStore::Get(const std::string& name) {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(auto job, Read(name));
  if (!job) return NotFound("job missing: " + name);
  return std::move(*job);
}

StatusOr<std::vector<Job>> SqliteJobStore::List(const std::string& parent) {
  std::lock_guard lock(mu_);
  return ReadAll(db_, "SELECT doc FROM jobs WHERE parent = ?1 ORDER BY name", &parent);
}

StatusOr<std::vector<Job>> SqliteJobStore::All() {
  std::lock_guard lock(mu_);
  return ReadAll(db_, "SELECT doc FROM jobs ORDER BY name", nullptr);
}

StatusOr<Job> SqliteJobStore::Update(const Job& job) {
  std::lock_guard lock(mu_);
  STRATUS_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto current = Read(job.name);
  Status st = current.ok() ? Status::Ok() : current.status();
  if (st.ok() && !current->has_value()) st = NotFound("job missing: " + job.name);
  Job next = job;
  if (st.ok()) {
    next.last_attempt_time = (*current)->last_attempt_time;
    next.status = (*current)->status;
    st = Write(next, /*insert=*/false);
  }
  if (st.ok()) st = Exec("COMMIT");
  if (!st.ok()) {
    Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return next;
}

Status SqliteJobStore::RecordRun(const std::string& name, Micros schedule_time, Micros last_attempt_time,
                                 const std::optional<Status>& status, int64_t /*epoch*/) {
  // One node: nothing to fence.
  std::lock_guard lock(mu_);
  STRATUS_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto current = Read(name);
  Status st = current.ok() ? Status::Ok() : current.status();
  if (st.ok() && !current->has_value()) st = NotFound("job missing: " + name);
  if (st.ok()) {
    Job next = **current;
    next.schedule_time = schedule_time;
    next.last_attempt_time = last_attempt_time;
    next.status = status;
    st = Write(next, /*insert=*/false);
  }
  if (st.ok()) st = Exec("COMMIT");
  if (!st.ok()) Exec("ROLLBACK").IgnoreError();
  return st;
}

Status SqliteJobStore::Delete(const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "DELETE FROM jobs WHERE name = ?1");
  if (!s.ok()) return SqlError(db_, "prepare");
  s.Bind(1, name);
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "delete");
  if (sqlite3_changes(db_) == 0) return NotFound("job missing: " + name);
  return Status::Ok();
}

}  // namespace stratus::scheduler
