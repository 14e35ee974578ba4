// stratus/sdk/job_server.h — the job endpoint an app embeds: `POST /api/jobs/{jobName}`.
//
// For each delivery: verify the OIDC bearer token and that it names an allowed service
// account (401, before the body is read), validate the payload
// {data: object, idempotencyKey: string, jobName: string} (400), find the handler (404),
// check that idempotencyKey is IdempotencyKey(jobName, data) exactly (canonical_json.h; 400
// otherwise, so no one can aim a key at another task's or job's result), claim the key (a
// completed duplicate answers 200 {"duplicate":true,"result":…}; one still running answers 503
// with Retry-After; Redis unreachable within IdempotencyOptions::redis_budget: fail-open runs
// the job, fail-closed answers 503 with a fixed text), run the handler on a worker thread, and
// answer so the queue does the right thing:
//   success               200 {"ok":true,"result":…}, key marked done
//   retryable failure     503 (Retry-After when known), key released for the next attempt
//   permanent failure     kAcknowledge: 200 {"ok":false,"permanent":true,…} and the failure is
//                         recorded in the FailedTaskStore (Google retries every non-2xx);
//                         kStatus: `permanent_status`, which a stratus queue configured with
//                         that status as permanent dead-letters at once.
// A permanent failure is remembered under its idempotency key (outcome "permanent_failure",
// idempotency.h): a redelivery is not run again and gets the same permanent answer with
// "duplicate": true.
// Errors are JSON {"error": "..."}; GET /healthz answers 200.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stratus/sdk/idempotency.h"
#include "stratus/sdk/log.h"
#include "stratus/sdk/oidc_verifier.h"
#include "stratus/status.h"

namespace stratus::sdk {

// What the X-CloudTasks-* headers and the payload say about this delivery.
struct JobContext {
  std::string job_name;
  std::string idempotency_key;
  std::string queue;                                         // X-CloudTasks-QueueName
  std::string task;                                          // X-CloudTasks-TaskName
  int retry_count = 0;                                       // X-CloudTasks-TaskRetryCount
  int execution_count = 0;                                   // X-CloudTasks-TaskExecutionCount
  std::optional<std::chrono::system_clock::time_point> eta;  // X-CloudTasks-TaskETA
  int previous_response = 0;                                 // X-CloudTasks-TaskPreviousResponse (0 on a first attempt)
  std::string retry_reason;                                  // X-CloudTasks-TaskRetryReason
  // X-CloudScheduler-ScheduleTime: set when a Cloud Scheduler job's tick sent this delivery.
  // Each tick of a periodic job is its own run: idempotency_key is then the payload's key
  // followed by "@" and this time, so retries of one tick are deduplicated and the next tick
  // (same jobName and data) runs.
  std::optional<std::chrono::system_clock::time_point> schedule_time;
  // The verified OIDC token's claims (iss, aud, sub, email, email_verified, exp, iat and the
  // whole payload); unset only when the server runs unauthenticated (JobServerMode::kLocal).
  std::optional<VerifiedToken> token;
};

// How a job ended. Handlers return one, or throw one of the errors below.
struct JobResult {
  enum class Kind { kOk, kRetryable, kPermanent };
  Kind kind = Kind::kOk;
  nlohmann::json result;                            // kOk
  std::string error;                                // otherwise
  std::optional<std::chrono::seconds> retry_after;  // kRetryable

  static JobResult Ok(nlohmann::json result = nlohmann::json::object());
  static JobResult Retry(std::string error, std::optional<std::chrono::seconds> retry_after = {});
  static JobResult Permanent(std::string error);
  // A downstream API answered `status`: 408, 429 and 5xx are retryable, other 4xx permanent
  // (2xx is kOk; anything else unexpected is retryable).
  static JobResult FromHttpStatus(int status, std::string error, std::optional<std::chrono::seconds> retry_after = {});
};

// Thrown by handlers; anything else a handler throws is treated as retryable.
class RetryableError : public std::runtime_error {
 public:
  explicit RetryableError(const std::string& what, std::optional<std::chrono::seconds> retry_after = {})
      : std::runtime_error(what), retry_after_(retry_after) {}
  std::optional<std::chrono::seconds> retry_after() const { return retry_after_; }

 private:
  std::optional<std::chrono::seconds> retry_after_;
};
class PermanentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A downstream HTTP API failed with `status`; classified like JobResult::FromHttpStatus.
class DownstreamHttpError : public std::runtime_error {
 public:
  DownstreamHttpError(int status, const std::string& what, std::optional<std::chrono::seconds> retry_after = {})
      : std::runtime_error(what), status_(status), retry_after_(retry_after) {}
  int status() const { return status_; }
  std::optional<std::chrono::seconds> retry_after() const { return retry_after_; }

