// Cloud Tasks' retry rules (tasks/engine/retry.h): the backoff formula and when retries stop,
// checked against the numbers Google documents.
#include <gtest/gtest.h>

#include <vector>

#include "common/time.h"
#include "tasks/engine/retry.h"

namespace stratus {
namespace {

constexpr Micros kSec = kMicrosPerSecond;

RetryConfig Config(Micros min, Micros max, int doublings) {
  RetryConfig c;
  c.min_backoff = min;
  c.max_backoff = max;
  c.max_doublings = doublings;
  return c;
}

std::vector<Micros> Delays(const RetryConfig& c, int n) {
  std::vector<Micros> out;
  for (int k = 0; k < n; ++k) out.push_back(RetryDelay(c, k));
  return out;
}

TEST(EngineRetryDelay, GooglesDocumentedExample) {
  // min 10 s, max 300 s, maxDoublings 3: doubling three times, then linear, then capped.
  auto c = Config(10 * kSec, 300 * kSec, 3);
  std::vector<Micros> want = {10 * kSec,  20 * kSec,  40 * kSec,  80 * kSec,
                              160 * kSec, 240 * kSec, 300 * kSec, 300 * kSec};
  EXPECT_EQ(Delays(c, 8), want);
}

TEST(EngineRetryDelay, LinearPhaseAddsTheLastDoubledDelayEachRetry) {
  // min 1 s, D 2: 1, 2, 4, then 4·2 = 8, 4·3 = 12, 4·4 = 16 (max far away).
  auto c = Config(1 * kSec, 1000 * kSec, 2);
  std::vector<Micros> want = {1 * kSec, 2 * kSec, 4 * kSec, 8 * kSec, 12 * kSec, 16 * kSec};
  EXPECT_EQ(Delays(c, 6), want);
}

TEST(EngineRetryDelay, DefaultsDoubleSixteenTimesFromATenthOfASecondUpToAnHour) {
  RetryConfig c;  // minBackoff 0.1 s, maxBackoff 3600 s, maxDoublings 16
  EXPECT_EQ(c.min_backoff, 100'000);
  EXPECT_EQ(c.max_backoff, 3600 * kSec);
  EXPECT_EQ(c.max_doublings, 16);
  EXPECT_EQ(c.max_attempts, 100);
  EXPECT_EQ(RetryDelay(c, 0), 100'000);
  EXPECT_EQ(RetryDelay(c, 1), 200'000);
  EXPECT_EQ(RetryDelay(c, 10), 102'400'000);   // 0.1 s · 2^10
  EXPECT_EQ(RetryDelay(c, 15), 3276'800'000);  // 0.1 s · 2^15 = 3276.8 s
  EXPECT_EQ(RetryDelay(c, 16), 3600 * kSec);   // 6553.6 s, capped
  EXPECT_EQ(RetryDelay(c, 500), 3600 * kSec);
}

TEST(EngineRetryDelay, SubSecondBackoffsKeepMicroseconds) {
  // Google truncates to whole seconds; stratus keeps sub-second backoffs exact.
  auto c = Config(20'000, 50'000, 16);  // 0.02 s .. 0.05 s
  std::vector<Micros> want = {20'000, 40'000, 50'000, 50'000};
  EXPECT_EQ(Delays(c, 4), want);
  auto odd = Config(1'500, 1 * kSec, 1);  // 1.5 ms, one doubling, then linear
  std::vector<Micros> odd_want = {1'500, 3'000, 6'000, 9'000};
  EXPECT_EQ(Delays(odd, 4), odd_want);
}

TEST(EngineRetryDelay, ZeroDoublingsIsLinearFromTheStart) {
  auto c = Config(5 * kSec, 100 * kSec, 0);
  std::vector<Micros> want = {5 * kSec, 10 * kSec, 15 * kSec, 20 * kSec};
  EXPECT_EQ(Delays(c, 4), want);
}

TEST(EngineRetryDelay, HugeRetryNumbersStayCapped) {
  auto c = Config(1 * kSec, 60 * kSec, 16);
  EXPECT_EQ(RetryDelay(c, 1'000'000), 60 * kSec);
  EXPECT_EQ(RetryDelay(Config(1 * kSec, 60 * kSec, 5000), 3000), 60 * kSec);
}

TEST(EngineMayRetry, AttemptLimitAloneWhenNoDurationIsSet) {
  RetryConfig c;
  c.max_attempts = 3;
  const Micros first = 1000 * kSec;
  EXPECT_TRUE(MayRetry(c, 1, first, first));
  EXPECT_TRUE(MayRetry(c, 2, first, first + 10 * kSec));
  EXPECT_FALSE(MayRetry(c, 3, first, first + 10 * kSec));  // three attempts made: no fourth
  EXPECT_FALSE(MayRetry(c, 4, first, first));
}

TEST(EngineMayRetry, BothLimitsMustBeSpentToStop) {
  // maxAttempts 3 AND maxRetryDuration 60 s: retries go on until both are exceeded.
  RetryConfig c;
  c.max_attempts = 3;
  c.max_retry_duration = 60 * kSec;
  const Micros first = 1000 * kSec;
  EXPECT_TRUE(MayRetry(c, 2, first, first + 100 * kSec)) << "duration spent, attempts left";
  EXPECT_TRUE(MayRetry(c, 10, first, first + 59 * kSec)) << "attempts spent, duration left";
  EXPECT_FALSE(MayRetry(c, 3, first, first + 60 * kSec)) << "both spent";
  EXPECT_FALSE(MayRetry(c, 5, first, first + 61 * kSec));
  EXPECT_TRUE(MayRetry(c, 3, first, first + 60 * kSec - 1));
}

TEST(EngineMayRetry, MinusOneAttemptsIsUnlimited) {
  RetryConfig c;
  c.max_attempts = -1;
  const Micros first = 1000 * kSec;
  EXPECT_TRUE(MayRetry(c, 1'000'000, first, first + 365 * 86400 * kSec));
  // Both limits must be spent; -1 attempts never is, so a duration alone does not stop it.
  c.max_retry_duration = 10 * kSec;
  EXPECT_TRUE(MayRetry(c, 1'000'000, first, first + 3600 * kSec));
}

TEST(EngineRpcCode, HttpStatusesMapToGoogleRpcCodes) {
  EXPECT_EQ(RpcCodeForHttpStatus(200), Code::kOk);
  EXPECT_EQ(RpcCodeForHttpStatus(204), Code::kOk);
  EXPECT_EQ(RpcCodeForHttpStatus(404), Code::kNotFound);
  EXPECT_EQ(RpcCodeForHttpStatus(429), Code::kResourceExhausted);
  EXPECT_EQ(RpcCodeForHttpStatus(503), Code::kUnavailable);
  EXPECT_EQ(RpcCodeForHttpStatus(500), Code::kInternal);
  EXPECT_EQ(RpcCodeForHttpStatus(418), Code::kFailedPrecondition);
  EXPECT_EQ(RpcCodeForHttpStatus(302), Code::kUnknown);
}

}  // namespace
}  // namespace stratus
