// Differential test of the hash family (and HyperLogLog) against a real redis-server, as
// redis_differential_test.cc does for the rest: seeded random sequences and fixed cases,
// errors included, must answer identically. Replies Redis orders by its own encoding
// (HGETALL, HSCAN, ...) are compared sorted; HRANDFIELD's random picks by what does not
// depend on chance (how many, and the whole hash when the count covers it).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "common/clock.h"
#include "integration/redis_differential.h"
#include "kv/engine.h"
#include "kv/util.h"

namespace stratus {
namespace {

using kv::Argv;
using kv::Reply;

class HashGen {
 public:
  explicit HashGen(uint32_t seed) : rng_(seed) {}

  Argv Next() {
    switch (R(22)) {
      case 0:
      case 1:
        return {"hset", Key(), Field(), Val(), Field(), Val()};
      case 2:
        return {"hsetnx", Key(), Field(), Val()};
      case 3:
        return {"hget", Key(), Field()};
      case 4:
        return {"hmget", Key(), Field(), Field()};
      case 5:
        return {"hdel", Key(), Field()};
      case 6:
        return {"hlen", Key()};
      case 7:
        return {"hexists", Key(), Field()};
      case 8:
        return {"hstrlen", Key(), Field()};
      case 9:
        return {"hincrby", Key(), Field(), Pick<std::string>({"1", "-1", "abc", "9223372036854775807", "1.5"})};
      case 10:
      case 11:
        return {"hincrbyfloat", Key(), Field(), Float()};
      case 12:
        return {Pick<std::string>({"hkeys", "hvals", "hgetall"}), Key()};
      case 13:
      case 14: {
        Argv a{"hrandfield", Key()};
        if (Coin(80)) a.push_back(Pick<std::string>({"0", "1", "2", "-3", "10", "-1", "abc", "-9223372036854775808"}));
        if (a.size() == 3 && Coin(50)) a.push_back(Pick<std::string>({"WITHVALUES", "withvalues", "bogus"}));
        if (Coin(5)) a.push_back("extra");
        return a;
      }
      case 15:
      case 16: {
        Argv a{"hscan", Key(), Pick<std::string>({"0", "0", "7", "-1", "abc", "18446744073709551616"})};
        if (Coin(40)) {
          a.push_back(Pick<std::string>({"MATCH", "match"}));
          a.push_back(Pick<std::string>({"f*", "f[12]", "*", "x*"}));
        }
        if (Coin(40)) {
          a.push_back("COUNT");
          a.push_back(Pick<std::string>({"1", "10", "0", "abc", "-1"}));
        }
        if (Coin(5)) a.push_back(Pick<std::string>({"bogus", "type"}));
        return a;
      }
      case 17:
        return {"set", Key(), Val()};
      case 18:
        return {"del", Key()};
      case 19:
        return {"type", Key()};
      case 20:
        return {"expire", Key(), Pick<std::string>({"100", "0", "200"})};
      default:
        return Pick<Argv>({{"hset", "k1", "f"},
                           {"hincrbyfloat", "k1", "f"},
                           {"hrandfield"},
                           {"hscan", "k1"},
                           {"hsetnx", "k1", "f"},
                           {"hstrlen", "k1"}});
    }
  }

