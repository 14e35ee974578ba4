// Differential test: seeded random command sequences go to the embedded engine and to a
// real redis-server; every reply must be identical, errors and TTLs included. Replies whose
// order Redis leaves unspecified (SMEMBERS, HGETALL, KEYS, ...) are compared sorted.
#include <gtest/gtest.h>

#include <future>

#include <algorithm>
#include <random>

#include "common/clock.h"
#include "integration/redis_test_server.h"
#include "kv/engine.h"
#include "kv/util.h"

namespace stratus {
namespace {

using kv::Argv;
using kv::Reply;

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  Argv Next() {
    static const std::vector<Argv (Gen::*)()> kMakers = {&Gen::Strings, &Gen::Strings, &Gen::Keys,  &Gen::Keys,
                                                         &Gen::Hashes,  &Gen::Sets,    &Gen::Lists, &Gen::ZSets,
                                                         &Gen::ZSets,   &Gen::ZRange,  &Gen::Misc,  &Gen::Broken};
    return (this->*kMakers[rng_() % kMakers.size()])();
  }

 private:
  size_t R(size_t n) { return rng_() % n; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[R(v.size())];
  }
  bool Coin(int percent = 50) { return static_cast<int>(R(100)) < percent; }

  std::string Key() { return "k" + std::to_string(R(6)); }
  std::string Member() { return "m" + std::to_string(R(5)); }
  std::string Field() { return "f" + std::to_string(R(4)); }
  std::string Val() {
    return Pick<std::string>({"0", "1", "-1", "42", "007", "abc", "", "9223372036854775807", "-9223372036854775808",
                              "1.5", "inf", "x y", "10", " 1", "+1"});
  }
  std::string Int() {
    return Pick<std::string>({"0", "1", "-1", "2", "3", "5", "100", "-100", "abc", "9223372036854775807", "1.5", "",
                              "-9223372036854775808", "01"});
  }
  std::string Score() {
    return Pick<std::string>({"0", "1", "-1", "1.5", "2.5", "+inf", "-inf", "inf", "abc", "(1", "1e3", "0x10", "nan",
                              "-0", "3", "1.1", " 2", "2 "});
  }
  std::string ScoreBound() {
    return Pick<std::string>({"-inf", "+inf", "(1", "1", "2.5", "(2.5", "abc", "0", "-1", "(", "3"});
  }
  std::string LexBound() { return Pick<std::string>({"-", "+", "[m1", "(m2", "m1", "[m4", "(m0", "[", "("}); }

  Argv Strings() {
    Argv a;
    switch (R(14)) {
      case 0:
        return {"get", Key()};
      case 1: {
        a = {"set", Key(), Val()};
        static const std::vector<Argv> kOpts = {{"NX"},
                                                {"XX"},
                                                {"GET"},
                                                {"EX", "100"},
                                                {"PX", "100000"},
                                                {"KEEPTTL"},
                                                {"EXAT", "9999999999"},
                                                {"PXAT", "99999999999999"},
                                                {"EX", "-1"},
                                                {"EX", "abc"},
                                                {"EX", "0"},
                                                {"ex"},
                                                {"bogus"},
                                                {"Ex", "200"}};
        size_t n = R(3);
        for (size_t i = 0; i < n; ++i) {
          const Argv& o = Pick(kOpts);
          a.insert(a.end(), o.begin(), o.end());
        }
        return a;
      }
      case 2:
        return {"setnx", Key(), Val()};
      case 3:
        return {"setex", Key(), Pick<std::string>({"100", "0", "-1", "abc", "200"}), Val()};
      case 4:
        return {"mget", Key(), Key(), Key()};
      case 5:
        return Coin(80) ? Argv{"mset", Key(), Val(), Key(), Val()} : Argv{"mset", Key(), Val(), Key()};
      case 6:
        return {Pick<std::string>({"incr", "decr"}), Key()};
      case 7:
        return {Pick<std::string>({"incrby", "decrby"}), Key(), Int()};
      case 8:
        return {"getdel", Key()};
      case 9:
        return {"append", Key(), Val()};
      case 10:
        return {"strlen", Key()};
      case 11:
        return {"getset", Key(), Val()};
      case 12:
        return {"psetex", Key(), Pick<std::string>({"100000", "0", "abc"}), Val()};
      default:
        return {"msetnx", Key(), Val(), Key(), Val()};
    }
  }

