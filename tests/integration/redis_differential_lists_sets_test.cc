// Differential test of the list and set families against a real redis-server 7.0: seeded
// random sequences (valid, malformed, wrong-type) of LINSERT LMOVE RPOPLPUSH LMPOP LPOS and
// SMOVE SINTER SINTERCARD SUNION SDIFF and their STORE forms beside the older list and set
// commands must answer identically. Replies that depend on chance are compared by their
// properties: SPOP's and SRANDMEMBER's members come from the set, as many as Redis gives,
// distinct where Redis's are (and the two servers are brought back in step after a SPOP);
// a whole SSCAN returns the same members on both.
#include <gtest/gtest.h>

#include <algorithm>
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

class ListSetGen {
 public:
  explicit ListSetGen(uint32_t seed) : rng_(seed) {}

  Argv Next() {
    switch (R(10)) {
      case 0:
      case 1:
      case 2:
        return Lists();
      case 3:
      case 4:
      case 5:
        return Sets();
      case 6:
        return Random();
      case 7:
        return Setup();
      case 8:
        return Scan();
      default:
        return Broken();
    }
  }

 private:
  size_t R(size_t n) { return rng_() % n; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[R(v.size())];
  }
  bool Coin(int percent = 50) { return static_cast<int>(R(100)) < percent; }

  std::string Key() { return "k" + std::to_string(R(5)); }
  std::string Elem() { return Pick<std::string>({"a", "b", "c", "1", "2", "10", "", "a b"}); }
  std::string Member() { return Coin(40) ? std::to_string(R(8)) : "m" + std::to_string(R(6)); }
  std::string Int() {
    return Pick<std::string>({"0", "1", "-1", "2", "3", "-2", "5", "100", "abc", "9223372036854775807",
                              "-9223372036854775808", "1.5", "", "01"});
  }
  std::string Where() { return Pick<std::string>({"LEFT", "RIGHT", "left", "Right", "up"}); }

  Argv Setup() {
    switch (R(4)) {
      case 0:
        return {"set", Key(), "str"};
      case 1:
        return {"del", Key()};
      case 2: {
        Argv a{"rpush", Key()};
        for (size_t i = 0, n = 1 + R(5); i < n; ++i) a.push_back(Elem());
        return a;
      }
      default: {
        Argv a{"sadd", Key()};
        for (size_t i = 0, n = 1 + R(8); i < n; ++i) a.push_back(Member());
        return a;
      }
    }
  }

  Argv Lists() {
    switch (R(13)) {
      case 0:
        return {Pick<std::string>({"lpush", "rpush", "lpushx", "rpushx"}), Key(), Elem(), Elem()};
      case 1:
        return {"linsert", Key(), Pick<std::string>({"BEFORE", "after", "After", "middle"}), Elem(), Elem()};
      case 2:
        return {"lmove", Key(), Key(), Where(), Where()};
      case 3:
        return {"rpoplpush", Key(), Key()};
      case 4: {
        Argv a{"lmpop", Pick<std::string>({"1", "2", "3", "0", "-1", "abc", "9", "2"})};
        for (size_t i = 0, n = 1 + R(3); i < n; ++i) a.push_back(Key());
        a.push_back(Where());
        if (Coin(60)) {
          a.push_back(Pick<std::string>({"COUNT", "count", "limit"}));
          if (Coin(90)) a.push_back(Pick<std::string>({"1", "2", "10", "0", "-1", "abc"}));
        }
        if (Coin(5)) a.insert(a.end(), {"count", "1"});
        return a;
      }
      case 5:
      case 6: {
        Argv a{"lpos", Key(), Elem()};
        for (size_t i = 0, n = R(4); i < n; ++i) {
          a.push_back(Pick<std::string>({"RANK", "COUNT", "MAXLEN", "rank", "bogus"}));
          if (Coin(95)) a.push_back(Int());
        }
        return a;
      }
      case 7:
        return {"lrange", Key(), "0", "-1"};
      case 8:
        return {"llen", Key()};
      case 9:
        return {Pick<std::string>({"lpop", "rpop"}), Key(), Pick<std::string>({"1", "2", "0", "-1", "abc"})};
      case 10:
        return {"lindex", Key(), Int()};
      case 11:
        return {"lset", Key(), Int(), Elem()};
      default:
        return {Pick<std::string>({"ltrim", "lrem"}), Key(), Int(), Coin() ? Int() : Elem()};
    }
  }

