// Differential test of the sorted-set family: fixed cases and seeded random sequences go to
// the embedded engine and to a real redis-server, and every reply must be identical (errors,
// special scores, exclusive and lex ranges included). ZRANDMEMBER is random, so it is checked
// by its properties on both; so is ZSCAN over a set too large for one listpack.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "common/clock.h"
#include "integration/redis_differential.h"
#include "kv/engine.h"
#include "kv/util.h"

namespace stratus {
namespace {

using kv::Argv;
using kv::Reply;

class RedisDifferentialZSets : public testing::RedisDifferentialTest {
 protected:
  // Both answer `cmd` identically; returns Redis's reply.
  Reply Same(const Argv& cmd) {
    Reply want = client_->Call(cmd);
    Reply got = engine_.Run(cmd);
    EXPECT_EQ(kv::DebugString(got), kv::DebugString(want)) << testing::Shown(cmd);
    return want;
  }
};

TEST_F(RedisDifferentialZSets, FixedCasesAnswerLikeRedis) {
  Flush();
  const std::vector<Argv> setup = {
      {"zadd", "a", "1", "m1", "2", "m2", "3", "m3", "-inf", "lo", "+inf", "hi", "-0", "zero", "1.1", "dec"},
      {"zadd", "b", "10", "m1", "20", "m2", "30", "x", "1e-300", "tiny"},
      {"zadd", "c", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "g"},
      {"sadd", "s", "m1", "x", "y"},
      {"set", "str", "v"},
      {"zadd", "inf1", "inf", "p", "-inf", "n"},
      {"zadd", "inf2", "-inf", "p", "inf", "n"},
  };
  for (const auto& cmd : setup) Same(cmd);
  const std::vector<Argv> cases = {
      // ZRANGE and its older forms.
      {"zrange", "a", "0", "-1", "withscores"},
      {"zrevrange", "a", "0", "-1", "WITHSCORES"},
      {"zrevrange", "a", "1", "2"},
      {"zrevrange", "a", "0", "-1", "rev"},
      {"zrevrange", "a", "0", "-1", "limit", "0", "1"},
      {"zrevrange", "a", "0", "-1", "byscore"},
      {"zrevrange", "a", "x", "1"},
      {"zrevrange", "nokey", "0", "-1"},
      {"zrevrange", "str", "0", "-1"},
      {"zrangebyscore", "a", "-inf", "+inf", "withscores"},
      {"zrangebyscore", "a", "(1", "3"},
      {"zrangebyscore", "a", "(1", "(3", "WITHSCORES"},
      {"zrangebyscore", "a", "1", "3", "limit", "1", "1"},
      {"zrangebyscore", "a", "1", "3", "limit", "1", "-1"},
      {"zrangebyscore", "a", "1", "3", "limit", "-1", "2"},
      {"zrangebyscore", "a", "1", "3", "limit", "0", "0"},
      {"zrangebyscore", "a", "1", "3", "limit", "0"},
      {"zrangebyscore", "a", "1", "3", "limit", "x", "1"},
      {"zrangebyscore", "a", "1", "3", "byscore"},
      {"zrangebyscore", "a", "1", "3", "rev"},
      {"zrangebyscore", "a", "x", "3"},
      {"zrangebyscore", "a", "1", "nan"},
      {"zrangebyscore", "a", "(", "3"},
      {"zrangebyscore", "a", "3", "1"},
      {"zrangebyscore", "a", "-0", "0", "withscores"},
      {"zrangebyscore", "a", "inf", "inf", "withscores"},
      {"zrangebyscore", "a", "(inf", "+inf"},
      {"zrevrangebyscore", "a", "+inf", "-inf", "withscores"},
      {"zrevrangebyscore", "a", "3", "(1", "limit", "0", "2"},
      {"zrevrangebyscore", "a", "1", "3"},
      {"zrevrangebyscore", "a", "x", "1"},
      {"zrangebylex", "c", "-", "+"},
      {"zrangebylex", "c", "[b", "(e"},
      {"zrangebylex", "c", "(b", "[e", "limit", "1", "2"},
      {"zrangebylex", "c", "[b", "[b"},
      {"zrangebylex", "c", "(b", "(b"},
      {"zrangebylex", "c", "-", "-"},
      {"zrangebylex", "c", "+", "+"},
      {"zrangebylex", "c", "+", "-"},
      {"zrangebylex", "c", "[", "+"},
      {"zrangebylex", "c", "(", "("},
      {"zrangebylex", "c", "b", "+"},
      {"zrangebylex", "c", "-x", "+"},
      {"zrangebylex", "c", "[a", "[z", "withscores"},
      {"zrangebylex", "c", "[a", "[z", "bylex"},
      {"zrangebylex", "nokey", "-", "+"},
      {"zrangebylex", "str", "-", "+"},
      {"zrevrangebylex", "c", "+", "-"},
      {"zrevrangebylex", "c", "(e", "[b"},
      {"zrevrangebylex", "c", "[e", "(b", "limit", "1", "10"},
      {"zrevrangebylex", "c", "-", "+"},
      {"zrange", "c", "(e", "[b", "bylex", "rev", "limit", "0", "2"},
      {"zrange", "a", "+inf", "(1", "byscore", "rev", "withscores", "limit", "1", "3"},
      {"zrange", "a", "0", "-1", "rev", "rev"},
      {"zrange", "a", "0", "-1", "bylex", "byscore"},
      // ZLEXCOUNT, ZCOUNT.
      {"zlexcount", "c", "-", "+"},
      {"zlexcount", "c", "[b", "(f"},
      {"zlexcount", "c", "(a", "(a"},
      {"zlexcount", "c", "x", "+"},
      {"zlexcount", "nokey", "-", "+"},
      {"zlexcount", "str", "-", "+"},
      {"zlexcount", "c", "-"},
      {"zcount", "a", "(-inf", "(inf"},
      // ZRANK, ZREVRANK.
      {"zrank", "a", "lo"},
      {"zrank", "a", "zero"},
      {"zrevrank", "a", "lo"},
      {"zrank", "a", "nope"},
      {"zrank", "str", "x"},
      // Set algebra.
      {"zunion", "2", "a", "b", "withscores"},
      {"zunion", "3", "a", "b", "s", "withscores"},
      {"zunion", "2", "a", "b", "weights", "2", "0.5", "withscores"},
      {"zunion", "2", "a", "b", "weights", "2", "withscores"},
      {"zunion", "2", "a", "b", "weights", "2", "x"},
      {"zunion", "2", "a", "b", "weights", "inf", "-inf", "withscores"},
      {"zunion", "2", "a", "b", "weights", "0", "0", "withscores"},
      {"zunion", "1", "a", "weights", "-1", "withscores"},
      {"zunion", "2", "inf1", "inf2", "withscores"},
      {"zunion", "2", "inf1", "inf2", "aggregate", "min", "withscores"},
      {"zunion", "2", "inf1", "inf2", "aggregate", "max", "withscores"},
      {"zunion", "2", "a", "b", "aggregate", "MAX", "WITHSCORES"},
      {"zunion", "2", "a", "b", "aggregate", "avg"},
      {"zunion", "2", "a", "b", "aggregate"},
      {"zunion", "2", "a", "b", "bogus"},
      {"zunion", "2", "a", "nokey", "withscores"},
      {"zunion", "2", "a", "str"},
      {"zunion", "2", "str", "a", "bogus"},
      {"zunion", "0", "a"},
      {"zunion", "-1", "a"},
      {"zunion", "x", "a"},
      {"zunion", "3", "a", "b"},
      {"zunion", "1"},
      {"zunion", "2", "a", "a", "withscores"},
      {"zinter", "2", "a", "b", "withscores"},
      {"zinter", "3", "a", "b", "s", "withscores"},
      {"zinter", "2", "a", "b", "weights", "1", "-1", "aggregate", "min", "withscores"},
      {"zinter", "2", "a", "a", "withscores"},
      {"zinter", "2", "a", "nokey"},
      {"zinter", "0", "a"},
      {"zinter", "2", "inf1", "inf2", "withscores"},
      {"zinter", "2", "inf1", "inf2", "weights", "0", "1", "withscores"},
      {"zintercard", "2", "a", "b"},
      {"zintercard", "2", "a", "b", "limit", "1"},
      {"zintercard", "2", "a", "b", "limit", "0"},
      {"zintercard", "2", "a", "b", "limit", "-1"},
      {"zintercard", "2", "a", "b", "limit", "x"},
      {"zintercard", "2", "a", "b", "withscores"},
      {"zintercard", "2", "a", "b", "weights", "1", "1"},
      {"zintercard", "0", "a"},
      {"zintercard", "1", "str"},
      {"zdiff", "2", "a", "b", "withscores"},
      {"zdiff", "3", "a", "b", "s"},
      {"zdiff", "1", "a"},
      {"zdiff", "2", "nokey", "a"},
      {"zdiff", "2", "a", "b", "weights", "1", "1"},
      {"zdiff", "2", "a", "b", "aggregate", "sum"},
      {"zdiff", "0", "a"},
      {"zdiff", "2", "s", "a", "withscores"},
      {"zunionstore", "dst", "2", "a", "b"},
      {"zrange", "dst", "0", "-1", "withscores"},
      {"zunionstore", "dst", "2", "a", "b", "withscores"},
      {"zunionstore", "dst", "0", "a"},
      {"zinterstore", "dst", "2", "a", "b", "weights", "3", "1.5"},
      {"zrange", "dst", "0", "-1", "withscores"},
      {"zinterstore", "dst", "2", "a", "nokey"},
      {"exists", "dst"},
      {"set", "dst", "v"},
      {"zdiffstore", "dst", "2", "a", "b"},
      {"type", "dst"},
      {"zrange", "dst", "0", "-1", "withscores"},
      {"zunionstore", "a2", "1", "a", "weights", "-1"},
      {"zrange", "a2", "0", "-1", "withscores"},
      {"zinterstore", "dst", "2", "str", "a"},
      {"zdiffstore", "dst"},
      {"zunionstore", "b", "2", "b", "s"},
      {"zrange", "b", "0", "-1", "withscores"},
      // ZRANGESTORE.
      {"zrangestore", "rs", "a", "0", "2"},
      {"zrange", "rs", "0", "-1", "withscores"},
      {"zrangestore", "rs", "a", "(1", "+inf", "byscore", "limit", "1", "2"},
      {"zrange", "rs", "0", "-1", "withscores"},
      {"zrangestore", "rs", "c", "[b", "[d", "bylex", "rev"},
      {"zrange", "rs", "0", "-1"},
      {"zrangestore", "rs", "a", "0", "-1", "withscores"},
      {"zrangestore", "rs", "a", "5", "1"},
      {"exists", "rs"},
      {"zrangestore", "rs", "nokey", "0", "-1"},
      {"zrangestore", "rs", "str", "0", "-1"},
      {"zrangestore", "rs", "a", "x", "1"},
      {"zrangestore", "rs", "a", "0"},
      {"zrangestore", "str", "a", "0", "0"},
      {"type", "str"},
      {"zrangestore", "a", "a", "0", "1"},
      {"zrange", "a", "0", "-1", "withscores"},
      {"set", "str", "v"},
      // Removal by range.
      {"zadd", "r", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"},
      {"zremrangebyrank", "r", "0", "0"},
      {"zremrangebyrank", "r", "-1", "-1"},
      {"zremrangebyrank", "r", "5", "10"},
      {"zremrangebyrank", "r", "2", "1"},
      {"zremrangebyrank", "r", "x", "1"},
      {"zremrangebyrank", "nokey", "0", "-1"},
      {"zremrangebyrank", "str", "0", "-1"},
      {"zrange", "r", "0", "-1"},
      {"zremrangebyrank", "r", "-100", "100"},
      {"exists", "r"},
      {"zremrangebylex", "c", "[b", "(d"},
      {"zremrangebylex", "c", "(x", "+"},
      {"zremrangebylex", "c", "x", "+"},
      {"zremrangebylex", "str", "-", "+"},
      {"zrange", "c", "0", "-1"},
      {"zremrangebyscore", "b", "(10", "+inf"},
      {"zremrangebyscore", "b", "x", "1"},
      {"zrange", "b", "0", "-1", "withscores"},
      // Pops.
      {"zadd", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"},
      {"zpopmin", "p"},
      {"zpopmax", "p"},
      {"zpopmin", "p", "2"},
      {"zpopmin", "p", "0"},
      {"zpopmin", "p", "-1"},
      {"zpopmin", "p", "x"},
      {"zpopmin", "p", "1", "2"},
      {"zpopmax", "p", "10"},
      {"exists", "p"},
      {"zpopmin", "nokey"},
      {"zpopmin", "nokey", "-1"},
      {"zpopmin", "str"},
      {"zpopmax", "str", "0"},
      {"zadd", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"},
      {"zmpop", "2", "nokey", "p", "min"},
      {"zmpop", "2", "nokey", "p", "MAX", "count", "2"},
      {"zmpop", "1", "p", "min", "count", "10"},
      {"zmpop", "1", "p", "min"},
      {"zmpop", "2", "nokey", "str", "min"},
      {"zmpop", "2", "str", "nokey", "min"},
      {"zmpop", "0", "p", "min"},
      {"zmpop", "-1", "p", "min"},
      {"zmpop", "x", "p", "min"},
      {"zmpop", "3", "p", "min"},
      {"zmpop", "1", "p", "middle"},
      {"zmpop", "1", "p", "min", "count"},
      {"zmpop", "1", "p", "min", "count", "0"},
      {"zmpop", "1", "p", "min", "count", "x"},
      {"zmpop", "1", "p", "min", "count", "1", "count", "1"},
      {"zmpop", "1", "p", "min", "bogus"},
      {"zmpop", "1", "p"},
      // ZRANDMEMBER errors (the replies themselves are random: see below).
      {"zrandmember", "nokey"},
      {"zrandmember", "nokey", "5"},
      {"zrandmember", "nokey", "-5", "withscores"},
      {"zrandmember", "a", "0"},
      {"zrandmember", "a", "x"},
      {"zrandmember", "a", "1", "bogus"},
      {"zrandmember", "a", "1", "withscores", "x"},
      {"zrandmember", "a", "-9223372036854775808"},
      {"zrandmember", "a", "-9223372036854775807", "withscores"},
      {"zrandmember", "a", "9223372036854775807", "withscores"},
      {"zrandmember", "str"},
      {"zrandmember", "str", "1"},
      {"zrandmember", "single", "1", "withscores"},
      // ZSCAN on sets small enough for one listpack (the whole set in one call).
      {"zscan", "a", "0"},
      {"zscan", "a", "0", "count", "1"},
      {"zscan", "a", "0", "match", "m*"},
      {"zscan", "a", "0", "MATCH", "*", "COUNT", "100"},
      {"zscan", "a", "0", "count", "0"},
      {"zscan", "a", "0", "count", "x"},
      {"zscan", "a", "0", "count"},
      {"zscan", "a", "0", "bogus"},
      {"zscan", "a", "x"},
      {"zscan", "a", " 1"},
      {"zscan", "a", "-1"},
      {"zscan", "a", "99999999999999999999"},
      {"zscan", "nokey", "0", "count", "0"},
      {"zscan", "nokey", "0"},
      {"zscan", "str", "0"},
      {"zscan", "str", "x"},
      {"zscan", "a"},
      // ZADD options.
      {"zadd", "o", "nx", "xx", "1", "a"},
      {"zadd", "o", "gt", "lt", "1", "a"},
      {"zadd", "o", "gt", "nx", "1", "a"},
      {"zadd", "o", "incr", "1", "a", "2", "b"},
      {"zadd", "o", "ch", "1", "a", "2", "b"},
      {"zadd", "o", "ch", "gt", "0", "a", "3", "b", "1", "c"},
      {"zadd", "o", "xx", "ch", "5", "a", "5", "z"},
      {"zadd", "o", "incr", "gt", "-1", "a"},
      {"zadd", "o", "incr", "nx", "1", "a"},
      {"zadd", "o", "incr", "xx", "+inf", "a"},
      {"zadd", "o", "incr", "-inf", "a"},
      {"zadd", "o", "1", "nan"},
      {"zadd", "o", "nan", "a"},
      {"zrange", "o", "0", "-1", "withscores"},
  };
  for (const auto& cmd : cases) Same(cmd);
}

// Seeded random sequences over the whole family, beside sets and strings (WRONGTYPE, set
// sources), over few keys and members so ranges, stores and pops meet.
class ZGen {
 public:
  explicit ZGen(uint32_t seed) : rng_(seed) {}

  Argv Next() {
    switch (R(26)) {
      case 0:
      case 1:
      case 2: {
        Argv a{"zadd", Key()};
        if (Coin(20)) a.push_back(Pick({"NX", "XX", "GT", "LT", "CH", "INCR"}));
        size_t pairs = 1 + R(3);
        for (size_t i = 0; i < pairs; ++i) {
          a.push_back(Score());
          a.push_back(Member());
        }
        return a;
      }
      case 3:
        return {"sadd", Key(), Member(), Member()};
      case 4:
        return Coin(20) ? Argv{"set", Key(), "v"} : Argv{"zrem", Key(), Member()};
      case 5:
      case 6:
        return SetOp();
      case 7:
        return Range(
            Pick({"zrange", "zrevrange", "zrangebyscore", "zrevrangebyscore", "zrangebylex", "zrevrangebylex"}));
      case 8: {
        Argv a = Range("zrange");
        a.insert(a.begin() + 1, Key());
        a[0] = "zrangestore";
        return a;
      }
      case 9:
        return {"zlexcount", Key(), Lex(), Lex()};
      case 10:
        return {"zcount", Key(), Bound(), Bound()};
      case 11:
        return {"zremrangebyrank", Key(), Int(), Int()};
      case 12:
        return {"zremrangebyscore", Key(), Bound(), Bound()};
      case 13:
        return {"zremrangebylex", Key(), Lex(), Lex()};
      case 14: {
        Argv a{Pick({"zpopmin", "zpopmax"}), Key()};
        if (Coin(60)) a.push_back(Pick({"0", "1", "2", "5", "-1", "x"}));
        return a;
      }
      case 15: {
        Argv a{"zmpop", Pick({"1", "2", "3", "0"})};
        size_t n = 1 + R(3);
        for (size_t i = 0; i < n; ++i) a.push_back(Key());
        a.push_back(Pick({"MIN", "MAX", "min", "bogus"}));
        if (Coin(50)) {
          a.push_back("COUNT");
          a.push_back(Pick({"1", "2", "10", "0", "x"}));
        }
        return a;
      }
      case 16:
        return {Pick({"zrank", "zrevrank", "zscore"}), Key(), Member()};
      case 17:
        return {"zmscore", Key(), Member(), Member()};
      case 18:
        return {"zcard", Key()};
      case 19: {
        Argv a{"zscan", Key(), Pick({"0", "0", "x", "1"})};
        if (Coin(40)) a.insert(a.end(), {"MATCH", Pick({"m*", "*", "m[12]", "x"})});
        if (Coin(40)) a.insert(a.end(), {"COUNT", Pick({"1", "10", "0"})});
        return a;
      }
      case 20:
        return {"zincrby", Key(), Score(), Member()};
      case 21: {
        Argv a{"zintercard", Pick({"1", "2", "3"}), Key(), Key()};
        if (Coin(30)) a.insert(a.end(), {"LIMIT", Pick({"0", "1", "-1"})});
        return a;
      }
      case 22:
        return {"type", Key()};
      case 23:
        return {"zrange", Key(), "0", "-1", "withscores"};
      case 24:
        return {"del", Key()};
      default:
        return {"exists", Key()};
    }
  }

 private:
  size_t R(size_t n) { return rng_() % n; }
  bool Coin(int percent) { return static_cast<int>(R(100)) < percent; }
  std::string Pick(std::initializer_list<const char*> v) { return *(v.begin() + R(v.size())); }
  std::string Key() { return "z" + std::to_string(R(5)); }
  std::string Member() { return "m" + std::to_string(R(6)); }
  std::string Score() {
    return Pick({"0", "1", "-1", "1.5", "2.5", "+inf", "-inf", "-0", "3", "1.1", "0.1", "1e300", "abc", "7"});
  }
  std::string Bound() { return Pick({"-inf", "+inf", "(1", "1", "2.5", "(2.5", "abc", "0", "-1", "(", "3", "(-0"}); }
  std::string Lex() { return Pick({"-", "+", "[m1", "(m2", "m1", "[m4", "(m0", "[", "(", "[m5"}); }
  std::string Int() { return Pick({"0", "1", "-1", "2", "-2", "5", "100", "-100", "x"}); }

  Argv Range(const std::string& name) {
    Argv a{name, Key()};
    int kind = name == "zrange"                          ? static_cast<int>(R(3))
               : name.find("lex") != std::string::npos   ? 2
               : name.find("score") != std::string::npos ? 1
                                                         : 0;
    if (kind == 0) {
      a.insert(a.end(), {Int(), Int()});
    } else if (kind == 1) {
      a.insert(a.end(), {Bound(), Bound()});
      if (name == "zrange") a.push_back("BYSCORE");
    } else {
      a.insert(a.end(), {Lex(), Lex()});
      if (name == "zrange") a.push_back("BYLEX");
    }
    if (name == "zrange" && Coin(30)) a.push_back("REV");
    if (Coin(25)) a.insert(a.end(), {"LIMIT", Pick({"0", "1", "-1", "2"}), Pick({"1", "2", "-1", "0"})});
    if (Coin(35)) a.push_back("WITHSCORES");
    if (Coin(4)) a.push_back("bogus");
    return a;
  }

  Argv SetOp() {
    std::string name = Pick({"zunion", "zinter", "zdiff", "zunionstore", "zinterstore", "zdiffstore"});
    Argv a{name};
    bool store = name.find("store") != std::string::npos;
    if (store) a.push_back(Key());
    size_t n = 1 + R(3);
    a.push_back(Coin(5) ? Pick({"0", "x", "9"}) : std::to_string(n));
    for (size_t i = 0; i < n; ++i) a.push_back(Key());
    if (Coin(35)) {
      a.push_back("WEIGHTS");
      for (size_t i = 0; i < n; ++i) a.push_back(Pick({"1", "2", "-1", "0.5", "0", "inf", "x"}));
    }
    if (Coin(35)) a.insert(a.end(), {"AGGREGATE", Pick({"SUM", "MIN", "MAX", "max", "avg"})});
    if (!store && Coin(50)) a.push_back("WITHSCORES");
    if (Coin(3)) a.push_back("bogus");
    return a;
  }

  std::mt19937 rng_;
};

TEST_F(RedisDifferentialZSets, RandomSequencesAnswerLikeRedis) {
  constexpr int kSeeds = 60;
  constexpr int kCommands = 300;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    Flush();
    ZGen gen(seed);
    for (int i = 0; i < kCommands; ++i) {
      Argv cmd = gen.Next();
      Reply want = client_->Call(cmd);
      Reply got = engine_.Run(cmd);
      ASSERT_EQ(kv::DebugString(got), kv::DebugString(want))
          << "seed " << seed << ", command " << i << ": " << testing::Shown(cmd);
    }
    for (int k = 0; k < 5; ++k) {
      std::string key = "z" + std::to_string(k);
      for (const Argv& cmd : {Argv{"type", key}, Argv{"zrange", key, "0", "-1", "withscores"}}) {
        ASSERT_EQ(kv::DebugString(engine_.Run(cmd)), kv::DebugString(client_->Call(cmd)))
            << "seed " << seed << ": " << testing::Shown(cmd);
      }
    }
  }
}

// ZRANDMEMBER's replies are random: both servers must keep the same rules.
TEST_F(RedisDifferentialZSets, RandMemberKeepsRedisProperties) {
  Flush();
  Same({"zadd", "r", "1", "a", "2", "b", "3", "c", "4.5", "d", "-inf", "e"});
  const std::map<std::string, std::string> scores = {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4.5"}, {"e", "-inf"}};
  for (int round = 0; round < 20; ++round) {
    for (bool engine : {false, true}) {
      auto run = [&](const Argv& cmd) { return engine ? engine_.Run(cmd) : client_->Call(cmd); };
      std::string who = engine ? "engine" : "redis";
      Reply one = run({"zrandmember", "r"});
      ASSERT_EQ(one.type, Reply::Type::kBulk) << who;
      EXPECT_TRUE(scores.count(one.str)) << who;
      // A positive count: distinct members, min(count, size) of them.
      for (int count : {1, 3, 5, 9}) {
        Reply r = run({"zrandmember", "r", std::to_string(count)});
        std::set<std::string> seen;
        for (const auto& e : r.elems) {
          EXPECT_TRUE(scores.count(e.str)) << who;
          seen.insert(e.str);
        }
        EXPECT_EQ(r.elems.size(), static_cast<size_t>(std::min(count, 5))) << who << " " << count;
        EXPECT_EQ(seen.size(), r.elems.size()) << who << " " << count;
      }
      // A negative count: exactly |count|, repeats allowed; WITHSCORES pairs each with its score.
      Reply neg = run({"zrandmember", "r", "-12", "withscores"});
      ASSERT_EQ(neg.elems.size(), 24u) << who;
      for (size_t i = 0; i < neg.elems.size(); i += 2) {
        ASSERT_TRUE(scores.count(neg.elems[i].str)) << who;
        EXPECT_EQ(neg.elems[i + 1].str, scores.at(neg.elems[i].str)) << who;
      }
      Reply pos = run({"zrandmember", "r", "2", "WITHSCORES"});
      ASSERT_EQ(pos.elems.size(), 4u) << who;
      EXPECT_NE(pos.elems[0].str, pos.elems[2].str) << who;
      EXPECT_EQ(pos.elems[1].str, scores.at(pos.elems[0].str)) << who;
    }
  }
  // count >= size returns the whole set; for a listpack both list it from the highest score.
  Same({"zrandmember", "r", "5", "withscores"});
  Same({"zrandmember", "r", "100"});
  // Every member turns up, from both, within many draws.
  for (bool engine : {false, true}) {
    Argv cmd{"zrandmember", "r", "-500"};
    Reply r = engine ? engine_.Run(cmd) : client_->Call(cmd);
    std::set<std::string> seen;
    for (const auto& e : r.elems) seen.insert(e.str);
    EXPECT_EQ(seen.size(), 5u) << (engine ? "engine" : "redis");
  }
}

// A sorted set too large for one listpack: ZSCAN's cursor is each server's own, so a whole
// scan is compared, on both, by what it returns (every member, with its score).
TEST_F(RedisDifferentialZSets, ScanOfALargeSetReturnsEveryMember) {
  Flush();
  Argv add{"zadd", "big"};
  std::map<std::string, std::string> want;
  for (int i = 0; i < 300; ++i) {
    std::string m = "member:" + std::to_string(i);
    add.push_back(std::to_string(i) + ".5");
    add.push_back(m);
    want[m] = std::to_string(i) + ".5";
  }
  Same(add);
  for (bool engine : {false, true}) {
    std::map<std::string, std::string> got;
    std::map<std::string, std::string> got_matched;
    std::string cursor = "0";
    int calls = 0;
    do {
      Argv cmd{"zscan", "big", cursor, "COUNT", "20"};
      Reply r = engine ? engine_.Run(cmd) : client_->Call(cmd);
      ASSERT_EQ(r.type, Reply::Type::kArray);
      cursor = r.elems[0].str;
      for (size_t i = 0; i + 1 < r.elems[1].elems.size(); i += 2)
        got[r.elems[1].elems[i].str] = r.elems[1].elems[i + 1].str;
      ++calls;
      ASSERT_LT(calls, 1000);
    } while (cursor != "0");
    EXPECT_EQ(got, want) << (engine ? "engine" : "redis");
    EXPECT_GT(calls, 1) << (engine ? "engine" : "redis");
    cursor = "0";
    do {
      Argv cmd{"zscan", "big", cursor, "MATCH", "member:1?", "COUNT", "50"};
      Reply r = engine ? engine_.Run(cmd) : client_->Call(cmd);
      cursor = r.elems[0].str;
      for (size_t i = 0; i + 1 < r.elems[1].elems.size(); i += 2)
        got_matched[r.elems[1].elems[i].str] = r.elems[1].elems[i + 1].str;
    } while (cursor != "0");
    EXPECT_EQ(got_matched.size(), 10u) << (engine ? "engine" : "redis");
  }
  // Past the listpack limits the set algebra still agrees exactly.
  Same({"zadd", "small", "1", "member:1", "2", "member:250", "3", "other"});
  Same({"zunion", "2", "big", "small", "weights", "1", "3", "withscores"});
  Same({"zinter", "2", "big", "small", "aggregate", "max", "withscores"});
  Same({"zdiff", "2", "small", "big", "withscores"});
  Same({"zrange", "big", "(10", "20", "byscore", "limit", "2", "3", "withscores"});
  Same({"zrangebyscore", "big", "-inf", "+inf", "limit", "295", "10"});
  Same({"zremrangebyrank", "big", "10", "-10"});
  Same({"zrange", "big", "0", "-1", "withscores"});
  Same({"zpopmax", "big", "3"});
}

// Sets past the listpack limits (Redis's skiplist and hashtable): ranks, score and lex ranges,
// counts, algebra and removals over 300 members agree exactly. Lex ranges go to a set whose
// members share one score, the only case Redis defines.
TEST_F(RedisDifferentialZSets, LargeSetsAnswerLikeRedis) {
  Flush();
  std::mt19937 rng(7);
  Argv scored{"zadd", "L0"}, lex{"zadd", "L1"}, other{"zadd", "L2"};
  for (int i = 0; i < 300; ++i) {
    std::string m = "m" + std::to_string(1000 + i);
    scored.insert(scored.end(), {std::to_string(static_cast<int>(rng() % 40) - 20) + ".25", m});
    lex.insert(lex.end(), {"0", m});
    if (i % 3 == 0) other.insert(other.end(), {std::to_string(i % 11), m});
  }
  Same(scored);
  Same(lex);
  Same(other);
  auto pick = [&](std::initializer_list<const char*> v) { return std::string(*(v.begin() + rng() % v.size())); };
  auto rank = [&] { return std::to_string(static_cast<int>(rng() % 700) - 350); };
  auto score = [&] {
    return pick({"", "("}) + std::to_string(static_cast<int>(rng() % 50) - 25) + pick({"", ".25", ".5"});
  };
  auto lexb = [&] { return pick({"[", "("}) + "m" + std::to_string(990 + rng() % 320); };
  for (int i = 0; i < 400; ++i) {
    Argv cmd;
    switch (rng() % 12) {
      case 0:
        cmd = {"zrange", "L0", rank(), rank(), "withscores"};
        break;
      case 1:
        cmd = {
            "zrange", "L0", score(), score(), "byscore", "limit", std::to_string(rng() % 50), pick({"5", "-1", "20"})};
        break;
      case 2:
        cmd = {"zrevrangebyscore", "L0", score(), score(), "withscores"};
        break;
      case 3:
        cmd = {"zrangebylex", "L1", lexb(), lexb(), "limit", std::to_string(rng() % 30), pick({"10", "-1"})};
        break;
      case 4:
        cmd = {"zrevrangebylex", "L1", lexb(), pick({"-", "(m1100", "[m1200"})};
        break;
      case 5:
        cmd = {"zlexcount", "L1", pick({"-", "[m1050", "(m1150"}), lexb()};
        break;
      case 6:
        cmd = {"zcount", "L0", score(), score()};
        break;
      case 7:
        cmd = {pick({"zrank", "zrevrank"}), pick({"L0", "L1"}), "m" + std::to_string(990 + rng() % 320)};
        break;
      case 8:
        cmd = {pick({"zunion", "zinter", "zdiff"}), "3", "L0", "L2", "L1", "withscores"};
        if (cmd[0] != "zdiff" && rng() % 2) cmd.insert(cmd.end() - 1, {"weights", "1", "-2", "0.5"});
        if (cmd[0] != "zdiff" && rng() % 2) cmd.insert(cmd.end() - 1, {"aggregate", pick({"min", "max", "sum"})});
        break;
      case 9:
        cmd = {pick({"zremrangebyrank", "zremrangebyscore", "zremrangebylex"}), "L2", "", ""};
        if (cmd[0] == "zremrangebyrank")
          cmd[2] = rank(), cmd[3] = rank();
        else if (cmd[0] == "zremrangebyscore")
          cmd[2] = score(), cmd[3] = score();
        else
          cmd = {"zremrangebylex", "L1", lexb(), lexb()};
        break;
      case 10:
        cmd = {pick({"zpopmin", "zpopmax"}), pick({"L0", "L2"}), std::to_string(rng() % 4)};
        break;
      default:
        cmd = {"zintercard", "2", "L0", "L1", "limit", std::to_string(rng() % 120)};
        break;
    }
    Same(cmd);
    if (::testing::Test::HasFailure()) break;
  }
  Same({"zunionstore", "S", "2", "L0", "L2", "aggregate", "max"});
  Same({"zrange", "S", "0", "-1", "withscores"});
}

}  // namespace
}  // namespace stratus
