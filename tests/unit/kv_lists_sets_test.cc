// The list and set commands added for Upstash parity, in-process: what the differential test
// against redis-server cannot pin down (SPOP and SRANDMEMBER's chance, SSCAN's cursor across
// calls and changes, the repeat cap) and every new write surviving a restart through the
// append-only log, random pops included.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "integration/engine_on_log.h"
#include "kv/engine.h"

namespace stratus::kv {
namespace {

constexpr Micros kStart = 1'700'000'000'000'000;

std::string S(const Reply& r) {
  return DebugString(r);
}

std::set<std::string> Members(const Reply& r) {
  std::set<std::string> out;
  for (const auto& e : r.elems) out.insert(e.str);
  return out;
}

// A reply as text, SMEMBERS's sorted (Redis leaves its order unspecified).
std::string Canon(const Argv& cmd, const Reply& r) {
  if (cmd[0] != "smembers" || r.type != Reply::Type::kArray) return S(r);
  std::vector<Reply> v;
  for (const auto& m : Members(r)) v.push_back(Reply::Bulk(m));
  return S(Reply::Array(std::move(v)));
}

class KvListsSetsTest : public testing::EngineOnLogTest {
 protected:
  KvListsSetsTest() : EngineOnLogTest(kStart) {}
  std::string LogText() {
    std::ifstream in(log_path());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

TEST_F(KvListsSetsTest, ListCommandsAnswerAsRedisDocuments) {
  EXPECT_EQ(S(Run({"rpush", "l", "a", "b", "c", "b"})), ":4");
  EXPECT_EQ(S(Run({"linsert", "l", "BEFORE", "b", "x"})), ":5");
  EXPECT_EQ(S(Run({"linsert", "l", "after", "c", "y"})), ":6");
  EXPECT_EQ(S(Run({"linsert", "l", "after", "nope", "y"})), ":-1");
  EXPECT_EQ(S(Run({"linsert", "missing", "after", "a", "y"})), ":0");
  EXPECT_EQ(S(Run({"linsert", "l", "middle", "a", "y"})), "-ERR syntax error");
  EXPECT_EQ(S(Run({"lrange", "l", "0", "-1"})), "[\"a\", \"x\", \"b\", \"c\", \"y\", \"b\"]");
  EXPECT_EQ(S(Run({"lpos", "l", "b"})), ":2");
  EXPECT_EQ(S(Run({"lpos", "l", "b", "rank", "-1"})), ":5");
  EXPECT_EQ(S(Run({"lpos", "l", "b", "count", "0"})), "[:2, :5]");
  EXPECT_EQ(S(Run({"lpos", "l", "b", "rank", "2", "count", "5"})), "[:5]");
  EXPECT_EQ(S(Run({"lpos", "l", "b", "maxlen", "2"})), "(nil)");
  EXPECT_EQ(S(Run({"lpos", "l", "b", "rank", "0"})).rfind("-ERR RANK can't be zero", 0), 0u);
  EXPECT_EQ(S(Run({"lmove", "l", "dst", "LEFT", "RIGHT"})), "\"a\"");
  EXPECT_EQ(S(Run({"rpoplpush", "l", "dst"})), "\"b\"");
  EXPECT_EQ(S(Run({"lrange", "dst", "0", "-1"})), "[\"b\", \"a\"]");
  EXPECT_EQ(S(Run({"lmove", "l", "dst", "up", "left"})), "-ERR syntax error");
  EXPECT_EQ(S(Run({"lmpop", "2", "none", "l", "right", "count", "2"})), "[\"l\", [\"y\", \"c\"]]");
  EXPECT_EQ(S(Run({"lmpop", "1", "none", "left"})), "(nil-array)");
  EXPECT_EQ(S(Run({"lmpop", "0", "l", "left"})), "-ERR numkeys should be greater than 0");
  EXPECT_EQ(S(Run({"lmpop", "1", "l", "left", "count", "0"})), "-ERR count should be greater than 0");
  // One element moved onto its own list stays; the last element popped takes the key.
  EXPECT_EQ(S(Run({"rpush", "one", "z"})), ":1");
  EXPECT_EQ(S(Run({"lmove", "one", "one", "left", "right"})), "\"z\"");
  EXPECT_EQ(S(Run({"lrange", "one", "0", "-1"})), "[\"z\"]");
  EXPECT_EQ(S(Run({"lmpop", "1", "one", "left", "count", "9"})), "[\"one\", [\"z\"]]");
  EXPECT_EQ(S(Run({"exists", "one"})), ":0");
  EXPECT_EQ(S(Run({"set", "str", "v"})), "+OK");
  EXPECT_EQ(S(Run({"lmove", "l", "str", "left", "left"})).rfind("-WRONGTYPE", 0), 0u);
  EXPECT_EQ(S(Run({"lrange", "l", "0", "-1"})), "[\"x\", \"b\"]");  // nothing popped on WRONGTYPE
}

TEST_F(KvListsSetsTest, SetAlgebraAndMoves) {
  Run({"sadd", "a", "1", "2", "3", "4"});
  Run({"sadd", "b", "3", "4", "5"});
  EXPECT_EQ(Members(Run({"sinter", "a", "b"})), (std::set<std::string>{"3", "4"}));
  EXPECT_EQ(Members(Run({"sunion", "a", "b", "nokey"})), (std::set<std::string>{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(Members(Run({"sdiff", "a", "b"})), (std::set<std::string>{"1", "2"}));
  EXPECT_EQ(S(Run({"sinter", "a", "nokey"})), "[]");
  EXPECT_EQ(S(Run({"sintercard", "2", "a", "b"})), ":2");
  EXPECT_EQ(S(Run({"sintercard", "2", "a", "b", "limit", "1"})), ":1");
  EXPECT_EQ(S(Run({"sintercard", "3", "a", "b"})), "-ERR Number of keys can't be greater than number of args");
  Run({"set", "dst", "x", "EX", "100"});
  EXPECT_EQ(S(Run({"sunionstore", "dst", "a", "b"})), ":5");
  EXPECT_EQ(S(Run({"ttl", "dst"})), ":-1");  // the store replaced the string and its TTL
  EXPECT_EQ(S(Run({"sinterstore", "dst", "a", "nokey"})), ":0");
  EXPECT_EQ(S(Run({"exists", "dst"})), ":0");
  EXPECT_EQ(S(Run({"sdiffstore", "a", "a", "b"})), ":2");  // a destination that is also a source
  EXPECT_EQ(Members(Run({"smembers", "a"})), (std::set<std::string>{"1", "2"}));
  EXPECT_EQ(S(Run({"smove", "a", "c", "1"})), ":1");
  EXPECT_EQ(S(Run({"smove", "a", "c", "9"})), ":0");
  EXPECT_EQ(S(Run({"smove", "a", "a", "2"})), ":1");
  EXPECT_EQ(S(Run({"smove", "a", "c", "2"})), ":1");
  EXPECT_EQ(S(Run({"exists", "a"})), ":0");
  EXPECT_EQ(Members(Run({"smembers", "c"})), (std::set<std::string>{"1", "2"}));
  Run({"set", "str", "v"});
  EXPECT_EQ(S(Run({"sinter", "nokey", "str"})).rfind("-WRONGTYPE", 0), 0u);
  EXPECT_EQ(S(Run({"smove", "nokey", "str", "1"})), ":0");
  EXPECT_EQ(S(Run({"smove", "c", "str", "1"})).rfind("-WRONGTYPE", 0), 0u);
  EXPECT_EQ(S(Run({"scard", "c"})), ":2");
}

TEST_F(KvListsSetsTest, SpopAndSrandmemberChooseFromTheSet) {
  std::set<std::string> all;
  for (int i = 0; i < 200; ++i) {
    all.insert("m" + std::to_string(i));
    Run({"sadd", "s", "m" + std::to_string(i)});
  }
  // Distinct members for a positive count, repeats allowed for a negative one.
  Reply r = Run({"srandmember", "s", "50"});
  ASSERT_EQ(r.elems.size(), 50u);
  std::set<std::string> got = Members(r);
  EXPECT_EQ(got.size(), 50u);
  for (const auto& m : got) EXPECT_TRUE(all.count(m)) << m;
  r = Run({"srandmember", "s", "-1000"});
  ASSERT_EQ(r.elems.size(), 1000u);
  got = Members(r);
  EXPECT_LT(got.size(), 200u + 1);
  EXPECT_GT(got.size(), 150u);  // 1000 draws from 200 miss about 1 member; 150 is far off
  EXPECT_EQ(Members(Run({"srandmember", "s", "500"})), all);
  EXPECT_EQ(S(Run({"srandmember", "s", "-2000000"})).rfind("-ERR value is out of range", 0), 0u);
  EXPECT_EQ(S(Run({"srandmember", "nokey", "-2000000"})), "[]");
  // SPOP removes exactly what it answers.
  std::set<std::string> popped;
  Reply one = Run({"spop", "s"});
  ASSERT_EQ(one.type, Reply::Type::kBulk);
  popped.insert(one.str);
  r = Run({"spop", "s", "120"});
  ASSERT_EQ(r.elems.size(), 120u);
  for (const auto& e : r.elems) EXPECT_TRUE(popped.insert(e.str).second) << e.str;
  EXPECT_EQ(S(Run({"scard", "s"})), ":79");
  std::set<std::string> left = Members(Run({"smembers", "s"}));
  for (const auto& m : popped) EXPECT_FALSE(left.count(m)) << m;
  EXPECT_EQ(left.size() + popped.size(), all.size());
  r = Run({"spop", "s", "79"});
  EXPECT_EQ(Members(r), left);
  EXPECT_EQ(S(Run({"exists", "s"})), ":0");
  EXPECT_EQ(S(Run({"spop", "s", "-1"})), "-ERR value is out of range, must be positive");
  EXPECT_EQ(S(Run({"spop", "s", "1", "2"})), "-ERR syntax error");
}

TEST_F(KvListsSetsTest, SscanCursorVisitsEveryMemberAcrossCallsAndChanges) {
  for (int i = 0; i < 300; ++i) Run({"sadd", "s", "m" + std::to_string(i)});
  std::set<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    Reply r = Run({"sscan", "s", cursor, "COUNT", "7"});
    ASSERT_EQ(r.elems.size(), 2u);
    cursor = r.elems[0].str;
    EXPECT_LE(r.elems[1].elems.size(), 8u);
    for (const auto& e : r.elems[1].elems) seen.insert(e.str);
    // Changes during the scan: members added and removed never make the scan lose one that
    // stays.
    if (calls == 5) {
      Run({"srem", "s", "m299", "m298"});
      Run({"sadd", "s", "new1", "new2"});
    }
    ++calls;
  } while (cursor != "0" && calls < 1000);
  EXPECT_EQ(cursor, "0");
  for (int i = 0; i < 298; ++i) EXPECT_TRUE(seen.count("m" + std::to_string(i))) << i;
  EXPECT_GT(calls, 30);
  // MATCH filters; a small or integer-only set comes whole in one call, as in Redis.
  Reply r = Run({"sscan", "s", "0", "match", "m1?", "count", "1000"});
  EXPECT_EQ(S(r.elems[0]), "\"0\"");
  EXPECT_EQ(r.elems[1].elems.size(), 10u);
  Run({"sadd", "ints", "1", "2", "3", "4", "5"});
  EXPECT_EQ(S(Run({"sscan", "ints", "0", "count", "1"})).substr(0, 6), "[\"0\", ");
  EXPECT_EQ(S(Run({"sscan", "nokey", "0", "count", "0"})), "[\"0\", []]");
  EXPECT_EQ(S(Run({"sscan", "s", "0", "count", "0"})), "-ERR syntax error");
  EXPECT_EQ(S(Run({"sscan", "s", "x"})), "-ERR invalid cursor");
}

TEST_F(KvListsSetsTest, EveryNewWriteSurvivesARestart) {
  Run({"rpush", "l", "a", "b", "c", "d", "e"});
  Run({"linsert", "l", "before", "c", "x"});
  Run({"lmove", "l", "l2", "right", "left"});
  Run({"rpoplpush", "l", "l2"});
  Run({"lmpop", "1", "l", "left", "count", "2"});
  for (int i = 0; i < 50; ++i) Run({"sadd", "s", std::to_string(i * 7)});
  Run({"sadd", "t", "7", "14", "1000"});
  Run({"smove", "t", "s", "1000"});
  Run({"spop", "s"});
  Run({"spop", "s", "10"});
  Run({"sinterstore", "i", "s", "t"});
  Run({"sunionstore", "u", "s", "t"});
  Run({"sdiffstore", "d", "s", "t"});
  Run({"sadd", "gone", "1", "2"});
  Run({"spop", "gone", "5"});  // all of it: logged as DEL
  std::vector<Argv> reads = {{"lrange", "l", "0", "-1"}, {"lrange", "l2", "0", "-1"}, {"smembers", "s"},
                             {"smembers", "t"},          {"smembers", "i"},           {"smembers", "u"},
                             {"smembers", "d"},          {"exists", "gone"},          {"dbsize"}};
  std::vector<std::string> before;
  for (const auto& c : reads) before.push_back(Canon(c, Run(c)));
  EXPECT_EQ(before[0], "[\"x\", \"c\"]");
  EXPECT_EQ(before[1], "[\"d\", \"e\"]");
  // Random pops are in the log as their effect, not as SPOP.
  std::string log = LogText();
  EXPECT_EQ(log.find("SPOP"), std::string::npos);
  EXPECT_EQ(log.find("spop"), std::string::npos);
  EXPECT_NE(log.find("SREM"), std::string::npos);
  engine_->Close();
  Open();
  for (size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(Canon(reads[i], Run(reads[i])), before[i]) << reads[i][0] << " " << reads[i][1];
  }
}

TEST_F(KvListsSetsTest, RandomPopsInsideAScriptReplayAsTheyHappened) {
  for (int i = 0; i < 40; ++i) Run({"sadd", "s", "m" + std::to_string(i)});
  Run({"rpush", "l", "a", "b", "c"});
  Reply r = Run(
      {"eval", "redis.call('spop', KEYS[1], 5); redis.call('lmpop', 1, KEYS[2], 'right'); return 1", "2", "s", "l"});
  ASSERT_EQ(S(r), ":1");
  std::string before = Canon({"smembers"}, Run({"smembers", "s"}));
  EXPECT_EQ(S(Run({"scard", "s"})), ":35");
  engine_->Close();
  Open();
  EXPECT_EQ(Canon({"smembers"}, Run({"smembers", "s"})), before);
  EXPECT_EQ(S(Run({"lrange", "l", "0", "-1"})), "[\"a\", \"b\"]");
}

}  // namespace
}  // namespace stratus::kv
