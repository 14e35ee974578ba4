// Cloud Scheduler v1 jobs (google/cloud/scheduler/v1 job.proto, target.proto), and the two
// seams between the API side and the executor: the JobStore the jobs are kept in and the
// JobEvents the executor hears changes through. Times are microseconds since the epoch,
// durations microseconds, as in stratus/model.h.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stratus/model.h"
#include "stratus/status.h"

namespace stratus::scheduler {

enum class JobState : int { kUnspecified = 0, kEnabled = 1, kPaused = 2, kDisabled = 3, kUpdateFailed = 4 };

// job.proto RetryConfig, with Cloud Scheduler's defaults.
struct JobRetryConfig {
  int32_t retry_count = 0;         // 0..5
  Micros max_retry_duration = 0;   // 0: unlimited
  Micros min_backoff = 5'000'000;  // 5 s
  Micros max_backoff = 3'600'000'000;
  int32_t max_doublings = 5;
  bool operator==(const JobRetryConfig&) const = default;
};

// target.proto HttpTarget.
struct JobHttpTarget {
  std::string uri;
  HttpMethod http_method = HttpMethod::kPost;
  std::map<std::string, std::string> headers;
  std::string body;  // raw bytes (base64 only on the wire)
  std::optional<OidcToken> oidc_token;
  std::optional<OAuthToken> oauth_token;
  bool operator==(const JobHttpTarget&) const = default;
};

struct Job {
  std::string name;  // projects/P/locations/L/jobs/J
  std::string description;
  std::string schedule;   // unix-cron, see cron/cron.h
  std::string time_zone;  // tz database name; empty reads as UTC
  JobHttpTarget http_target;
  // stratus extension: when set (a queue name), each tick creates a Cloud Tasks task carrying
  // http_target on this queue instead of sending it, so the queue's retries, rate limits and
  // dead letters apply.
  std::string queue;
  JobRetryConfig retry_config;
  Micros attempt_deadline = 180'000'000;  // 3 min; 15 s .. 30 min
  JobState state = JobState::kEnabled;
  Micros user_update_time = 0;
  // Output only, written by the executor.
  Micros schedule_time = 0;      // the next tick
  Micros last_attempt_time = 0;  // 0: never ran
  std::optional<Status> status;  // the last attempt's outcome (OK included)
  // In a cluster: jobs.run requests recorded (JobStore::RequestRun) that no executor has taken
  // yet (JobStore::TakeRuns). Never shown by the API; 0 on one node.
  int64_t pending_runs = 0;
};

// Where jobs are kept. Every mutation is durable before it returns. Implementations: SQLite
// (scheduler/sqlite_job_store.*), PostgreSQL for a cluster (scheduler/postgres/pg_job_store.*);
// a test may keep jobs in memory.
class JobStore {
 public:
  virtual ~JobStore() = default;
  virtual StatusOr<Job> Create(const Job& job) = 0;                        // ALREADY_EXISTS when the name is taken
  virtual StatusOr<Job> Get(const std::string& name) = 0;                  // NOT_FOUND
  virtual StatusOr<std::vector<Job>> List(const std::string& parent) = 0;  // by name
  virtual StatusOr<std::vector<Job>> All() = 0;                            // every job, for the executor at start
  // Replaces the user-settable fields, state, user_update_time and schedule_time of a stored
  // job (NOT_FOUND when it is gone); last_attempt_time and status stay as stored.
  virtual StatusOr<Job> Update(const Job& job) = 0;
  // The executor's record of one execution: schedule_time, last_attempt_time and status.
  // NOT_FOUND when the job was deleted meanwhile (the executor drops it then). `epoch` is the
  // fencing epoch of the executor lease the record is made under (docs/cluster.md, "Cloud
  // Scheduler jobs"); 0 on one node, where nothing is fenced. A store shared by a cluster
  // refuses a record whose epoch is no longer the lease's with ExecutorLeaseLost(), in the
  // same transaction as the write.
  virtual Status RecordRun(const std::string& name, Micros schedule_time, Micros last_attempt_time,
                           const std::optional<Status>& status, int64_t epoch) = 0;
  virtual Status Delete(const std::string& name) = 0;  // NOT_FOUND

  // jobs.run in a cluster (docs/cluster.md, "Cloud Scheduler jobs"): records one run request
  // in the job's row before the call answers, so a run asked while no node holds the executor
  // is executed by the next holder instead of lost. The default (one node, where the executor
  // hears jobs.run directly) records nothing. NOT_FOUND when the job is gone.
  virtual Status RequestRun(const std::string& /*name*/) { return Status::Ok(); }
  // The executor's side: takes every run request recorded for `name` and not yet taken (each
  // is taken once, by one executor), under the executor lease's `epoch` (refused like
  // RecordRun when it is stale); how many there were.
  virtual StatusOr<int64_t> TakeRuns(const std::string& /*name*/, int64_t /*epoch*/) { return int64_t{0}; }
};

// What a cluster's store refuses an executor write (RecordRun, TakeRuns) with when its epoch is
// no longer the executor lease's: another node runs the executor now (FAILED_PRECONDITION).
inline constexpr std::string_view kExecutorLeaseLostText =
    "scheduler: the executor lease is held by another node now (this node no longer runs the jobs)";
inline Status ExecutorLeaseLost() {
  return FailedPrecondition(std::string(kExecutorLeaseLostText));
}
inline bool IsExecutorLeaseLost(const Status& st) {
  return st.code() == Code::kFailedPrecondition && st.message() == kExecutorLeaseLostText;
}

// What the service tells the executor after a mutation is durable.
class JobEvents {
 public:
  virtual ~JobEvents() = default;
  virtual void Changed(const Job& job) = 0;  // created, updated, paused, resumed
  virtual void Deleted(const std::string& name) = 0;
  virtual void RunNow(const Job& job) = 0;  // jobs.run: execute now, outside the schedule
};

}  // namespace stratus::scheduler
