// stratus/sdk/rate_limiter.h — a sliding-window rate limiter on HttpRedis.
//
// Each key is a sorted set of request timestamps (ms). One check is one multi-exec, so
// concurrent callers on any number of instances see one consistent window:
//   ZREMRANGEBYSCORE key -inf (now - window)   drop what left the window
//   ZADD key now member                          count this request
//   ZCARD key                                    requests in the window, this one included
//   PEXPIRE key window                           idle keys expire
// The drop bound is exclusive, so a request at exactly `now - window` still counts; it has
// left the window one millisecond later. Rejected requests are counted too, so a client that
// keeps hammering stays limited.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "stratus/sdk/redis.h"

namespace stratus::sdk {

struct RateLimitDecision {
  bool allowed = false;
  int64_t count = 0;  // requests in the window, this one included
  int64_t limit = 0;
  int64_t remaining = 0;  // max(0, limit - count)
};

// The decision for `count` requests in the window against `limit` (exposed for tests).
RateLimitDecision DecideRateLimit(int64_t count, int64_t limit);
// The score bound below which entries are dropped: "(now-window" keeps the bound itself out.
std::string WindowDropBound(int64_t now_ms, int64_t window_ms);

class SlidingWindowRateLimiter {
 public:
  // `now_ms` defaults to the system clock; tests pass their own.
  SlidingWindowRateLimiter(HttpRedis& redis, std::string prefix, int64_t limit, std::chrono::milliseconds window,
                           std::function<int64_t()> now_ms = {});

  StatusOr<RateLimitDecision> Check(const std::string& key);

 private:
  HttpRedis& redis_;
  std::string prefix_;
  int64_t limit_;
  int64_t window_ms_;
  std::function<int64_t()> now_ms_;
};

}  // namespace stratus::sdk
