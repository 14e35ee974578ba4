// FUNCTION libraries are durable: FUNCTION LOAD/DELETE/FLUSH/RESTORE replay from the append
// log, the log rewrite at start keeps them (a second restart reads only the rewrite), and
// FCALL's writes replay like any script's. SCRIPT FLUSH and FLUSHALL leave libraries alone.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "integration/engine_on_log.h"
#include "kv/engine.h"

namespace stratus::kv {
namespace {

std::string S(const Reply& r) {
  return DebugString(r);
}

class RedisFunctionsDurabilityTest : public testing::EngineOnLogTest {};

const char* kCounter =
    "#!lua name=counter\n"
    "redis.register_function('bump', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)\n"
    "redis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, "
    "flags={'no-writes'}, description='reads the counter'}\n";

TEST_F(RedisFunctionsDurabilityTest, LibrariesAndTheirWritesSurviveRestarts) {
  ASSERT_EQ(S(Run({"function", "load", kCounter})), "\"counter\"");
  ASSERT_EQ(S(Run({"function", "load", "#!lua name=gone\nredis.register_function('g', function() return 1 end)"})),
            "\"gone\"");
  ASSERT_EQ(S(Run({"function", "load", "#!lua name=swapped\nredis.register_function('s', function() return 1 end)"})),
            "\"swapped\"");
  ASSERT_EQ(S(Run({"function", "load", "REPLACE",
                   "#!lua name=swapped\nredis.register_function('s', function() return 2 end)"})),
            "\"swapped\"");
  ASSERT_EQ(S(Run({"function", "delete", "gone"})), "+OK");
  EXPECT_EQ(S(Run({"fcall", "bump", "1", "n", "5"})), ":5");
  EXPECT_EQ(S(Run({"fcall", "bump", "1", "n", "2"})), ":7");
  // Neither of these removes a library.
  EXPECT_EQ(S(Run({"script", "flush"})), "+OK");
  EXPECT_EQ(S(Run({"fcall_ro", "peek", "1", "n"})), "\"7\"");
  EXPECT_EQ(S(Run({"flushall"})), "+OK");
  EXPECT_EQ(S(Run({"fcall", "bump", "1", "n", "3"})), ":3");
  const std::string list = S(Run({"function", "list", "withcode"}));
  EXPECT_NE(list.find("reads the counter"), std::string::npos) << list;
  EXPECT_EQ(list.find("\"gone\""), std::string::npos) << list;

  for (int restart = 0; restart < 2; ++restart) {  // the log, then the rewrite made at start
    Open();
    EXPECT_EQ(S(Run({"function", "list", "withcode"})), list) << restart;
    EXPECT_EQ(S(Run({"get", "n"})), "\"3\"") << restart;
    EXPECT_EQ(S(Run({"fcall", "s", "0"})), ":2") << restart;
    EXPECT_EQ(S(Run({"fcall", "g", "0"})), "-ERR Function not found") << restart;
  }
  EXPECT_EQ(S(Run({"fcall", "bump", "1", "n", "1"})), ":4");

  // RESTORE and FLUSH replay too.
  Reply dump = Run({"function", "dump"});
  ASSERT_EQ(dump.type, Reply::Type::kBulk);
  EXPECT_EQ(S(Run({"function", "flush"})), "+OK");
  Open();
  EXPECT_EQ(S(Run({"function", "list"})), "[]");
  EXPECT_EQ(S(Run({"function", "restore", dump.str})), "+OK");
  Open();
  EXPECT_EQ(S(Run({"function", "list", "withcode"})), list);
  EXPECT_EQ(S(Run({"get", "n"})), "\"4\"");
}

}  // namespace
}  // namespace stratus::kv
