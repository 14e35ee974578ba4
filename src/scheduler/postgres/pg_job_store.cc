#include "scheduler/postgres/pg_job_store.h"

#include "scheduler/executor_lease.h"
#include "scheduler/sqlite_job_store.h"
#include "store/postgres/pg_listener.h"
#include "store/postgres/rows.h"
#include "stratus/store.h"

namespace stratus::scheduler {
namespace {

std::string ParentOf(const std::string& name) {
  size_t p = name.rfind("/jobs/");
  return p == std::string::npos ? std::string() : name.substr(0, p);
}

Status Notify(pg::Conn& c, const cluster::Change& change) {
  return c.Query("SELECT pg_notify($1, $2)", {pg::Param(kChangesChannel), pg::Param(cluster::EncodeChange(change))})
      .status();
}

Status NotifyChanged(pg::Conn& c, const std::string& name) {
  return Notify(c, cluster::Change{cluster::Change::Kind::kJobChanged, name, 0});
}

StatusOr<std::vector<Job>> Decode(const pg::Result& r) {
  std::vector<Job> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    STRATUS_ASSIGN_OR_RETURN(Job job, DecodeJobRow(r.Text(i, 0)));
    out.push_back(std::move(job));
  }
  return out;
}

// The stored job `name` locked for the rest of the transaction; nullopt when there is none.
StatusOr<std::optional<Job>> ReadForUpdate(pg::Conn& c, const std::string& name) {
  STRATUS_ASSIGN_OR_RETURN(auto r, c.Query("SELECT doc FROM scheduler_jobs WHERE name = $1 FOR UPDATE", {name}));
  if (r.rows() == 0) return std::optional<Job>();
  STRATUS_ASSIGN_OR_RETURN(Job job, DecodeJobRow(r.Text(0, 0)));
  return std::optional<Job>(std::move(job));
}

Status WriteRow(pg::Conn& c, const Job& job) {
  return c.Query("UPDATE scheduler_jobs SET doc = $2 WHERE name = $1", {job.name, EncodeJobRow(job)}).status();
}

// The executor's writes are fenced: `epoch` must still be the executor lease's. Share-locked
// until the commit, so a takeover's epoch bump waits for this write or this write sees the new
// epoch; never both executors' writes. 0: unfenced.
Status CheckEpoch(pg::Conn& c, int64_t epoch) {
  if (epoch == 0) return Status::Ok();
  STRATUS_ASSIGN_OR_RETURN(auto lease,
                           c.Query("SELECT epoch FROM queue_leases WHERE queue = $1 FOR SHARE", {kExecutorLease}));
  if (lease.rows() == 0 || lease.Int(0, 0) != epoch) return ExecutorLeaseLost();
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<PgJobStore>> PgJobStore::Open(const std::string& conninfo) {
  std::unique_ptr<PgJobStore> store(new PgJobStore(conninfo));
  std::lock_guard lock(store->mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, store->Connection());
  STRATUS_RETURN_IF_ERROR(pg::Migrate(*c));
  return store;
}

StatusOr<pg::Conn*> PgJobStore::Connection() {
  if (!conn_ || conn_->broken()) {
    STRATUS_ASSIGN_OR_RETURN(conn_, pg::Conn::Open(conninfo_));
  }
  return conn_.get();
}

Status PgJobStore::InTransaction(const std::function<Status(pg::Conn&)>& body) {
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  STRATUS_RETURN_IF_ERROR(c->Exec("BEGIN"));
  Status st = body(*c);
  if (!st.ok()) {
    c->Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return c->Exec("COMMIT");
}

StatusOr<Job> PgJobStore::Create(const Job& job) {
  std::lock_guard lock(mu_);
  STRATUS_RETURN_IF_ERROR(InTransaction([&](pg::Conn& c) -> Status {
    STRATUS_ASSIGN_OR_RETURN(auto r, c.Query("INSERT INTO scheduler_jobs(name, parent, doc) VALUES($1, $2, $3) ON "
                                             "CONFLICT (name) DO NOTHING",
                                             {job.name, ParentOf(job.name), EncodeJobRow(job)}));
    if (r.Changes() == 0) return AlreadyExists("job exists: " + job.name);
    return NotifyChanged(c, job.name);
  }));
  return job;
}

StatusOr<Job> PgJobStore::Get(const std::string& name) {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  STRATUS_ASSIGN_OR_RETURN(auto r, c->Query("SELECT doc FROM scheduler_jobs WHERE name = $1", {name}));
  if (r.rows() == 0) return NotFound("job missing: " + name);
  return DecodeJobRow(r.Text(0, 0));
}

StatusOr<std::vector<Job>> PgJobStore::List(const std::string& parent) {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  STRATUS_ASSIGN_OR_RETURN(auto r,
                           c->Query("SELECT doc FROM scheduler_jobs WHERE parent = $1 ORDER BY name", {parent}));
  return Decode(r);
}

StatusOr<std::vector<Job>> PgJobStore::All() {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  STRATUS_ASSIGN_OR_RETURN(auto r, c->Query("SELECT doc FROM scheduler_jobs ORDER BY name"));
  return Decode(r);
}

StatusOr<Job> PgJobStore::Update(const Job& job) {
  std::lock_guard lock(mu_);
  Job next = job;
  STRATUS_RETURN_IF_ERROR(InTransaction([&](pg::Conn& c) -> Status {
    STRATUS_ASSIGN_OR_RETURN(auto current, ReadForUpdate(c, job.name));
    if (!current) return NotFound("job missing: " + job.name);
    next.last_attempt_time = current->last_attempt_time;
    next.status = current->status;
    next.pending_runs = current->pending_runs;
    STRATUS_RETURN_IF_ERROR(WriteRow(c, next));
    return NotifyChanged(c, job.name);
  }));
  return next;
}

Status PgJobStore::RecordRun(const std::string& name, Micros schedule_time, Micros last_attempt_time,
                             const std::optional<Status>& status, int64_t epoch) {
  std::lock_guard lock(mu_);
  return InTransaction([&](pg::Conn& c) -> Status {
    STRATUS_RETURN_IF_ERROR(CheckEpoch(c, epoch));
    STRATUS_ASSIGN_OR_RETURN(auto current, ReadForUpdate(c, name));
    if (!current) return NotFound("job missing: " + name);
    Job next = std::move(*current);
    next.schedule_time = schedule_time;
    next.last_attempt_time = last_attempt_time;
    next.status = status;
    return WriteRow(c, next);
  });
}

Status PgJobStore::RequestRun(const std::string& name) {
  std::lock_guard lock(mu_);
  return InTransaction([&](pg::Conn& c) -> Status {
    STRATUS_ASSIGN_OR_RETURN(auto current, ReadForUpdate(c, name));
    if (!current) return NotFound("job missing: " + name);
    ++current->pending_runs;
    STRATUS_RETURN_IF_ERROR(WriteRow(c, *current));
    return Notify(c, cluster::Change{cluster::Change::Kind::kJobRun, name, 0});
  });
}

StatusOr<int64_t> PgJobStore::TakeRuns(const std::string& name, int64_t epoch) {
  std::lock_guard lock(mu_);
  int64_t taken = 0;
  STRATUS_RETURN_IF_ERROR(InTransaction([&](pg::Conn& c) -> Status {
    STRATUS_RETURN_IF_ERROR(CheckEpoch(c, epoch));
    STRATUS_ASSIGN_OR_RETURN(auto current, ReadForUpdate(c, name));
    if (!current || current->pending_runs == 0) return Status::Ok();
    taken = current->pending_runs;
    current->pending_runs = 0;
    return WriteRow(c, *current);
  }));
  return taken;
}

Status PgJobStore::Delete(const std::string& name) {
  std::lock_guard lock(mu_);
  return InTransaction([&](pg::Conn& c) -> Status {
    STRATUS_ASSIGN_OR_RETURN(auto r, c.Query("DELETE FROM scheduler_jobs WHERE name = $1", {name}));
    if (r.Changes() == 0) return NotFound("job missing: " + name);
    return NotifyChanged(c, name);
  });
}

Status PgJobStore::Publish(const cluster::Change& change) {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  return Notify(*c, change);
}

StatusOr<int64_t> PgJobStore::Count() {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  STRATUS_ASSIGN_OR_RETURN(auto r, c->Query("SELECT count(*) FROM scheduler_jobs"));
  return r.Int(0, 0);
}

Status PgJobStore::Clear() {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  return c->Exec("DELETE FROM scheduler_jobs");
}

}  // namespace stratus::scheduler
