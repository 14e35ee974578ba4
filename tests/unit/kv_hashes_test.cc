// The hash commands whose answers depend on chance or on a cursor (HRANDFIELD, HSCAN over a
// large hash), checked by their properties; HINCRBYFLOAT's formatting and errors; every new
// hash write surviving a restart through the append-only log. Replies that do not depend on
// chance are compared with a real redis-server in
// tests/integration/redis_differential_hashes_test.cc.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "integration/engine_on_log.h"
#include "kv/engine.h"

namespace stratus::kv {
namespace {

std::string S(const Reply& r) {
  return DebugString(r);
}

class KvHashesTest : public testing::EngineOnLogTest {
 protected:
  void Fill(const std::string& key, int n) {
    for (int i = 0; i < n; ++i) Run({"hset", key, "f" + std::to_string(i), "v" + std::to_string(i)});
  }
};

TEST_F(KvHashesTest, HIncrByFloatFormatsAndRefusesAsRedis) {
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "f", "10.5"})), "\"10.5\"");
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "f", "0.1"})), "\"10.6\"");
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "f", "-5.0e3"})), "\"-4989.39999999999999991\"") << "long double, as Redis";
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "f", "abc"})), "-ERR value is not a valid float");
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "f", " 1"})), "-ERR value is not a valid float");
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "f", "inf"})), "-ERR value is NaN or Infinity");
  EXPECT_EQ(S(Run({"hincrbyfloat", "nokey", "f", "inf"})), "-ERR value is NaN or Infinity");
  EXPECT_EQ(S(Run({"exists", "nokey"})), ":0");
  Run({"hset", "h", "s", "abc"});
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "s", "1"})), "-ERR hash value is not a float");
  Run({"hset", "h", "big", "1e4932"});
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "big", "1e4932"})), "-ERR increment would produce NaN or Infinity");
  Run({"set", "str", "1"});
  EXPECT_EQ(S(Run({"hincrbyfloat", "str", "f", "1"})),
            "-WRONGTYPE Operation against a key holding the wrong kind of value");
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "i", "3"})), "\"3\"");
  EXPECT_EQ(S(Run({"hget", "h", "i"})), "\"3\"");
}

TEST_F(KvHashesTest, HRandFieldSamplesWithoutRepeatsForAPositiveCount) {
  Fill("h", 10);
  std::set<std::string> seen_single;
  for (int round = 0; round < 200; ++round) {
    Reply one = Run({"hrandfield", "h"});
    ASSERT_EQ(one.type, Reply::Type::kBulk);
    seen_single.insert(one.str);
  }
  EXPECT_EQ(seen_single.size(), 10u) << "200 draws from 10 fields reach every field";
  for (int round = 0; round < 50; ++round) {
    Reply r = Run({"hrandfield", "h", "4"});
    ASSERT_EQ(r.elems.size(), 4u);
    std::set<std::string> distinct;
    for (const auto& e : r.elems) distinct.insert(e.str);
    EXPECT_EQ(distinct.size(), 4u) << S(r);
  }
  Reply whole = Run({"hrandfield", "h", "100", "WITHVALUES"});
  ASSERT_EQ(whole.elems.size(), 20u);
  std::map<std::string, std::string> pairs;
  for (size_t i = 0; i < whole.elems.size(); i += 2) pairs[whole.elems[i].str] = whole.elems[i + 1].str;
  ASSERT_EQ(pairs.size(), 10u);
  for (const auto& [f, v] : pairs) EXPECT_EQ("v" + f.substr(1), v);
}

TEST_F(KvHashesTest, HRandFieldRepeatsForANegativeCount) {
  Fill("h", 2);
  Reply r = Run({"hrandfield", "h", "-50", "withvalues"});
  ASSERT_EQ(r.elems.size(), 100u);
  std::set<std::string> fields;
  for (size_t i = 0; i < r.elems.size(); i += 2) {
    fields.insert(r.elems[i].str);
    EXPECT_EQ("v" + r.elems[i].str.substr(1), r.elems[i + 1].str);
  }
  EXPECT_EQ(fields, (std::set<std::string>{"f0", "f1"}));
  EXPECT_EQ(Run({"hrandfield", "h", "-3"}).elems.size(), 3u);
  EXPECT_EQ(S(Run({"hrandfield", "h", "0"})), "[]");
  EXPECT_EQ(S(Run({"hrandfield", "nokey", "-3"})), "[]");
  EXPECT_EQ(S(Run({"hrandfield", "nokey"})), "(nil)");
  EXPECT_EQ(S(Run({"hrandfield", "h", "-9223372036854775807"})), "-ERR value is out of range")
      << "a reply that could never be sent is refused";
}

