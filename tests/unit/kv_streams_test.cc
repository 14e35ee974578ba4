// Redis 8.2's XDELEX and XACKDEL on the embedded engine, from Redis's documented behaviour
// (redis-server 7.0 here has neither): KEEPREF leaves PEL references, DELREF removes them,
// ACKED deletes only what no group still needs; one code per id (-1, 1, 2).
#include <gtest/gtest.h>

#include "common/clock.h"
#include "kv/engine.h"

namespace stratus::kv {
namespace {

class KvStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.active_expiry = false;
    ASSERT_TRUE(engine_.Open(o).ok());
    for (const char* id : {"1-0", "2-0", "3-0"}) Run({"xadd", "s", id, "f", "v"});
    Run({"xgroup", "create", "s", "g1", "0"});
    Run({"xgroup", "create", "s", "g2", "0"});
    Run({"xreadgroup", "group", "g1", "c", "count", "2", "streams", "s", ">"});           // 1-0 and 2-0 pending in g1
    Run({"xreadgroup", "group", "g2", "c", "noack", "count", "1", "streams", "s", ">"});  // g2 read 1-0 only
  }
  std::string Run(const Argv& argv) { return DebugString(engine_.Run(argv)); }

  FakeClock clock_{1'700'000'000'000'000};
  Engine engine_{clock_};
};

TEST_F(KvStreamsTest, XDelExKeepRefLeavesPendingReferences) {
  EXPECT_EQ(Run({"xdelex", "s", "ids", "2", "1-0", "9-0"}), "[:1, :-1]");
  EXPECT_EQ(Run({"xlen", "s"}), ":2");
  EXPECT_EQ(Run({"xpending", "s", "g1"}), "[:2, \"1-0\", \"2-0\", [[\"c\", \"2\"]]]");
  EXPECT_NE(Run({"xinfo", "stream", "s"}).find("\"max-deleted-entry-id\", \"1-0\""), std::string::npos);
}

TEST_F(KvStreamsTest, XDelExDelRefRemovesReferencesEverywhere) {
  EXPECT_EQ(Run({"xdelex", "s", "DELREF", "ids", "1", "1-0"}), "[:1]");
  EXPECT_EQ(Run({"xpending", "s", "g1"}), "[:1, \"2-0\", \"2-0\", [[\"c\", \"1\"]]]");
}

TEST_F(KvStreamsTest, XDelExAckedDeletesOnlyWhatNoGroupNeeds) {
  // 1-0: pending in g1. 2-0: pending in g1, not yet read by g2. 3-0: read by neither.
  EXPECT_EQ(Run({"xdelex", "s", "acked", "ids", "3", "1-0", "2-0", "3-0"}), "[:2, :2, :2]");
  EXPECT_EQ(Run({"xack", "s", "g1", "1-0"}), ":1");
  EXPECT_EQ(Run({"xdelex", "s", "acked", "ids", "2", "1-0", "2-0"}), "[:1, :2]");
  EXPECT_EQ(Run({"xlen", "s"}), ":2");
}

TEST_F(KvStreamsTest, XAckDelAcknowledgesAndDeletes) {
  EXPECT_EQ(Run({"xackdel", "s", "g1", "ids", "2", "1-0", "3-0"}), "[:1, :-1]");
  EXPECT_EQ(Run({"xlen", "s"}), ":2");
  EXPECT_EQ(Run({"xackdel", "s", "g1", "acked", "ids", "1", "2-0"}), "[:2]");  // g2 has not read it yet
  EXPECT_EQ(Run({"xpending", "s", "g1"}), "[:0, (nil), (nil), (nil-array)]");
  EXPECT_EQ(Run({"xlen", "s"}), ":2");
  EXPECT_EQ(Run({"xackdel", "s", "nog", "ids", "1", "2-0"}), "-NOGROUP No such key 's' or consumer group 'nog'");
}

TEST_F(KvStreamsTest, IdsBlockErrors) {
  EXPECT_EQ(Run({"xdelex", "s", "ids", "2", "1-0"}), "-ERR The `numids` parameter must match the number of arguments");
  EXPECT_EQ(Run({"xdelex", "s", "ids", "0", "1-0"}), "-ERR Number of IDs must be a positive integer");
  EXPECT_EQ(Run({"xdelex", "s", "keepref", "delref", "ids", "1", "1-0"}), "-ERR syntax error");
  EXPECT_EQ(Run({"xdelex", "s", "ids", "1", "x"}), "-ERR Invalid stream ID specified as stream command argument");
  EXPECT_EQ(Run({"xdelex", "nokey", "ids", "1", "1-0"}), "[:-1]");
}

}  // namespace
}  // namespace stratus::kv
