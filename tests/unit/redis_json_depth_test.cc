// Upstash REST bodies nested deeper than the Cloud Tasks API's 100 levels are refused on a
// scan of the bytes, before any DOM is built; the usual one- and two-level bodies parse.
#include <gtest/gtest.h>

#include "api/redis/encoding.h"

namespace stratus::api::redis {
namespace {

constexpr char kTooDeep[] = "ERR the request body is nested deeper than 100 levels";

std::string Nested(int depth, const std::string& inner) {
  return std::string(static_cast<size_t>(depth), '[') + inner + std::string(static_cast<size_t>(depth), ']');
}

TEST(RedisJsonDepthTest, DeepBodiesAreRefused) {
  std::string deep(10 * 1024 * 1024, '[');  // unterminated: only a pre-scan can name the depth
  auto cmd = ParseCommandJson(deep);
  ASSERT_FALSE(cmd.ok());
  EXPECT_EQ(cmd.status().message(), kTooDeep);
  auto pipe = ParsePipelineJson(deep);
  ASSERT_FALSE(pipe.ok());
  EXPECT_EQ(pipe.status().message(), kTooDeep);

  auto just_over = ParseCommandJson(Nested(101, "\"get\""));
  ASSERT_FALSE(just_over.ok());
  EXPECT_EQ(just_over.status().message(), kTooDeep);
  // At the limit the body parses and is refused for its shape, not its depth.
  auto at_limit = ParseCommandJson(Nested(100, "\"get\""));
  ASSERT_FALSE(at_limit.ok());
  EXPECT_NE(at_limit.status().message(), kTooDeep);
}

TEST(RedisJsonDepthTest, BracketsInsideStringsDoNotCount) {
  auto cmd = ParseCommandJson("[\"set\",\"k\",\"" + std::string(500, '[') + "\\\"" + std::string(500, '{') + "\"]");
  ASSERT_TRUE(cmd.ok()) << cmd.status().message();
  EXPECT_EQ((*cmd)[2], std::string(500, '[') + "\"" + std::string(500, '{'));
  auto pipe = ParsePipelineJson(R"([["set","k","v"],["get","k"]])");
  ASSERT_TRUE(pipe.ok());
  EXPECT_EQ(pipe->size(), 2u);
}

}  // namespace
}  // namespace stratus::api::redis