TEST_F(KvHashesTest, HScanCursorWalksALargeHashAcrossCallsAndWrites) {
  constexpr int kFields = 1000;
  Fill("h", kFields);
  std::map<std::string, std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  int added = 0;
  do {
    Reply r = Run({"hscan", "h", cursor, "COUNT", "37"});
    ASSERT_EQ(r.type, Reply::Type::kArray);
    cursor = r.elems[0].str;
    const auto& items = r.elems[1].elems;
    ASSERT_EQ(items.size() % 2, 0u);
    EXPECT_LE(items.size() / 2, 40u) << "about COUNT fields a call";
    for (size_t i = 0; i < items.size(); i += 2) seen[items[i].str] = items[i + 1].str;
    // Writes between calls (new fields, deletions of fields not yet required) do not lose
    // fields present for the whole scan.
    Run({"hset", "h", "new" + std::to_string(added++), "x"});
    ++calls;
  } while (cursor != "0" && calls < 10000);
  EXPECT_GT(calls, 10);
  for (int i = 0; i < kFields; ++i) {
    auto it = seen.find("f" + std::to_string(i));
    ASSERT_NE(it, seen.end()) << "f" << i;
    EXPECT_EQ(it->second, "v" + std::to_string(i));
  }
}

TEST_F(KvHashesTest, HScanMatchNoValuesAndSmallHashes) {
  Fill("h", 3);
  Reply r = Run({"hscan", "h", "0", "MATCH", "f[01]", "NOVALUES"});
  ASSERT_EQ(r.elems[0].str, "0");
  std::set<std::string> got;
  for (const auto& e : r.elems[1].elems) got.insert(e.str);
  EXPECT_EQ(got, (std::set<std::string>{"f0", "f1"}));
  EXPECT_EQ(Run({"hscan", "h", "12345"}).elems[1].elems.size(), 6u) << "a small hash comes whole, as a listpack";
  EXPECT_EQ(S(Run({"hscan", "h", "x"})), "-ERR invalid cursor");
  EXPECT_EQ(S(Run({"hscan", "h", "0", "COUNT", "0"})), "-ERR syntax error");
  EXPECT_EQ(S(Run({"hscan", "nokey", "0", "bogus"})), "[\"0\", []]");
  Fill("big", 300);
  Reply m = Run({"hscan", "big", "0", "MATCH", "f1*", "COUNT", "1000", "NOVALUES"});
  EXPECT_EQ(m.elems[0].str, "0");
  EXPECT_EQ(m.elems[1].elems.size(), 111u);  // f1, f10-f19, f100-f199
}

// HGETDEL is Redis 8.0's (redis-server 7.0 has none to compare with): as redis.io documents it.
TEST_F(KvHashesTest, HGetDelReturnsValuesAndDeletesFields) {
  Run({"hset", "h", "a", "1", "b", "2", "c", "3"});
  EXPECT_EQ(S(Run({"hgetdel", "h", "FIELDS", "2", "a", "nope"})), "[\"1\", (nil)]");
  EXPECT_EQ(S(Run({"hmget", "h", "a", "b", "c"})), "[(nil), \"2\", \"3\"]");
  EXPECT_EQ(S(Run({"hlen", "h"})), ":2");
  EXPECT_EQ(S(Run({"hgetdel", "h", "fields", "2", "b", "b"})), "[\"2\", (nil)]") << "a field repeated is gone";
  EXPECT_EQ(S(Run({"hgetdel", "h", "FIELDS", "1", "c"})), "[\"3\"]");
  EXPECT_EQ(S(Run({"exists", "h"})), ":0") << "the last field deleted deletes the key";
  EXPECT_EQ(S(Run({"hgetdel", "nokey", "FIELDS", "1", "x"})), "[(nil)]");
  EXPECT_EQ(S(Run({"hgetdel", "h", "FIELDS", "2", "x"})),
            "-ERR The `numfields` parameter must match the number of arguments");
  EXPECT_EQ(S(Run({"hgetdel", "h", "FIELDS", "0", "x"})), "-ERR Number of fields must be a positive integer");
  EXPECT_EQ(S(Run({"hgetdel", "h", "FIELDS", "abc", "x"})), "-ERR Number of fields must be a positive integer");
  EXPECT_EQ(S(Run({"hgetdel", "h", "FIELD", "1", "x"})),
            "-ERR Mandatory argument FIELDS is missing or not at the right position");
  EXPECT_EQ(S(Run({"hgetdel", "h", "FIELDS", "1"})), "-ERR wrong number of arguments for 'hgetdel' command");
  Run({"set", "s", "v"});
  EXPECT_EQ(S(Run({"hgetdel", "s", "FIELDS", "1", "x"})),
            "-WRONGTYPE Operation against a key holding the wrong kind of value");
  EXPECT_EQ(S(Run({"hgetdel", "s", "FIELD", "0", "x"})),
            "-WRONGTYPE Operation against a key holding the wrong kind of value");
  Run({"hset", "d", "a", "1", "b", "2"});
  Run({"hgetdel", "d", "FIELDS", "1", "a"});
  Open();
  EXPECT_EQ(S(Run({"hgetall", "d"})), "[\"b\", \"2\"]") << "the deletion is logged";
}

