// Differential test of the stream family: fixed cases (every error text included) and seeded
// random sequences of stream and consumer-group commands go to the embedded engine and to a
// real redis-server, and every reply must be identical. Only what depends on the clock is
// normalised: idle times, delivery and seen times, ids made from the clock by `*`; and
// radix-tree-nodes (the shape of Redis's radix tree, which the engine estimates).
#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "integration/redis_differential.h"

namespace stratus {
namespace {

using kv::Argv;
using kv::Reply;

bool IsKey(const Reply& r, std::string_view k) {
  return r.type == Reply::Type::kBulk && r.str == k;
}

// Zeroes the clock-dependent values in a reply of `cmd`.
void Normalize(const Argv& cmd, Reply* r) {
  if (r->type != Reply::Type::kArray) return;
  std::string name = kv::ToLower(cmd[0]);
  if (name == "xpending" && cmd.size() > 3) {
    for (auto& e : r->elems) {
      if (e.elems.size() == 4) e.elems[2] = Reply::Integer(0);
    }
    return;
  }
  // Map-shaped arrays: values after these keys; PEL rows inside XINFO STREAM FULL.
  std::function<void(Reply*)> walk = [&](Reply* x) {
    if (x->type != Reply::Type::kArray) return;
    for (size_t i = 0; i + 1 < x->elems.size(); ++i) {
      if (IsKey(x->elems[i], "radix-tree-nodes") || IsKey(x->elems[i], "seen-time") || IsKey(x->elems[i], "idle")) {
        x->elems[i + 1] = Reply::Integer(0);
      }
      if (IsKey(x->elems[i], "pending") && x->elems[i + 1].type == Reply::Type::kArray) {
        for (auto& row : x->elems[i + 1].elems) {
          if (row.elems.size() == 4) row.elems[2] = Reply::Integer(0);  // group PEL: id consumer time count
          if (row.elems.size() == 3) row.elems[1] = Reply::Integer(0);  // consumer PEL: id time count
        }
      }
    }
    for (auto& e : x->elems) walk(&e);
  };
  if (name == "xinfo") walk(r);
}

class RedisDifferentialStreams : public testing::RedisDifferentialTest {
 protected:
  Reply Same(const Argv& cmd) {
    Reply want = client_->Call(cmd);
    Reply got = engine_.Run(cmd);
    Normalize(cmd, &want);
    Normalize(cmd, &got);
    EXPECT_EQ(kv::DebugString(got), kv::DebugString(want)) << testing::Shown(cmd);
    return want;
  }
};

TEST_F(RedisDifferentialStreams, FixedCasesAnswerLikeRedis) {
  Flush();
  const std::vector<Argv> cases = {
      // XADD: ids, options, errors.
      {"xadd", "s", "1-1", "f", "v"},
      {"xadd", "s", "1-1", "f", "v"},
      {"xadd", "s", "1-0", "f", "v"},
      {"xadd", "s", "1-*", "a", "1", "b", "2"},
      {"xadd", "s", "2", "f", "v"},
      {"xadd", "s", "2-*", "f", "v"},
      {"xadd", "s", "3-5", "f", "v", "g", "w"},
      {"xadd", "s", "0-0", "f", "v"},
      {"xadd", "new0", "0", "f", "v"},
      {"xadd", "new0", "0-*", "f", "v"},
      {"xadd", "s", "x-1", "f", "v"},
      {"xadd", "s", "1-x", "f", "v"},
      {"xadd", "s", "-", "f", "v"},
      {"xadd", "s", "+", "f", "v"},
      {"xadd", "s", "-1", "f", "v"},
      {"xadd", "s", "1-2-3", "f", "v"},
      {"xadd", "s", "99", "f"},
      {"xadd", "s", "99", "f", "v", "g"},
      {"xadd", "s", "maxlen", "x", "100-1", "f", "v"},
      {"xadd", "s", "maxlen", "-1", "100-1", "f", "v"},
      {"xadd", "s", "maxlen", "1", "minid", "1", "100-1", "f", "v"},
      {"xadd", "s", "limit", "10", "100-1", "f", "v"},
      {"xadd", "s", "limit", "0", "100-1", "f", "v"},
      {"xadd", "s", "maxlen", "10", "limit", "10", "100-1", "f", "v"},
      {"xadd", "s", "maxlen", "~", "10", "limit", "-1", "100-1", "f", "v"},
      {"xadd", "s", "maxlen", "~", "10", "limit", "x", "100-1", "f", "v"},
      {"xadd", "s", "minid", "x-y", "100-1", "f", "v"},
      {"xadd", "nomk", "nomkstream", "1-1", "f", "v"},
      {"exists", "nomk"},
      {"xadd", "s", "nomkstream", "maxlen", "=", "4", "10-1", "f", "v"},
      {"xadd", "s", "minid", "~", "0", "11-1", "f", "v"},
      {"xadd", "s", "maxlen", "~", "2", "limit", "5", "12-1", "f", "v"},
      {"xlen", "s"},
      {"xadd", "s", "18446744073709551615-18446744073709551615", "f", "v"},
      {"xadd", "s", "*", "f", "v"},
      {"xadd", "s", "18446744073709551615-*", "f", "v"},
      {"del", "s"},
      {"xadd", "s", "18446744073709551615-18446744073709551614", "f", "v"},
      {"xadd", "s", "18446744073709551615-*", "f", "v"},
      {"set", "str", "v"},
      {"xadd", "str", "1-1", "f", "v"},
      {"xadd", "t", "01-1", "f", "v"},
      {"xadd", "t", " 2-1", "f", "v"},
      {"xadd", "t", "+3-1", "f", "v"},
      {"xadd", "t", "4-01", "f", "v"},
      {"xadd", "t", "5-1", "f", "v", "f", "w"},
      {"xadd", "t", "6", "a", "1"},
      {"xadd", "t", "6-3", "b", ""},
      {"xadd", "t", "7-0", "", "x"},
      // XRANGE / XREVRANGE.
      {"xrange", "t", "-", "+"},
      {"xrange", "t", "-", "+", "count", "2"},
      {"xrange", "t", "-", "+", "count", "0"},
      {"xrange", "t", "-", "+", "count", "-3"},
      {"xrange", "t", "-", "+", "count"},
      {"xrange", "t", "-", "+", "count", "x"},
      {"xrange", "t", "-", "+", "limit", "1"},
      {"xrange", "t", "2", "5"},
      {"xrange", "t", "(2-1", "(5-1"},
      {"xrange", "t", "(2", "+"},
      {"xrange", "t", "(", "+"},
      {"xrange", "t", "(-", "+"},
      {"xrange", "t", "-", "(+"},
      {"xrange", "t", "(18446744073709551615-18446744073709551615", "+"},
      {"xrange", "t", "-", "(0-0"},
      {"xrange", "t", "-", "(0"},
      {"xrange", "t", "6", "6"},
      {"xrange", "t", "5", "2"},
      {"xrange", "t", "x", "+"},
      {"xrange", "nokey", "-", "+"},
      {"xrange", "nokey", "-", "+", "count", "0"},
      {"xrange", "str", "-", "+"},
      {"xrevrange", "t", "+", "-"},
      {"xrevrange", "t", "+", "-", "count", "2"},
      {"xrevrange", "t", "(6-3", "(2-1"},
      {"xrevrange", "t", "-", "+"},
      {"xrevrange", "t", "+", "-", "count", "0"},
      // XLEN, XDEL.
      {"xlen", "t"},
      {"xlen", "nokey"},
      {"xlen", "str"},
      {"xdel", "t", "2-1", "9-9", "2-1"},
      {"xdel", "t", "-"},
      {"xdel", "t", "x"},
      {"xdel", "nokey", "x"},
      {"xdel", "str", "1"},
      {"xdel", "t", "1"},
      {"xdel", "t", "1-1"},
      {"xinfo", "stream", "t"},
      // XTRIM.
      {"xtrim", "t"},
      {"xtrim", "t", "maxlen"},
      {"xtrim", "t", "foo", "1"},
      {"xtrim", "t", "maxlen", "~"},
      {"xtrim", "t", "minid", "1", "maxlen", "1"},
      {"xtrim", "t", "maxlen", "1", "limit", "1"},
      {"xtrim", "t", "maxlen", "=", "1", "limit", "1"},
      {"xtrim", "t", "maxlen", "~", "1", "limit", "1"},
      {"xtrim", "t", "limit", "1"},
      {"xtrim", "t", "maxlen", "~", "0"},
      {"xtrim", "t", "minid", "=", "5-1"},
      {"xtrim", "t", "minid", "-"},
      {"xtrim", "nokey", "maxlen", "0"},
      {"xtrim", "str", "maxlen", "0"},
      {"xtrim", "t", "maxlen", "0"},
      {"xinfo", "stream", "t"},
      {"xrange", "t", "-", "+"},
      // XSETID.
      {"xadd", "u", "5-5", "f", "v"},
      {"xsetid", "u", "5-4"},
      {"xsetid", "u", "5-5"},
      {"xsetid", "u", "9-9", "entriesadded", "0"},
      {"xsetid", "u", "9-9", "entriesadded", "-1"},
      {"xsetid", "u", "9-9", "entriesadded", "x"},
      {"xsetid", "u", "9-9", "maxdeletedid", "10-0"},
      {"xsetid", "u", "9-9", "maxdeletedid", "x"},
      {"xsetid", "u", "9-9", "foo", "1"},
      {"xsetid", "u", "9-9", "entriesadded"},
      {"xsetid", "u", "9-9", "entriesadded", "7", "maxdeletedid", "3-3"},
      {"xsetid", "u", "8-8"},
      {"xsetid", "u", "-"},
      {"xsetid", "u", "x"},
      {"xsetid", "nokey", "1-1"},
      {"xsetid", "str", "1-1"},
      {"xinfo", "stream", "u"},
      {"xadd", "u", "9-9", "f", "v"},
      {"xadd", "u", "9-*", "f", "v"},
      // XREAD.
      {"xread", "streams", "t", "0"},
      {"xread", "count", "1", "streams", "t", "u", "0", "0"},
      {"xread", "streams", "t", "u", "$", "$"},
      {"xread", "streams", "nokey", "0"},
      {"xread", "streams", "t", "u", "0"},
      {"xread", "streams", "str", "0"},
      {"xread", "streams", "t", "-"},
      {"xread", "streams", "t", ">"},
      {"xread", "streams", "t", "x"},
      {"xread", "count", "x", "streams", "t", "0"},
      {"xread", "count", "-1", "streams", "t", "0"},
      {"xread", "group", "g", "c", "streams", "t", "0"},
      {"xread", "noack", "streams", "t", "0"},
      {"xread", "foo", "streams", "t", "0"},
      {"xread", "count", "1", "t", "0"},
      {"xread", "block", "x", "streams", "t", "0"},
      {"xread", "block", "-1", "streams", "t", "0"},
      {"xread", "streams", "t", "18446744073709551615-18446744073709551615"},
      {"xread", "streams", "t", "6"},
      // Consumer groups: XGROUP.
      {"xgroup"},
      {"xgroup", "foo"},
      {"xgroup", "create", "t", "g"},
      {"xgroup", "create", "nokey", "g", "0"},
      {"xgroup", "create", "str", "g", "0"},
      {"xgroup", "create", "t", "g", "x"},
      {"xgroup", "create", "t", "g", "0", "foo"},
      {"xgroup", "create", "t", "g", "0", "entriesread", "-2"},
      {"xgroup", "create", "t", "g", "0", "entriesread", "x"},
      {"xgroup", "create", "t", "g", "0", "entriesread"},
      {"xgroup", "create", "t", "g", "0"},
      {"xgroup", "create", "t", "g", "0"},
      {"xgroup", "CREATE", "t", "g2", "$", "entriesread", "3"},
      {"xgroup", "create", "t", "g3", "-"},
      {"xgroup", "create", "mk", "g", "$", "mkstream"},
      {"xgroup", "create", "mk", "g", "$", "mkstream"},
      {"xgroup", "create", "mk2", "g", "5-5", "mkstream", "entriesread", "10"},
      {"xinfo", "stream", "mk"},
      {"xinfo", "groups", "mk2"},
      {"xgroup", "setid", "t", "nog", "0"},
      {"xgroup", "setid", "nokey", "g", "0"},
      {"xgroup", "setid", "t", "g", "0", "entriesread"},
      {"xgroup", "setid", "t", "g", "0", "foo", "1"},
      {"xgroup", "setid", "t", "g", "x"},
      {"xgroup", "setid", "t", "g2", "+"},
      {"xgroup", "setid", "t", "g2", "$", "entriesread", "2"},
      {"xgroup", "createconsumer", "t", "g", "c1"},
      {"xgroup", "createconsumer", "t", "g", "c1"},
      {"xgroup", "createconsumer", "t", "nog", "c1"},
      {"xgroup", "createconsumer", "t", "g"},
      {"xgroup", "delconsumer", "t", "g", "nobody"},
      {"xgroup", "delconsumer", "t", "nog", "c"},
      {"xgroup", "destroy", "t", "g3"},
      {"xgroup", "destroy", "t", "g3"},
      {"xgroup", "destroy", "nokey", "g3"},
      {"xgroup", "help", "x"},
      // XREADGROUP.
      {"xreadgroup", "group", "g", "c1", "streams", "t", ">"},
      {"xreadgroup", "group", "g", "c1", "streams", "t", ">"},
      {"xreadgroup", "group", "g", "c1", "streams", "t", "0"},
      {"xreadgroup", "group", "g", "c1", "count", "1", "streams", "t", "0"},
      {"xreadgroup", "group", "g", "c2", "streams", "t", "0"},
      {"xreadgroup", "group", "g", "c1", "streams", "t", "$"},
      {"xreadgroup", "group", "nog", "c1", "streams", "t", ">"},
      {"xreadgroup", "group", "g", "c1", "streams", "nokey", ">"},
      {"xreadgroup", "group", "g", "c1", "streams", "str", ">"},
      {"xreadgroup", "group", "g", "c1", "streams", "t", ">", "0"},
      {"xreadgroup", "count", "1", "streams", "t", ">", "x"},
      {"xreadgroup", "group", "g2", "c3", "noack", "streams", "t", ">"},
      {"xgroup", "setid", "t", "g2", "0"},
      {"xreadgroup", "group", "g2", "c3", "noack", "count", "1", "streams", "t", ">"},
      {"xreadgroup", "group", "g2", "c4", "count", "1", "streams", "t", ">"},
      {"xreadgroup", "group", "g", "c1", "streams", "t", "x"},
      // XPENDING.
      {"xpending", "t", "g"},
      {"xpending", "t", "g2"},
      {"xpending", "t", "nog"},
      {"xpending", "nokey", "g"},
      {"xpending", "str", "g"},
      {"xpending", "t", "g", "-", "+"},
      {"xpending", "t", "g", "-", "+", "10"},
      {"xpending", "t", "g", "-", "+", "10", "c1"},
      {"xpending", "t", "g", "-", "+", "10", "nobody"},
      {"xpending", "t", "g", "(5", "+", "1"},
      {"xpending", "t", "g", "-", "+", "-1"},
      {"xpending", "t", "g", "-", "+", "x"},
      {"xpending", "t", "g", "x", "+", "1"},
      {"xpending", "t", "g", "idle", "0", "-", "+", "10"},
      {"xpending", "t", "g", "idle", "100000000", "-", "+", "10"},
      {"xpending", "t", "g", "idle", "x", "-", "+", "10"},
      {"xpending", "t", "g", "idle", "0", "-", "+"},
      {"xpending", "t", "g", "-", "+", "10", "c1", "extra", "more", "x"},
      // XACK.
      {"xack", "t", "g", "5-1"},
      {"xack", "t", "g", "5-1"},
      {"xack", "t", "g", "x"},
      {"xack", "t", "nog", "x"},
      {"xack", "nokey", "g", "x"},
      {"xack", "str", "g", "1"},
      // XCLAIM.
      {"xclaim", "t", "g", "c3", "0", "6-0"},
      {"xclaim", "t", "g", "c3", "0", "6-0", "justid"},
      {"xclaim", "t", "g", "c3", "100000000", "6-3"},
      {"xclaim", "t", "g", "c2", "0", "6-3", "7-0", "retrycount", "9", "idle", "5"},
      {"xclaim", "t", "g", "c2", "0", "6-0", "force", "justid"},
      {"xclaim", "t", "g", "c2", "0", "1-1", "force"},
      {"xclaim", "t", "g", "c2", "x", "6-0"},
      {"xclaim", "t", "g", "c2", "0", "6-0", "idle", "x"},
      {"xclaim", "t", "g", "c2", "0", "6-0", "time", "x"},
      {"xclaim", "t", "g", "c2", "0", "6-0", "retrycount", "x"},
      {"xclaim", "t", "g", "c2", "0", "6-0", "lastid", "x"},
      {"xclaim", "t", "g", "c2", "0", "6-0", "bogus"},
      {"xclaim", "t", "g", "c2", "0", "6-0", "idle"},
      {"xclaim", "t", "g", "c2", "0", "6-0", "lastid", "100-0", "justid"},
      {"xclaim", "t", "nog", "c2", "0", "6-0"},
      {"xclaim", "nokey", "g", "c2", "0", "6-0"},
      {"xclaim", "str", "g", "c2", "0", "6-0"},
      {"xpending", "t", "g", "-", "+", "10"},
      {"xinfo", "groups", "t"},
      // XAUTOCLAIM.
      {"xautoclaim", "t", "g", "c5", "0", "0"},
      {"xautoclaim", "t", "g", "c5", "0", "0", "count", "1"},
      {"xautoclaim", "t", "g", "c5", "0", "(6-0", "count", "1", "justid"},
      {"xautoclaim", "t", "g", "c5", "100000000", "0"},
      {"xautoclaim", "t", "g", "c5", "0", "0", "count", "0"},
      {"xautoclaim", "t", "g", "c5", "0", "0", "count", "x"},
      {"xautoclaim", "t", "g", "c5", "0", "0", "foo"},
      {"xautoclaim", "t", "g", "c5", "x", "0"},
      {"xautoclaim", "t", "g", "c5", "0", "x"},
      {"xautoclaim", "t", "nog", "c5", "0", "0"},
      {"xautoclaim", "nokey", "g", "c5", "0", "0"},
      {"xautoclaim", "str", "g", "c5", "0", "0"},
      {"xdel", "t", "6-3"},
      {"xautoclaim", "t", "g", "c1", "0", "-"},
      {"xclaim", "t", "g", "c1", "0", "7-0"},
      {"xreadgroup", "group", "g", "c5", "streams", "t", "0"},
      // XINFO.
      {"xinfo"},
      {"xinfo", "foo"},
      {"xinfo", "stream"},
      {"xinfo", "stream", "nokey"},
      {"xinfo", "stream", "str"},
      {"xinfo", "stream", "t"},
      {"xinfo", "stream", "t", "full"},
      {"xinfo", "stream", "t", "full", "count", "1"},
      {"xinfo", "stream", "t", "full", "count", "0"},
      {"xinfo", "stream", "t", "full", "count", "-1"},
      {"xinfo", "stream", "t", "full", "count", "x"},
      {"xinfo", "stream", "t", "full", "limit", "1"},
      {"xinfo", "stream", "t", "foo"},
      {"xinfo", "stream", "t", "full", "count"},
      {"xinfo", "groups", "t"},
      {"xinfo", "groups", "nokey"},
      {"xinfo", "groups"},
      {"xinfo", "consumers", "t", "g"},
      {"xinfo", "consumers", "t", "nog"},
      {"xinfo", "consumers", "t"},
      {"xinfo", "help", "x"},
      {"xgroup", "delconsumer", "t", "g", "c5"},
      {"xinfo", "consumers", "t", "g"},
      {"xpending", "t", "g"},
      {"type", "t"},
      {"object", "encoding", "t"},
      {"xinfo", "stream", "mk", "full"},
      {"xdel", "t", "7-0", "6-0", "5-1", "4-1", "3-1"},
      {"xinfo", "stream", "t"},
      {"xinfo", "groups", "t"},
  };
  for (const auto& cmd : cases) Same(cmd);
  // XADD `*`: ids from the clock, in order, on both.
  Reply a = engine_.Run({"xadd", "auto", "*", "f", "v"});
  Reply b = engine_.Run({"xadd", "auto", "*", "f", "v"});
  ASSERT_EQ(a.type, Reply::Type::kBulk);
  EXPECT_TRUE(std::regex_match(a.str, std::regex("[0-9]+-[0-9]+"))) << a.str;
  EXPECT_LT(kv::ParseStreamId(a.str, 0, true, false, false)->id, kv::ParseStreamId(b.str, 0, true, false, false)->id);
}

TEST_F(RedisDifferentialStreams, ApproximateTrimsRemoveWholeNodesLikeRedis) {
  Flush();
  for (int i = 1; i <= 450; ++i) Same({"xadd", "s", std::to_string(i) + "-1", "field", "value" + std::to_string(i)});
  Same({"xdel", "s", "150-1", "420-1"});
  Same({"xinfo", "stream", "s"});
  Same({"xtrim", "s", "maxlen", "~", "390"});
  Same({"xtrim", "s", "maxlen", "~", "340"});
  Same({"xtrim", "s", "maxlen", "~", "200", "limit", "50"});
  Same({"xtrim", "s", "maxlen", "~", "200", "limit", "100"});
  Same({"xtrim", "s", "minid", "~", "320-1"});
  Same({"xinfo", "stream", "s"});
  Same({"xadd", "s", "maxlen", "~", "10", "1000-1", "f", "v"});
  Same({"xinfo", "stream", "s"});
  Same({"xadd", "s", "minid", "=", "445", "1001-1", "f", "v"});
  Same({"xrange", "s", "-", "+"});
  // Big values fill a node by bytes before 100 entries.
  for (int i = 1; i <= 60; ++i) Same({"xadd", "b", std::to_string(i), "f", std::string(300, 'x')});
  Same({"xinfo", "stream", "b"});
}

TEST_F(RedisDifferentialStreams, RandomSequencesAnswerLikeRedis) {
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    Flush();
    std::mt19937 rng(seed);
    auto pick = [&](std::initializer_list<const char*> xs) {
      return std::string(*(xs.begin() + std::uniform_int_distribution<size_t>(0, xs.size() - 1)(rng)));
    };
    auto num = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    uint64_t ms = 1;
    auto some_id = [&]() {
      int r = num(0, 9);
      if (r == 0) return pick({"-", "+"});
      if (r == 1) return std::to_string(num(0, static_cast<int>(ms) + 2));
      std::string id = std::to_string(num(0, static_cast<int>(ms) + 2)) + "-" + std::to_string(num(0, 3));
      return r == 2 ? "(" + id : id;
    };
    auto exact_id = [&]() {
      return std::to_string(num(0, static_cast<int>(ms) + 1)) + "-" + std::to_string(num(0, 3));
    };
    int errors = 0, answers = 0;
    for (int step = 0; step < 1500; ++step) {
      std::string key = pick({"s1", "s1", "s2"});
      std::string group = pick({"g1", "g2"});
      std::string consumer = pick({"c1", "c2", "c3"});
      Argv cmd;
      int op = num(0, 24);
      if (op <= 6) {
        ms += static_cast<uint64_t>(num(0, 2));
        cmd = {"xadd", key};
        int t = num(0, 9);
        if (t == 0) cmd.insert(cmd.end(), {"maxlen", pick({"~", "="}), std::to_string(num(0, 300))});
        if (t == 1) cmd.insert(cmd.end(), {"minid", pick({"~", "="}), exact_id()});
        std::string id = num(0, 2) ? std::to_string(ms) + "-*" : std::to_string(ms) + "-" + std::to_string(num(0, 5));
        cmd.push_back(id);
        for (int f = num(1, 3); f > 0; --f) {
          cmd.push_back(pick({"a", "b", "name"}));
          cmd.push_back(std::to_string(num(0, 1000)));
        }
      } else if (op == 7) {
        cmd = {"xdel", key, exact_id(), exact_id()};
      } else if (op == 8) {
        if (num(0, 1)) {
          cmd = {"xtrim", key, "maxlen", pick({"~", "="}), std::to_string(num(50, 400))};
        } else {
          cmd = {"xtrim", key, "minid", pick({"~", "="}), exact_id()};
        }
      } else if (op == 9) {
        cmd = {"xrange", key, some_id(), some_id()};
        if (num(0, 1)) cmd.insert(cmd.end(), {"count", std::to_string(num(0, 5))});
      } else if (op == 10) {
        cmd = {"xrevrange", key, some_id(), some_id(), "count", std::to_string(num(1, 5))};
      } else if (op == 11) {
        cmd = {"xlen", key};
      } else if (op == 12) {
        cmd = {"xread", "count", std::to_string(num(0, 3)), "streams", "s1", "s2", exact_id(), pick({"$", "0"})};
      } else if (op == 13) {
        int g = num(0, 5);
        if (g == 0) {
          cmd = {"xgroup", "create", key, group, pick({"$", "0"}), "mkstream"};
        } else if (g == 1) {
          cmd = {"xgroup", "setid", key, group, exact_id()};
          if (num(0, 1)) cmd.insert(cmd.end(), {"entriesread", std::to_string(num(-1, 20))});
        } else if (g == 2) {
          cmd = {"xgroup", "destroy", key, group};
        } else if (g == 3) {
          cmd = {"xgroup", "createconsumer", key, group, consumer};
        } else {
          cmd = {"xgroup", num(0, 1) ? "delconsumer" : "create", key, group, consumer == "c1" ? "0" : consumer};
        }
      } else if (op <= 16) {
        cmd = {"xreadgroup", "group", group, consumer};
        if (num(0, 1)) cmd.insert(cmd.end(), {"count", std::to_string(num(1, 4))});
        if (num(0, 5) == 0) cmd.push_back("noack");
        cmd.insert(cmd.end(), {"streams", key, num(0, 2) ? ">" : pick({"0", "(0-0", "3-0"})});
        if (cmd.back() == "(0-0") cmd.back() = "0-0";
      } else if (op == 17) {
        cmd = {"xack", key, group, exact_id(), exact_id()};
      } else if (op == 18) {
        if (num(0, 1)) {
          cmd = {"xpending", key, group};
        } else {
          cmd = {"xpending", key, group, some_id(), some_id(), std::to_string(num(0, 5))};
          if (num(0, 1)) cmd.push_back(consumer);
        }
      } else if (op == 19) {
        cmd = {"xclaim", key, group, consumer, "0", exact_id(), exact_id()};
        if (num(0, 2) == 0) cmd.push_back("justid");
        if (num(0, 3) == 0) cmd.push_back("force");
        if (num(0, 3) == 0) cmd.insert(cmd.end(), {"retrycount", std::to_string(num(0, 9))});
        if (num(0, 5) == 0) cmd.insert(cmd.end(), {"lastid", exact_id()});
      } else if (op == 20) {
        cmd = {"xautoclaim", key, group, consumer, "0", some_id(), "count", std::to_string(num(1, 4))};
        if (num(0, 1)) cmd.push_back("justid");
      } else if (op == 21) {
        cmd = {"xinfo", "stream", key};
        if (num(0, 1)) cmd.insert(cmd.end(), {"full", "count", std::to_string(num(0, 20))});
      } else if (op == 22) {
        cmd = {"xinfo", "groups", key};
      } else if (op == 23) {
        cmd = {"xinfo", "consumers", key, group};
      } else {
        cmd = {"xsetid", key, std::to_string(ms + 1) + "-0"};
      }
      Reply want = Same(cmd);
      ++(want.is_error() ? errors : answers);
      if (HasFailure()) {
        ADD_FAILURE() << "seed " << seed << " step " << step;
        return;
      }
    }
    // The sequences mostly do something: errors (no such group, ids too small) stay a minority.
    EXPECT_LT(errors * 3, answers) << "seed " << seed;
    Same({"xinfo", "stream", "s1", "full", "count", "0"});
    Same({"xinfo", "stream", "s2", "full", "count", "0"});
  }
}

}  // namespace
}  // namespace stratus
