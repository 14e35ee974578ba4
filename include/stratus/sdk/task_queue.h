// stratus/sdk/task_queue.h — enqueue background jobs as Cloud Tasks HTTP tasks.
//
// add("calendar-sync", data) creates, in the job's queue, a task that POSTs
//   {"data": data, "idempotencyKey": IdempotencyKey(jobName, data), "jobName": …}
// (canonical_json.h: SHA-256 hex of jobName, a newline and the RFC 8785 form of data)
// to {serviceUrl}/api/jobs/calendar-sync with an OIDC token for the service account (audience:
// the service URL). The same client talks to stratus and to cloudtasks.googleapis.com; only the
// base URL and the token source differ.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "stratus/sdk/canonical_json.h"
#include "stratus/sdk/log.h"
#include "stratus/sdk/token_source.h"
#include "stratus/status.h"

namespace stratus::sdk {

// Cloud Tasks' own bounds: not in the past, not more than 30 days ahead. `slack` tolerates
// the time a request takes to build.
Status ValidateScheduleTime(std::chrono::system_clock::time_point when, std::chrono::system_clock::time_point now,
                            std::chrono::milliseconds slack = std::chrono::milliseconds(1000));

// $STRATUS_PROJECT, or "" (TaskQueue::Create then asks for a project).
std::string DefaultProject();

struct TaskQueueOptions {
  std::string base_url = "http://127.0.0.1:8123";  // or https://cloudtasks.googleapis.com
  std::string project = DefaultProject();          // the STRATUS_PROJECT environment variable, else required
  std::string location = "us-central1";            // stratus's default location
  std::string service_url;                         // the app; tasks go to {service_url}/api/jobs/{job}
  std::string service_account;                     // OIDC token identity; empty: no oidcToken on tasks
  std::string audience;                            // empty: the service URL
  std::map<std::string, std::string> job_queues;   // job name -> queue id; a job not here is refused
  std::shared_ptr<TokenSource> token_source;       // for the API itself; none: no Authorization
  std::chrono::milliseconds timeout{10000};
  std::string ca_file;
  Logger logger;  // a job whose enqueue threw (stderr by default)
};

struct AddOptions {
  std::optional<std::chrono::milliseconds> delay;
  std::optional<std::chrono::system_clock::time_point> schedule_time;
  std::string task_id;  // a name makes the enqueue de-duplicated by the queue
};

struct EnqueuedTask {
  std::string name;  // projects/…/tasks/…
  std::string queue;
  std::string idempotency_key;
  std::string schedule_time;  // as the server answered
};

struct Job {
  std::string name;
  nlohmann::json data;
  AddOptions options;
};

class TaskQueue {
 public:
  static StatusOr<std::unique_ptr<TaskQueue>> Create(TaskQueueOptions options);
  ~TaskQueue();
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  // Fails before any request on an unknown job, a bad schedule, or data that is not an object.
  StatusOr<EnqueuedTask> Add(const std::string& job_name, const nlohmann::json& data, const AddOptions& options = {});
  // Enqueues every job with at most `concurrency` requests in flight; one result per job.
  std::vector<StatusOr<EnqueuedTask>> AddBatch(const std::vector<Job>& jobs, size_t concurrency = 8);

  // Creates or updates a queue from a Cloud Tasks Queue JSON (queues.yaml entries): PATCH
  // with the given fields as the update mask.
  Status ApplyQueue(const std::string& queue_id, const nlohmann::json& queue);

  const TaskQueueOptions& options() const;

 private:
  struct Impl;
  explicit TaskQueue(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stratus::sdk
