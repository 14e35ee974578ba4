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
  EXPECT_EQ(Run({"xackdel", "nokey", "g1", "DELREF", "ids", "2", "0-0", "1-0"}), "[:-1, :-1]");
}

TEST_F(KvStreamsTest, IdsBlockErrors) {
  EXPECT_EQ(Run({"xdelex", "s", "ids", "2", "1-0"}), "-ERR The `numids` parameter must match the number of arguments");
  EXPECT_EQ(Run({"xdelex", "s", "ids", "0", "1-0"}), "-ERR Number of IDs must be a positive integer");
  EXPECT_EQ(Run({"xdelex", "s", "keepref", "delref", "ids", "1", "1-0"}), "-ERR syntax error");
  EXPECT_EQ(Run({"xdelex", "s", "ids", "1", "x"}), "-ERR Invalid stream ID specified as stream command argument");
  EXPECT_EQ(Run({"xdelex", "nokey", "ids", "1", "1-0"}), "[:-1]");
}

// Where Upstash and Redis differ (EngineOptions::dialect): Upstash trims `~` exactly, as the
// @upstash/redis suite expects (1000 entries, MAXLEN ~ 30 -> 30), still bounded by LIMIT;
// Redis removes whole 100-entry nodes only.
class KvStreamsDialectTest : public ::testing::Test {
 protected:
  void Open(Dialect d) {
    EngineOptions o;
    o.active_expiry = false;
    o.dialect = d;
    ASSERT_TRUE(engine_.Open(o).ok());
  }
  std::string Run(const Argv& argv) { return DebugString(engine_.Run(argv)); }
  void Fill(const std::string& key, int n) {
    for (int i = 1; i <= n; ++i) Run({"xadd", key, std::to_string(i) + "-1", "f", "v"});
  }

  FakeClock clock_{1'700'000'000'000'000};
  Engine engine_{clock_};
};

TEST_F(KvStreamsDialectTest, UpstashTrimsApproximateExactly) {
  Open(Dialect::kUpstash);
  Fill("s", 1000);
  EXPECT_EQ(Run({"xtrim", "s", "maxlen", "~", "30"}), ":970");
  EXPECT_EQ(Run({"xlen", "s"}), ":30");
  EXPECT_EQ(Run({"xtrim", "s", "minid", "~", "980-1", "limit", "5"}), ":5");
  EXPECT_EQ(Run({"xlen", "s"}), ":25");
  EXPECT_EQ(Run({"xadd", "s", "maxlen", "~", "10", "2000-1", "f", "v"}), "\"2000-1\"");
  EXPECT_EQ(Run({"xlen", "s"}), ":10");
  Fill("t", 250);
  EXPECT_EQ(Run({"xtrim", "t", "maxlen", "~", "0", "limit", "120"}), ":120");
  EXPECT_EQ(Run({"xlen", "t"}), ":130");
}

TEST_F(KvStreamsDialectTest, RedisTrimsApproximateByWholeNodes) {
  Open(Dialect::kRedis);
  Fill("s", 1000);
  EXPECT_EQ(Run({"xtrim", "s", "maxlen", "~", "30"}), ":900");
  EXPECT_EQ(Run({"xlen", "s"}), ":100");
}

// Upstash's XREADGROUP NOACK delivers without creating the consumer; Redis creates it.
TEST_F(KvStreamsDialectTest, UpstashNoAckReadCreatesNoConsumer) {
  Open(Dialect::kUpstash);
  Fill("s", 2);
  Run({"xgroup", "create", "s", "g", "0"});
  EXPECT_EQ(Run({"xreadgroup", "group", "g", "c", "noack", "count", "1", "streams", "s", ">"}),
            "[[\"s\", [[\"1-1\", [\"f\", \"v\"]]]]]");
  EXPECT_EQ(Run({"xinfo", "consumers", "s", "g"}), "[]");
  EXPECT_EQ(Run({"xpending", "s", "g"}), "[:0, (nil), (nil), (nil-array)]");
  // The group's position moved all the same; an existing consumer still reads under NOACK.
  Run({"xgroup", "createconsumer", "s", "g", "c"});
  EXPECT_EQ(Run({"xreadgroup", "group", "g", "c", "noack", "streams", "s", ">"}),
            "[[\"s\", [[\"2-1\", [\"f\", \"v\"]]]]]");
  EXPECT_TRUE(Run({"xinfo", "consumers", "s", "g"}).starts_with("[[\"name\", \"c\", \"pending\", :0"));
}

TEST_F(KvStreamsDialectTest, RedisNoAckReadCreatesTheConsumer) {
  Open(Dialect::kRedis);
  Fill("s", 1);
  Run({"xgroup", "create", "s", "g", "0"});
  Run({"xreadgroup", "group", "g", "c", "noack", "streams", "s", ">"});
  EXPECT_TRUE(Run({"xinfo", "consumers", "s", "g"}).starts_with("[[\"name\", \"c\", \"pending\", :0"));
}

}  // namespace
}  // namespace stratus::kv
