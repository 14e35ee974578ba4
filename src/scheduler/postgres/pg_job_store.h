// The JobStore of a cluster: Cloud Scheduler jobs in the scheduler_jobs table of the
// PostgreSQL store's schema (store/postgres/rows.h, schema 3), each row the same versioned
// JSON document as the embedded scheduler.db (EncodeJobRow), so every node lists and changes
// the same jobs.
//
// Every user mutation (Create, Update, Delete) sends a kJobChanged change on stratus_changes
// inside its own transaction, so the node running the executor reloads the job as soon as the
// change committed (scheduler/executor_lease.h); jobs.run (RequestRun) counts one more pending
// run in the row's document and sends kJobRun the same way. The executor's own writes
// (RecordRun, and TakeRuns, which takes the pending runs) send nothing and are fenced: with an
// epoch they check the executor lease's row (queue_leases, kExecutorLease) FOR SHARE in the
// same transaction, so a takeover (which bumps the epoch) either waits for them or they see
// the new epoch and are refused (ExecutorLeaseLost()).
//
// Jobs are few and small: one connection behind a mutex serves every call (callers run on the
// blocking pool), opened again on the next call after a failure.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "cluster/changes.h"
#include "scheduler/job.h"
#include "store/postgres/pg.h"

namespace stratus::scheduler {

class PgJobStore final : public JobStore {
 public:
  // Connects and brings the schema to the current version (as the Cloud Tasks store does).
  static StatusOr<std::unique_ptr<PgJobStore>> Open(const std::string& conninfo);

  StatusOr<Job> Create(const Job& job) override;
  StatusOr<Job> Get(const std::string& name) override;
  StatusOr<std::vector<Job>> List(const std::string& parent) override;
  StatusOr<std::vector<Job>> All() override;
  StatusOr<Job> Update(const Job& job) override;
  Status RecordRun(const std::string& name, Micros schedule_time, Micros last_attempt_time,
                   const std::optional<Status>& status, int64_t epoch) override;
  Status Delete(const std::string& name) override;
  // pending_runs + 1 and a kJobRun change, in one transaction.
  Status RequestRun(const std::string& name) override;
  StatusOr<int64_t> TakeRuns(const std::string& name, int64_t epoch) override;

  // Sends `change` to every node now (a freed executor lease).
  Status Publish(const cluster::Change& change);
  // For `stratus migrate`: how many jobs there are, and deleting them all (--force).
  StatusOr<int64_t> Count();
  Status Clear();

 private:
  explicit PgJobStore(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  StatusOr<pg::Conn*> Connection();  // with mu_ held
  // Runs `body` in one transaction on the connection (with mu_ held); rolled back on error.
  Status InTransaction(const std::function<Status(pg::Conn&)>& body);

  const std::string conninfo_;
  std::mutex mu_;
  std::unique_ptr<pg::Conn> conn_;
};

}  // namespace stratus::scheduler
