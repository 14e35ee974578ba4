// SlidingWindowRateLimiter: one multi-exec per check (algorithm in rate_limiter.h).
#include "stratus/sdk/rate_limiter.h"

#include <algorithm>
#include <cstdio>
#include <random>

namespace stratus::sdk {

namespace {

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A sorted-set member unique across threads and instances, even for requests in the same ms.
std::string UniqueMember(int64_t now_ms) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
  return std::to_string(now_ms) + "-" + suffix;
}

}  // namespace

RateLimitDecision DecideRateLimit(int64_t count, int64_t limit) {
  RateLimitDecision d;
  d.count = count;
  d.limit = limit;
  d.allowed = count <= limit;
  d.remaining = std::max<int64_t>(0, limit - count);
  return d;
}

std::string WindowDropBound(int64_t now_ms, int64_t window_ms) {
  return "(" + std::to_string(now_ms - window_ms);
}

SlidingWindowRateLimiter::SlidingWindowRateLimiter(HttpRedis& redis, std::string prefix, int64_t limit,
                                                   std::chrono::milliseconds window, std::function<int64_t()> now_ms)
    : redis_(redis),
      prefix_(std::move(prefix)),
      limit_(limit),
      window_ms_(window.count()),
      now_ms_(now_ms ? std::move(now_ms) : std::function<int64_t()>(SystemNowMs)) {}

StatusOr<RateLimitDecision> SlidingWindowRateLimiter::Check(const std::string& key) {
  const std::string full_key = prefix_ + key;
  const int64_t now = now_ms_();
  const std::string window = std::to_string(window_ms_);
  STRATUS_ASSIGN_OR_RETURN(auto replies, redis_.MultiExec({
                                             {"ZREMRANGEBYSCORE", full_key, "-inf", WindowDropBound(now, window_ms_)},
                                             {"ZADD", full_key, std::to_string(now), UniqueMember(now)},
                                             {"ZCARD", full_key},
                                             {"PEXPIRE", full_key, window},
                                         }));
  for (const auto& reply : replies) STRATUS_RETURN_IF_ERROR(reply.status());
  const auto& count = *replies[2];
  if (!count.is_number_integer()) return Internal("unexpected ZCARD reply in the rate limiter");
  return DecideRateLimit(count.get<int64_t>(), limit_);
}

}  // namespace stratus::sdk
