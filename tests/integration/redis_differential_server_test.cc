// Differential cases for the commands no other differential file reached (EXPIRETIME and
// PEXPIRETIME, FLUSHDB, PUBLISH and PUBSUB without subscribers, XREADGROUP NOACK), and the
// guard that keeps it so: every command of the engine's table that redis-server 7.0 knows
// (COMMAND INFO) is named in some tests/integration/*differential* file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "integration/paths.h"
#include "integration/redis_differential.h"

namespace stratus {
namespace {

using kv::Argv;
using kv::Reply;

class RedisDifferentialServer : public testing::RedisDifferentialTest {
 protected:
  void Same(const Argv& cmd) {
    Reply got;
    Reply want = Both(cmd, &got);
    EXPECT_EQ(kv::DebugString(got), kv::DebugString(want)) << testing::Shown(cmd);
  }
};

TEST_F(RedisDifferentialServer, ExpireTimesAndFlushDbAnswerLikeRedis) {
  Flush();
  for (const Argv& cmd : std::vector<Argv>{
           {"set", "k", "v"},
           {"pexpiretime", "k"},
           {"expiretime", "k"},
           {"pexpiretime", "missing"},
           {"expiretime", "missing"},
           {"pexpireat", "k", "33177117420000"},
           {"pexpiretime", "k"},
           {"expiretime", "k"},
           {"expireat", "k", "33177117421"},
           {"pexpiretime", "k"},
           {"pexpireat", "k", "33177117420999"},
           {"expiretime", "k"},
           {"persist", "k"},
           {"pexpiretime", "k"},
           {"pexpiretime"},
           {"pexpiretime", "k", "x"},
           {"hset", "h", "f", "v"},
           {"pexpireat", "h", "33177117420000"},
           {"pexpiretime", "h"},
           {"dbsize"},
           {"flushdb", "x"},
           {"flushdb", "async", "x"},
           {"flushdb", "sync"},
           {"dbsize"},
           {"set", "k", "v"},
           {"flushdb", "ASYNC"},
           {"exists", "k", "h"},
           {"set", "k", "v"},
           {"flushdb"},
           {"dbsize"},
       }) {
    Same(cmd);
  }
}

// Without subscribers: the engine's hub and Redis's agree on every count and error.
TEST_F(RedisDifferentialServer, PublishAndPubsubAnswerLikeRedis) {
  Flush();
  for (const Argv& cmd : std::vector<Argv>{
           {"publish", "news", "hello"},
           {"publish", "news"},
           {"publish", "news", "a", "b"},
           {"pubsub", "channels"},
           {"pubsub", "channels", "n*"},
           {"pubsub", "channels", "a", "b"},
           {"pubsub", "numsub"},
           {"pubsub", "numsub", "news", "other"},
           {"pubsub", "numpat"},
           {"pubsub", "numpat", "x"},
           {"pubsub", "shardchannels"},
           {"pubsub", "shardnumsub", "news"},
           {"pubsub"},
           {"PUBSUB", "NUMSUB", "x"},
           {"eval", "return redis.call('publish', 'c', 'lua')", "0"},
       }) {
    Same(cmd);
  }
}

// Redis creates the consumer an XREADGROUP NOACK names (the engine's Redis dialect; Upstash,
// the default, does not: tests/unit/kv_streams_test.cc).
TEST_F(RedisDifferentialServer, NoAckReadGroupAnswersLikeRedis) {
  Flush();
  for (const Argv& cmd : std::vector<Argv>{
           {"xadd", "s", "1-1", "f", "v"},
           {"xadd", "s", "2-1", "f", "v"},
           {"xgroup", "create", "s", "g", "0"},
           {"xreadgroup", "group", "g", "c", "noack", "count", "1", "streams", "s", ">"},
           {"xpending", "s", "g"},
           {"xinfo", "groups", "s"},
           {"xreadgroup", "group", "g", "c", "noack", "streams", "s", "0"},
           {"xreadgroup", "group", "g", "d", "noack", "streams", "s", ">"},
           {"xpending", "s", "g"},
       }) {
    Same(cmd);
  }
  Reply got;
  Reply want = Both({"xinfo", "consumers", "s", "g"}, &got);
  ASSERT_EQ(want.elems.size(), 2u);
  ASSERT_EQ(got.elems.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(kv::DebugString(got.elems[i].elems[1]), kv::DebugString(want.elems[i].elems[1]));  // name
    EXPECT_EQ(kv::DebugString(got.elems[i].elems[3]), kv::DebugString(want.elems[i].elems[3]));  // pending
  }
}

std::string DifferentialSources() {
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(std::string(STRATUS_SOURCE_DIR) + "/tests/integration")) {
    if (e.path().filename().string().find("differential") == std::string::npos) continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    all += ss.str();
  }
  return kv::ToLower(all);
}

TEST_F(RedisDifferentialServer, EveryCommandRedisHasIsCompared) {
  std::string sources = DifferentialSources();
  std::vector<std::string> missing;
  int known = 0;
  for (const auto& [name, spec] : engine_.table().all()) {
    Reply info = client_->Call({"command", "info", name});
    ASSERT_EQ(info.type, Reply::Type::kArray) << name;
    if (info.elems.empty() || info.elems[0].type != Reply::Type::kArray) continue;  // newer than 7.0
    ++known;
    if (sources.find("\"" + name + "\"") == std::string::npos) missing.push_back(name);
  }
  std::sort(missing.begin(), missing.end());
  std::string shown;
  for (const auto& m : missing) shown += m + " ";
  EXPECT_TRUE(missing.empty()) << "commands redis-server 7.0 has that no differential test sends: " << shown;
  EXPECT_GT(known, 150);
  RecordProperty("redis_commands", known);
}

}  // namespace
}  // namespace stratus
