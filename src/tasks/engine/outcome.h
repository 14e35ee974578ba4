// The decisions of one delivery attempt, as pure functions of plain values: what the answer
// means (success, retry at which time, dead letter), how it slows or restores the queue, and
// how it is counted. runner.cc does the I/O around them; tests/unit/engine_*_test.cc test them.
#pragma once

#include <string>

#include "http/client.h"
#include "stratus/model.h"
#include "stratus/store.h"

namespace stratus {

// The HTTP status an answer stands for: the response's status, 504 after the deadline, 0 when
// there was no response (connection error, refused request).
int HttpStatusOf(const http::ClientResult& result);

// The class a failed attempt is counted under in stratus_task_attempts_failed_total
// ("3xx", "4xx", "5xx", "timeout", "connection").
std::string FailureClass(const http::ClientResult& result);

// A Retry-After response header as delta-seconds; 0 when absent or not a number (HTTP-dates are
// not honoured: docs/delivery.md says so).
Micros RetryAfterOf(const http::ClientResult& result);

// How the attempt `task` (as AttemptStart left it: dispatchCount counts this attempt) that got
// `result` ends, decided at `now` (the end of the attempt):
//  * a 2xx: kSucceeded;
//  * a status the queue lists in permanentFailureStatuses: kDeadLetter;
//  * retries exhausted (MayRetry: maxAttempts AND maxRetryDuration spent): kDeadLetter;
//  * otherwise kRetry at now + max(RetryDelay(dispatchCount - 1), Retry-After).
// Also fills lastAttempt (responseTime, responseStatus), httpStatus, gotResponse, the dead
// letter's headers and first KB of body, and the dispatch count the store checks.
AttemptFinish DecideOutcome(const Queue& queue, const Task& task, const http::ClientResult& result, Micros now);

// A queue's slow-down state: the effective dispatch rate and a pause of the whole queue.
struct Throttle {
  double rate = 0;        // dispatches per second, at most the configured rate
  Micros hold_until = 0;  // no dispatch before this (a Retry-After)
  bool operator==(const Throttle&) const = default;
};

// What an answer does to the queue's throttle, at `now`:
//  * 429 or 503 with a Retry-After: hold the queue for it (at most `max_hold`), rate unchanged;
//  * 429, 503 without one, and other 5xx: the rate halves, down to 1/64 of the configured rate;
//  * a 2xx while slowed down: the rate climbs back by 1/32 of the configured rate;
//  * anything else (4xx, 3xx, no response): unchanged.
Throttle AdaptThrottle(Throttle state, const RateLimits& limits, const http::ClientResult& result, Micros now,
                       Micros max_hold);

}  // namespace stratus
