#include "tasks/engine/retry.h"

#include <algorithm>
#include <cmath>

namespace stratus {

Micros RetryDelay(const RetryConfig& c, int k) {
  const double min = static_cast<double>(c.min_backoff);
  const double max = static_cast<double>(c.max_backoff);
  const int d = std::max(0, c.max_doublings);
  double delay;
  if (k <= d) {
    delay = min * std::ldexp(1.0, std::min(k, 1000));
  } else {
    delay = min * std::ldexp(1.0, std::min(d, 1000)) * static_cast<double>(k - d + 1);
  }
  return static_cast<Micros>(std::min(delay, max));
}

bool MayRetry(const RetryConfig& c, int attempts_made, Micros first_attempt, Micros now) {
  const bool attempts_spent = c.max_attempts != -1 && attempts_made >= c.max_attempts;
  const bool duration_spent = c.max_retry_duration <= 0 || now - first_attempt >= c.max_retry_duration;
  return !(attempts_spent && duration_spent);
}

Code RpcCodeForHttpStatus(int s) {
  if (s >= 200 && s < 300) return Code::kOk;
  switch (s) {
    case 400:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kAborted;
    case 416:
      return Code::kOutOfRange;
    case 429:
      return Code::kResourceExhausted;
    case 499:
      return Code::kCancelled;
    case 501:
      return Code::kUnimplemented;
    case 503:
      return Code::kUnavailable;
    case 504:
      return Code::kDeadlineExceeded;
    default:
      break;
  }
  if (s >= 400 && s < 500) return Code::kFailedPrecondition;
  if (s >= 500) return Code::kInternal;
  return Code::kUnknown;  // 1xx/3xx: not a success for Cloud Tasks
}

bool IsThrottlingStatus(int s) {
  return s == 429 || s >= 500;
}

}  // namespace stratus
