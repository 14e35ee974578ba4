// The decisions of one attempt (tasks/engine/outcome.h): success, retry time, dead letter,
// what is recorded, and the queue's slow-down and recovery curve. Plain values, no I/O.
#include <gtest/gtest.h>

#include "common/time.h"
#include "tasks/engine/outcome.h"
#include "tasks/engine/retry.h"

namespace stratus {
namespace {

constexpr Micros kSec = kMicrosPerSecond;
constexpr Micros kT0 = 1'800'000'000LL * kSec;
using Outcome = AttemptFinish::Outcome;

Queue MakeQueue() {
  Queue q;
  q.name = "projects/p/locations/l/queues/q";
  q.retry_config.min_backoff = 1 * kSec;
  q.retry_config.max_backoff = 100 * kSec;
  q.retry_config.max_doublings = 3;
  q.retry_config.max_attempts = 5;
  return q;
}

// A task as AttemptStart leaves it before its `dispatch_count`-th attempt, first tried at kT0.
Task Started(int dispatch_count, Micros dispatched_at) {
  Task t;
  t.name = "projects/p/locations/l/queues/q/tasks/t";
  t.dispatch_count = dispatch_count;
  t.schedule_time = dispatched_at;
  t.first_attempt = Attempt{0, kT0, 0, std::nullopt};
  t.last_attempt = Attempt{dispatched_at, dispatched_at, 0, std::nullopt};
  return t;
}

http::ClientResult Answer(int status, std::map<std::string, std::string> headers = {}, std::string body = "") {
  http::ClientResult r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

http::ClientResult Failure(http::ClientResult::Failure f, std::string error = "") {
  http::ClientResult r;
  r.failure = f;
  r.error = std::move(error);
  return r;
}

TEST(EngineOutcome, TwoHundredsSucceed) {
  for (int status : {200, 201, 204, 299}) {
    auto f = DecideOutcome(MakeQueue(), Started(1, kT0), Answer(status), kT0 + 5);
    EXPECT_EQ(f.outcome, Outcome::kSucceeded) << status;
    EXPECT_TRUE(f.attempt.response_status->ok());
    EXPECT_EQ(f.attempt.response_time, kT0 + 5);
    EXPECT_EQ(f.attempt.dispatch_time, kT0);
    EXPECT_EQ(f.http_status, status);
    EXPECT_TRUE(f.got_response);
    EXPECT_EQ(f.dispatch_count, 1);
  }
}

TEST(EngineOutcome, EveryOtherAnswerIsRetriedAtTheBackoff) {
  // 3xx, every 4xx, 5xx: failed attempts, retried after min·2^(dispatchCount-1).
  for (int status : {302, 400, 404, 410, 429, 500, 503}) {
    const Micros end = kT0 + 250'000;
    auto f = DecideOutcome(MakeQueue(), Started(1, kT0), Answer(status), end);
    EXPECT_EQ(f.outcome, Outcome::kRetry) << status;
    EXPECT_EQ(f.next_schedule_time, end + 1 * kSec) << status;
    EXPECT_EQ(f.attempt.response_status->code(), RpcCodeForHttpStatus(status));
    EXPECT_EQ(f.attempt.response_status->message(), "HTTP status code " + std::to_string(status));
    EXPECT_TRUE(f.response_body.empty()) << "only dead letters keep the response";
  }
}

TEST(EngineOutcome, RetryTimeFollowsTheDispatchCount) {
  // dispatchCount n is retry n-1: 1, 2, 4, 8 s, then linear 16, 24 s (D = 3).
  const std::vector<Micros> want = {1, 2, 4, 8, 16, 24};
  Queue q = MakeQueue();
  q.retry_config.max_attempts = 100;
  for (size_t n = 1; n <= want.size(); ++n) {
    const Micros end = kT0 + 1000 * kSec;
    auto f = DecideOutcome(q, Started(static_cast<int>(n), end - 1), Answer(500), end);
    ASSERT_EQ(f.outcome, Outcome::kRetry);
    EXPECT_EQ(f.next_schedule_time - end, want[n - 1] * kSec) << "attempt " << n;
  }
}

TEST(EngineOutcome, RetryAfterLongerThanTheBackoffWins) {
  auto f = DecideOutcome(MakeQueue(), Started(1, kT0), Answer(503, {{"Retry-After", "7"}}), kT0);
  EXPECT_EQ(f.next_schedule_time, kT0 + 7 * kSec);
  f = DecideOutcome(MakeQueue(), Started(1, kT0), Answer(429, {{"retry-after", "0"}}), kT0);
  EXPECT_EQ(f.next_schedule_time, kT0 + 1 * kSec) << "the backoff when Retry-After is shorter";
  f = DecideOutcome(MakeQueue(), Started(1, kT0), Answer(503, {{"Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT"}}), kT0);
  EXPECT_EQ(f.next_schedule_time, kT0 + 1 * kSec) << "HTTP-dates are not honoured";
}

TEST(EngineOutcome, TimeoutIsA504WithoutAResponse) {
  auto f = DecideOutcome(MakeQueue(), Started(2, kT0), Failure(http::ClientResult::Failure::kTimeout, "deadline"),
                         kT0 + 10 * kSec);
  EXPECT_EQ(f.outcome, Outcome::kRetry);
  EXPECT_EQ(f.http_status, 504);
  EXPECT_FALSE(f.got_response);
  EXPECT_EQ(f.attempt.response_status->code(), Code::kDeadlineExceeded);
  EXPECT_EQ(f.next_schedule_time, kT0 + 12 * kSec);
}

TEST(EngineOutcome, ConnectionFailuresAndRefusalsRecordNoStatus) {
  auto f = DecideOutcome(MakeQueue(), Started(1, kT0), Failure(http::ClientResult::Failure::kConnect, "refused"), kT0);
  EXPECT_EQ(f.http_status, 0);
  EXPECT_FALSE(f.got_response);
  EXPECT_EQ(f.attempt.response_status->code(), Code::kUnavailable);
  EXPECT_EQ(f.attempt.response_status->message(), "refused");
  f = DecideOutcome(MakeQueue(), Started(1, kT0), Failure(http::ClientResult::Failure::kRefused, "policy"), kT0);
  EXPECT_EQ(f.attempt.response_status->code(), Code::kPermissionDenied);
  EXPECT_EQ(f.outcome, Outcome::kRetry);
}

TEST(EngineOutcome, PermanentFailureStatusesDeadLetterAtOnce) {
  Queue q = MakeQueue();
  q.stratus.permanent_failure_statuses = {422};
  std::string body(3000, 'x');
  auto f = DecideOutcome(q, Started(1, kT0), Answer(422, {{"X-Why", "bad"}}, body), kT0);
  EXPECT_EQ(f.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(f.dead_reason, "permanent failure status 422");
  EXPECT_EQ(f.response_headers.at("X-Why"), "bad");
  EXPECT_EQ(f.response_body.size(), 1024u) << "the first KB is kept";
  EXPECT_EQ(DecideOutcome(q, Started(1, kT0), Answer(423), kT0).outcome, Outcome::kRetry);
}

TEST(EngineOutcome, MaxAttemptsEndsInADeadLetter) {
  Queue q = MakeQueue();  // maxAttempts 5, no duration
  EXPECT_EQ(DecideOutcome(q, Started(4, kT0), Answer(500), kT0).outcome, Outcome::kRetry);
  auto f = DecideOutcome(q, Started(5, kT0), Answer(500), kT0);
  EXPECT_EQ(f.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(f.dead_reason, "retries exhausted after 5 attempts");
}

TEST(EngineOutcome, MaxRetryDurationIsMeasuredFromTheFirstAttempt) {
  Queue q = MakeQueue();
  q.retry_config.max_attempts = 2;
  q.retry_config.max_retry_duration = 30 * kSec;
  // Attempts spent, 29 s since the first attempt: retried.
  EXPECT_EQ(DecideOutcome(q, Started(6, kT0 + 29 * kSec), Answer(500), kT0 + 29 * kSec).outcome, Outcome::kRetry);
  // Both spent: dead letter, even though this attempt was dispatched a moment ago.
  auto f = DecideOutcome(q, Started(7, kT0 + 30 * kSec), Answer(500), kT0 + 30 * kSec);
  EXPECT_EQ(f.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(f.dead_reason, "retries exhausted after 7 attempts");
  // Duration spent, attempts left: retried.
  EXPECT_EQ(DecideOutcome(q, Started(1, kT0), Answer(500), kT0 + 3600 * kSec).outcome, Outcome::kRetry);
}

TEST(EngineOutcome, UnlimitedAttemptsNeverDeadLetter) {
  Queue q = MakeQueue();
  q.retry_config.max_attempts = -1;
  auto f = DecideOutcome(q, Started(100'000, kT0), Answer(500), kT0 + 86400 * kSec);
  EXPECT_EQ(f.outcome, Outcome::kRetry);
  EXPECT_EQ(f.next_schedule_time, kT0 + 86400 * kSec + 100 * kSec) << "capped at maxBackoff";
}

TEST(EngineOutcome, FailureClassesAndRetryAfter) {
  EXPECT_EQ(FailureClass(Answer(503)), "5xx");
  EXPECT_EQ(FailureClass(Answer(404)), "4xx");
  EXPECT_EQ(FailureClass(Answer(302)), "3xx");
  EXPECT_EQ(FailureClass(Failure(http::ClientResult::Failure::kTimeout)), "timeout");
  EXPECT_EQ(FailureClass(Failure(http::ClientResult::Failure::kConnect)), "connection");
  EXPECT_EQ(RetryAfterOf(Answer(429, {{"RETRY-AFTER", "12"}})), 12 * kSec);
  EXPECT_EQ(RetryAfterOf(Answer(429, {{"Retry-After", "-3"}})), 0);
  EXPECT_EQ(RetryAfterOf(Answer(429)), 0);
}

// --- the slow-down and recovery curve ---

RateLimits Limits(double rate) {
  RateLimits l;
  l.max_dispatches_per_second = rate;
  return l;
}

constexpr Micros kMaxHold = 60 * kSec;

TEST(EngineThrottle, FiveHundredsHalveTheRateDownToOneSixtyFourth) {
  const RateLimits l = Limits(512);
  Throttle t{512, 0};
  std::vector<double> rates;
  for (int i = 0; i < 8; ++i) {
    t = AdaptThrottle(t, l, Answer(i % 2 ? 500 : 503), kT0, kMaxHold);
    rates.push_back(t.rate);
  }
  // 256, 128, 64, 32, 16, 8, then the floor 512/64 = 8 holds.
  std::vector<double> want = {256, 128, 64, 32, 16, 8, 8, 8};
  EXPECT_EQ(rates, want);
  EXPECT_EQ(t.hold_until, 0) << "no Retry-After: no hold";
}

TEST(EngineThrottle, SuccessesRestoreTheRateInThirtySecondSteps) {
  const RateLimits l = Limits(320);
  Throttle t{5, 0};  // the floor
  std::vector<double> rates;
  for (int i = 0; i < 34; ++i) {
    t = AdaptThrottle(t, l, Answer(200), kT0, kMaxHold);
    rates.push_back(t.rate);
  }
  EXPECT_DOUBLE_EQ(rates[0], 15);  // 5 + 320/32
  EXPECT_DOUBLE_EQ(rates[1], 25);
  EXPECT_DOUBLE_EQ(rates[30], 315);
  EXPECT_DOUBLE_EQ(rates[31], 320);  // capped at the configured rate
  EXPECT_DOUBLE_EQ(rates[33], 320);
}

TEST(EngineThrottle, RetryAfterOn429Or503HoldsTheQueueInstead) {
  const RateLimits l = Limits(100);
  Throttle t{100, 0};
  t = AdaptThrottle(t, l, Answer(429, {{"Retry-After", "5"}}), kT0, kMaxHold);
  EXPECT_EQ(t, (Throttle{100, kT0 + 5 * kSec}));
  // A shorter hold later does not shorten it; a longer one extends it, up to max_hold.
  t = AdaptThrottle(t, l, Answer(503, {{"Retry-After", "1"}}), kT0 + 1 * kSec, kMaxHold);
  EXPECT_EQ(t.hold_until, kT0 + 5 * kSec);
  t = AdaptThrottle(t, l, Answer(503, {{"Retry-After", "3600"}}), kT0 + 2 * kSec, kMaxHold);
  EXPECT_EQ(t.hold_until, kT0 + 2 * kSec + kMaxHold);
  EXPECT_EQ(t.rate, 100);
  // A 500 with Retry-After slows the rate instead of holding.
  Throttle u = AdaptThrottle(Throttle{100, 0}, l, Answer(500, {{"Retry-After", "5"}}), kT0, kMaxHold);
  EXPECT_EQ(u, (Throttle{50, 0}));
}

TEST(EngineThrottle, FourHundredsTimeoutsAndConnectionErrorsLeaveItAlone) {
  const RateLimits l = Limits(100);
  const Throttle t{40, 7};
  EXPECT_EQ(AdaptThrottle(t, l, Answer(404), kT0, kMaxHold), t);
  EXPECT_EQ(AdaptThrottle(t, l, Answer(302), kT0, kMaxHold), t);
  EXPECT_EQ(AdaptThrottle(t, l, Failure(http::ClientResult::Failure::kTimeout), kT0, kMaxHold), t);
  EXPECT_EQ(AdaptThrottle(t, l, Failure(http::ClientResult::Failure::kConnect), kT0, kMaxHold), t);
}

}  // namespace
}  // namespace stratus