 private:
  int status_;
  std::optional<std::chrono::seconds> retry_after_;
};
// A network failure or timeout talking to a downstream service: retryable.
class NetworkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The JobResult for an exception a handler threw.
JobResult ClassifyException(const std::exception_ptr& error);

using JobHandler = std::function<JobResult(const JobContext&, const nlohmann::json& data)>;

// A permanently failed job, as recorded for the app (the failed-task store).
struct FailedTask {
  std::string job_name;
  std::string idempotency_key;
  std::string task;
  std::string queue;
  std::string error;
  nlohmann::json data;
  int retry_count = 0;
  std::string failed_at;  // RFC 3339
};

class FailedTaskStore {
 public:
  virtual ~FailedTaskStore() = default;
  virtual Status Record(const FailedTask& failed) = 0;
};

// Keeps failures in memory (tests, demos).
class MemoryFailedTaskStore : public FailedTaskStore {
 public:
  Status Record(const FailedTask& failed) override;
  std::vector<FailedTask> All() const;

 private:
  mutable std::mutex mu_;
  std::vector<FailedTask> failed_;
};

// LPUSHes each failure as JSON onto a Redis list, trimmed to the newest `max_entries`.
class RedisFailedTaskStore : public FailedTaskStore {
 public:
  RedisFailedTaskStore(HttpRedis& redis, std::string key = "failed-tasks", int64_t max_entries = 10000);
  Status Record(const FailedTask& failed) override;

 private:
  HttpRedis& redis_;
  std::string key_;
  int64_t max_entries_;
};

enum class PermanentFailureAnswer {
  kAcknowledge,  // 2xx + FailedTaskStore: for Google Cloud Tasks
  kStatus,       // answer `permanent_status`: for a stratus queue that dead-letters it
};

enum class JobServerMode {
  kProduction,  // a verifier and allowed_service_accounts are required
  kLocal,       // local development: allow_unauthenticated, or any verified caller
};

struct JobServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port
  size_t io_threads = 1;
  size_t worker_threads = 16;  // handlers running at once
  std::string path_prefix = "/api/jobs/";
  JobServerMode mode = JobServerMode::kProduction;
  // OIDC: required unless `verifier` is null and `allow_unauthenticated` is set (kLocal only).
  std::shared_ptr<OidcVerifier> verifier;
  bool allow_unauthenticated = false;
  // Who may call: each entry is a service-account email (matched against a verified token's
  // `email` when `email_verified` is true) or a `sub`. A verified token naming none of them is
  // refused (401). Required in kProduction: list the account your queues' oidcToken uses
  // (Google: the serviceAccountEmail of the task's oidcToken). Empty in kLocal: any token
  // the verifier accepts.
  std::vector<std::string> allowed_service_accounts;
  // How long a delivery waits for its issuer's keys (first start, a rotated kid) before a 401.
  std::chrono::milliseconds auth_wait{5000};
  size_t max_body_bytes = 8 * 1024 * 1024;  // one request's body (413 past it)
  // Body bytes buffered at once over all connections (503 with Retry-After past it). Bodies
  // are read only once the token has been verified.
  size_t max_buffered_body_bytes = 64 * 1024 * 1024;
  // Log lines for refused tokens, at most this many per second (the next line after a quiet
  // spell carries "suppressed": how many were left out).
  int refused_log_per_second = 10;
  std::shared_ptr<IdempotencyManager> idempotency;  // none: every delivery runs
  PermanentFailureAnswer permanent_answer = PermanentFailureAnswer::kAcknowledge;
  int permanent_status = 422;
  std::shared_ptr<FailedTaskStore> failed_tasks;
  std::chrono::seconds in_progress_retry_after{5};
  Logger logger;
};

class JobServer {
 public:
  explicit JobServer(JobServerOptions options);
  ~JobServer();
  JobServer(const JobServer&) = delete;
  JobServer& operator=(const JobServer&) = delete;

  // Before Start().
  void Register(const std::string& job_name, JobHandler handler);
  Status Start();
  // Stops accepting and closes connections; handlers already running finish, queued ones
  // are dropped unanswered (the queue redelivers them). Idempotent.
  void Stop();
  uint16_t port() const;
  std::string url() const;  // "http://host:port"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stratus::sdk
