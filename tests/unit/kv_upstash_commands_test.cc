// The commands added for Upstash parity, in-process, where a real redis-server 7.0 cannot be
// the reference (tests/integration/redis_differential_test.cc covers the rest): script
// shebangs Upstash accepts and Redis 7.0 refuses, BITOP DIFF/DIFF1/ANDOR/ONE (Redis 8.2),
// SCAN WITHTYPE, answers that depend on time or chance (TIME, RANDOMKEY, OBJECT IDLETIME),
// and every new write surviving a restart through the append-only log.
#include <gtest/gtest.h>

#include <set>

#include "integration/engine_on_log.h"
#include "kv/engine.h"
#include "kv/scripting.h"

namespace stratus::kv {
namespace {

std::string S(const Reply& r) {
  return DebugString(r);
}

class KvUpstashCommandsTest : public testing::EngineOnLogTest {};

TEST(KvShebangTest, ParsesFlagsAsRedisDoes) {
  auto none = ParseShebang("return 1");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->flags, kScriptCompatMode);
  EXPECT_EQ(none->length, 0u);

  auto all = ParseShebang("#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 1");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->flags,
            kScriptNoWrites | kScriptAllowOom | kScriptAllowStale | kScriptNoCluster | kScriptAllowCrossSlot);
  EXPECT_EQ(all->length, std::string_view("#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,"
                                          "allow-cross-slot-keys")
                             .size());

  auto upstash = ParseShebang("#!lua flags=allow-key-locking\nreturn 1");
  ASSERT_TRUE(upstash.ok()) << upstash.status().message();
  EXPECT_EQ(upstash->flags, kScriptAllowKeyLocking);

  auto quoted = ParseShebang("#!lua 'flags=no-writes'  \nreturn 1");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->flags, kScriptNoWrites);

  auto empty = ParseShebang("#!lua\nreturn 1");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->flags, 0u);

  const std::pair<std::string, std::string> bad[] = {
      {"#!lua flags=bogus\n", "ERR Unexpected flag in script shebang: bogus"},
      {"#!lua flags=no-writes,\n", "ERR Unexpected flag in script shebang: "},
      {"#!lua x=y\n", "ERR Unknown lua shebang option: x=y"},
      {"#!js\n", "ERR Unexpected engine in script shebang: #!js"},
      {"#!lua", "ERR Invalid script shebang"},
      {"#!lua \"flags\n", "ERR Invalid engine in script shebang"},
      {"#!lua \"a\"b\n", "ERR Invalid engine in script shebang"},
  };
  for (const auto& [body, error] : bad) {
    auto r = ParseShebang(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().message(), error) << body;
  }
}

// @upstash/ratelimit's scripts start with Upstash's allow-key-locking flag.
TEST_F(KvUpstashCommandsTest, UpstashKeyLockingScriptsRunAndWrite) {
  const std::string script =
      "#!lua flags=allow-key-locking\n"
      "local r = redis.call('INCRBY', KEYS[1], ARGV[1])\n"
      "if r == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
      "return r";
  EXPECT_EQ(S(Run({"eval", script, "1", "rl", "1", "60000"})), ":1");
  EXPECT_EQ(S(Run({"eval", script, "1", "rl", "1", "60000"})), ":2");
  EXPECT_EQ(S(Run({"pttl", "rl"})), ":60000");
  Reply sha = Run({"script", "load", script});
  ASSERT_EQ(sha.type, Reply::Type::kBulk);
  EXPECT_EQ(S(Run({"evalsha", sha.str, "1", "rl", "1", "60000"})), ":3");
  // A runtime error reports the line as the script has it, shebang line included.
  Reply e = Run({"eval", "#!lua flags=allow-key-locking\n\nerror('x')", "0"});
  EXPECT_NE(e.str.find("user_script:3: x"), std::string::npos) << e.str;
}

TEST_F(KvUpstashCommandsTest, ReadOnlyScriptsRunForTheReadOnlyTokenAndCannotWrite) {
  Run({"set", "a", "1"});
  std::vector<Argv> batch = {{"eval_ro", "return redis.call('get', KEYS[1])", "1", "a"},
                             {"eval_ro", "return redis.pcall('set', KEYS[1], 'x')", "1", "a"},
                             {"eval", "return 1", "0"}};
  BatchResult r = engine_->Execute(batch, false, /*readonly=*/true);
  ASSERT_EQ(r.replies.size(), 3u);
  EXPECT_EQ(S(r.replies[0]), "\"1\"");
  EXPECT_EQ(S(r.replies[1]), "-ERR Write commands are not allowed from read-only scripts.");
  EXPECT_EQ(S(r.replies[2]), "-NOPERM this user has no permissions to run the 'eval' command");
  EXPECT_EQ(S(Run({"get", "a"})), "\"1\"");
}

