#include "tasks/engine/outcome.h"

#include <algorithm>
#include <charconv>

#include "common/time.h"
#include "tasks/engine/retry.h"

namespace stratus {
namespace {

constexpr size_t kDeadLetterBodyBytes = 1024;

bool Responded(const http::ClientResult& r) {
  return r.failure == http::ClientResult::Failure::kNone;
}

}  // namespace

int HttpStatusOf(const http::ClientResult& r) {
  if (Responded(r)) return r.status;
  return r.failure == http::ClientResult::Failure::kTimeout ? 504 : 0;
}

std::string FailureClass(const http::ClientResult& r) {
  if (r.failure == http::ClientResult::Failure::kTimeout) return "timeout";
  if (!Responded(r)) return "connection";
  return std::to_string(r.status / 100) + "xx";
}

Micros RetryAfterOf(const http::ClientResult& r) {
  for (const auto& [k, v] : r.headers) {
    if (!beast::iequals(beast::string_view(k.data(), k.size()), "retry-after")) continue;
    int64_t secs = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec == std::errc() && secs >= 0) return secs * kMicrosPerSecond;
  }
  return 0;
}

AttemptFinish DecideOutcome(const Queue& queue, const Task& task, const http::ClientResult& result, Micros now) {
  const bool responded = Responded(result);
  const bool timed_out = result.failure == http::ClientResult::Failure::kTimeout;
  const int status = HttpStatusOf(result);
  const bool success = responded && status >= 200 && status < 300;

  AttemptFinish finish;
  finish.name = task.name;
  if (task.last_attempt) finish.attempt = *task.last_attempt;
  finish.attempt.response_time = now;
  finish.http_status = status;
  finish.got_response = responded;
  finish.dispatch_count = task.dispatch_count;
  if (success) {
    finish.attempt.response_status = Status();
  } else if (responded) {
    finish.attempt.response_status = Status(RpcCodeForHttpStatus(status), "HTTP status code " + std::to_string(status));
  } else {
    // Refused: nothing was sent (a malformed request, or a target the policy denies).
    const bool refused = result.failure == http::ClientResult::Failure::kRefused;
    finish.attempt.response_status =
        Status(timed_out ? Code::kDeadlineExceeded : (refused ? Code::kPermissionDenied : Code::kUnavailable),
               result.error.empty() ? "no response" : result.error);
  }

  const auto& permanent = queue.stratus.permanent_failure_statuses;
  Micros first = now;
  if (task.first_attempt) {
    first = task.first_attempt->dispatch_time;
  } else if (task.last_attempt) {
    first = task.last_attempt->dispatch_time;
  }
  if (success) {
    finish.outcome = AttemptFinish::Outcome::kSucceeded;
  } else if (responded && std::find(permanent.begin(), permanent.end(), status) != permanent.end()) {
    finish.outcome = AttemptFinish::Outcome::kDeadLetter;
    finish.dead_reason = "permanent failure status " + std::to_string(status);
  } else if (!MayRetry(queue.retry_config, task.dispatch_count, first, now)) {
    finish.outcome = AttemptFinish::Outcome::kDeadLetter;
    finish.dead_reason = "retries exhausted after " + std::to_string(task.dispatch_count) + " attempts";
  } else {
    finish.outcome = AttemptFinish::Outcome::kRetry;
    const Micros delay = RetryDelay(queue.retry_config, task.dispatch_count - 1);
    finish.next_schedule_time = now + std::max(delay, RetryAfterOf(result));
  }
  if (finish.outcome == AttemptFinish::Outcome::kDeadLetter) {
    finish.response_headers = result.headers;
    finish.response_body = result.body.substr(0, kDeadLetterBodyBytes);
  }
  return finish;
}

Throttle AdaptThrottle(Throttle s, const RateLimits& limits, const http::ClientResult& result, Micros now,
                       Micros max_hold) {
  const double configured = limits.max_dispatches_per_second;
  const int status = Responded(result) ? result.status : 0;
  if (status >= 200 && status < 300) {
    if (s.rate < configured) s.rate = std::min(configured, s.rate + configured / 32.0);
    return s;
  }
  if (!Responded(result) || !IsThrottlingStatus(status)) return s;
  const Micros retry_after = RetryAfterOf(result);
  if (retry_after > 0 && (status == 429 || status == 503)) {
    s.hold_until = std::max(s.hold_until, now + std::min(retry_after, max_hold));
  } else {
    s.rate = std::max(configured / 64.0, s.rate / 2.0);
  }
  return s;
}

}  // namespace stratus