TEST_F(KvHashesTest, NewHashWritesSurviveARestart) {
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "f", "1.25"})), "\"1.25\"");
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "f", "1e2"})), "\"101.25\"");
  EXPECT_EQ(S(Run({"hsetnx", "h", "g", "1"})), ":1");
  Run({"expire", "h", "100"});
  EXPECT_EQ(S(Run({"hincrbyfloat", "h", "f", "1"})), "\"102.25\"");
  Open();
  EXPECT_EQ(S(Run({"hget", "h", "f"})), "\"102.25\"");
  EXPECT_EQ(S(Run({"hget", "h", "g"})), "\"1\"");
  EXPECT_EQ(S(Run({"ttl", "h"})), ":100") << "HINCRBYFLOAT keeps the key's TTL";
  Open();  // again, from the snapshot the first restart wrote
  EXPECT_EQ(S(Run({"hget", "h", "f"})), "\"102.25\"");
}

TEST_F(KvHashesTest, HyperLogLogCountsWithinRedisErrorAndSurvivesARestart) {
  constexpr int kElements = 100000;
  for (int i = 0; i < kElements; i += 500) {
    Argv cmd{"pfadd", "big"};
    for (int j = i; j < i + 500; ++j) cmd.push_back("user-" + std::to_string(j));
    Run(cmd);
  }
  Reply n = Run({"pfcount", "big"});
  ASSERT_EQ(n.type, Reply::Type::kInteger);
  // Redis's standard error is 0.81%; three of them bound this estimate comfortably.
  EXPECT_NEAR(static_cast<double>(n.integer), kElements, kElements * 3 * 0.0081);
  EXPECT_EQ(S(Run({"strlen", "big"})), ":12304") << "dense: a 16-byte header and 16384 registers of 6 bits";
  EXPECT_EQ(S(Run({"type", "big"})), "+string");
  EXPECT_EQ(S(Run({"pfadd", "small", "a", "b", "c"})), ":1");
  EXPECT_EQ(S(Run({"pfadd", "small", "a"})), ":0");
  EXPECT_EQ(S(Run({"pfcount", "small"})), ":3");
  EXPECT_EQ(S(Run({"pfmerge", "both", "big", "small"})), "+OK");
  Reply both = Run({"pfcount", "both"});
  Reply get_big = Run({"get", "big"});
  Reply get_small = Run({"get", "small"});
  Reply get_both = Run({"get", "both"});
  Open();
  EXPECT_EQ(S(Run({"pfcount", "both"})), S(both));
  EXPECT_EQ(S(Run({"pfcount", "big", "small"})), S(both));
  EXPECT_EQ(S(Run({"pfcount", "small"})), ":3");
  // The registers come back; the cached count in the header (bytes 8-15) may be stale after
  // a restart, as PFCOUNT's refresh of it is not logged.
  EXPECT_EQ(Run({"get", "big"}).str.substr(16), get_big.str.substr(16));
  EXPECT_EQ(Run({"get", "small"}).str.substr(16), get_small.str.substr(16));
  EXPECT_EQ(Run({"get", "both"}).str.substr(16), get_both.str.substr(16));
  Open();  // again, now from the snapshot the first restart wrote
  EXPECT_EQ(S(Run({"pfcount", "both"})), S(both));
  EXPECT_EQ(Run({"get", "big"}).str.substr(16), get_big.str.substr(16));
  EXPECT_EQ(S(Run({"pfadd", "small", "a", "b", "c"})), ":0");
}

TEST_F(KvHashesTest, HyperLogLogRefusesOtherValues) {
  Run({"set", "s", "hello"});
  EXPECT_EQ(S(Run({"pfadd", "s", "a"})), "-WRONGTYPE Key is not a valid HyperLogLog string value.");
  EXPECT_EQ(S(Run({"pfcount", "s"})), "-WRONGTYPE Key is not a valid HyperLogLog string value.");
  Run({"hset", "h", "f", "v"});
  EXPECT_EQ(S(Run({"pfmerge", "h", "nokey"})), "-WRONGTYPE Operation against a key holding the wrong kind of value");
  Run({"pfadd", "hll", "a"});
  Run({"append", "hll", "x"});
  EXPECT_EQ(S(Run({"pfcount", "hll"})), "-INVALIDOBJ Corrupted HLL object detected");
  EXPECT_EQ(S(Run({"get", "s"})), "\"hello\"");
}

}  // namespace
}  // namespace stratus::kv
