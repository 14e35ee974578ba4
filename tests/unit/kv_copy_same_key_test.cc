// COPY of a key onto itself answers 0 (not copied), as Upstash does (redis-server 7 answers
// "ERR source and destination objects are the same"), and leaves the key as it was.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "kv/engine.h"

namespace stratus::kv {
namespace {

TEST(KvCopySameKey, AnswersNotCopiedAsUpstashDoes) {
  FakeClock clock(1'700'000'000'000'000);
  Engine engine(clock);
  EngineOptions o;
  o.active_expiry = false;
  ASSERT_TRUE(engine.Open(o).ok());
  ASSERT_EQ(engine.Run({"set", "k", "v"}).str, "OK");
  EXPECT_EQ(DebugString(engine.Run({"copy", "k", "k"})), ":0");
  EXPECT_EQ(DebugString(engine.Run({"copy", "k", "k", "REPLACE"})), ":0");
  EXPECT_EQ(DebugString(engine.Run({"copy", "missing", "missing"})), ":0");
  EXPECT_EQ(DebugString(engine.Run({"copy", "k", "k", "bogus"})), "-ERR syntax error");
  EXPECT_EQ(DebugString(engine.Run({"get", "k"})), "\"v\"");
}

}  // namespace
}  // namespace stratus::kv
