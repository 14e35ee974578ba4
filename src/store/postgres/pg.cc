#include "store/postgres/pg.h"

#include <cstdlib>
#include <regex>

namespace stratus::pg {
namespace {

constexpr const char* kDefaultConnectTimeout = "10";  // seconds

}  // namespace

std::string Result::Bytes(int row, int col) const {
  size_t n = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)), &n);
  if (!raw) return {};
  std::string out(reinterpret_cast<char*>(raw), n);
  PQfreemem(raw);
  return out;
}

int64_t Result::Changes() const {
  const char* n = PQcmdTuples(r_.get());
  return n && *n ? std::stoll(n) : 0;
}

std::optional<Conn::Notification> Conn::NextNotification() {
  PGnotify* n = PQnotifies(c_);
  if (!n) return std::nullopt;
  Notification out{n->relname ? n->relname : "", n->extra ? n->extra : "", n->be_pid};
  PQfreemem(n);
  return out;
}

StatusOr<std::unique_ptr<Conn>> Conn::Open(const std::string& conninfo) {
  // libpq waits for a server that never answers (packets dropped, a peer that accepted and went
  // silent) without end unless told otherwise: the writer would hang instead of answering
  // UNAVAILABLE. The conninfo's own connect_timeout (or PGCONNECT_TIMEOUT) overrides this one.
  // The expanded conninfo comes after the default, so its own values win.
  const bool from_env = std::getenv("PGCONNECT_TIMEOUT") != nullptr;
  const char* keys[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {kDefaultConnectTimeout, conninfo.c_str(), nullptr};
  const int skip = from_env ? 1 : 0;
  PGconn* c = PQconnectdbParams(keys + skip, values + skip, /*expand_dbname=*/1);
  if (!c) return Unavailable("postgres: out of memory connecting");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string why = PQerrorMessage(c);
    PQfinish(c);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return Unavailable("postgres: cannot connect to " + Redacted(conninfo) + ": " + why);
  }
  return std::unique_ptr<Conn>(new Conn(c));
}

Conn::~Conn() {
  PQfinish(c_);
}

Status Conn::Failure(PGresult* r, const std::string& sql) {
  std::string why = r ? PQresultErrorMessage(r) : PQerrorMessage(c_);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (r) PQclear(r);
  // Class 08 is a connection failure, 57P is an operator intervention (shutdown), 53 is
  // insufficient resources: all worth a retry once the server is back.
  std::string_view s = state ? state : "";
  if (broken() || s.substr(0, 2) == "08" || s.substr(0, 3) == "57P" || s.substr(0, 2) == "53") {
    return Unavailable("postgres: " + why);
  }
  return Internal("postgres: " + why + " (in: " + sql.substr(0, 80) + ")");
}

Status Conn::Exec(const std::string& sql) {
  PGresult* r = PQexec(c_, sql.c_str());
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Failure(r, sql);
  PQclear(r);
  return Status::Ok();
}

namespace {

struct Params {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  explicit Params(const std::vector<Param>& params) {
    values.reserve(params.size());
    lengths.reserve(params.size());
    formats.reserve(params.size());
    for (const auto& p : params) {
      values.push_back(p.value ? p.value->data() : nullptr);
      lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
      formats.push_back(p.binary ? 1 : 0);
    }
  }
  int size() const { return static_cast<int>(values.size()); }
};

}  // namespace

StatusOr<Result> Conn::Finish(PGresult* r, const std::string& sql) {
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Failure(r, sql);
  return Result(r);
}

StatusOr<Result> Conn::Query(const std::string& sql, const std::vector<Param>& params) {
  Params p(params);
  return Finish(
      PQexecParams(c_, sql.c_str(), p.size(), nullptr, p.values.data(), p.lengths.data(), p.formats.data(), 0), sql);
}

StatusOr<Result> Conn::Prepared(const std::string& sql, const std::vector<Param>& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    // Protocol-level statements outlive a ROLLBACK, so one prepared inside a transaction that
    // is later rolled back stays usable.
    std::string name = "s" + std::to_string(prepared_.size());
    STRATUS_RETURN_IF_ERROR(
        Finish(PQprepare(c_, name.c_str(), sql.c_str(), static_cast<int>(params.size()), nullptr), sql).status());
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  Params p(params);
  return Finish(
      PQexecPrepared(c_, it->second.c_str(), p.size(), p.values.data(), p.lengths.data(), p.formats.data(), 0), sql);
}

Status Conn::Prepare(const std::string& sql, int param_count) {
  if (prepared_.count(sql)) return Status::Ok();
  std::string name = "s" + std::to_string(prepared_.size());
  STRATUS_RETURN_IF_ERROR(Finish(PQprepare(c_, name.c_str(), sql.c_str(), param_count, nullptr), sql).status());
  prepared_.emplace(sql, std::move(name));
  return Status::Ok();
}

Status Conn::EnterPipeline() {
  if (PQenterPipelineMode(c_) != 1) return Failure(nullptr, "enter pipeline mode");
  return Status::Ok();
}

Status Conn::ExitPipeline() {
  if (PQexitPipelineMode(c_) != 1) return Failure(nullptr, "exit pipeline mode");
  return Status::Ok();
}

Status Conn::Send(const std::string& sql, const std::vector<Param>& params) {
  Params p(params);
  auto it = prepared_.find(sql);
  // libpq reads the server's answers while a send waits for room, so a long pipeline cannot
  // deadlock with a server blocked on writing them.
  int ok = it != prepared_.end() ? PQsendQueryPrepared(c_, it->second.c_str(), p.size(), p.values.data(),
                                                       p.lengths.data(), p.formats.data(), 0)
                                 : PQsendQueryParams(c_, sql.c_str(), p.size(), nullptr, p.values.data(),
                                                     p.lengths.data(), p.formats.data(), 0);
  if (ok != 1) return Failure(nullptr, sql);
  return Status::Ok();
}

Status Conn::Sync() {
  if (PQpipelineSync(c_) != 1) return Failure(nullptr, "pipeline sync");
  return Status::Ok();
}

StatusOr<Result> Conn::Next(const std::string& sql) {
  PGresult* r = PQgetResult(c_);
  if (!r) return Failure(nullptr, sql);
  // Each statement's results end with a null.
  while (PGresult* extra = PQgetResult(c_)) PQclear(extra);
  if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED) {
    PQclear(r);
    return Status(Code::kAborted, "postgres: not run, an earlier statement in its pipeline failed");
  }
  return Finish(r, sql);
}

Status Conn::EndSync() {
  PGresult* r = PQgetResult(c_);
  if (r && PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
    PQclear(r);
    return Status::Ok();
  }
  // A server shutting down answers with its error (57P01) in place of the sync.
  if (broken() || !r || PQresultStatus(r) == PGRES_FATAL_ERROR) return Failure(r, "pipeline sync");
  PQclear(r);
  return Internal("postgres: a pipeline answered more than was sent");
}

std::string Redacted(const std::string& conninfo) {
  // URI form: scheme://user:password@host -> scheme://user:***@host; key=value: password=***.
  static const std::regex uri(R"(^(postgres(ql)?://[^:/@]*):[^@]*@)");
  static const std::regex kv(R"((^|\s)password\s*=\s*('([^'\\]|\\.)*'|\S+))");
  std::string out = std::regex_replace(conninfo, uri, "$1:***@");
  return std::regex_replace(out, kv, "$1password=***");
}

}  // namespace stratus::pg
