// The sorted-set family in-process: the commands added for Upstash parity survive a restart
// (their log records replay to the same keyspace), ZSCAN's cursor works across calls while
// the set changes, ZRANDMEMBER's rules, and the replies Redis gives for special scores.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "kv/engine.h"

namespace stratus::kv {
namespace {

constexpr Micros kStart = 1'700'000'000'000'000;

class KvZSetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stratus-kvz-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/appendonly.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Engine> Open() {
    auto e = std::make_unique<Engine>(clock_);
    EngineOptions o;
    o.log_path = path_;
    o.active_expiry = false;
    EXPECT_TRUE(e->Open(o).ok());
    return e;
  }

  std::string dir_, path_;
  FakeClock clock_{kStart};
};

std::string S(const Reply& r) {
  return DebugString(r);
}

TEST_F(KvZSetsTest, WritesReplayAfterRestart) {
  const std::vector<Argv> probes = {
      {"zrange", "a", "0", "-1", "withscores"},
      {"zrange", "u", "0", "-1", "withscores"},
      {"zrange", "i", "0", "-1", "withscores"},
      {"zrange", "d", "0", "-1", "withscores"},
      {"zrange", "rs", "0", "-1", "withscores"},
      {"zrange", "lex", "0", "-1", "withscores"},
      {"zrange", "rank", "0", "-1", "withscores"},
      {"exists", "gone", "popped"},
      {"type", "was_string"},
  };
  std::vector<std::string> before;
  {
    auto e = Open();
    e->Run({"zadd", "a", "1", "x", "2", "y", "3", "z", "4", "w"});
    e->Run({"zadd", "b", "10", "x", "20", "v"});
    e->Run({"sadd", "s", "x", "q"});
    EXPECT_EQ(S(e->Run({"zunionstore", "u", "3", "a", "b", "s", "weights", "2", "1", "5"})), ":6");
    EXPECT_EQ(S(e->Run({"zinterstore", "i", "2", "a", "b", "aggregate", "max"})), ":1");
    EXPECT_EQ(S(e->Run({"zdiffstore", "d", "2", "a", "b"})), ":3");
    EXPECT_EQ(S(e->Run({"zrangestore", "rs", "a", "(1", "+inf", "byscore", "limit", "0", "2"})), ":2");
    EXPECT_EQ(S(e->Run({"zpopmin", "a"})), "[\"x\", \"1\"]");
    EXPECT_EQ(S(e->Run({"zpopmax", "a", "1"})), "[\"w\", \"4\"]");
    EXPECT_EQ(S(e->Run({"zmpop", "2", "nokey", "b", "max", "count", "1"})), "[\"b\", [[\"v\", \"20\"]]]");
    e->Run({"zadd", "lex", "0", "a", "0", "b", "0", "c", "0", "d"});
    EXPECT_EQ(S(e->Run({"zremrangebylex", "lex", "(a", "[c"})), ":2");
    e->Run({"zadd", "rank", "1", "a", "2", "b", "3", "c"});
    EXPECT_EQ(S(e->Run({"zremrangebyrank", "rank", "0", "1"})), ":2");
    e->Run({"zadd", "gone", "1", "a"});
    EXPECT_EQ(S(e->Run({"zremrangebyscore", "gone", "-inf", "+inf"})), ":1");
    e->Run({"zadd", "popped", "1", "a"});
    e->Run({"zpopmin", "popped", "5"});
    e->Run({"set", "was_string", "v"});
    EXPECT_EQ(S(e->Run({"zrangestore", "was_string", "u", "0", "0"})), ":1");
    for (const auto& p : probes) before.push_back(S(e->Run(p)));
    e->Close();
  }
  auto e = Open();
  for (size_t i = 0; i < probes.size(); ++i) EXPECT_EQ(S(e->Run(probes[i])), before[i]) << probes[i][1];
  EXPECT_EQ(before[0], "[\"y\", \"2\", \"z\", \"3\"]");
  EXPECT_EQ(before[1], "[\"y\", \"4\", \"q\", \"5\", \"z\", \"6\", \"w\", \"8\", \"x\", \"17\", \"v\", \"20\"]");
  EXPECT_EQ(before[7], ":0");
  EXPECT_EQ(before[8], "+zset");
}

TEST_F(KvZSetsTest, ReadsAreNotLogged) {
  auto e = Open();
  e->Run({"zadd", "a", "1", "x", "2", "y"});
  auto size = std::filesystem::file_size(path_);
  for (const Argv& cmd : std::vector<Argv>{{"zrandmember", "a", "-5"},
                                           {"zscan", "a", "0"},
                                           {"zunion", "1", "a"},
                                           {"zintercard", "1", "a"},
                                           {"zrangebylex", "a", "-", "+"},
                                           {"zpopmin", "nokey"},
                                           {"zrangestore", "a2", "nokey", "0", "-1"},
                                           {"zremrangebyrank", "a", "5", "6"}}) {
    e->Run(cmd);
  }
  EXPECT_EQ(std::filesystem::file_size(path_), size);
}

// A large set is scanned in several calls; a member present for the whole scan comes back
// even while others are added and removed between the calls.
TEST_F(KvZSetsTest, ScanCursorWorksAcrossCallsWhileTheSetChanges) {
  auto e = Open();
  Argv add{"zadd", "big"};
  for (int i = 0; i < 1000; ++i) {
    add.push_back(std::to_string(i));
    add.push_back("m" + std::to_string(i));
  }
  e->Run(add);
  std::set<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    Reply r = e->Run({"zscan", "big", cursor, "count", "25"});
    ASSERT_EQ(r.elems.size(), 2u);
    cursor = r.elems[0].str;
    const auto& items = r.elems[1].elems;
    EXPECT_LE(items.size(), 2u * 25 + 2);
    for (size_t i = 0; i < items.size(); i += 2) {
      seen.insert(items[i].str);
      if (items[i].str[0] == 'm') {
        EXPECT_EQ(items[i + 1].str, items[i].str.substr(1));
      }
    }
    // Churn: members m1000.. come and go, none of the original ones.
    e->Run({"zadd", "big", "5", "x" + std::to_string(calls)});
    e->Run({"zrem", "big", "x" + std::to_string(calls - 1)});
    ++calls;
    ASSERT_LT(calls, 500);
  } while (cursor != "0");
  EXPECT_GE(calls, 40);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.count("m" + std::to_string(i))) << i;
  // MATCH filters within each call; a cursor past every hash ends the scan.
  EXPECT_EQ(S(e->Run({"zscan", "big", "4503599627370496"})), "[\"0\", []]");
  EXPECT_EQ(S(e->Run({"zscan", "big", "0", "count", "0"})), "-ERR syntax error");
}

