#include "common/time.h"

#include <gtest/gtest.h>

namespace stratus {
namespace {

TEST(Timestamp, ParsesZuluWithAnyFractionLength) {
  EXPECT_EQ(*ParseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseTimestamp("2026-11-22T04:35:21.250Z"), 1795322121250000);
  EXPECT_EQ(*ParseTimestamp("2026-11-22T04:35:21.123456789Z"), 1795322121123456);
  EXPECT_EQ(*ParseTimestamp("2026-11-22T04:35:21.1Z"), 1795322121100000);
}

TEST(Timestamp, ParsesNumericOffsets) {
  EXPECT_EQ(*ParseTimestamp("2026-11-22T05:35:21+01:00"), *ParseTimestamp("2026-11-22T04:35:21Z"));
  EXPECT_EQ(*ParseTimestamp("2026-11-21T20:35:21-08:00"), *ParseTimestamp("2026-11-22T04:35:21Z"));
}

TEST(Timestamp, RejectsMalformed) {
  for (const char* bad : {"", "2026-11-22", "2026-11-22T04:35:21", "2026-13-22T04:35:21Z", "2026-11-22T04:35:21.Z",
                          "2026-11-22T04:35:21.1234567890Z", "2026-11-22T04:35:21Zjunk", "abcd-11-22T04:35:21Z"}) {
    EXPECT_FALSE(ParseTimestamp(bad).ok()) << bad;
  }
}

TEST(Timestamp, FormatsInZuluWithFewestExactDigits) {
  EXPECT_EQ(FormatTimestamp(1795322121000000), "2026-11-22T04:35:21Z");
  EXPECT_EQ(FormatTimestamp(1795322121250000), "2026-11-22T04:35:21.250Z");
  EXPECT_EQ(FormatTimestamp(1795322121000001), "2026-11-22T04:35:21.000001Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(Duration, ParsesProtobufForms) {
  EXPECT_EQ(*ParseDuration("30s"), 30'000'000);
  EXPECT_EQ(*ParseDuration("0.100s"), 100'000);
  EXPECT_EQ(*ParseDuration("10.500s"), 10'500'000);
  EXPECT_EQ(*ParseDuration(".5s"), 500'000);
  EXPECT_EQ(*ParseDuration("-1.5s"), -1'500'000);
  for (const char* bad : {"", "s", "30", "1m", "abc", "1.2.3s", "--1s"}) EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
}

TEST(Duration, FormatsLikeGoogle) {
  EXPECT_EQ(FormatDuration(3600'000'000), "3600s");
  EXPECT_EQ(FormatDuration(100'000), "0.100s");
  EXPECT_EQ(FormatDuration(10'500'000), "10.500s");
  EXPECT_EQ(FormatDuration(1), "0.000001s");
}

TEST(HumanDuration, AcceptsUnits) {
  EXPECT_EQ(*ParseHumanDuration("1h"), 3600'000'000);
  EXPECT_EQ(*ParseHumanDuration("7d"), 7 * 86400'000'000LL);
  EXPECT_EQ(*ParseHumanDuration("250ms"), 250'000);
  EXPECT_EQ(*ParseHumanDuration("0"), 0);
  EXPECT_FALSE(ParseHumanDuration("1y").ok());
}

}  // namespace
}  // namespace stratus