  Argv Sets() {
    switch (R(10)) {
      case 0:
        return {"sadd", Key(), Member(), Member()};
      case 1:
        return {"srem", Key(), Member(), Member()};
      case 2:
        return {"smove", Key(), Key(), Member()};
      case 3:
      case 4: {
        Argv a{Pick<std::string>({"sinter", "sunion", "sdiff", "sinterstore", "sunionstore", "sdiffstore"})};
        for (size_t i = 0, n = 1 + R(3); i < n; ++i) a.push_back(Key());
        return a;
      }
      case 5: {
        Argv a{"sintercard", Pick<std::string>({"1", "2", "3", "0", "-1", "abc", "5"})};
        for (size_t i = 0, n = 1 + R(3); i < n; ++i) a.push_back(Key());
        if (Coin(40)) {
          a.push_back(Pick<std::string>({"LIMIT", "limit", "count"}));
          if (Coin(90)) a.push_back(Pick<std::string>({"0", "1", "2", "-1", "abc"}));
        }
        return a;
      }
      case 6:
        return {"smembers", Key()};
      case 7:
        return {"scard", Key()};
      case 8:
        return {"smismember", Key(), Member(), Member()};
      default:
        return {"sismember", Key(), Member()};
    }
  }

  Argv Random() {
    Argv a{Pick<std::string>({"spop", "srandmember"}), Key()};
    if (Coin(70))
      a.push_back(Pick<std::string>(
          {"0", "1", "2", "3", "10", "-1", "-5", "-20", "abc", "1.5", "-9223372036854775808", "9223372036854775807"}));
    if (Coin(5)) a.push_back("1");
    // A huge negative SRANDMEMBER count would have Redis build a reply of 2^63 members.
    if (a[0] == "srandmember" && a.size() == 3 && a[2] == "-9223372036854775808" && Coin()) a[2] = "-3";
    return a;
  }

  Argv Scan() {
    Argv a{"sscan", Key(), Pick<std::string>({"0", "0", "0", "abc", " 0"})};
    for (size_t i = 0, n = R(3); i < n; ++i) {
      std::string opt = Pick<std::string>({"MATCH", "COUNT", "match", "count", "type", "bogus"});
      a.push_back(opt);
      if (Coin(95))
        a.push_back(kv::ToLower(opt) == "match" ? Pick<std::string>({"*", "m*", "?", "[0-3]", "m[^1]", "\\*"})
                                                : Pick<std::string>({"1", "2", "10", "100", "0", "-1", "abc"}));
    }
    return a;
  }

  Argv Broken() {
    return Pick<Argv>({{"linsert", "k1", "before", "a"},
                       {"lmove", "k1", "k2", "left"},
                       {"rpoplpush", "k1"},
                       {"lmpop", "1", "k1"},
                       {"lmpop", "1"},
                       {"lpos", "k1"},
                       {"smove", "k1", "k2"},
                       {"sinter"},
                       {"sinterstore", "k1"},
                       {"sintercard", "1"},
                       {"sdiffstore", "k1"},
                       {"sunion"},
                       {"spop"},
                       {"srandmember"},
                       {"sscan", "k1"},
                       {"LMOVE", "k1", "k1", "LEFT", "LEFT", "x"}});
  }

  std::mt19937 rng_;
};

// Orders replies whose order Redis does not define.
Reply Normalize(const Argv& cmd, Reply r) {
  static const std::set<std::string> kUnordered = {"smembers", "sinter", "sunion", "sdiff"};
  if (kUnordered.count(kv::ToLower(cmd[0])) && r.type == Reply::Type::kArray) {
    std::sort(r.elems.begin(), r.elems.end(), [](const Reply& a, const Reply& b) { return a.str < b.str; });
  } else if (kv::ToLower(cmd[0]) == "sscan" && r.type == Reply::Type::kArray && r.elems.size() == 2) {
    auto& m = r.elems[1].elems;
    std::sort(m.begin(), m.end(), [](const Reply& a, const Reply& b) { return a.str < b.str; });
  }
  return r;
}

std::set<std::string> Strs(const Reply& r) {
  std::set<std::string> out;
  for (const auto& e : r.elems) out.insert(e.str);
  return out;
}