TEST_F(KvZSetsTest, RandMemberCounts) {
  auto e = Open();
  e->Run({"zadd", "z", "1", "a", "2", "b", "3", "c"});
  EXPECT_EQ(S(e->Run({"zrandmember", "z", "3", "withscores"})), "[\"c\", \"3\", \"b\", \"2\", \"a\", \"1\"]");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) seen.insert(e->Run({"zrandmember", "z"}).str);
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b", "c"}));
  Reply two = e->Run({"zrandmember", "z", "2"});
  ASSERT_EQ(two.elems.size(), 2u);
  EXPECT_NE(two.elems[0].str, two.elems[1].str);
  EXPECT_EQ(e->Run({"zrandmember", "z", "-7"}).elems.size(), 7u);
  EXPECT_EQ(S(e->Run({"zrandmember", "z", "-100000000"})), "-ERR value is out of range");
  EXPECT_EQ(S(e->Run({"zrandmember", "z", "0"})), "[]");
}

TEST_F(KvZSetsTest, SpecialScores) {
  auto e = Open();
  e->Run({"zadd", "z", "0", "zero", "inf", "top", "-inf", "bottom"});
  // A weight of -1 makes 0 into -0, which a reply (a skiplist in Redis) keeps; a stored set does not.
  EXPECT_EQ(S(e->Run({"zunion", "1", "z", "weights", "-1", "withscores"})),
            "[\"top\", \"-inf\", \"zero\", \"-0\", \"bottom\", \"inf\"]");
  e->Run({"zunionstore", "n", "1", "z", "weights", "-1"});
  EXPECT_EQ(S(e->Run({"zscore", "n", "zero"})), "\"0\"");
  // inf + -inf is 0 in SUM, and 0 * inf is 0.
  e->Run({"zadd", "m", "-inf", "top", "1", "zero"});
  EXPECT_EQ(S(e->Run({"zinter", "2", "z", "m", "withscores"})), "[\"top\", \"0\", \"zero\", \"1\"]");
  EXPECT_EQ(S(e->Run({"zunion", "1", "z", "weights", "0", "withscores"})),
            "[\"bottom\", \"0\", \"top\", \"0\", \"zero\", \"0\"]");
  EXPECT_EQ(S(e->Run({"zunion", "0", "z"})), "-ERR at least 1 input key is needed for 'zunion' command");
  EXPECT_EQ(S(e->Run({"ZINTERSTORE", "d", "0", "z"})), "-ERR at least 1 input key is needed for 'zinterstore' command");
}

}  // namespace
}  // namespace stratus::kv
