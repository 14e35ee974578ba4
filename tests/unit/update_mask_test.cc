#include <gtest/gtest.h>

#include "tasks/codec.h"
#include "tasks/service.h"
#include "tasks/validation.h"

namespace stratus {
namespace {

// A request queue where every updatable field differs from the defaults.
Queue Request() {
  Queue q;
  q.rate_limits = {7, 0, 8};
  q.retry_config = {9, 10 * kMicrosPerSecond, 2 * kMicrosPerSecond, 20 * kMicrosPerSecond, 3};
  q.logging_sampling_ratio = 0.5;
  q.http_target = HttpTarget{};
  q.http_target->http_method = HttpMethod::kPut;
  q.app_engine_routing_override = AppEngineRouting{"s", "", "", ""};
  q.state = QueueState::kPaused;
  q.name = "projects/p/locations/l/queues/other";
  return q;
}

Queue Current() {
  Queue q;
  q.name = "projects/p/locations/l/queues/q";
  ApplyQueueDefaults(&q);
  return q;
}

TEST(ApplyUpdateMask, EmptyMaskCopiesEveryConfigFieldButNotNameOrState) {
  Queue to = Current();
  ASSERT_TRUE(ApplyUpdateMask(Request(), "", &to).ok());
  EXPECT_EQ(to.name, "projects/p/locations/l/queues/q");
  EXPECT_EQ(to.state, QueueState::kRunning);
  EXPECT_EQ(to.rate_limits.max_dispatches_per_second, 7);
  EXPECT_EQ(to.rate_limits.max_concurrent_dispatches, 8);
  EXPECT_EQ(to.retry_config.max_attempts, 9);
  EXPECT_EQ(to.retry_config.max_retry_duration, 10 * kMicrosPerSecond);
  EXPECT_EQ(to.retry_config.min_backoff, 2 * kMicrosPerSecond);
  EXPECT_EQ(to.retry_config.max_backoff, 20 * kMicrosPerSecond);
  EXPECT_EQ(to.retry_config.max_doublings, 3);
  EXPECT_EQ(to.logging_sampling_ratio, 0.5);
  EXPECT_EQ(to.http_target, Request().http_target);
  EXPECT_EQ(to.app_engine_routing_override, Request().app_engine_routing_override);
}

TEST(ApplyUpdateMask, OneLeafTouchesOnlyThatField) {
  Queue to = Current();
  ASSERT_TRUE(ApplyUpdateMask(Request(), "rateLimits.maxDispatchesPerSecond", &to).ok());
  EXPECT_EQ(to.rate_limits.max_dispatches_per_second, 7);
  EXPECT_EQ(to.rate_limits.max_concurrent_dispatches, 1000);
  EXPECT_EQ(to.retry_config.max_attempts, 100);
  EXPECT_FALSE(to.http_target.has_value());
}

TEST(ApplyUpdateMask, SnakeCaseAndSpacesAreAccepted) {
  Queue to = Current();
  ASSERT_TRUE(
      ApplyUpdateMask(Request(), " retry_config.max_attempts , rate_limits.max_concurrent_dispatches", &to).ok());
  EXPECT_EQ(to.retry_config.max_attempts, 9);
  EXPECT_EQ(to.rate_limits.max_concurrent_dispatches, 8);
  EXPECT_EQ(to.rate_limits.max_dispatches_per_second, 500);
  EXPECT_EQ(to.retry_config.max_doublings, 16);
}

TEST(ApplyUpdateMask, AParentPathCoversItsLeaves) {
  Queue to = Current();
  ASSERT_TRUE(ApplyUpdateMask(Request(), "retryConfig", &to).ok());
  EXPECT_EQ(to.retry_config.max_attempts, 9);
  EXPECT_EQ(to.retry_config.max_retry_duration, 10 * kMicrosPerSecond);
  EXPECT_EQ(to.retry_config.min_backoff, 2 * kMicrosPerSecond);
  EXPECT_EQ(to.retry_config.max_backoff, 20 * kMicrosPerSecond);
  EXPECT_EQ(to.retry_config.max_doublings, 3);
  EXPECT_EQ(to.rate_limits.max_dispatches_per_second, 500);

  Queue log = Current();
  ASSERT_TRUE(ApplyUpdateMask(Request(), "stackdriverLoggingConfig", &log).ok());
  EXPECT_EQ(log.logging_sampling_ratio, 0.5);
}

TEST(ApplyUpdateMask, SubPathsOfHttpTargetCopyTheWholeTarget) {
  // gcloud sends e.g. "httpTarget.oidcToken.audience".
  Queue to = Current();
  ASSERT_TRUE(ApplyUpdateMask(Request(), "httpTarget.oidcToken.audience", &to).ok());
  EXPECT_EQ(to.http_target, Request().http_target);
  EXPECT_FALSE(to.app_engine_routing_override.has_value());
  Queue gae = Current();
  ASSERT_TRUE(ApplyUpdateMask(Request(), "app_engine_routing_override.service", &gae).ok());
  EXPECT_EQ(gae.app_engine_routing_override, Request().app_engine_routing_override);
}

TEST(ApplyUpdateMask, MaxBurstSizeIsAcceptedButOutputOnly) {
  Queue to = Current();
  Queue from = Request();
  from.rate_limits.max_burst_size = 77;
  ASSERT_TRUE(ApplyUpdateMask(from, "rateLimits.maxBurstSize", &to).ok());
  EXPECT_EQ(to.rate_limits.max_burst_size, 100);
  EXPECT_EQ(to.rate_limits.max_dispatches_per_second, 500);
}

TEST(ApplyUpdateMask, EmptyPathsBetweenCommasAreIgnored) {
  Queue to = Current();
  ASSERT_TRUE(ApplyUpdateMask(Request(), ",retryConfig.maxDoublings,,", &to).ok());
  EXPECT_EQ(to.retry_config.max_doublings, 3);
}

TEST(ApplyUpdateMask, UnknownOrOutputOnlyPathsAreRejected) {
  for (const char* mask : {"foo", "state", "name", "purgeTime", "rateLimits.maxBurst", "retryConfig.maxAttempts.x",
                           "httpTargetX", "rateLimits.maxDispatchesPerSecond,bogus"}) {
    Queue to = Current();
    Status st = ApplyUpdateMask(Request(), mask, &to);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << mask;
  }
  Queue to = Current();
  EXPECT_EQ(ApplyUpdateMask(Request(), "retry_config.max_tries", &to).message(),
            "Invalid update_mask provided: the field path \"retryConfig.maxTries\" is not an updatable Queue field.");
}

}  // namespace
}  // namespace stratus
