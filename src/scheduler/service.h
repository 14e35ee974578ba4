// The Cloud Scheduler v1 service: every jobs method, over a JobStore (the locations mixin
// is Cloud Tasks' v1 rows: the same paths, the same --locations).
//
// Methods are coroutines on the caller's event loop; store calls run on the blocking pool.
// Mutations are serialised (a read-modify-write such as a PATCH never interleaves with a
// pause), each is durable before it answers, and JobEvents hears about it afterwards.
// Requests arrive decoded (scheduler/codec.h); nothing here knows HTTP.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/asio.h"
#include "common/clock.h"
#include "scheduler/codec.h"
#include "scheduler/job.h"
#include "scheduler/validation.h"

namespace stratus::scheduler {

struct SchedulerOptions {
  JobChecks checks;
};

struct JobList {
  std::vector<Job> jobs;
  std::string next_page_token;
};

// Checks a service account a job's deliveries will sign as (the API token's actAs);
// unset: any.
using ActAs = std::function<Status(const std::string& email)>;

class SchedulerService {
 public:
  SchedulerService(JobStore& store, const Clock& clock, asio::thread_pool& blocking, SchedulerOptions options);

  // The executor; may stay unset (then jobs are kept but never run).
  void SetEvents(JobEvents* events) { events_ = events; }

  // pageSize 0 (or above 500) is 500, as Google's maximum; pageToken from the previous page.
  asio::awaitable<StatusOr<JobList>> ListJobs(const std::string& parent, int64_t page_size,
                                              const std::string& page_token);
  asio::awaitable<StatusOr<Job>> GetJob(const std::string& name);
  // An empty job name gets a generated ID. State ENABLED, scheduleTime the next tick.
  asio::awaitable<StatusOr<Job>> CreateJob(const std::string& parent, Job job, ActAs act_as = {});
  // `update_mask` lists lowerCamel or snake_case paths; empty: the fields the request named.
  asio::awaitable<StatusOr<Job>> UpdateJob(const std::string& name, JobInput input, const std::string& update_mask,
                                           ActAs act_as = {});
  asio::awaitable<Status> DeleteJob(const std::string& name);
  asio::awaitable<StatusOr<Job>> PauseJob(const std::string& name);
  asio::awaitable<StatusOr<Job>> ResumeJob(const std::string& name);
  // Returns the job as it is and asks the executor to run it now.
  asio::awaitable<StatusOr<Job>> RunJob(const std::string& name);

 private:
  // Runs `work` on the blocking pool with mutations serialised.
  template <typename F>
  asio::awaitable<std::invoke_result_t<F>> Mutate(F work);

  JobStore& store_;
  const Clock& clock_;
  asio::thread_pool& blocking_;
  SchedulerOptions options_;
  JobEvents* events_ = nullptr;
  std::mutex write_mu_;
};

// Applies `mask` (comma-separated paths) from `from` onto `to`. INVALID_ARGUMENT on a path
// that is not a Job field; UNIMPLEMENTED for pubsubTarget and appEngineHttpTarget; output-only
// paths are ignored, as Google ignores them.
Status ApplyJobMask(const Job& from, const std::string& mask, Job* to);

}  // namespace stratus::scheduler