TEST_F(KvUpstashCommandsTest, BitopRedis82Operations) {
  // a = 1111 0000 1010 1010, b = 1100 1100, c = 1010 0000 0000 0001
  Run({"set", "a", "\xf0\xaa"});
  Run({"set", "b", "\xcc"});
  Run({"set", "c", std::string("\xa0\x01", 2)});
  EXPECT_EQ(S(Run({"bitop", "diff", "d", "a", "b", "c"})), ":2");  // a & ~(b | c)
  EXPECT_EQ(S(Run({"get", "d"})), S(Reply::Bulk(std::string("\x10\xaa", 2))));
  EXPECT_EQ(S(Run({"bitop", "DIFF1", "d", "a", "b", "c"})), ":2");  // ~a & (b | c)
  EXPECT_EQ(S(Run({"get", "d"})), S(Reply::Bulk(std::string("\x0c\x01", 2))));
  EXPECT_EQ(S(Run({"bitop", "andor", "d", "a", "b", "c"})), ":2");  // a & (b | c)
  EXPECT_EQ(S(Run({"get", "d"})), S(Reply::Bulk(std::string("\xe0\x00", 2))));
  EXPECT_EQ(S(Run({"bitop", "one", "d", "a", "b", "c"})), ":2");  // set in exactly one
  EXPECT_EQ(S(Run({"get", "d"})), S(Reply::Bulk(std::string("\x1c\xab", 2))));
  EXPECT_EQ(S(Run({"bitop", "one", "d", "a"})), ":2");
  EXPECT_EQ(S(Run({"get", "d"})), S(Reply::Bulk("\xf0\xaa")));
  for (const std::string op : {"diff", "DIFF1", "AndOr"}) {
    std::string upper = op;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_EQ(S(Run({"bitop", op, "d", "a"})),
              "-ERR BITOP " + upper + " must be called with at least two source keys.");
  }
  Run({"rpush", "l", "x"});
  EXPECT_EQ(S(Run({"bitop", "diff", "d", "a", "l"})),
            "-WRONGTYPE Operation against a key holding the wrong kind of value");
  // Every source absent: the destination is deleted.
  EXPECT_EQ(S(Run({"bitop", "andor", "d", "x1", "x2"})), ":0");
  EXPECT_EQ(S(Run({"exists", "d"})), ":0");
}

TEST_F(KvUpstashCommandsTest, ScanWithTypePairsEachKeyWithItsType) {
  Run({"set", "s", "1"});
  Run({"rpush", "l", "x"});
  Run({"hset", "h", "f", "v"});
  Reply r = Run({"scan", "0", "count", "100", "withtype"});
  ASSERT_EQ(r.elems.size(), 2u);
  EXPECT_EQ(r.elems[0].str, "0");
  std::set<std::pair<std::string, std::string>> got;
  const auto& keys = r.elems[1].elems;
  ASSERT_EQ(keys.size(), 6u);
  for (size_t i = 0; i + 1 < keys.size(); i += 2) got.emplace(keys[i].str, keys[i + 1].str);
  EXPECT_EQ(got, (std::set<std::pair<std::string, std::string>>{{"h", "hash"}, {"l", "list"}, {"s", "string"}}));
  Reply typed = Run({"scan", "0", "type", "list", "withtype"});
  EXPECT_EQ(S(typed.elems[1]), "[\"l\", \"list\"]");
}

