#include "kv/util.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kv/resp.h"

namespace stratus::kv {
namespace {

TEST(KvUtil, ParseIntIsRedisStrict) {
  EXPECT_EQ(ParseInt("0"), 0);
  EXPECT_EQ(ParseInt("-42"), -42);
  EXPECT_EQ(ParseInt("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseInt("-9223372036854775808"), INT64_MIN);
  for (const char* bad : {"", "-", "01", "-0", "+1", " 1", "1 ", "1.0", "9223372036854775808", "abc", "1e3"}) {
    EXPECT_FALSE(ParseInt(bad).has_value()) << bad;
  }
}

TEST(KvUtil, ParseDoubleAndFormat) {
  EXPECT_EQ(ParseDouble("1.5"), 1.5);
  EXPECT_EQ(ParseDouble("+inf"), HUGE_VAL);
  EXPECT_EQ(ParseDouble("1e3"), 1000);
  for (const char* bad : {"", " 1", "1 ", "nan", "abc", "1e999"}) EXPECT_FALSE(ParseDouble(bad).has_value()) << bad;
  EXPECT_EQ(FormatDouble(1.1), "1.1000000000000001");
  EXPECT_EQ(FormatDouble(3), "3");
  EXPECT_EQ(FormatDouble(-HUGE_VAL), "-inf");
  EXPECT_EQ(FormatDouble(1e20), "1e+20");
}

TEST(KvUtil, GlobMatchesLikeRedis) {
  EXPECT_FALSE(GlobMatch("*", ""));  // as Redis; KEYS * and MATCH * skip matching altogether
  EXPECT_TRUE(GlobMatch("cache:user:42:*", "cache:user:42:item:1"));
  EXPECT_FALSE(GlobMatch("cache:user:42:*", "cache:user:7:item:1"));
  EXPECT_TRUE(GlobMatch("k?", "k1"));
  EXPECT_FALSE(GlobMatch("k?", "k12"));
  EXPECT_TRUE(GlobMatch("k[0-2]", "k1"));
  EXPECT_FALSE(GlobMatch("k[^1]", "k1"));
  EXPECT_TRUE(GlobMatch("k[^1]", "k2"));
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hello"));
  EXPECT_FALSE(GlobMatch("[", "["));  // an unterminated class matches nothing, as in Redis
  EXPECT_FALSE(GlobMatch(std::string(2000, '*') + "x", std::string(3000, 'a')));  // bounded
}

TEST(KvResp, ParsesCommandsAndReplies) {
  std::vector<std::string> argv;
  size_t used = 0;
  std::string in = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1";
  ASSERT_EQ(RespParser::ParseCommand(in, &argv, &used), RespParser::Result::kOk);
  EXPECT_EQ(argv, (std::vector<std::string>{"GET", "k"}));
  EXPECT_EQ(used, in.size() - 2);
  EXPECT_EQ(RespParser::ParseCommand("*2\r\n$3\r\nGET\r\n$1\r\n", &argv, &used), RespParser::Result::kIncomplete);
  EXPECT_EQ(RespParser::ParseCommand("*2\r\n$3\r\nGETX\r\n", &argv, &used), RespParser::Result::kError);
  EXPECT_EQ(RespParser::ParseCommand("*-1\r\n", &argv, &used), RespParser::Result::kError);

  Reply r;
  std::string wire;
  AppendResp(Reply::Array({Reply::Status("OK"), Reply::Nil(), Reply::Integer(-3), Reply::Bulk("a\r\nb"),
                           Reply::Error("ERR x"), Reply::NilArray(), Reply::Array()}),
             &wire);
  ASSERT_EQ(RespParser::ParseReply(wire, &r, &used), RespParser::Result::kOk);
  EXPECT_EQ(used, wire.size());
  EXPECT_EQ(DebugString(r), "[+OK, (nil), :-3, \"a\r\nb\", -ERR x, (nil-array), []]");
  for (size_t cut = 0; cut < wire.size(); ++cut) {
    EXPECT_EQ(RespParser::ParseReply(wire.substr(0, cut), &r, &used), RespParser::Result::kIncomplete) << cut;
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "*1\r\n";
  EXPECT_EQ(RespParser::ParseReply(deep + ":1\r\n", &r, &used), RespParser::Result::kError);  // too deep
}

}  // namespace
}  // namespace stratus::kv