  Argv Keys() {
    switch (R(12)) {
      case 0:
        return {"del", Key(), Key()};
      case 1:
        return {"exists", Key(), Key()};
      case 2: {
        Argv a{Pick<std::string>({"expire", "pexpire"}), Key(),
               Pick<std::string>({"100", "-1", "abc", "0", "200", "100000"})};
        if (Coin(40)) a.push_back(Pick<std::string>({"NX", "XX", "GT", "LT", "bogus", "nx"}));
        if (Coin(15)) a.push_back(Pick<std::string>({"NX", "XX", "GT", "LT"}));
        return a;
      }
      case 3:
        return {Pick<std::string>({"expireat", "pexpireat"}), Key(), Pick<std::string>({"1", "9999999999", "abc"})};
      case 4:
        return {"ttl", Key()};
      case 5:
        return {"pttl", Key()};
      case 6:
        return {"persist", Key()};
      case 7:
        return {"type", Key()};
      case 8:
        return {"keys", Pick<std::string>({"*", "k[0-2]", "k?", "m*", "k[^1]*", "\\k1"})};
      case 9:
        return {"unlink", Key()};
      case 10:
        return {"expiretime", Key()};
      default:
        return {"dbsize"};
    }
  }

  Argv Hashes() {
    switch (R(12)) {
      case 0:
        return Coin(85) ? Argv{"hset", Key(), Field(), Val(), Field(), Val()} : Argv{"hset", Key(), Field()};
      case 1:
        return {"hget", Key(), Field()};
      case 2:
        return {"hmget", Key(), Field(), Field()};
      case 3:
        return {"hgetall", Key()};
      case 4:
        return {"hdel", Key(), Field(), Field()};
      case 5:
        return {"hincrby", Key(), Field(), Int()};
      case 6:
        return {"hlen", Key()};
      case 7:
        return {"hexists", Key(), Field()};
      case 8:
        return {"hkeys", Key()};
      case 9:
        return {"hvals", Key()};
      case 10:
        return {"hsetnx", Key(), Field(), Val()};
      default:
        return {"hmset", Key(), Field(), Val()};
    }
  }

  Argv Sets() {
    switch (R(6)) {
      case 0:
        return {"sadd", Key(), Member(), Member()};
      case 1:
        return {"srem", Key(), Member(), Member()};
      case 2:
        return {"smembers", Key()};
      case 3:
        return {"sismember", Key(), Member()};
      case 4:
        return {"smismember", Key(), Member(), Member()};
      default:
        return {"scard", Key()};
    }
  }

  Argv Lists() {
    switch (R(11)) {
      case 0:
        return {Pick<std::string>({"lpush", "rpush"}), Key(), Val(), Val()};
      case 1:
        return {Pick<std::string>({"lpop", "rpop"}), Key()};
      case 2:
        return {Pick<std::string>({"lpop", "rpop"}), Key(), Pick<std::string>({"0", "1", "2", "-1", "abc", "10"})};
      case 3:
        return {"lrange", Key(), Int(), Int()};
      case 4:
        return {"llen", Key()};
      case 5:
        return {"lindex", Key(), Int()};
      case 6:
        return {"lset", Key(), Int(), Val()};
      case 7:
        return {"ltrim", Key(), Int(), Int()};
      case 8:
        return {"lrem", Key(), Int(), Val()};
      case 9:
        return {Pick<std::string>({"lpushx", "rpushx"}), Key(), Val()};
      default:
        return {"lpop", Key(), "1", "2"};
    }
  }