class RedisListsSetsDifferential : public testing::RedisDifferentialTest {
 protected:
  // SPOP and SRANDMEMBER: the same shape of reply, members from the set as it was, distinct
  // where a positive count asks so; after a SPOP Redis is given the engine's choice.
  void CompareRandom(const Argv& cmd, const std::string& where) {
    std::string key = cmd[1];
    Reply type = engine_.Run({"type", key});
    std::set<std::string> before;
    if (type.str == "set") before = Strs(engine_.Run({"smembers", key}));
    Reply got = engine_.Run(cmd);
    Reply want = client_->Call(cmd);
    if (want.is_error() || got.is_error() || want.type == Reply::Type::kNil) {
      ASSERT_EQ(kv::DebugString(got), kv::DebugString(want)) << where;
      return;
    }
    ASSERT_EQ(got.type, want.type) << where << kv::DebugString(got) << " vs " << kv::DebugString(want);
    if (got.type == Reply::Type::kBulk) {
      ASSERT_TRUE(before.count(got.str)) << where << got.str;
    } else {
      ASSERT_EQ(got.elems.size(), want.elems.size()) << where;
      for (const auto& e : got.elems) ASSERT_TRUE(before.count(e.str)) << where << e.str;
      bool distinct = kv::ToLower(cmd[0]) == "spop" || cmd[2][0] != '-';
      if (distinct) {
        ASSERT_EQ(Strs(got).size(), got.elems.size()) << where;
      }
      if (got.elems.size() >= before.size() && distinct) {
        ASSERT_EQ(Strs(got), Strs(want)) << where;
      }
    }
    if (kv::ToLower(cmd[0]) == "spop") {
      // Put Redis's set where the engine's is: give back what Redis took, take what the engine took.
      std::vector<std::string> redis_took, engine_took;
      if (got.type == Reply::Type::kBulk) {
        engine_took = {got.str};
        redis_took = {want.str};
      } else {
        for (const auto& e : got.elems) engine_took.push_back(e.str);
        for (const auto& e : want.elems) redis_took.push_back(e.str);
      }
      if (engine_took.empty()) return;
      Argv add{"sadd", key}, rem{"srem", key};
      add.insert(add.end(), redis_took.begin(), redis_took.end());
      rem.insert(rem.end(), engine_took.begin(), engine_took.end());
      client_->Call(add);
      client_->Call(rem);
      ASSERT_EQ(Strs(client_->Call({"smembers", key})), Strs(engine_.Run({"smembers", key}))) << where;
    }
  }

  // A whole SSCAN with the command's options: both return the same members (each may repeat
  // one, and their cursors differ); a first call that fails fails alike.
  void CompareScan(const Argv& cmd, const std::string& where) {
    std::set<std::string> members[2];
    for (int side = 0; side < 2; ++side) {
      Argv c = cmd;
      for (int calls = 0; calls < 1000; ++calls) {
        Reply r = side == 0 ? engine_.Run(c) : client_->Call(c);
        if (r.is_error()) {
          if (calls == 0 && side == 0) {
            ASSERT_EQ(kv::DebugString(r), kv::DebugString(client_->Call(cmd))) << where;
            return;
          }
          FAIL() << where << kv::DebugString(r);
        }
        ASSERT_EQ(r.elems.size(), 2u) << where;
        for (const auto& e : r.elems[1].elems) members[side].insert(e.str);
        if (r.elems[0].str == "0") break;
        c[2] = r.elems[0].str;
      }
    }
    ASSERT_EQ(members[0], members[1]) << where;
  }
};

TEST_F(RedisListsSetsDifferential, RandomSequencesAnswerLikeRedis) {
  constexpr int kSeeds = 80;
  constexpr int kCommands = 300;
  int compared = 0;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    Flush();
    ListSetGen gen(seed);
    for (int i = 0; i < kCommands; ++i) {
      Argv cmd = gen.Next();
      std::string where =
          "seed " + std::to_string(seed) + ", command " + std::to_string(i) + ": " + testing::Shown(cmd);
      std::string name = kv::ToLower(cmd[0]);
      if ((name == "spop" || name == "srandmember") && cmd.size() >= 2 && cmd.size() <= 3) {
        CompareRandom(cmd, where);
      } else if (name == "sscan" && cmd.size() >= 3) {
        CompareScan(cmd, where);
      } else {
        Reply want = Normalize(cmd, client_->Call(cmd));
        Reply got = Normalize(cmd, engine_.Run(cmd));
        ASSERT_EQ(kv::DebugString(got), kv::DebugString(want)) << where;
      }
      if (HasFatalFailure()) return;
      ++compared;
    }
    // Every key agrees at the end: type, list contents, set members.
    for (int k = 0; k < 5; ++k) {
      std::string key = "k" + std::to_string(k);
      Reply type = client_->Call({"type", key});
      ASSERT_EQ(kv::DebugString(engine_.Run({"type", key})), kv::DebugString(type)) << "seed " << seed;
      Argv read = type.str == "list" ? Argv{"lrange", key, "0", "-1"} : Argv{"smembers", key};
      if (type.str == "list" || type.str == "set") {
        ASSERT_EQ(kv::DebugString(Normalize(read, engine_.Run(read))),
                  kv::DebugString(Normalize(read, client_->Call(read))))
            << "seed " << seed << " " << key;
      }
    }
  }
  RecordProperty("compared", compared);
}