 private:
  size_t R(size_t n) { return rng_() % n; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[R(v.size())];
  }
  bool Coin(int percent) { return static_cast<int>(R(100)) < percent; }
  std::string Key() { return "k" + std::to_string(R(5)); }
  std::string Field() { return "f" + std::to_string(R(4)); }
  std::string Val() {
    return Pick<std::string>(
        {"0", "1", "-1", "1.5", "abc", "", "10", "1e3", "inf", "007", "9223372036854775807", " 1", "0x10", "3.0"});
  }
  // No increment makes a value over 64 bytes: Redis would then keep the hash as a hashtable,
  // whose HSCAN batches follow its buckets (see the fixed cases for the small-hash rules).
  std::string Float() {
    return Pick<std::string>({"1", "-1", "0.1", "1.5", "abc", "inf", "-inf", "1e3", "", " 1", "5.0e-1", "0x10", "1e20",
                              "nan", "-0", "10.50"});
  }
  std::mt19937 rng_;
};

std::vector<std::pair<std::string, std::string>> Pairs(const std::vector<Reply>& elems) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i + 1 < elems.size(); i += 2) pairs.emplace_back(elems[i].str, elems[i + 1].str);
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

std::vector<Reply> Flatten(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<Reply> out;
  for (const auto& [f, v] : pairs) {
    out.push_back(Reply::Bulk(f));
    out.push_back(Reply::Bulk(v));
  }
  return out;
}

// What of a reply does not depend on hash order or chance.
Reply Normalize(const Argv& cmd, Reply r) {
  std::string name = kv::ToLower(cmd[0]);
  auto by_str = [](const Reply& a, const Reply& b) { return a.str < b.str; };
  if ((name == "hkeys" || name == "hvals") && r.type == Reply::Type::kArray) {
    std::sort(r.elems.begin(), r.elems.end(), by_str);
  } else if (name == "hgetall" && r.type == Reply::Type::kArray) {
    r.elems = Flatten(Pairs(r.elems));
  } else if (name == "hscan" && r.type == Reply::Type::kArray && r.elems.size() == 2) {
    r.elems[1].elems = Flatten(Pairs(r.elems[1].elems));
  } else if (name == "hrandfield" && r.type == Reply::Type::kBulk) {
    r = Reply::Bulk("<a field>");
  } else if (name == "hrandfield" && r.type == Reply::Type::kArray) {
    bool with_values = cmd.size() == 4;
    auto count = kv::ParseInt(cmd[2]);
    // A count of at least the hash's size (4 fields at most here) returns the whole hash.
    if (count && *count >= 4) {
      if (with_values) {
        r.elems = Flatten(Pairs(r.elems));
      } else {
        std::sort(r.elems.begin(), r.elems.end(), by_str);
      }
    } else {
      r = Reply::Integer(static_cast<int64_t>(r.elems.size()));
    }
  } else if (name == "pttl" && r.type == Reply::Type::kInteger && r.integer > 0) {
    r.integer = (r.integer + 500) / 1000;
  }
  return r;
}

class RedisDifferentialHashes : public testing::RedisDifferentialTest {
 protected:
  void Compare(const std::vector<Argv>& calls) {
    for (const auto& cmd : calls) {
      ASSERT_EQ(kv::DebugString(Normalize(cmd, engine_.Run(cmd))), kv::DebugString(Normalize(cmd, client_->Call(cmd))))
          << testing::Shown(cmd);
    }
  }
};

TEST_F(RedisDifferentialHashes, RandomHashSequencesAnswerLikeRedis) {
  constexpr int kSeeds = 60;
  constexpr int kCommands = 300;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    Flush();
    HashGen gen(seed);
    for (int i = 0; i < kCommands; ++i) {
      Argv cmd = gen.Next();
      Reply want = Normalize(cmd, client_->Call(cmd));
      Reply got = Normalize(cmd, engine_.Run(cmd));
      ASSERT_EQ(kv::DebugString(got), kv::DebugString(want))
          << "seed " << seed << ", command " << i << ": " << testing::Shown(cmd);
    }
    // Every key agrees at the end: type, TTL and whole contents.
    for (int k = 0; k < 5; ++k) {
      std::string key = "k" + std::to_string(k);
      Compare({{"type", key}, {"ttl", key}, {"hgetall", key}});
    }
  }
}

