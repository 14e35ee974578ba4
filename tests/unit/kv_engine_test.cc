// The embedded engine in-process: expiry (lazy and active) on an injected clock, the
// append-only log (replay, absolute TTLs, torn tails, atomic batches, rewrite).
#include "kv/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace stratus::kv {
namespace {

constexpr Micros kStart = 1'700'000'000'000'000;

class KvEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stratus-kv-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/appendonly.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Engine> Open(EngineOptions o = {}) {
    auto e = std::make_unique<Engine>(clock_);
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

TEST_F(KvEngineTest, ExpiryIsLazyAndActive) {
  auto e = Open();
  EXPECT_EQ(S(e->Run({"set", "a", "1", "PX", "1000"})), "+OK");
  EXPECT_EQ(S(e->Run({"set", "b", "1", "EX", "1"})), "+OK");
  EXPECT_EQ(S(e->Run({"pttl", "a"})), ":1000");
  clock_.Advance(999'000);
  EXPECT_EQ(S(e->Run({"get", "a"})), "\"1\"");
  clock_.Advance(1'000);
  EXPECT_EQ(S(e->Run({"get", "a"})), "(nil)");  // lazy
  EXPECT_EQ(e->DbSize(), 1u);
  EXPECT_EQ(e->ExpireNow(), 1u);  // active
  EXPECT_EQ(e->DbSize(), 0u);
}

TEST_F(KvEngineTest, ReplayKeepsEveryKeyAndAbsoluteTtls) {
  {
    auto e = Open();
    e->Run({"set", "s", "v", "EX", "100"});
    e->Run({"setex", "s2", "50", "v"});
    e->Run({"incrby", "n", "5"});
    e->Run({"hset", "h", "f", "1"});
    e->Run({"zadd", "z", "1.5", "a", "2", "b"});
    e->Run({"rpush", "l", "x", "y"});
    e->Run({"sadd", "set", "m"});
    e->Run({"expire", "h", "30"});
    e->Run({"set", "gone", "x"});
    e->Run({"del", "gone"});
    e->Close();
  }
  clock_.Advance(40 * kMicrosPerSecond);  // time passes while the server is down
  auto e = Open();
  EXPECT_EQ(S(e->Run({"ttl", "s"})), ":60");
  EXPECT_EQ(S(e->Run({"ttl", "s2"})), ":10");
  EXPECT_EQ(S(e->Run({"exists", "h"})), ":0");  // expired while down
  EXPECT_EQ(S(e->Run({"get", "n"})), "\"5\"");
  EXPECT_EQ(S(e->Run({"zrange", "z", "0", "-1", "withscores"})), "[\"a\", \"1.5\", \"b\", \"2\"]");
  EXPECT_EQ(S(e->Run({"lrange", "l", "0", "-1"})), "[\"x\", \"y\"]");
  EXPECT_EQ(S(e->Run({"smembers", "set"})), "[\"m\"]");
  EXPECT_EQ(S(e->Run({"exists", "gone"})), ":0");
  EXPECT_EQ(e->DbSize(), 6u);
}

TEST_F(KvEngineTest, TornTailAndUnfinishedTransactionAreDropped) {
  {
    auto e = Open();
    e->Run({"set", "a", "1"});
    std::vector<Argv> tx = {{"incr", "a"}, {"set", "b", "2"}};
    EXPECT_EQ(e->Execute(tx, true, false).replies.size(), 2u);
    e->Close();
  }
  {
    // A crash mid-write: half a record, then a MULTI whose EXEC never made it.
    std::ofstream out(path_, std::ios::app | std::ios::binary);
    out << "*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nd\r\n$1\r\n4\r\n*"
           "3\r\n$3\r\nSE";
  }
  auto e = Open();
  EXPECT_EQ(S(e->Run({"mget", "a", "b", "c", "d"})), "[\"2\", \"2\", \"3\", (nil)]");
  e->Run({"set", "e", "5"});
  e->Close();
  auto again = Open();
  EXPECT_EQ(S(again->Run({"mget", "c", "d", "e"})), "[\"3\", (nil), \"5\"]");
}

TEST_F(KvEngineTest, LogIsRewrittenWhenItGrows) {
  EngineOptions o;
  o.rewrite_min_bytes = 4096;
  auto e = Open(o);
  for (int i = 0; i < 2000; ++i) e->Run({"incr", "counter"});
  EXPECT_LT(std::filesystem::file_size(path_), 8192u);  // 2000 INCRs compacted to one SET
  e->Close();
  auto again = Open();
  EXPECT_EQ(S(again->Run({"get", "counter"})), "\"2000\"");
}

TEST_F(KvEngineTest, TransactionsAbortOnQueueErrors) {
  auto e = Open();
  std::vector<Argv> bad = {{"set", "a", "1"}, {"nosuch"}};
  BatchResult r = e->Execute(bad, true, false);
  ASSERT_TRUE(r.abort.has_value());
  EXPECT_EQ(r.abort->str, "EXECABORT Transaction discarded because of previous errors.");
  EXPECT_EQ(S(e->Run({"exists", "a"})), ":0");
  std::vector<Argv> ro = {{"get", "a"}, {"set", "a", "1"}};
  r = e->Execute(ro, false, /*readonly=*/true);
  EXPECT_EQ(S(r.replies[0]), "(nil)");
  EXPECT_EQ(S(r.replies[1]), "-NOPERM this user has no permissions to run the 'set' command");
}

TEST_F(KvEngineTest, CommandTableIsConsistent) {
  auto e = Open();
  for (const auto& [name, spec] : e->table().all()) {
    EXPECT_EQ(name, spec.name);
    EXPECT_NE(spec.arity, 0) << name;
    EXPECT_NE(spec.flags & (kWrite | kReadOnly), 0u) << name;
  }
  EXPECT_GE(e->table().all().size(), 70u);
}

}  // namespace
}  // namespace stratus::kv
