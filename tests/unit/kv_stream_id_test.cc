// The stream id parser (kv/stream_value.h) against Redis's rules: complete and incomplete ids,
// `-`/`+` only where not strict, `ms-*` only for XADD, `(` exclusive bounds parsed strictly,
// strtoull's leniency (spaces, signs, leading zeros) where Redis's string2ull has it.
#include <gtest/gtest.h>

#include "kv/stream_value.h"

namespace stratus::kv {
namespace {

std::string P(std::string_view s, uint64_t missing = 0, bool strict = false, bool autoseq = false, bool excl = false) {
  auto p = ParseStreamId(s, missing, strict, autoseq, excl);
  if (!p) return "invalid";
  return (p->exclusive ? "(" : "") + p->id.ToString() + (p->seq_given ? "" : " auto");
}

TEST(StreamIdTest, CompleteAndIncompleteIds) {
  EXPECT_EQ(P("1-2"), "1-2");
  EXPECT_EQ(P("5"), "5-0");
  EXPECT_EQ(P("5", UINT64_MAX), "5-18446744073709551615");
  EXPECT_EQ(P("18446744073709551615-18446744073709551615"), "18446744073709551615-18446744073709551615");
  EXPECT_EQ(P("18446744073709551616-0"), "invalid");
  EXPECT_EQ(P("0-0"), "0-0");
}

TEST(StreamIdTest, MinusAndPlusOnlyWhenNotStrict) {
  EXPECT_EQ(P("-"), "0-0");
  EXPECT_EQ(P("+"), "18446744073709551615-18446744073709551615");
  EXPECT_EQ(P("-", 0, true), "invalid");
  EXPECT_EQ(P("+", 0, true), "invalid");
}

TEST(StreamIdTest, AutoSequenceOnlyWhenAllowed) {
  EXPECT_EQ(P("7-*", 0, true, true), "7-0 auto");
  EXPECT_EQ(P("7-*"), "invalid");
  EXPECT_EQ(P("*-1", 0, true, true), "invalid");
  EXPECT_EQ(P("7-**", 0, true, true), "invalid");
}

TEST(StreamIdTest, ExclusiveBoundsAreStrict) {
  EXPECT_EQ(P("(5-1", 0, false, false, true), "(5-1");
  EXPECT_EQ(P("(5", UINT64_MAX, false, false, true), "(5-18446744073709551615");
  EXPECT_EQ(P("(-", 0, false, false, true), "invalid");
  EXPECT_EQ(P("(+", 0, false, false, true), "invalid");
  EXPECT_EQ(P("(", 0, false, false, true), "invalid");
  EXPECT_EQ(P("(5-1"), "invalid");
}

TEST(StreamIdTest, LenientNumbersAsRedisReadsThem) {
  EXPECT_EQ(P("01-02"), "1-2");
  EXPECT_EQ(P(" 3-1"), "3-1");
  EXPECT_EQ(P("+3-1"), "3-1");
  EXPECT_EQ(P("-1"), "invalid");  // an empty ms part
  EXPECT_EQ(P("1-2-3"), "invalid");
  EXPECT_EQ(P("1-"), "invalid");
  EXPECT_EQ(P("x"), "invalid");
  EXPECT_EQ(P(""), "invalid");
  EXPECT_EQ(P("1 -2"), "invalid");
  EXPECT_EQ(P(std::string("1\0", 2)), "invalid");
  EXPECT_EQ(P(std::string(128, '1')), "invalid");
}

TEST(StreamIdTest, IncrementAndDecrementAtTheEdges) {
  StreamId a{1, UINT64_MAX};
  ASSERT_TRUE(a.Incr());
  EXPECT_EQ(a.ToString(), "2-0");
  ASSERT_TRUE(a.Decr());
  EXPECT_EQ(a.ToString(), "1-18446744073709551615");
  StreamId max = StreamId::Max();
  EXPECT_FALSE(max.Incr());
  StreamId zero;
  EXPECT_FALSE(zero.Decr());
}

TEST(StreamIdTest, PackedFieldsRoundTrip) {
  std::vector<std::string> argv{"XADD", "k", "1-1", "", std::string(300, 'x'), "f", std::string("a\0b", 3)};
  std::vector<std::string> want(argv.begin() + 3, argv.end());
  EXPECT_EQ(UnpackFields(PackFields(argv, 3)), want);
}

}  // namespace
}  // namespace stratus::kv
