// stratus/sdk/idempotency.h — run each job once, however often it is delivered.
//
// Begin() claims a key atomically (SET key {"state":"processing"} NX EX lease). The caller
// that claims it runs the job and calls Complete() with the result (kept `ttl`, 24 h by
// default) or Release() on a retryable failure so the next delivery may run it. A caller that
// finds a completed key gets the cached result; one that finds it still processing is told to
// come back later (the lease bounds how long a crashed worker holds a key).
//
// When Redis cannot be reached, kFailOpen runs the job anyway (at-least-once) and kFailClosed
// refuses with kUnavailable (the queue retries later).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "stratus/sdk/redis.h"

namespace stratus::sdk {

enum class IdempotencyFailureMode { kFailOpen, kFailClosed };

struct IdempotencyOptions {
  std::string prefix = "idempotency:";
  std::chrono::seconds ttl{24 * 3600};  // how long a completed key is remembered
  std::chrono::seconds lease{10 * 60};  // how long a processing claim holds
  IdempotencyFailureMode on_redis_error = IdempotencyFailureMode::kFailOpen;
};

struct IdempotencyClaim {
  enum class State { kClaimed, kCompleted, kInProgress };
  State state = State::kClaimed;
  std::optional<nlohmann::json> result;  // when kCompleted
  bool redis_down = false;               // claimed by fail-open, not in Redis
};

class IdempotencyManager {
 public:
  IdempotencyManager(HttpRedis& redis, IdempotencyOptions options = {});

  StatusOr<IdempotencyClaim> Begin(const std::string& key);
  Status Complete(const std::string& key, const nlohmann::json& result);
  Status Release(const std::string& key);

  const IdempotencyOptions& options() const { return options_; }

 private:
  HttpRedis& redis_;
  IdempotencyOptions options_;
};

}  // namespace stratus::sdk
