// Differential test: seeded random command sequences go to the embedded engine and to a
// real redis-server; every reply must be identical, errors and TTLs included. Replies whose
// order Redis leaves unspecified (SMEMBERS, HGETALL, KEYS, ...) are compared sorted.
#include <gtest/gtest.h>

#include <future>

#include <algorithm>
#include <random>

#include "common/clock.h"
#include "integration/redis_differential.h"
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

class RedisDifferential : public testing::RedisDifferentialTest {
 protected:
};

TEST_F(RedisDifferential, RandomSequencesAnswerLikeRedis) {
  constexpr int kSeeds = 100;
  constexpr int kCommands = 400;
  int compared = 0;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    Flush();
    Gen gen(seed);
    for (int i = 0; i < kCommands; ++i) {
      Argv cmd = gen.Next();
      Reply want = Normalize(cmd, client_->Call(cmd));
      Reply got = Normalize(cmd, engine_.Run(cmd));
      ASSERT_EQ(kv::DebugString(got), kv::DebugString(want))
          << "seed " << seed << ", command " << i << ": " << testing::Shown(cmd);
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

namespace stratus {
namespace {

// Everything after " script: " differs (Redis names the line, the engine does not).
std::string WithoutScriptSuffix(Reply r) {
  std::string s = kv::DebugString(r);
  size_t at = s.find(" script: ");
  return at == std::string::npos ? s : s.substr(0, at);
}

// Script shebangs (`#!lua flags=...`) and EVAL_RO/EVALSHA_RO, with Redis 7.0's error texts.
TEST_F(RedisDifferential, ShebangsAndReadOnlyScriptsAnswerLikeRedis) {
  const std::vector<Argv> calls = {
      {"set", "a", "1"},
      {"eval", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1", "a"},
      {"eval", "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')", "1", "a"},
      {"eval", "#!lua flags=no-writes\nreturn redis.pcall('set', KEYS[1], 'x')", "1", "a"},
      {"eval", "#!lua flags=no-writes\nreturn redis.pcall('incr', KEYS[1])", "1", "a"},
      {"eval", "#!lua\nreturn redis.call('incr', KEYS[1])", "1", "a"},
      {"eval", "#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 7", "0"},
      {"eval", "#!lua flags=allow-oom\nreturn redis.call('incr', KEYS[1])", "1", "a"},
      {"eval", "#!lua \"flags=no-writes\"\nreturn 2", "0"},
      {"eval", "#!lua flags=\nreturn 3", "0"},
      {"eval", "#!lua flags=bogus\nreturn 1", "0"},
      {"eval", "#!lua flags=no-writes,,\nreturn 1", "0"},
      {"eval", "#!lua flags=NO-WRITES\nreturn 1", "0"},
      {"eval", "#!lua foo=bar\nreturn 1", "0"},
      {"eval", "#!lua", "0"},
      {"eval", "#!python\nreturn 1", "0"},
      {"eval", "#! lua\nreturn 1", "0"},
      {"eval", "#!\nreturn 1", "0"},
      {"eval", "#!lua \"flags=no-writes\nreturn 1", "0"},
      {"eval", "#!lua\n\nlocal x = = 1", "0"},  // the line number counts the shebang line
      {"script", "load", "#!lua flags=bogus\nreturn 1"},
      {"eval_ro", "return redis.call('get', KEYS[1])", "1", "a"},
      {"eval_ro", "return redis.call('set', KEYS[1], 'x')", "1", "a"},
      {"eval_ro", "return redis.pcall('del', KEYS[1])", "1", "a"},
      {"eval_ro", "#!lua\nreturn 1", "0"},
      {"eval_ro", "#!lua flags=allow-oom\nreturn 1", "0"},
      {"eval_ro", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1", "a"},
      {"eval_ro", "#!lua flags=no-writes\nreturn redis.pcall('incr', KEYS[1])", "1", "a"},
      {"eval_ro", "return 1", "-1"},
      {"eval_ro", "return 1", "abc"},
      {"eval_ro", "return 1", "2", "k"},
      {"eval_ro", "return redis.call('eval_ro', 'return 1', '0')", "0"},
      {"evalsha_ro", "ffffffffffffffffffffffffffffffffffffffff", "0"},
      {"eval_ro"},
      {"evalsha_ro", "x"},
      {"get", "a"},
  };
  ASSERT_EQ(client_->Call({"FLUSHALL"}).str, "OK");
  for (const auto& cmd : calls) {
    std::string shown;
    for (const auto& a : cmd) shown += "'" + a + "' ";
    EXPECT_EQ(WithoutScriptSuffix(engine_.Run(cmd)), WithoutScriptSuffix(client_->Call(cmd))) << shown;
  }
  // EVALSHA_RO runs a loaded script with the flags it was loaded with.
  for (const std::string body :
       {"#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "#!lua\nreturn redis.call('get', KEYS[1])",
        "return redis.call('set', KEYS[1], 'y')"}) {
    Argv load{"script", "load", body};
    Reply sha = client_->Call(load);
    ASSERT_EQ(kv::DebugString(engine_.Run(load)), kv::DebugString(sha));
    for (const std::string cmd : {"evalsha_ro", "evalsha"}) {
      Argv run{cmd, sha.str, "1", "a"};
      EXPECT_EQ(WithoutScriptSuffix(engine_.Run(run)), WithoutScriptSuffix(client_->Call(run))) << cmd << " " << body;
    }
  }
}

// Random sequences over the string, bit and key commands added for Upstash parity (GETEX ...
// BITFIELD, COPY, RENAME), mixed with writes of other types so WRONGTYPE comes up.
class Gen15 {
 public:
  explicit Gen15(uint32_t seed) : rng_(seed) {}

  Argv Next() {
    switch (R(22)) {
      case 0:
        return {"set", Key(), Val()};
      case 1:
        return {Pick({"lpush", "sadd"}), Key(), Val()};
      case 2:
        return {"hset", Key(), "f", Val()};
      case 3:
        return {"get", Key()};
      case 4: {
        Argv a{"getex", Key()};
        static const std::vector<Argv> kOpts = {{"EX", "100"}, {"PX", "100000"}, {"EXAT", "9999999999"},
                                                {"PXAT", "1"}, {"PERSIST"},      {"EX", "0"},
                                                {"EX", "abc"}, {"px", "-5"},     {"bogus"},
                                                {"EX"},        {"exat", "1"},    {"EX", "9223372036854775807"}};
        size_t n = R(3);
        for (size_t i = 0; i < n; ++i) {
          const Argv& o = kOpts[R(kOpts.size())];
          a.insert(a.end(), o.begin(), o.end());
        }
        return a;
      }
      case 5:
        return {Pick({"getrange", "substr"}), Key(), Int(), Int()};
      case 6:
        return {"setrange", Key(), Pick({"0", "1", "3", "10", "-1", "abc", "536870912"}), Val()};
      case 7:
        return {"incrbyfloat", Key(),
                Pick({"1.5", "-0.5", "abc", "inf", "1e3", "0", "10.1", "-3", "3.0e-5", "", " 1", "0x10", "1e308"})};
      case 8: {
        Argv a{"lcs", Key(), Key()};
        static const std::vector<Argv> kOpts = {
            {"LEN"},   {"IDX"},        {"WITHMATCHLEN"}, {"MINMATCHLEN", "2"}, {"minmatchlen", "abc"},
            {"bogus"}, {"MINMATCHLEN"}};
        size_t n = R(3);
        for (size_t i = 0; i < n; ++i) {
          const Argv& o = kOpts[R(kOpts.size())];
          a.insert(a.end(), o.begin(), o.end());
        }
        return a;
      }
      case 9:
        return {"setbit", Key(), BitOffset(), Pick({"0", "1", "1", "2", "-1", "abc"})};
      case 10:
        return {"getbit", Key(), BitOffset()};
      case 11: {
        Argv a{"bitcount", Key()};
        size_t form = R(5);
        if (form >= 1) a.push_back(Int());
        if (form >= 2) a.push_back(Int());
        if (form >= 3) a.push_back(Pick({"BIT", "BYTE", "bit", "bogus"}));
        if (form == 4) a.push_back("extra");
        return a;
      }
      case 12: {
        Argv a{"bitpos", Key(), Pick({"0", "1", "1", "0", "2", "abc"})};
        size_t form = R(5);
        if (form >= 1) a.push_back(Int());
        if (form >= 2) a.push_back(Int());
        if (form >= 3) a.push_back(Pick({"BIT", "BYTE", "bit", "bogus"}));
        if (form == 4) a.push_back("extra");
        return a;
      }
      case 13: {
        Argv a{"bitop", Pick({"AND", "OR", "XOR", "NOT", "and", "bogus"}), Key()};
        size_t n = 1 + R(3);
        for (size_t i = 0; i < n; ++i) a.push_back(Key());
        return a;
      }
      case 14:
      case 15:
        return Bitfield(Pick({"bitfield", "bitfield", "bitfield_ro"}));
      case 16: {
        Argv a{"copy", Key(), Key()};
        if (a[1] == a[2]) a[2] += "x";  // the same key answers as Upstash does (UpstashCommands test)
        if (Coin(30)) a.push_back("REPLACE");
        if (Coin(15)) {
          a.push_back("DB");
          a.push_back(Pick({"0", "abc", "16", "-1", "99999999999"}));
        }
        if (Coin(5)) a.push_back("bogus");
        return a;
      }
      case 17:
        return {Pick({"rename", "renamenx"}), Key(), Key()};
      case 18:
        return {"touch", Key(), Key()};
      case 19:
        return {"expire", Key(), Pick({"100", "1000"})};
      case 20:
        return {"append", Key(), Val()};
      default:
        return {Pick({"pttl", "type", "strlen"}), Key()};
    }
  }

 private:
  size_t R(size_t n) { return rng_() % n; }
  bool Coin(int percent) { return static_cast<int>(R(100)) < percent; }
  std::string Pick(std::initializer_list<const char*> v) { return *(v.begin() + R(v.size())); }
  std::string Key() { return "k" + std::to_string(R(5)); }
  std::string Val() {
    return Pick({"", "a", "ab", "hello", "mytext", "ohmytext", "1", "42", "\xff\xf0", "\x0f", "abc def", "10.5",
                 "\x80\x01\x00\xff"});
  }
  std::string Int() {
    return Pick({"0", "1", "-1", "2", "-2", "5", "100", "-100", "abc", "7", "15", "-9223372036854775808"});
  }
  std::string BitOffset() { return Pick({"0", "1", "7", "8", "13", "31", "100", "-1", "abc", "4294967296", "#1"}); }
  std::string Type() {
    return Pick({"u8", "i8", "u1", "i5", "u16", "i16", "i64", "u63", "u64", "i0", "x8", "I8", "u"});
  }
  std::string FieldOffset() { return Pick({"0", "1", "3", "8", "#0", "#1", "#2", "-1", "abc", "#", "100"}); }
  std::string FieldValue() {
    return Pick({"0", "1", "-1", "127", "128", "255", "256", "-128", "-129", "100", "9223372036854775807",
                 "-9223372036854775808", "abc"});
  }
  Argv Bitfield(const std::string& name) {
    Argv a{name, Key()};
    size_t n = R(4);
    for (size_t i = 0; i < n; ++i) {
      switch (R(5)) {
        case 0:
        case 1:
          a.insert(a.end(), {"GET", Type(), FieldOffset()});
          break;
        case 2:
          a.insert(a.end(), {"SET", Type(), FieldOffset(), FieldValue()});
          break;
        case 3:
          a.insert(a.end(), {"INCRBY", Type(), FieldOffset(), FieldValue()});
          break;
        default:
          a.insert(a.end(), {"OVERFLOW", Pick({"WRAP", "SAT", "FAIL", "sat", "bogus"})});
          break;
      }
    }
    if (Coin(5)) a.push_back(Pick({"GET", "bogus", "SET"}));
    return a;
  }

  std::mt19937 rng_;
};

TEST_F(RedisDifferential, StringBitAndKeyCommandsAnswerLikeRedis) {
  constexpr int kSeeds = 60;
  constexpr int kCommands = 300;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    Flush();
    Gen15 gen(seed);
    for (int i = 0; i < kCommands; ++i) {
      Argv cmd = gen.Next();
      Reply want = Normalize(cmd, client_->Call(cmd));
      Reply got = Normalize(cmd, engine_.Run(cmd));
      ASSERT_EQ(kv::DebugString(got), kv::DebugString(want))
          << "seed " << seed << ", command " << i << ": " << testing::Shown(cmd);
    }
    // Every key agrees: its type, its string value, its TTL to the second.
    for (int k = 0; k < 5; ++k) {
      std::string key = "k" + std::to_string(k);
      for (const Argv& cmd : {Argv{"type", key}, Argv{"ttl", key}}) {
        ASSERT_EQ(kv::DebugString(engine_.Run(cmd)), kv::DebugString(client_->Call(cmd))) << "seed " << seed;
      }
      if (engine_.Run({"type", key}).str == "string") {
        ASSERT_EQ(kv::DebugString(engine_.Run({"get", key})), kv::DebugString(client_->Call({"get", key})))
            << "seed " << seed << " " << key;
      }
    }
  }
}

// The fixed cases: OBJECT and MEMORY's answers that do not depend on history or time, the
// 512 MB limits, INCRBYFLOAT's formatting, LCS's documented example, BITFIELD's overflows.
TEST_F(RedisDifferential, FixedStringBitAndObjectCasesAnswerLikeRedis) {
  const std::vector<Argv> calls = {
      {"set", "int", "12345"},
      {"set", "small", "9999"},
      {"set", "str", "hello"},
      {"set", "long", std::string(45, 'x')},
      {"set", "neg", "-5"},
      {"set", "lead", "0123"},
      {"rpush", "list", "a", "b"},
      {"sadd", "ints", "1", "2", "3"},
      {"sadd", "strs", "a", "1"},
      {"hset", "hash", "f", "v"},
      {"hset", "bighash", "f", std::string(65, 'v')},
      {"zadd", "zset", "1", "m"},
      {"zadd", "bigzset", "1", std::string(65, 'm')},
      {"object", "encoding", "int"},
      {"object", "encoding", "small"},
      {"object", "encoding", "str"},
      {"object", "encoding", "long"},
      {"object", "encoding", "neg"},
      {"object", "encoding", "lead"},
      {"object", "encoding", "list"},
      {"object", "encoding", "ints"},
      {"object", "encoding", "strs"},
      {"object", "encoding", "hash"},
      {"object", "encoding", "bighash"},
      {"object", "encoding", "zset"},
      {"object", "encoding", "bigzset"},
      {"object", "encoding", "nokey"},
      {"object", "refcount", "small"},
      {"object", "refcount", "int"},
      {"object", "refcount", "str"},
      {"object", "refcount", "nokey"},
      {"object", "freq", "str"},
      {"object", "freq", "nokey"},
      {"object", "idletime", "nokey"},
      {"object", "bogus", "str"},
      {"object", "encoding"},
      {"object", "encoding", "a", "b"},
      {"object", "help", "x"},
      {"object"},
      {"memory", "usage", "nokey"},
      {"memory", "usage", "str", "samples", "-1"},
      {"memory", "usage", "str", "samples", "x"},
      {"memory", "usage", "str", "bogus"},
      {"memory", "usage"},
      {"memory", "bogus"},
      {"memory"},
      {"setrange", "big", "536870912", "x"},
      {"setrange", "big", "536870911", "xy"},
      {"setrange", "big", "536870911", ""},
      {"setbit", "big", "4294967296", "1"},
      {"setbit", "big", "4294967295", "2"},
      {"getbit", "big", "4294967296"},
      {"bitfield", "big", "SET", "u8", "4294967296", "1"},
      {"bitfield", "big", "GET", "u8", "#536870912"},
      {"exists", "big"},
      {"incrbyfloat", "f", "10.5"},
      {"incrbyfloat", "f", "0.1"},
      {"incrbyfloat", "f", "-5.0e3"},
      {"incrbyfloat", "f", "1e300"},
      {"incrbyfloat", "f2", "1.5e-20"},
      {"incrbyfloat", "f2", "-1.5e-20"},
      {"incrbyfloat", "f3", "1e-400"},
      {"incrbyfloat", "f3", "1e-5000"},
      {"incrbyfloat", "f3", "3.0"},
      {"incrbyfloat", "f3", "nan"},
      {"incrbyfloat", "f4", "1e4932"},
      {"incrbyfloat", "f4", "1e4932"},
      {"set", "inf", "inf"},
      {"incrbyfloat", "inf", "1"},
      {"incrbyfloat", "list", "1"},
      {"mset", "key1", "ohmytext", "key2", "mynewtext"},
      {"lcs", "key1", "key2"},
      {"lcs", "key1", "key2", "LEN"},
      {"lcs", "key1", "key2", "IDX"},
      {"lcs", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"},
      {"lcs", "key1", "key2", "IDX", "LEN"},
      {"lcs", "key1", "list"},
      {"lcs", "nokey", "nokey2", "IDX"},
      {"bitfield", "bf",       "SET", "i8",     "0",   "127", "INCRBY", "i8",       "0",
       "1",        "OVERFLOW", "SAT", "INCRBY", "i8",  "0",   "200",    "OVERFLOW", "FAIL",
       "INCRBY",   "i8",       "0",   "-1000",  "GET", "i8",  "0"},
      {"bitfield", "bf", "SET", "u63", "1", "-1", "GET", "u63", "1", "INCRBY", "i64", "0", "9223372036854775807"},
      {"bitfield", "bf", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0",
       "-9223372036854775808", "INCRBY", "i64", "0", "-9223372036854775808"},
      {"bitfield", "bf", "OVERFLOW", "WRAP", "SET", "u8", "#3", "300", "SET", "i4", "#9", "-20", "GET", "u8", "#3",
       "GET", "i4", "#9"},
      {"bitfield", "bf"},
      {"bitfield", "bf", "OVERFLOW", "FAIL"},
      {"bitfield_ro", "bf", "GET", "u8", "0", "SET", "u8", "0", "1"},
      {"bitfield_ro", "bf", "GET", "u8", "0", "GET", "i16", "3"},
      {"bitfield", "list", "GET", "u8", "0"},
      {"bitfield_ro", "nokey", "GET", "u8", "0"},
      {"get", "bf"},
      {"bitop", "not", "dst", "key1", "key2"},
      {"bitop", "not", "dst", "key1"},
      {"get", "dst"},
      {"bitop", "and", "dst", "nokey", "nokey2"},
      {"exists", "dst"},
      {"bitop", "xor", "dst", "key1", "list"},
      {"set", "ex", "v", "EX", "100"},
      {"copy", "ex", "ex2"},
      {"ttl", "ex2"},
      {"rename", "ex", "ex3"},
      {"ttl", "ex3"},
      {"exists", "ex"},
      {"copy", "ints", "ints2", "DB", "0"},
      {"smembers", "ints2"},
      {"copy", "ints", "ints2"},
      {"copy", "str", "ints2", "REPLACE"},
      {"get", "ints2"},
      {"renamenx", "str", "int"},
      {"renamenx", "str", "str2"},
      {"get", "str2"},
      {"time", "x"},
      {"randomkey", "x"},
      {"touch"},
  };
  ASSERT_EQ(client_->Call({"FLUSHALL"}).str, "OK");
  for (const auto& cmd : calls) {
    std::string shown;
    for (const auto& a : cmd) shown += "'" + a.substr(0, 40) + "' ";
    Reply want = client_->Call(cmd);
    Reply got = engine_.Run(cmd);
    if (cmd[0] == "smembers") std::tie(want, got) = std::pair{Normalize(cmd, want), Normalize(cmd, got)};
    EXPECT_EQ(kv::DebugString(got), kv::DebugString(want)) << shown;
  }
  // RANDOMKEY: nil on an empty keyspace, the only key when there is one.
  Flush();
  EXPECT_EQ(kv::DebugString(engine_.Run({"randomkey"})), kv::DebugString(client_->Call({"randomkey"})));
  client_->Call({"set", "only", "1"});
  engine_.Run({"set", "only", "1"});
  EXPECT_EQ(kv::DebugString(engine_.Run({"randomkey"})), kv::DebugString(client_->Call({"randomkey"})));
}

}  // namespace
}  // namespace stratus
