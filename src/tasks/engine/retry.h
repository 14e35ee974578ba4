// Cloud Tasks' retry rules, as pure functions.
#pragma once

#include "stratus/model.h"

namespace stratus {

// Delay before retry number `k` (0 for the first retry): min·2^k while k ≤ maxDoublings, then
// min·2^maxDoublings·(k − maxDoublings + 1), capped at maxBackoff. Microsecond precision:
// stratus honours sub-second backoffs where Google truncates to whole seconds.
Micros RetryDelay(const RetryConfig& config, int k);

// Whether another attempt may follow. Retries stop once the task was attempted maxAttempts
// times AND maxRetryDuration (when set) has passed since its first attempt; −1 attempts
// means no attempt limit.
bool MayRetry(const RetryConfig& config, int attempts_made, Micros first_attempt, Micros now);

// The google.rpc code Cloud Tasks records in lastAttempt.responseStatus for an HTTP status.
Code RpcCodeForHttpStatus(int http_status);

// True for the answers that slow the whole queue down (429, 503 and other 5xx).
bool IsThrottlingStatus(int http_status);

}  // namespace stratus
