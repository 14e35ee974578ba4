// Hash-field expiry (Redis 7.4's HEXPIRE family, Redis 8.0's HGETEX and HSETEX) on a fake
// clock: the per-field replies and error texts Redis documents, expired fields invisible to
// every read, removed by writes and by the active pass (a hash left empty is deleted), HSET
// clearing a TTL, OBJECT ENCODING, and the TTLs surviving a restart on the log and on its
// rewrite. redis-server 7.0 (the differential tests' peer) lacks these commands.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "integration/engine_on_log.h"
#include "kv/engine.h"

namespace stratus::kv {
namespace {

constexpr Micros kStart = 1'700'000'000'000'000;  // a whole second, so TTLs read round
constexpr int64_t kStartMs = kStart / 1000;

std::string S(const Reply& r) {
  return DebugString(r);
}

class KvHashTtlTest : public testing::EngineOnLogTest {
 protected:
  KvHashTtlTest() : EngineOnLogTest(kStart) {}
  std::string Log() {
    std::ifstream in(log_path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string R(const Argv& argv) { return S(Run(argv)); }
  void AdvanceMs(int64_t ms) { clock_.Advance(ms * 1000); }
};

TEST_F(KvHashTtlTest, HExpireRepliesPerFieldAsRedisDocuments) {
  Run({"hset", "h", "a", "1", "b", "2", "c", "3"});
  EXPECT_EQ(R({"hexpire", "h", "100", "FIELDS", "3", "a", "b", "nope"}), "[:1, :1, :-2]");
  EXPECT_EQ(R({"hexpire", "nokey", "100", "FIELDS", "2", "a", "b"}), "[:-2, :-2]");
  // NX: only fields without a TTL; XX: only fields with one.
  EXPECT_EQ(R({"hexpire", "h", "200", "NX", "FIELDS", "2", "a", "c"}), "[:0, :1]");
  EXPECT_EQ(R({"hpersist", "h", "FIELDS", "1", "c"}), "[:1]");
  EXPECT_EQ(R({"hexpire", "h", "200", "xx", "FIELDS", "2", "a", "c"}), "[:1, :0]");
  // GT: a field without a TTL counts as forever, so GT never sets it and LT does.
  EXPECT_EQ(R({"hexpire", "h", "100", "GT", "FIELDS", "2", "a", "c"}), "[:0, :0]");
  EXPECT_EQ(R({"hexpire", "h", "300", "GT", "FIELDS", "1", "a"}), "[:1]");
  EXPECT_EQ(R({"hexpire", "h", "400", "LT", "FIELDS", "2", "a", "c"}), "[:0, :1]");
  EXPECT_EQ(R({"hexpire", "h", "50", "LT", "FIELDS", "1", "c"}), "[:1]");
  EXPECT_EQ(R({"httl", "h", "FIELDS", "4", "a", "b", "c", "nope"}), "[:300, :100, :50, :-2]");
  EXPECT_EQ(R({"hpttl", "h", "FIELDS", "1", "a"}), "[:300000]");
  EXPECT_EQ(R({"hexpiretime", "h", "FIELDS", "1", "a"}), "[:" + std::to_string(kStartMs / 1000 + 300) + "]");
  EXPECT_EQ(R({"hpexpiretime", "h", "FIELDS", "1", "a"}), "[:" + std::to_string(kStartMs + 300000) + "]");
  EXPECT_EQ(R({"httl", "nokey", "FIELDS", "1", "a"}), "[:-2]");
  // A time already past deletes the field (2); the last one deletes the hash.
  EXPECT_EQ(R({"hpexpireat", "h", "1", "FIELDS", "1", "b"}), "[:2]");
  EXPECT_EQ(R({"hexists", "h", "b"}), ":0");
  EXPECT_EQ(R({"hexpire", "h", "0", "FIELDS", "2", "a", "c"}), "[:2, :2]");
  EXPECT_EQ(R({"exists", "h"}), ":0");
  // HPERSIST: -2 no field, -1 no TTL, 1 removed.
  Run({"hset", "p", "a", "1", "b", "2"});
  Run({"hpexpire", "p", "5000", "FIELDS", "1", "a"});
  EXPECT_EQ(R({"hpersist", "p", "FIELDS", "3", "a", "b", "x"}), "[:1, :-1, :-2]");
  EXPECT_EQ(R({"httl", "p", "FIELDS", "2", "a", "b"}), "[:-1, :-1]");
  // HTTL rounds up: 1500 ms left reads as 2 s.
  Run({"hpexpire", "p", "1500", "FIELDS", "1", "a"});
  EXPECT_EQ(R({"httl", "p", "FIELDS", "1", "a"}), "[:2]");
}

TEST_F(KvHashTtlTest, ArgumentErrorsHaveRedisTexts) {
  Run({"hset", "h", "a", "1"});
  Run({"set", "str", "v"});
  EXPECT_EQ(R({"hexpire", "str", "10", "FIELDS", "1", "a"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value");
  EXPECT_EQ(R({"hexpire", "h", "x", "FIELDS", "1", "a"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(R({"hexpire", "h", "-1", "FIELDS", "1", "a"}), "-ERR invalid expire time, must be >= 0");
  EXPECT_EQ(R({"hexpire", "h", "281474976710656", "FIELDS", "1", "a"}),
            "-ERR invalid expire time in 'hexpire' command");
  EXPECT_EQ(R({"hpexpireat", "h", "281474976710656", "FIELDS", "1", "a"}),
            "-ERR invalid expire time in 'hpexpireat' command");
  EXPECT_EQ(R({"hexpire", "h", "10", "FIELD", "1", "a"}),
            "-ERR Mandatory argument FIELDS is missing or not at the right position");
  EXPECT_EQ(R({"hexpire", "h", "10", "NX", "XX", "FIELDS", "1", "a"}),
            "-ERR Mandatory argument FIELDS is missing or not at the right position");
  EXPECT_EQ(R({"hexpire", "h", "10", "FIELDS", "0", "a"}), "-ERR Number of fields must be a positive integer");
  EXPECT_EQ(R({"hexpire", "h", "10", "FIELDS", "x", "a"}), "-ERR Number of fields must be a positive integer");
  EXPECT_EQ(R({"hexpire", "h", "10", "FIELDS", "2", "a"}),
            "-ERR The `numfields` parameter must match the number of arguments");
  EXPECT_EQ(R({"hexpire", "h", "10", "FIELDS", "1", "a", "b"}),
            "-ERR The `numfields` parameter must match the number of arguments");
  EXPECT_EQ(R({"hexpire", "h", "10", "FIELDS", "1"}), "-ERR wrong number of arguments for 'hexpire' command");
  EXPECT_EQ(R({"httl", "h", "FIELDS", "2", "a"}), "-ERR The `numfields` parameter must match the number of arguments");
  EXPECT_EQ(R({"httl", "h", "x", "1", "a"}), "-ERR Mandatory argument FIELDS is missing or not at the right position");
  EXPECT_EQ(R({"hpersist", "str", "FIELDS", "1", "a"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value");
  EXPECT_EQ(R({"hgetex", "h", "EX", "0", "FIELDS", "1", "a"}), "-ERR invalid expire time in 'hgetex' command");
  EXPECT_EQ(R({"hgetex", "h", "EX", "10", "PX", "10", "FIELDS", "1", "a"}),
            "-ERR Only one of EX, PX, EXAT, PXAT or PERSIST arguments can be specified");
  EXPECT_EQ(R({"hgetex", "h", "BOGUS", "FIELDS", "1", "a"}), "-ERR syntax error");
  EXPECT_EQ(R({"hsetex", "h", "FNX", "FXX", "FIELDS", "1", "a", "1"}),
            "-ERR Only one of FXX or FNX arguments can be specified");
  EXPECT_EQ(R({"hsetex", "h", "EX", "10", "KEEPTTL", "FIELDS", "1", "a", "1"}),
            "-ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified");
  EXPECT_EQ(R({"hsetex", "h", "FIELDS", "2", "a", "1"}),
            "-ERR The `numfields` parameter must match the number of arguments");
  EXPECT_EQ(R({"hsetex", "h", "PX", "-5", "FIELDS", "1", "a", "1"}), "-ERR invalid expire time in 'hsetex' command");
  EXPECT_EQ(R({"hget", "h", "a"}), "\"1\"") << "no error changed the hash";
}

// @upstash/redis's pipeline sends HEXPIREAT a millisecond timestamp for a missing hash:
// Upstash answers -2 for each field, so the range is checked only once the hash exists.
TEST_F(KvHashTtlTest, MissingHashAnswersNoFieldBeforeTheTimeRangeCheck) {
  std::string ms = std::to_string(kStartMs + 1000);
  EXPECT_EQ(R({"hexpireat", "nohash", ms, "FIELDS", "1", "f"}), "[:-2]");
  EXPECT_EQ(R({"hexpire", "nohash", "281474976710656", "NX", "FIELDS", "2", "f", "g"}), "[:-2, :-2]");
  EXPECT_EQ(R({"hexpireat", "nohash", "-1", "FIELDS", "1", "f"}), "-ERR invalid expire time, must be >= 0");
  Run({"hset", "h", "f", "1"});
  EXPECT_EQ(R({"hexpireat", "h", ms, "FIELDS", "1", "f"}), "-ERR invalid expire time in 'hexpireat' command");
  EXPECT_EQ(R({"httl", "h", "FIELDS", "1", "f"}), "[:-1]");
}

TEST_F(KvHashTtlTest, ExpiredFieldsAreInvisibleAndReadsNeverShowThem) {
  Run({"hset", "h", "keep", "1", "gone", "2"});
  EXPECT_EQ(R({"hpexpire", "h", "1000", "FIELDS", "1", "gone"}), "[:1]");
  EXPECT_EQ(R({"object", "encoding", "h"}), "\"listpackex\"");
  AdvanceMs(999);
  EXPECT_EQ(R({"hget", "h", "gone"}), "\"2\"");
  AdvanceMs(1);
  EXPECT_EQ(R({"hget", "h", "gone"}), "(nil)");
  EXPECT_EQ(R({"hmget", "h", "gone", "keep"}), "[(nil), \"1\"]");
  EXPECT_EQ(R({"hgetall", "h"}), "[\"keep\", \"1\"]");
  EXPECT_EQ(R({"hkeys", "h"}), "[\"keep\"]");
  EXPECT_EQ(R({"hvals", "h"}), "[\"1\"]");
  EXPECT_EQ(R({"hlen", "h"}), ":1");
  EXPECT_EQ(R({"hexists", "h", "gone"}), ":0");
  EXPECT_EQ(R({"hstrlen", "h", "gone"}), ":0");
  EXPECT_EQ(R({"httl", "h", "FIELDS", "1", "gone"}), "[:-2]");
  EXPECT_EQ(R({"hscan", "h", "0"}), "[\"0\", [\"keep\", \"1\"]]");
  for (int i = 0; i < 20; ++i) EXPECT_EQ(R({"hrandfield", "h"}), "\"keep\"");
  EXPECT_EQ(R({"hrandfield", "h", "-5"}), "[\"keep\", \"keep\", \"keep\", \"keep\", \"keep\"]");
  EXPECT_EQ(R({"hrandfield", "h", "5", "withvalues"}), "[\"keep\", \"1\"]");
  // A write sees the expired field as absent.
  EXPECT_EQ(R({"hsetnx", "h", "gone", "3"}), ":1");
  EXPECT_EQ(R({"httl", "h", "FIELDS", "1", "gone"}), "[:-1]");
  EXPECT_EQ(R({"object", "encoding", "h"}), "\"listpack\"");
  // A hash whose every field expired reads as absent.
  Run({"hset", "all", "a", "1"});
  Run({"hpexpire", "all", "10", "FIELDS", "1", "a"});
  AdvanceMs(10);
  EXPECT_EQ(R({"hgetall", "all"}), "[]");
  EXPECT_EQ(R({"hlen", "all"}), ":0");
  EXPECT_EQ(R({"hrandfield", "all"}), "(nil)");
  EXPECT_EQ(R({"hincrby", "all", "a", "5"}), ":5") << "the expired value is not the base";
}

TEST_F(KvHashTtlTest, HSetClearsTheTtlAndHIncrByKeepsIt) {
  Run({"hset", "h", "a", "1", "b", "2", "c", "1.5"});
  Run({"hexpire", "h", "100", "FIELDS", "3", "a", "b", "c"});
  Run({"hset", "h", "a", "9"});
  Run({"hincrby", "h", "b", "1"});
  Run({"hincrbyfloat", "h", "c", "1"});
  EXPECT_EQ(R({"httl", "h", "FIELDS", "3", "a", "b", "c"}), "[:-1, :100, :100]");
  Run({"hdel", "h", "b"});
  Run({"hset", "h", "b", "new"});
  EXPECT_EQ(R({"httl", "h", "FIELDS", "1", "b"}), "[:-1]") << "a deleted field's TTL goes with it";
}

TEST_F(KvHashTtlTest, ActivePassDeletesFieldsAndEmptyHashes) {
  Run({"hset", "h", "a", "1", "b", "2"});
  Run({"hset", "solo", "x", "1"});
  Run({"hpexpire", "h", "100", "FIELDS", "1", "a"});
  Run({"hpexpire", "solo", "100", "FIELDS", "1", "x"});
  Run({"hpexpire", "h", "500", "FIELDS", "1", "b"});
  AdvanceMs(100);
  engine_->ExpireNow();
  EXPECT_EQ(R({"exists", "solo"}), ":0");
  EXPECT_EQ(R({"hgetall", "h"}), "[\"b\", \"2\"]");
  EXPECT_EQ(engine_->DbSize(), 1u);
  AdvanceMs(400);
  engine_->ExpireNow();
  EXPECT_EQ(R({"exists", "h"}), ":0");
  EXPECT_EQ(engine_->DbSize(), 0u);
  // A renamed hash joins the pass under its new name once a hash command touches it.
  Run({"hset", "r", "a", "1"});
  Run({"hpexpire", "r", "100", "FIELDS", "1", "a"});
  Run({"rename", "r", "r2"});
  EXPECT_EQ(R({"httl", "r2", "FIELDS", "1", "a"}), "[:1]");
  AdvanceMs(100);
  engine_->ExpireNow();
  EXPECT_EQ(R({"exists", "r2"}), ":0");
}

TEST_F(KvHashTtlTest, HGetExAndHSetEx) {
  Run({"hset", "h", "a", "1", "b", "2"});
  EXPECT_EQ(R({"hgetex", "h", "EX", "60", "FIELDS", "3", "a", "b", "x"}), "[\"1\", \"2\", (nil)]");
  EXPECT_EQ(R({"httl", "h", "FIELDS", "2", "a", "b"}), "[:60, :60]");
  EXPECT_EQ(R({"hgetex", "h", "PERSIST", "FIELDS", "1", "a"}), "[\"1\"]");
  EXPECT_EQ(R({"httl", "h", "FIELDS", "2", "a", "b"}), "[:-1, :60]");
  EXPECT_EQ(R({"hgetex", "h", "FIELDS", "1", "b"}), "[\"2\"]");
  EXPECT_EQ(R({"httl", "h", "FIELDS", "1", "b"}), "[:60]") << "without an option the TTL stays";
  EXPECT_EQ(R({"hgetex", "h", "PXAT", std::to_string(kStartMs + 5000), "FIELDS", "1", "b"}), "[\"2\"]");
  EXPECT_EQ(R({"hpttl", "h", "FIELDS", "1", "b"}), "[:5000]");
  EXPECT_EQ(R({"hgetex", "h", "EXAT", "1", "FIELDS", "1", "b"}), "[\"2\"]");
  EXPECT_EQ(R({"hexists", "h", "b"}), ":0") << "a time already past deletes the field";
  EXPECT_EQ(R({"hgetex", "nokey", "EX", "5", "FIELDS", "1", "a"}), "[(nil)]");

  EXPECT_EQ(R({"hsetex", "s", "EX", "30", "FIELDS", "2", "a", "1", "b", "2"}), ":1");
  EXPECT_EQ(R({"httl", "s", "FIELDS", "2", "a", "b"}), "[:30, :30]");
  EXPECT_EQ(R({"hsetex", "s", "FNX", "FIELDS", "2", "a", "9", "c", "3"}), ":0") << "a exists";
  EXPECT_EQ(R({"hget", "s", "c"}), "(nil)");
  EXPECT_EQ(R({"hsetex", "s", "FXX", "KEEPTTL", "FIELDS", "1", "a", "7"}), ":1");
  EXPECT_EQ(R({"hget", "s", "a"}), "\"7\"");
  EXPECT_EQ(R({"httl", "s", "FIELDS", "1", "a"}), "[:30]");
  EXPECT_EQ(R({"hsetex", "s", "FIELDS", "1", "a", "8"}), ":1");
  EXPECT_EQ(R({"httl", "s", "FIELDS", "1", "a"}), "[:-1]") << "no option: like HSET";
  EXPECT_EQ(R({"hsetex", "s", "FXX", "FIELDS", "1", "zz", "1"}), ":0");
  EXPECT_EQ(R({"hsetex", "new", "FXX", "FIELDS", "1", "zz", "1"}), ":0");
  EXPECT_EQ(R({"exists", "new"}), ":0");
  EXPECT_EQ(R({"hsetex", "new", "FNX", "PX", "250", "FIELDS", "1", "zz", "1"}), ":1");
  EXPECT_EQ(R({"hpttl", "new", "FIELDS", "1", "zz"}), "[:250]");
}

TEST_F(KvHashTtlTest, TtlsSurviveARestartAndTheRewrite) {
  Run({"hset", "h", "a", "1", "b", "2", "c", "3", "d", "4"});
  Run({"hexpire", "h", "100", "FIELDS", "1", "a"});  // relative: logged absolute
  Run({"hpexpire", "h", "2000", "FIELDS", "2", "b", "c"});
  Run({"hsetex", "s", "PX", "3000", "FIELDS", "1", "x", "1"});  // logged with PXAT
  Run({"hincrbyfloat", "h", "b", "0.5"});                       // keeps b's TTL on replay
  EXPECT_NE(Log().find("HPEXPIREAT"), std::string::npos);
  AdvanceMs(2000);
  EXPECT_EQ(R({"hset", "h", "e", "5"}), ":1");  // a write: c and b expired, logged as HDEL
  EXPECT_NE(Log().find("HDEL"), std::string::npos);
  const std::string want_ttl = R({"hpttl", "h", "FIELDS", "4", "a", "b", "c", "d"});
  const std::string want_all = R({"hmget", "h", "a", "b", "c", "d", "e"});
  const std::string want_s = R({"hpttl", "s", "FIELDS", "1", "x"});
  EXPECT_EQ(want_ttl, "[:98000, :-2, :-2, :-1]");
  Open();  // replays the log, then rewrites it from the snapshot
  EXPECT_EQ(R({"hpttl", "h", "FIELDS", "4", "a", "b", "c", "d"}), want_ttl);
  EXPECT_EQ(R({"hmget", "h", "a", "b", "c", "d", "e"}), want_all);
  EXPECT_EQ(R({"hpttl", "s", "FIELDS", "1", "x"}), want_s);
  EXPECT_NE(Log().find("HPEXPIREAT"), std::string::npos) << "the rewrite keeps the TTLs";
  Open();  // replays the rewritten log
  EXPECT_EQ(R({"hpttl", "h", "FIELDS", "4", "a", "b", "c", "d"}), want_ttl);
  EXPECT_EQ(R({"hmget", "h", "a", "b", "c", "d", "e"}), want_all);
  EXPECT_EQ(R({"hpttl", "s", "FIELDS", "1", "x"}), want_s);
  // Fields that expire while the server is down are gone after the restart.
  AdvanceMs(1000);
  Open();
  EXPECT_EQ(R({"hgetall", "s"}), "[]");
  EXPECT_EQ(R({"exists", "s"}), ":0");
  // The active pass's deletions are logged too.
  AdvanceMs(100000);
  EXPECT_EQ(Log().find("HDEL"), std::string::npos);
  engine_->ExpireNow();
  EXPECT_NE(Log().find("HDEL"), std::string::npos) << "the active pass logs what it removes";
  Open();
  EXPECT_EQ(R({"hmget", "h", "a", "d", "e"}), "[(nil), \"4\", \"5\"]");
  EXPECT_EQ(R({"hlen", "h"}), ":2");
}

}  // namespace
}  // namespace stratus::kv