  Argv ZSets() {
    switch (R(11)) {
      case 0:
      case 1: {
        Argv a{"zadd", Key()};
        size_t n = R(3);
        for (size_t i = 0; i < n; ++i)
          a.push_back(Pick<std::string>({"NX", "XX", "GT", "LT", "CH", "INCR", "nx", "ch"}));
        size_t pairs = 1 + R(2);
        for (size_t i = 0; i < pairs; ++i) {
          a.push_back(Score());
          a.push_back(Member());
        }
        if (Coin(5)) a.pop_back();
        return a;
      }
      case 2:
        return {"zincrby", Key(), Score(), Member()};
      case 3:
        return {"zcard", Key()};
      case 4:
        return {"zcount", Key(), ScoreBound(), ScoreBound()};
      case 5:
        return {"zscore", Key(), Member()};
      case 6:
        return {"zmscore", Key(), Member(), Member()};
      case 7:
        return {"zrem", Key(), Member(), Member()};
      case 8:
        return {"zremrangebyscore", Key(), ScoreBound(), ScoreBound()};
      case 9:
        return {"zrank", Key(), Member()};
      default:
        return {"zrevrank", Key(), Member()};
    }
  }

  Argv ZRange() {
    int kind = static_cast<int>(R(3));
    Argv a{"zrange", Key()};
    if (kind == 0) {
      a.push_back(Int());
      a.push_back(Int());
    } else if (kind == 1) {
      a.push_back(ScoreBound());
      a.push_back(ScoreBound());
      a.push_back("BYSCORE");
    } else {
      a.push_back(LexBound());
      a.push_back(LexBound());
      a.push_back("BYLEX");
    }
    if (Coin(30)) a.push_back("REV");
    if (Coin(30)) {
      a.push_back("LIMIT");
      a.push_back(Pick<std::string>({"0", "1", "-1", "2", "abc"}));
      a.push_back(Pick<std::string>({"1", "2", "-1", "0"}));
    }
    if (Coin(40)) a.push_back(Pick<std::string>({"WITHSCORES", "withscores"}));
    if (Coin(5)) a.push_back("bogus");
    if (Coin(5)) std::swap(a[4 < a.size() ? 4 : a.size() - 1], a.back());
    return a;
  }

  Argv Misc() {
    switch (R(4)) {
      case 0:
        return {"ping"};
      case 1:
        return {"ping", Val()};
      case 2:
        return {"echo", Val()};
      default:
        return {"type", Key()};
    }
  }

  Argv Broken() {
    return Pick<Argv>({{"get"},
                       {"set", "k1"},
                       {"zadd", "k1", "1"},
                       {"hset", "k1", "f"},
                       {"nosuchcmd", "a", "b"},
                       {"GET", "k1", "k2"},
                       {"expire", "k1"},
                       {"lrange", "k1", "0"},
                       {"ping", "a", "b"},
                       {"zrange", "k1", "0"},
                       {"SeT", "k1", "v", "nx", "xx"},
                       {"sadd", "k1"},
                       {"echo"}});
  }

  std::mt19937 rng_;
};

// Orders replies whose order Redis does not define.
Reply Normalize(const Argv& cmd, Reply r) {
  std::string name = kv::ToLower(cmd[0]);
  auto by_str = [](const Reply& a, const Reply& b) { return a.str < b.str; };
  if ((name == "smembers" || name == "keys" || name == "hkeys" || name == "hvals") && r.type == Reply::Type::kArray) {
    std::sort(r.elems.begin(), r.elems.end(), by_str);
  } else if (name == "hgetall" && r.type == Reply::Type::kArray) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (size_t i = 0; i + 1 < r.elems.size(); i += 2) pairs.emplace_back(r.elems[i].str, r.elems[i + 1].str);
    std::sort(pairs.begin(), pairs.end());
    r.elems.clear();
    for (auto& [f, v] : pairs) {
      r.elems.push_back(Reply::Bulk(f));
      r.elems.push_back(Reply::Bulk(v));
    }
  } else if (name == "pttl" && r.type == Reply::Type::kInteger && r.integer > 0) {
    r.integer = (r.integer + 500) / 1000;  // the two servers ran the command microseconds apart
  }
  return r;
}