TEST_F(KvUpstashCommandsTest, TimeRandomKeyIdleTimeAndMemoryUsage) {
  EXPECT_EQ(S(Run({"time"})), "[\"1700000000\", \"123456\"]");
  EXPECT_EQ(S(Run({"randomkey"})), "(nil)");
  for (int i = 0; i < 20; ++i) Run({"set", "k" + std::to_string(i), "v"});
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    Reply r = Run({"randomkey"});
    ASSERT_EQ(r.type, Reply::Type::kBulk);
    EXPECT_EQ(S(Run({"exists", r.str})), ":1");
    seen.insert(r.str);
  }
  EXPECT_GT(seen.size(), 5u) << "RANDOMKEY picks more than a few keys";
  // Expired keys are never answered (and are deleted on the way).
  Run({"flushall"});
  for (int i = 0; i < 10; ++i) Run({"set", "gone" + std::to_string(i), "v", "PX", "10"});
  Run({"set", "stays", "v"});
  clock_.Advance(20'000);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Run({"randomkey"}).str, "stays");

  Run({"set", "idle", "v"});
  clock_.Advance(5'000'000);
  EXPECT_EQ(S(Run({"object", "idletime", "idle"})), ":5");
  EXPECT_EQ(S(Run({"object", "idletime", "idle"})), ":5") << "OBJECT is not an access";
  EXPECT_EQ(S(Run({"touch", "idle", "nokey"})), ":1");
  EXPECT_EQ(S(Run({"object", "idletime", "idle"})), ":0");
  clock_.Advance(3'000'000);
  Run({"get", "idle"});
  EXPECT_EQ(S(Run({"object", "idletime", "idle"})), ":0");

  Reply small = Run({"memory", "usage", "idle"});
  Run({"set", "big", std::string(10000, 'x')});
  Reply big = Run({"memory", "usage", "big", "samples", "0"});
  ASSERT_EQ(small.type, Reply::Type::kInteger);
  ASSERT_EQ(big.type, Reply::Type::kInteger);
  EXPECT_GT(small.integer, 0);
  EXPECT_GT(big.integer, 10000);
  EXPECT_EQ(Run({"object", "help"}).type, Reply::Type::kArray);
  EXPECT_EQ(Run({"memory", "help"}).type, Reply::Type::kArray);
}

TEST_F(KvUpstashCommandsTest, NewWritesSurviveARestart) {
  Run({"set", "gx", "v"});
  EXPECT_EQ(S(Run({"getex", "gx", "EX", "100"})), "\"v\"");
  Run({"set", "gp", "v", "EX", "100"});
  EXPECT_EQ(S(Run({"getex", "gp", "PERSIST"})), "\"v\"");
  Run({"set", "gd", "v"});
  EXPECT_EQ(S(Run({"getex", "gd", "PXAT", "1"})), "\"v\"");
  EXPECT_EQ(S(Run({"setrange", "sr", "3", "abc"})), ":6");
  EXPECT_EQ(S(Run({"incrbyfloat", "f", "10.5"})), "\"10.5\"");
  EXPECT_EQ(S(Run({"incrbyfloat", "f", "0.1"})), "\"10.6\"");
  Run({"set", "fttl", "1", "EX", "50"});
  EXPECT_EQ(S(Run({"incrbyfloat", "fttl", "1.5"})), "\"2.5\"");
  EXPECT_EQ(S(Run({"setbit", "b", "9", "1"})), ":0");
  EXPECT_EQ(S(Run({"bitfield", "bf", "SET", "u8", "#1", "200", "INCRBY", "i8", "#0", "-3"})), "[:0, :-3]");
  EXPECT_EQ(S(Run({"bitop", "or", "bo", "b", "bf"})), ":2");
  Run({"sadd", "set", "m1", "m2"});
  Run({"expire", "set", "200"});
  EXPECT_EQ(S(Run({"copy", "set", "set2"})), ":1");
  EXPECT_EQ(S(Run({"rename", "set", "set3"})), "+OK");
  EXPECT_EQ(S(Run({"renamenx", "sr", "sr2"})), ":1");
  const std::vector<Argv> reads = {{"get", "gx"},   {"ttl", "gx"},     {"ttl", "gp"},     {"exists", "gd"},
                                   {"get", "sr2"},  {"get", "f"},      {"get", "fttl"},   {"ttl", "fttl"},
                                   {"get", "b"},    {"get", "bf"},     {"get", "bo"},     {"ttl", "set2"},
                                   {"ttl", "set3"}, {"exists", "set"}, {"scard", "set2"}, {"exists", "sr"}};
  std::vector<std::string> before;
  for (const auto& r : reads) before.push_back(S(Run(r)));
  EXPECT_EQ(before[0], "\"v\"");
  EXPECT_EQ(before[1], ":100");
  EXPECT_EQ(before[2], ":-1");
  EXPECT_EQ(before[3], ":0");
  EXPECT_EQ(before[4], S(Reply::Bulk(std::string("\0\0\0abc", 6))));
  EXPECT_EQ(before[7], ":50") << "INCRBYFLOAT keeps the TTL";
  EXPECT_EQ(before[11], ":200") << "COPY keeps the TTL";
  Open();
  for (size_t i = 0; i < reads.size(); ++i) EXPECT_EQ(S(Run(reads[i])), before[i]) << reads[i][0] << " " << reads[i][1];
}

}  // namespace
}  // namespace stratus::kv