// Fixed cases: every error text and edge the commands have, one by one.
TEST_F(RedisListsSetsDifferential, FixedCasesAnswerLikeRedis) {
  const std::vector<Argv> calls = {
      {"rpush", "l", "a", "b", "c", "a", "b", "a"},
      {"sadd", "s", "1", "2", "3"},
      {"sadd", "t", "2", "3", "4", "x"},
      {"set", "str", "v"},
      {"lpos", "l", "a"},
      {"lpos", "l", "a", "rank", "2"},
      {"lpos", "l", "a", "rank", "-2"},
      {"lpos", "l", "a", "rank", "-9223372036854775808"},
      {"lpos", "l", "a", "rank", "-9223372036854775808", "count", "1"},
      {"lpos", "l", "a", "rank", "9223372036854775807"},
      {"lpos", "l", "a", "count", "0"},
      {"lpos", "l", "a", "count", "2", "rank", "-1"},
      {"lpos", "l", "a", "count", "0", "maxlen", "4"},
      {"lpos", "l", "a", "maxlen", "1", "rank", "2"},
      {"lpos", "l", "z", "count", "1"},
      {"lpos", "nokey", "a", "count", "1"},
      {"lpos", "nokey", "a"},
      {"lpos", "nokey", "a", "rank", "0"},
      {"lpos", "str", "a"},
      {"lpos", "l", "a", "rank"},
      {"lpos", "l", "a", "count", "-1"},
      {"lpos", "l", "a", "maxlen", "-1"},
      {"lpos", "l", "a", "count", "x"},
      {"lpos", "l", "a", "rank", "x"},
      {"linsert", "l", "BEFORE", "b", "new"},
      {"linsert", "l", "AFTER", "a", "new2"},
      {"linsert", "l", "after", "zz", "x"},
      {"linsert", "str", "after", "a", "x"},
      {"linsert", "nokey", "after", "a", "x"},
      {"linsert", "str", "sideways", "a", "x"},
      {"lrange", "l", "0", "-1"},
      {"lmove", "l", "l", "LEFT", "RIGHT"},
      {"lmove", "l", "m", "RIGHT", "LEFT"},
      {"lmove", "l", "str", "left", "left"},
      {"lmove", "str", "l", "left", "left"},
      {"lmove", "nokey", "str", "left", "left"},
      {"lmove", "l", "m", "left", "middle"},
      {"lmove", "nokey", "m", "middle", "left"},
      {"rpoplpush", "l", "m"},
      {"rpoplpush", "nokey", "m"},
      {"rpoplpush", "l", "str"},
      {"lrange", "l", "0", "-1"},
      {"lrange", "m", "0", "-1"},
      {"lmpop", "2", "nokey", "l", "LEFT"},
      {"lmpop", "2", "nokey", "l", "RIGHT", "COUNT", "2"},
      {"lmpop", "1", "m", "left", "count", "100"},
      {"exists", "m"},
      {"lmpop", "2", "nokey", "m", "left"},
      {"lmpop", "1", "str", "left"},
      {"lmpop", "2", "nokey", "str", "left"},
      {"lmpop", "0", "l", "left"},
      {"lmpop", "-1", "l", "left"},
      {"lmpop", "x", "l", "left"},
      {"lmpop", "3", "l", "left"},
      {"lmpop", "1", "l", "up"},
      {"lmpop", "1", "l", "left", "count"},
      {"lmpop", "1", "l", "left", "count", "0"},
      {"lmpop", "1", "l", "left", "count", "-5"},
      {"lmpop", "1", "l", "left", "count", "1", "count", "1"},
      {"lmpop", "1", "l", "left", "bogus", "1"},
      {"lpop", "l", "0"},
      {"lpop", "nokey", "0"},
      {"smove", "s", "t", "1"},
      {"smove", "s", "t", "2"},
      {"smove", "s", "s", "3"},
      {"smove", "s", "s", "9"},
      {"smove", "s", "nokey2", "3"},
      {"exists", "s"},
      {"smove", "nokey", "str", "x"},
      {"smove", "t", "str", "x"},
      {"smove", "str", "t", "x"},
      {"smembers", "t"},
      {"sadd", "s", "1", "2", "5"},
      {"sinter", "s", "t"},
      {"sinter", "s", "nokey"},
      {"sinter", "nokey", "str"},
      {"sinter", "str"},
      {"sunion", "s", "t", "nokey"},
      {"sunion", "nokey"},
      {"sunion", "s", "str"},
      {"sdiff", "t", "s"},
      {"sdiff", "nokey", "s"},
      {"sdiff", "s", "s"},
      {"sdiff", "nokey", "str"},
      {"sintercard", "2", "s", "t"},
      {"sintercard", "2", "s", "t", "limit", "1"},
      {"sintercard", "2", "s", "t", "limit", "0"},
      {"sintercard", "1", "t", "LIMIT", "2"},
      {"sintercard", "2", "s", "nokey"},
      {"sintercard", "2", "nokey", "str"},
      {"sintercard", "0", "s"},
      {"sintercard", "-1", "s"},
      {"sintercard", "x", "s"},
      {"sintercard", "3", "s", "t"},
      {"sintercard", "1", "s", "limit"},
      {"sintercard", "1", "s", "limit", "-1"},
      {"sintercard", "1", "s", "limit", "x"},
      {"sintercard", "1", "s", "bogus", "1"},
      {"set", "dst", "x"},
      {"expire", "dst", "100"},
      {"sinterstore", "dst", "s", "t"},
      {"ttl", "dst"},
      {"type", "dst"},
      {"smembers", "dst"},
      {"sunionstore", "dst", "s", "t"},
      {"smembers", "dst"},
      {"sdiffstore", "dst", "t", "s"},
      {"smembers", "dst"},
      {"sinterstore", "dst", "s", "nokey"},
      {"exists", "dst"},
      {"sdiffstore", "dst", "s", "s"},
      {"sunionstore", "dst", "nokey"},
      {"sinterstore", "dst", "s", "str"},
      {"sunionstore", "s", "s", "t"},
      {"smembers", "s"},
      {"spop", "nokey"},
      {"spop", "nokey", "0"},
      {"spop", "nokey", "5"},
      {"spop", "s", "0"},
      {"spop", "s", "-1"},
      {"spop", "s", "x"},
      {"spop", "s", "1", "2"},
      {"spop", "str"},
      {"spop", "str", "1"},
      {"srandmember", "nokey"},
      {"srandmember", "nokey", "5"},
      {"srandmember", "nokey", "-5"},
      {"srandmember", "s", "0"},
      {"srandmember", "s", "x"},
      {"srandmember", "s", "-9223372036854775808"},
      {"srandmember", "nokey", "-9223372036854775808"},
      {"srandmember", "s", "1", "2"},
      {"srandmember", "str"},
      {"srandmember", "str", "2"},
      {"sscan", "nokey", "0"},
      {"sscan", "nokey", "0", "count", "0"},
      {"sscan", "nokey", "x"},
      {"sscan", "str", "0"},
      {"sscan", "s", "x"},
      {"sscan", "s", "-1", "count", "0"},
      {"sscan", "s", "0", "count", "0"},
      {"sscan", "s", "0", "count", "x"},
      {"sscan", "s", "0", "match"},
      {"sscan", "s", "0", "type", "set"},
      {"sscan", "s", "0", "bogus", "1"},
      {"sadd", "ints", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"},
      {"sscan", "ints", "0", "count", "2"},
      {"sscan", "ints", "0", "match", "1*"},
      {"linsert", "l", "before", "a"},
      {"lmove", "l", "m", "left"},
      {"rpoplpush", "l"},
      {"lmpop", "1", "l"},
      {"lpos", "l"},
      {"smove", "s", "t"},
      {"sinter"},
      {"sinterstore", "dst"},
      {"sintercard", "1"},
      {"spop"},
      {"srandmember"},
      {"sscan", "s"},
  };
  for (const auto& cmd : calls) {
    Reply want = Normalize(cmd, client_->Call(cmd));
    Reply got = Normalize(cmd, engine_.Run(cmd));
    ASSERT_EQ(kv::DebugString(got), kv::DebugString(want)) << testing::Shown(cmd);
  }
}

}  // namespace
}  // namespace stratus