class RedisDifferential : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server_.Start()) STRATUS_REDIS_UNAVAILABLE("redis-server did not start");
    client_ = std::make_unique<testing::RespClient>(server_.port());
    ASSERT_TRUE(engine_.Open(kv::EngineOptions{}).ok());
  }

  testing::RedisServerProcess server_;
  std::unique_ptr<testing::RespClient> client_;
  SystemClock clock_;
  kv::Engine engine_{clock_};
};

TEST_F(RedisDifferential, RandomSequencesAnswerLikeRedis) {
  constexpr int kSeeds = 100;
  constexpr int kCommands = 400;
  int compared = 0;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    ASSERT_EQ(client_->Call({"FLUSHALL"}).str, "OK");
    ASSERT_EQ(engine_.Run({"FLUSHALL"}).str, "OK");
    Gen gen(seed);
    for (int i = 0; i < kCommands; ++i) {
      Argv cmd = gen.Next();
      Reply want = Normalize(cmd, client_->Call(cmd));
      Reply got = Normalize(cmd, engine_.Run(cmd));
      std::string shown;
      for (const auto& a : cmd) shown += "'" + a + "' ";
      ASSERT_EQ(kv::DebugString(got), kv::DebugString(want)) << "seed " << seed << ", command " << i << ": " << shown;
      ++compared;
    }
    // The whole keyspace agrees too: every key, its type and its value as SCAN sees it.
    std::vector<std::string> keys_want, keys_got;
    for (auto* v : {&keys_want, &keys_got}) {
      std::string cursor = "0";
      do {
        Argv scan{"scan", cursor, "count", "3"};
        Reply r = v == &keys_want ? client_->Call(scan) : engine_.Run(scan);
        ASSERT_EQ(r.type, Reply::Type::kArray);
        cursor = r.elems[0].str;
        for (const auto& k : r.elems[1].elems) v->push_back(k.str);
      } while (cursor != "0");
      std::sort(v->begin(), v->end());
      v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    ASSERT_EQ(keys_got, keys_want) << "seed " << seed;
  }
  RecordProperty("compared", compared);
}

}  // namespace
}  // namespace stratus

