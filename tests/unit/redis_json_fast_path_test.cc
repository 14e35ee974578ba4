// The Upstash body parsers' fast path (plain-string arrays) against the full JSON parser:
// every body the fast path reads gives the same commands as the full parser, and every body
// outside it (numbers, escapes, non-ASCII, malformed JSON) still gets the full parser's answer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/redis/encoding.h"

namespace stratus::api::redis {
namespace {

TEST(RedisJsonFastPathTest, PlainBodiesTakeTheFastPathAndMatchTheFullParser) {
  for (std::string body : {R"([["SET","key:1","vvv"],["GET","key:1"]])", " [ [ \"a\" ,\t\"b\" ] ,\n[\"c\"] ]\r\n",
                           R"([["set","k",""]])", R"([["x y","[,]","{}:"]])"}) {
    SCOPED_TRACE(body);
    auto fast = ParsePipelineJsonFast(body);
    ASSERT_TRUE(fast.has_value());
    auto full = ParsePipelineJsonFull(body);
    ASSERT_TRUE(full.ok());
    EXPECT_EQ(*fast, *full);
    auto both = ParsePipelineJson(body);
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(*both, *full);
  }
  auto one = ParseCommandJsonFast(R"( ["SET", "k", "v"] )");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(*one, (kv::Argv{"SET", "k", "v"}));
}

TEST(RedisJsonFastPathTest, EverythingElseGetsTheFullParsersAnswer) {
  const std::vector<std::string> bodies = {
      R"([["set","k",1]])",              // a number
      R"([["set","k",true]])",           // a boolean
      R"([["set","k","a\"b"]])",         // an escape
      R"([["set","k","\u00e9"]])",       // a unicode escape
      "[[\"set\",\"k\",\"\xc3\xa9\"]]",  // UTF-8
      "[[\"set\",\"k\",\"\xff\"]]",      // not UTF-8
      "[[\"set\",\"k\",\"a\x01\"]]",     // a control character
      R"([])",                           // empty pipeline
      R"([[]])",                         // empty command
      R"([["set","k","v"],])",           // trailing comma
      R"([["set","k","v"]] x)",          // trailing bytes
      R"([["set","k","v"])",             // cut short
      R"([["set","k","v"],"get"])",      // a command that is not an array
      R"(["set","k","v"])",              // a command sent to /pipeline
      "\xef\xbb\xbf[[\"get\",\"k\"]]",   // a byte order mark
      R"([["get","k]])",                 // an unterminated string
      R"([["get",null]])",               // null
  };
  for (const auto& body : bodies) {
    SCOPED_TRACE(body);
    EXPECT_FALSE(ParsePipelineJsonFast(body).has_value());
    auto full = ParsePipelineJsonFull(body);
    auto got = ParsePipelineJson(body);
    ASSERT_EQ(got.ok(), full.ok());
    if (full.ok()) {
      EXPECT_EQ(*got, *full);
    } else {
      EXPECT_EQ(got.status().message(), full.status().message());
    }
  }
  // The answers users see for two of them, unchanged.
  EXPECT_EQ(ParsePipelineJson("[]").status().message(), "ERR empty pipeline");
  EXPECT_EQ(*ParsePipelineJson(R"([["set","k",60.0]])"), (std::vector<kv::Argv>{{"set", "k", "60"}}));
  EXPECT_EQ(ParseCommandJson("[]").status().message(), "ERR empty command");
  EXPECT_FALSE(ParseCommandJsonFast(R"([["get","k"]])").has_value());
  EXPECT_EQ(ParseCommandJson(R"([["get","k"]])").status().message(),
            ParseCommandJsonFull(R"([["get","k"]])").status().message());
}

}  // namespace
}  // namespace stratus::api::redis
