// The sliding-window rate limiter's pure parts: the decision for a count and the bound of
// the ZREMRANGEBYSCORE that drops old requests.
#include <gtest/gtest.h>

#include "stratus/sdk/rate_limiter.h"

namespace stratus::sdk {
namespace {

TEST(SdkRateLimiterDecision, CountEqualToLimitIsAllowed) {
  auto d = DecideRateLimit(5, 5);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.count, 5);
  EXPECT_EQ(d.limit, 5);
  EXPECT_EQ(d.remaining, 0);
}

TEST(SdkRateLimiterDecision, OneOverTheLimitIsRefused) {
  auto d = DecideRateLimit(6, 5);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.count, 6);
  EXPECT_EQ(d.remaining, 0);
}

TEST(SdkRateLimiterDecision, FirstRequestLeavesTheRest) {
  auto d = DecideRateLimit(1, 5);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 4);
}

TEST(SdkRateLimiterDecision, RemainingNeverNegative) {
  for (int64_t count : {6, 10, 1000}) {
    auto d = DecideRateLimit(count, 5);
    EXPECT_FALSE(d.allowed) << count;
    EXPECT_EQ(d.remaining, 0) << count;
  }
}

TEST(SdkRateLimiterDecision, ZeroLimitRefusesEverything) {
  auto d = DecideRateLimit(1, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
}

TEST(SdkRateLimiterDropBound, IsExclusiveNowMinusWindow) {
  EXPECT_EQ(WindowDropBound(10'000, 1'000), "(9000");
  EXPECT_EQ(WindowDropBound(1'732'000'000'123, 60'000), "(1731999940123");
}

TEST(SdkRateLimiterDropBound, MayBeNegativeNearTheEpoch) {
  EXPECT_EQ(WindowDropBound(500, 1'000), "(-500");
}

}  // namespace
}  // namespace stratus::sdk