namespace stratus {
namespace {

// Scripts as @upstash/ratelimit writes them, and the conversion rules, answer like Redis.
TEST_F(RedisDifferential, ScriptsAnswerLikeRedis) {
  const std::string fixed_window = R"(
    local key = KEYS[1]
    local window = ARGV[1]
    local incrementBy = ARGV[2]
    local r = redis.call("INCRBY", key, incrementBy)
    if r == tonumber(incrementBy) then
      redis.call("PEXPIRE", key, window)
    end
    return r)";
  const std::string sliding = R"(
    local currentKey = KEYS[1]
    local previousKey = KEYS[2]
    local tokens = tonumber(ARGV[1])
    local now = ARGV[2]
    local window = ARGV[3]
    local requestedTokens = tonumber(ARGV[4])
    local requestsInCurrentWindow = redis.call("GET", currentKey)
    if requestsInCurrentWindow == false then requestsInCurrentWindow = 0 end
    local requestsInPreviousWindow = redis.call("GET", previousKey)
    if requestsInPreviousWindow == false then requestsInPreviousWindow = 0 end
    local percentageInCurrent = ( now % window ) / window
    requestsInPreviousWindow = math.floor(( 1 - percentageInCurrent ) * requestsInPreviousWindow)
    if requestsInPreviousWindow + requestsInCurrentWindow >= tokens then return -1 end
    local newValue = redis.call("INCRBY", currentKey, requestedTokens)
    if newValue == requestedTokens then redis.call("PEXPIRE", currentKey, window * 2 + 1000) end
    return tokens - ( newValue + requestsInPreviousWindow ))";
  const std::vector<Argv> calls = {
      {"eval", fixed_window, "1", "rl:fixed", "60000", "1"},
      {"eval", fixed_window, "1", "rl:fixed", "60000", "1"},
      {"eval", sliding, "2", "rl:cur", "rl:prev", "3", "1700000000123", "10000", "1"},
      {"eval", sliding, "2", "rl:cur", "rl:prev", "3", "1700000000123", "10000", "1"},
      {"eval", sliding, "2", "rl:cur", "rl:prev", "3", "1700000000123", "10000", "1"},
      {"eval", sliding, "2", "rl:cur", "rl:prev", "3", "1700000000123", "10000", "1"},
      {"eval", "return {1, 'two', {3, false}, 4.9, true, false, nil, 8}", "0"},
      {"eval", "return redis.status_reply('FINE')", "0"},
      {"eval", "return redis.pcall('incr', KEYS[1])", "1", "s"},
      {"eval", "redis.call('set', KEYS[1], ARGV[1]); return redis.call('get', KEYS[1])", "1", "s", "v"},
      {"eval", "return redis.call('hset', KEYS[1], 'a', 1, 'b', 2.5)", "1", "h"},
      {"eval", "return redis.call('hmget', KEYS[1], 'a', 'b', 'c')", "1", "h"},
      {"eval", "return redis.call('ttl', KEYS[1])", "1", "rl:fixed"},
      {"eval", "return redis.sha1hex('abc')", "0"},
      {"eval", "return KEYS[1] .. ARGV[1]", "1", "k", "a"},
      {"eval", "return 1", "-1"},
      {"eval", "return 1", "2", "a"},
      {"eval", "return 1", "x"},
      {"evalsha", "0000000000000000000000000000000000000000", "0"},
      {"script", "load", "return 'loaded'"},
      {"evalsha", "a0c38691e7fbe0a4d3ad6e9a1a5d9b3f5bb8b9b9", "0"},
      {"script", "exists", "a0c38691e7fbe0a4d3ad6e9a1a5d9b3f5bb8b9b9", "ffff"},
  };
  ASSERT_EQ(client_->Call({"FLUSHALL"}).str, "OK");
  for (const auto& cmd : calls) {
    Reply want = client_->Call(cmd);
    Reply got = engine_.Run(cmd);
    std::string shown = cmd[0] + " " + cmd[1].substr(0, 60);
    ASSERT_EQ(kv::DebugString(got), kv::DebugString(want)) << shown;
  }
  Reply loaded = engine_.Run({"script", "load", "return 'loaded'"});
  EXPECT_EQ(kv::DebugString(engine_.Run({"evalsha", loaded.str, "0"})), "\"loaded\"");
  // A redis.call error stops the script with the command's own error text first.
  Reply e = engine_.Run({"eval", "return redis.call('incr', KEYS[1])", "1", "s"});
  EXPECT_EQ(e.str.rfind("ERR value is not an integer or out of range", 0), 0u) << e.str;
  // An endless script runs until SCRIPT KILL (others get BUSY meanwhile: redis_script_busy_test.cc).
  auto loop = std::async(std::launch::async, [this] { return engine_.Run({"eval", "while true do end", "0"}); });
  while (loop.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready)
    (void)engine_.Run({"script", "kill"});
  EXPECT_NE(loop.get().str.find("Script killed by user with SCRIPT KILL..."), std::string::npos);
  EXPECT_EQ(kv::DebugString(engine_.Run({"get", "s"})), "\"v\"");
}

}  // namespace
}  // namespace stratus