TEST_F(RedisDifferentialHashes, FixedHashCasesAnswerLikeRedis) {
  Compare({
      {"hset", "h", "f", "1.5", "g", "abc"},
      {"set", "s", "x"},
      {"hincrbyfloat", "h", "f", "inf"},
      {"hincrbyfloat", "h", "f", "abc"},
      {"hincrbyfloat", "h", "g", "1"},
      {"hincrbyfloat", "h", "f", "1e4931"},
      {"hincrbyfloat", "h", "f", "1e4932"},
      {"hincrbyfloat", "h", "f", "1e4932"},
      {"hincrbyfloat", "h", "f", "-1e4932"},
      {"hincrbyfloat", "nokey", "f", "inf"},
      {"exists", "nokey"},
      {"hincrbyfloat", "h", "f", " 1"},
      {"hincrbyfloat", "h", "f", "0x10"},
      {"hincrbyfloat", "h", "n", "1e400"},
      {"hincrbyfloat", "h", "n", "-1e400"},
      {"hincrbyfloat", "h", "z", "0.1"},
      {"hincrbyfloat", "h", "z", "0.2"},
      {"hincrbyfloat", "h", "z", "-0.3"},
      {"hincrbyfloat", "s", "f", "1"},
      {"hgetall", "h"},
      {"hrandfield", "h", "-9223372036854775808"},
      {"hrandfield", "h", "-9223372036854775807", "withvalues"},
      {"hrandfield", "h", "4611686018427387904", "withvalues"},
      {"hrandfield", "h", "4611686018427387903", "withvalues"},
      {"hrandfield", "h", "-4611686018427387904", "withvalues"},
      {"hrandfield", "nokey", "0", "bogus"},
      {"hrandfield", "nokey", "abc", "bogus", "x"},
      {"hrandfield", "h", "1", "withvalues", "x"},
      {"hrandfield", "nokey", "abc"},
      {"hrandfield", "h", "0"},
      {"hrandfield", "s", "0"},
      {"hrandfield", "s"},
      {"hrandfield", "s", "abc"},
      {"hrandfield", "nokey"},
      {"hrandfield", "nokey", "5", "WITHVALUES"},
      {"hset", "sh", "f", "1", "g", "abc", "n", "0"},
      {"hscan", "sh", "abc"},
      {"hscan", "nokey", "0", "bogus"},
      {"hscan", "s", "0", "bogus"},
      {"hscan", "s", "abc"},
      {"hscan", "sh", "0", "count", "0"},
      {"hscan", "sh", "0", "count", "abc"},
      {"hscan", "sh", "0", "type", "string"},
      {"hscan", "sh", "-1"},
      {"hscan", "sh", "18446744073709551615"},
      {"hscan", "sh", "18446744073709551616"},
      {"hscan", "sh", " 0"},
      {"hscan", "sh", "0", "match", "[fg]", "count", "1"},
      {"hscan", "sh", "0", "match"},
  });
}

// HyperLogLog: the same registers, so the same counts, and the same bytes for GET.
class HllGen {
 public:
  explicit HllGen(uint32_t seed) : rng_(seed) {}

  Argv Next() {
    switch (R(12)) {
      case 0:
      case 1:
      case 2: {
        Argv a{"pfadd", Key()};
        size_t n = R(4) == 0 ? 200 + R(600) : R(6);
        for (size_t i = 0; i < n; ++i) a.push_back(Element());
        return a;
      }
      case 3:
      case 4:
        return {"pfcount", Key()};
      case 5: {
        Argv a{"pfcount", Key(), Key()};
        if (R(2)) a.push_back(Key());
        return a;
      }
      case 6: {
        Argv a{"pfmerge", Key()};
        for (size_t i = R(3); i > 0; --i) a.push_back(Key());
        return a;
      }
      case 7:
        return {"get", Key()};
      case 8:
        return Pick<Argv>({{"set", Key(), "plain"},
                           {"del", Key()},
                           {"hset", Key(), "f", "v"},
                           {"set", Key(), "HYLL"},
                           {"pfadd"},
                           {"pfcount"},
                           {"pfmerge"}});
      case 9:
        return {"type", Key()};
      case 10:
        return {"strlen", Key()};
      default:
        return {"expire", Key(), "100"};
    }
  }

 private:
  size_t R(size_t n) { return rng_() % n; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[R(v.size())];
  }
  std::string Key() { return "k" + std::to_string(R(4)); }
  std::string Element() { return "e" + std::to_string(R(R(2) ? 50 : 100000)); }
  std::mt19937 rng_;
};

