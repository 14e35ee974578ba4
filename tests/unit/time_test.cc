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

namespace stratus {
namespace {

TEST(Timestamp, LeapDays) {
  EXPECT_EQ(FormatTimestamp(*ParseTimestamp("2024-02-29T12:00:00Z")), "2024-02-29T12:00:00Z");
  EXPECT_EQ(FormatTimestamp(*ParseTimestamp("2000-02-29T00:00:00Z")), "2000-02-29T00:00:00Z");
  EXPECT_EQ(*ParseTimestamp("2024-03-01T00:00:00Z") - *ParseTimestamp("2024-02-28T00:00:00Z"),
            2 * 86400 * kMicrosPerSecond);
  EXPECT_EQ(*ParseTimestamp("1900-03-01T00:00:00Z") - *ParseTimestamp("1900-02-28T00:00:00Z"),
            86400 * kMicrosPerSecond);
}

TEST(Timestamp, RejectsDaysPastTheEndOfTheMonth) {
  std::string accepted;
  for (const char* bad :
       {"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-02-30T00:00:00Z"}) {
    if (ParseTimestamp(bad).ok()) accepted += std::string(" ") + bad;
  }
  if (!accepted.empty()) ADD_FAILURE() << "impossible dates accepted (normalised into the next month):" << accepted;
}

TEST(Timestamp, OldAndFarDates) {
  EXPECT_EQ(*ParseTimestamp("0001-01-01T00:00:00Z"), -62135596800LL * kMicrosPerSecond);
  EXPECT_EQ(FormatTimestamp(-62135596800LL * kMicrosPerSecond), "0001-01-01T00:00:00Z");
  EXPECT_EQ(*ParseTimestamp("9999-12-31T23:59:59.999999Z"), 253402300799999999LL);
  EXPECT_EQ(FormatTimestamp(253402300799999999LL), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTimestamp(*ParseTimestamp("1969-07-20T20:17:40.5Z")), "1969-07-20T20:17:40.500Z");
}

TEST(Timestamp, RejectsInstantsOutsideTheProtobufRange) {
  // google.protobuf.Timestamp spans 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999999Z; an offset
  // can push a 4-digit year outside it, and FormatTimestamp then writes text no parser reads back.
  std::string accepted;
  for (const char* bad : {"0000-12-31T23:59:59Z", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"}) {
    auto t = ParseTimestamp(bad);
    if (t.ok()) accepted += std::string(" ") + bad + " -> " + FormatTimestamp(*t);
  }
  if (!accepted.empty()) ADD_FAILURE() << "out-of-range timestamps accepted:" << accepted;
}

TEST(Timestamp, NineFractionDigitsTruncateToMicroseconds) {
  EXPECT_EQ(*ParseTimestamp("2026-11-22T04:35:21.999999999Z") % kMicrosPerSecond, 999999);
  EXPECT_EQ(*ParseTimestamp("2026-11-22T04:35:21.000000999Z") % kMicrosPerSecond, 0);
  EXPECT_EQ(*ParseTimestamp("2026-11-22T04:35:21.000001Z") % kMicrosPerSecond, 1);
  EXPECT_EQ(FormatTimestamp(*ParseTimestamp("2026-11-22T04:35:21.123000000Z")), "2026-11-22T04:35:21.123Z");
}

TEST(Timestamp, AcceptsLowercaseSeparatorsAndLeapSecond) {
  EXPECT_EQ(*ParseTimestamp("2026-11-22t04:35:21z"), *ParseTimestamp("2026-11-22T04:35:21Z"));
  EXPECT_EQ(*ParseTimestamp("2016-12-31T23:59:60Z"), *ParseTimestamp("2017-01-01T00:00:00Z"));
}

TEST(Timestamp, RejectsBadOffsetsAndFields) {
  for (const char* bad :
       {"2026-11-22T04:35:21+1:00", "2026-11-22T04:35:21+01", "2026-11-22T04:35:21+24:00", "2026-11-22T04:35:21+01:60",
        "2026-11-22T24:00:00Z", "2026-11-22T04:60:00Z", "2026-11-22T04:35:61Z", "2026-00-10T04:35:21Z",
        "2026-11-00T04:35:21Z", "2026-11-32T04:35:21Z", "+2026-11-22T04:35:21Z", "2026-11-22T04:35:21 Z",
        "2026-11-22T04:35:21+01:00Z", "2026/11/22T04:35:21Z"}) {
    auto t = ParseTimestamp(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().message(), "invalid timestamp \"" + std::string(bad) + "\"");
  }
}

TEST(Timestamp, RoundTripsAcrossTheRange) {
  for (Micros t = -62135596800LL * kMicrosPerSecond; t < 253402300799LL * kMicrosPerSecond;
       t += 86399LL * kMicrosPerSecond * 365 + 123457) {
    auto back = ParseTimestamp(FormatTimestamp(t));
    ASSERT_TRUE(back.ok()) << t;
    EXPECT_EQ(*back, t) << FormatTimestamp(t);
  }
}

TEST(Duration, FractionDigitsAndBounds) {
  EXPECT_EQ(*ParseDuration("1.000000001s"), 1'000'000);
  EXPECT_EQ(*ParseDuration("0.999999999s"), 999'999);
  EXPECT_EQ(*ParseDuration("10.s"), 10'000'000);
  EXPECT_EQ(*ParseDuration("315576000000s"), 315576000000LL * kMicrosPerSecond);
  EXPECT_EQ(*ParseDuration("-315576000000s"), -315576000000LL * kMicrosPerSecond);
  for (const char* bad : {"315576000001s", "1.1234567890s", ".s", "-s", "+1s", "1 s", "0x10s", "1e3s", " 1s"}) {
    auto d = ParseDuration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().message(), "invalid duration \"" + std::string(bad) + "\"");
  }
}

TEST(Duration, FormatsNegativeAndRoundTrips) {
  EXPECT_EQ(FormatDuration(-1'500'000), "-1.500s");
  EXPECT_EQ(FormatDuration(0), "0s");
  for (Micros d : {Micros{0}, Micros{1}, Micros{999}, Micros{1000}, Micros{100'000}, Micros{600'000'000}, Micros{-1},
                   Micros{315576000000LL * kMicrosPerSecond}}) {
    EXPECT_EQ(*ParseDuration(FormatDuration(d)), d) << d;
  }
}

}  // namespace
}  // namespace stratus
