// The CatchUp app's 11 background jobs, as handlers for a stratus::sdk::JobServer.
//
// The real Google APIs (OAuth, Calendar, People, push channels) are out of reach, so each job
// simulates its call: it waits `latency`, and fails with the configured probabilities the way
// those APIs fail (503 retryable, 400 permanent). A payload can also script its own failures,
// deterministically, for tests and the demo:
//   "simulate": {"failAttempts": 2, "status": 503}   fail the first 2 attempts with a 503
//   "simulate": {"status": 400}                      fail every attempt (permanent)
//   "simulate": {"latencyMs": 500}                   take this long (at most kMaxSimulatedLatency)
// Every job checks its fields' presence and types; a payload that fails the check, or asks
// for more than the bounds above, fails permanently (it would fail the same way every time).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "stratus/sdk/cache.h"
#include "stratus/sdk/job_server.h"
#include "stratus/sdk/rate_limiter.h"

namespace catchup {

// The project the demo and queues.yaml use on a local stratus.
inline constexpr char kProject[] = "catchup-local";
inline constexpr std::chrono::milliseconds kMaxSimulatedLatency{2000};

// The 11 job names, each in the queue "{job}-queue" (queues.yaml).
const std::vector<std::string>& JobNames();
std::map<std::string, std::string> JobQueues();

struct SimulationOptions {
  std::chrono::milliseconds latency{5};
  double retryable_failure_rate = 0.0;  // a 503 from the simulated Google API
  double permanent_failure_rate = 0.0;  // a 400 from it
  uint64_t seed = 1;
};

// What ran: executions per job and per idempotency key (tests assert exactly-once with it).
// Remembers the newest `max_keys` keys and the first `max_times_per_key` start times of each,
// so a long-running worker does not grow without bound.
class JobStats {
 public:
  explicit JobStats(size_t max_keys = 10000, size_t max_times_per_key = 16)
      : max_keys_(max_keys), max_times_(max_times_per_key) {}
  void Executed(const std::string& job, const std::string& key);
  int Executions(const std::string& key) const;
  int ExecutionsOf(const std::string& job) const;
  int64_t Total() const;
  std::map<std::string, int> ByKey() const;
  // When each execution of a key started.
  std::vector<std::chrono::steady_clock::time_point> Times(const std::string& key) const;

 private:
  struct PerKey {
    int executions = 0;
    std::vector<std::chrono::steady_clock::time_point> times;
  };
  const size_t max_keys_;
  const size_t max_times_;
  mutable std::mutex mu_;
  std::map<std::string, PerKey> by_key_;
  std::deque<std::string> key_order_;  // oldest first, for eviction
  std::map<std::string, int> by_job_;  // one entry per registered job
  int64_t total_ = 0;
};

struct JobDeps {
  stratus::sdk::Cache* cache = nullptr;                            // optional
  stratus::sdk::SlidingWindowRateLimiter* google_quota = nullptr;  // optional, per user
  std::shared_ptr<JobStats> stats = std::make_shared<JobStats>();
  SimulationOptions simulation;
};

// Registers the 11 handlers on `server` (before it starts). `deps` must outlive the server.
void RegisterJobs(stratus::sdk::JobServer& server, JobDeps& deps);

// A valid sample payload for each job (the demo and the tests enqueue these).
nlohmann::json SampleData(const std::string& job, int n);

}  // namespace catchup
