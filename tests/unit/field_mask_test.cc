// tasks/field_mask.h: the update-mask paths both services read.
#include "tasks/field_mask.h"

#include <gtest/gtest.h>

namespace stratus {
namespace {

TEST(FieldMask, PathsAreSplitNormalisedAndEmptyOnesSkipped) {
  EXPECT_EQ(MaskPaths("rate_limits.max_burst_size, retryConfig,,http_target.oidc_token."),
            (std::vector<std::string>{"rateLimits.maxBurstSize", "retryConfig", "httpTarget.oidcToken."}));
  EXPECT_TRUE(MaskPaths("").empty());
  EXPECT_TRUE(MaskPaths(",").empty());
}

TEST(FieldMask, CoversAFieldOrAMessageAroundIt) {
  EXPECT_TRUE(MaskCovers("retryConfig", "retryConfig.maxAttempts"));
  EXPECT_TRUE(MaskCovers("retryConfig.maxAttempts", "retryConfig.maxAttempts"));
  EXPECT_FALSE(MaskCovers("retryConfig.maxAttempts", "retryConfig"));
  EXPECT_FALSE(MaskCovers("retry", "retryConfig.maxAttempts"));  // a prefix of a name is not a message
  EXPECT_TRUE(MaskPathInside("httpTarget.oidcToken.audience", "httpTarget"));
  EXPECT_FALSE(MaskPathInside("httpTargets", "httpTarget"));
  EXPECT_FALSE(MaskPathInside("httpTarget", "httpTarget"));
}

}  // namespace
}  // namespace stratus
