// stratus/sdk/idempotency.h — run each job once, however often it is delivered.
//
// Begin() claims a key atomically (SET key <claim> NX EX lease). The claim names its owner
// (the JobServer uses the delivery: queue, task and attempt), so a claim found holding our
// own owner is ours: a SET NX that Redis applied but whose reply was lost, and that the
// client then sent again, does not turn into "already running". The caller that claims a key
// runs the job and calls Complete() with the result or CompletePermanentFailure() with the
// error (kept `ttl`, 24 h by default), or Release() on a retryable failure so the next
// delivery may run it. A caller that finds a completed key gets the stored outcome; one that
// finds someone else's claim is told to come back later (the lease bounds how long a crashed
// worker holds a key).
//
// Stored values (JSON text, version 1):
//   {"v":1,"state":"processing","owner":"…"}
//   {"v":1,"state":"done","outcome":"ok","result":…}
//   {"v":1,"state":"done","outcome":"permanent_failure","error":"…"}
// so any handler result, {"failed":"x"} included, reads back as the success it was. Values
// written before version 1 ({"state":"done","result":…}, no "v") are read as they were
// meant: a result that is exactly {"failed": string} is a permanent failure, anything else a
// success. They expire within `ttl` (24 h) of the upgrade.
//
// When Redis cannot be reached before the deadline, kFailOpen runs the job anyway
// (at-least-once) and kFailClosed refuses with kUnavailable (the queue retries later).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "stratus/sdk/redis.h"

namespace stratus::sdk {

enum class IdempotencyFailureMode { kFailOpen, kFailClosed };

// Longest key Begin() accepts (IdempotencyKey() gives 64 hex characters).
inline constexpr size_t kMaxIdempotencyKeyBytes = 128;

struct IdempotencyOptions {
  std::string prefix = "idempotency:";
  std::chrono::seconds ttl{24 * 3600};  // how long a completed key is remembered
  std::chrono::seconds lease{10 * 60};  // how long a processing claim holds
  IdempotencyFailureMode on_redis_error = IdempotencyFailureMode::kFailOpen;
  // The Redis time one JobServer delivery may spend in all: its claim, then its completion
  // or release, retries included. Fail-open or fail-closed is decided within it. Keep it well
  // under the queue's dispatchDeadline (Cloud Tasks' default: 10 min).
  std::chrono::milliseconds redis_budget{5000};
};

struct IdempotencyClaim {
  enum class State { kClaimed, kCompleted, kInProgress };
  State state = State::kClaimed;
  std::optional<nlohmann::json> result;        // kCompleted by a success: its result
  std::optional<std::string> permanent_error;  // kCompleted by a permanent failure: its error
  bool redis_down = false;                     // claimed by fail-open, not in Redis
};

class IdempotencyManager {
 public:
  IdempotencyManager(HttpRedis& redis, IdempotencyOptions options = {});

  // `owner` names this attempt; empty: a fresh random token. Keys longer than
  // kMaxIdempotencyKeyBytes, or empty, are refused (kInvalidArgument).
  StatusOr<IdempotencyClaim> Begin(const std::string& key, const std::string& owner = "",
                                   RedisDeadline deadline = kNoRedisDeadline);
  Status Complete(const std::string& key, const nlohmann::json& result, RedisDeadline deadline = kNoRedisDeadline);
  Status CompletePermanentFailure(const std::string& key, const std::string& error,
                                  RedisDeadline deadline = kNoRedisDeadline);
  // Frees the key when it still holds `owner`'s claim (a GET, then a DEL: a lease that ran
  // out in between and was claimed anew in that instant is the one case it misses); an
  // empty owner deletes whatever the key holds.
  Status Release(const std::string& key, const std::string& owner = "", RedisDeadline deadline = kNoRedisDeadline);

  const IdempotencyOptions& options() const { return options_; }

 private:
  Status Store(const std::string& key, const nlohmann::json& record, RedisDeadline deadline);

  HttpRedis& redis_;
  IdempotencyOptions options_;
};

}  // namespace stratus::sdk