TEST_F(RedisDifferentialHashes, HyperLogLogSequencesAnswerLikeRedis) {
  constexpr int kSeeds = 40;
  constexpr int kCommands = 150;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    Flush();
    HllGen gen(seed);
    for (int i = 0; i < kCommands; ++i) {
      Argv cmd = gen.Next();
      Reply want = client_->Call(cmd);
      Reply got = engine_.Run(cmd);
      std::string shown;
      for (size_t k = 0; k < cmd.size() && k < 4; ++k) shown += "'" + cmd[k] + "' ";
      ASSERT_EQ(kv::DebugString(got), kv::DebugString(want))
          << "seed " << seed << ", command " << i << ": " << shown << "(" << cmd.size() << " arguments)";
    }
  }
}

// Counts match redis-server exactly from 1 to 200,000 distinct elements, through the sparse
// encoding, the switch to dense, and the dense range; the error stays within Redis's.
TEST_F(RedisDifferentialHashes, HyperLogLogCountsMatchRedisAcrossSizes) {
  int64_t added = 0;
  int64_t next_check = 1;
  while (added < 200000) {
    Argv cmd{"pfadd", "hll"};
    int64_t batch = std::max<int64_t>(1, std::min<int64_t>(next_check - added, 1000));
    for (int64_t i = 0; i < batch; ++i) cmd.push_back("element:" + std::to_string(added++));
    ASSERT_EQ(kv::DebugString(engine_.Run(cmd)), kv::DebugString(client_->Call(cmd)));
    if (added >= next_check) {
      Reply want = client_->Call({"pfcount", "hll"});
      Reply got = engine_.Run({"pfcount", "hll"});
      ASSERT_EQ(kv::DebugString(got), kv::DebugString(want)) << added << " elements";
      EXPECT_NEAR(static_cast<double>(got.integer), static_cast<double>(added), 0.03 * added + 1) << added;
      ASSERT_EQ(kv::DebugString(engine_.Run({"get", "hll"})), kv::DebugString(client_->Call({"get", "hll"})))
          << added << " elements";
      next_check = next_check < 100 ? next_check + 1 : next_check * 5 / 4;
    }
  }
  Compare({{"pfadd", "other", "a", "b", "c"},
           {"pfmerge", "merged", "hll", "other"},
           {"pfcount", "merged"},
           {"pfcount", "hll", "other", "nokey"},
           {"get", "merged"},
           {"pfmerge", "other", "nokey"},
           {"get", "other"},
           {"type", "merged"}});
}

TEST_F(RedisDifferentialHashes, FixedHyperLogLogCasesAnswerLikeRedis) {
  Compare({
      {"pfadd", "h"},
      {"get", "h"},
      {"pfadd", "h"},
      {"pfcount", "h"},
      {"get", "h"},
      {"pfadd", "h", "a", "b", "c", "a"},
      {"get", "h"},
      {"pfcount", "h"},
      {"get", "h"},
      {"pfadd", "h", "a"},
      {"pfcount", "h", "nokey"},
      {"pfcount", "nokey"},
      {"pfcount", "nokey", "nokey2"},
      {"set", "s", "hello"},
      {"pfadd", "s", "a"},
      {"pfcount", "s"},
      {"pfcount", "h", "s"},
      {"pfmerge", "s", "h"},
      {"pfmerge", "d", "s"},
      {"exists", "d"},
      {"hset", "hash", "f", "v"},
      {"pfadd", "hash", "a"},
      {"pfcount", "hash"},
      {"pfmerge", "hash", "h"},
      {"pfmerge", "h", "hash"},
      {"set", "short", "HYLL"},
      {"pfadd", "short", "a"},
      {"set", "dense", std::string("HYLL\0\0\0\0\0\0\0\0\0\0\0\0", 16)},
      {"pfadd", "dense", "a"},
      {"pfmerge", "empty"},
      {"get", "empty"},
      {"pfmerge", "h2", "h", "h"},
      {"get", "h2"},
      {"copy", "h", "h3"},
      {"append", "h3", "x"},
      {"pfcount", "h3"},
      {"pfmerge", "h4", "h3"},
      {"type", "h"},
  });
}

}  // namespace
}  // namespace stratus
