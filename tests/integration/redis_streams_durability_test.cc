// Streams survive a restart: an engine reopened on its append log (generated ids, approximate
// trims, PEL changes replayed from the records they logged), and again on the rewrite that
// reopening makes of it, answers XINFO STREAM FULL, XINFO GROUPS, XPENDING and XRANGE as before.
// Only consumers' seen times are not kept (as in Redis, whose log has no record for them).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/clock.h"
#include "kv/engine.h"

namespace stratus {
namespace {

using kv::Argv;
using kv::Reply;

constexpr Micros kStart = 1'700'000'000'000'000;

class RedisStreamsDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stratus-xdur-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/appendonly.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<kv::Engine> Open() {
    auto e = std::make_unique<kv::Engine>(clock_);
    kv::EngineOptions o;
    o.log_path = path_;
    o.active_expiry = false;
    Status st = e->Open(o);
    EXPECT_TRUE(st.ok()) << st.message();
    return e;
  }

  // What the test compares: the stream's whole state as the introspection commands show it,
  // with seen times zeroed and, when `layout` is false, the node counts too.
  std::string State(kv::Engine& e, bool layout) {
    std::string out;
    for (const char* key : {"s", "big", "empty"}) {
      for (const Argv& cmd : std::vector<Argv>{{"xinfo", "stream", key, "full", "count", "0"},
                                               {"xinfo", "groups", key},
                                               {"xpending", key, "g1", "-", "+", "1000"},
                                               {"xpending", key, "g1"},
                                               {"xrange", key, "-", "+"},
                                               {"xlen", key}}) {
        Reply r = e.Run(cmd);
        std::function<void(Reply*)> walk = [&](Reply* x) {
          for (size_t i = 0; i + 1 < x->elems.size(); ++i) {
            const std::string& k = x->elems[i].str;
            if (k == "seen-time" || (!layout && (k == "radix-tree-keys" || k == "radix-tree-nodes")))
              x->elems[i + 1] = Reply::Integer(0);
          }
          for (auto& c : x->elems) walk(&c);
        };
        walk(&r);
        out += kv::DebugString(r) + "\n";
      }
    }
    return out;
  }

  std::string dir_, path_;
  FakeClock clock_{kStart};
};

TEST_F(RedisStreamsDurabilityTest, LogAndRewriteRebuildStreamsGroupsAndPels) {
  std::string before, before_layout;
  {
    auto e = Open();
    auto run = [&](const Argv& cmd) {
      Reply r = e->Run(cmd);
      EXPECT_NE(r.type, Reply::Type::kError) << kv::DebugString(r);
      clock_.Advance(1000 * 7);  // 7 ms between commands: idle and delivery times differ
      return r;
    };
    for (int i = 0; i < 260; ++i) run({"xadd", "s", "*", "n", std::to_string(i)});
    run({"xadd", "s", "maxlen", "~", "150", "*", "n", "trim"});
    run({"xadd", "s", "99999999999999-*", "n", "x"});
    run({"xadd", "s", "99999999999999-*", "n", "y"});
    run({"xtrim", "s", "minid", "~", "1700000000800"});
    run({"xgroup", "create", "s", "g1", "0", "entriesread", "0"});
    run({"xgroup", "create", "s", "g2", "$"});
    run({"xreadgroup", "group", "g1", "alice", "count", "5", "streams", "s", ">"});
    run({"xreadgroup", "group", "g1", "bob", "count", "3", "streams", "s", ">"});
    run({"xreadgroup", "group", "g1", "alice", "count", "2", "streams", "s", "0"});
    run({"xreadgroup", "group", "g1", "carol", "noack", "count", "2", "streams", "s", ">"});
    Reply pending = run({"xpending", "s", "g1", "-", "+", "3"});
    std::string first = pending.elems[0].elems[0].str, second = pending.elems[1].elems[0].str;
    run({"xack", "s", "g1", pending.elems[2].elems[0].str});
    run({"xclaim", "s", "g1", "bob", "0", first, "idle", "1"});
    run({"xautoclaim", "s", "g1", "dave", "0", "-", "count", "2"});
    run({"xdel", "s", second});
    run({"xgroup", "createconsumer", "s", "g2", "erin"});
    run({"xgroup", "createconsumer", "s", "g1", "frank"});
    run({"xgroup", "delconsumer", "s", "g1", "frank"});
    run({"xsetid", "s", "99999999999999-5", "entriesadded", "1000"});
    for (int i = 1; i <= 40; ++i) run({"xadd", "big", std::to_string(i), "f", std::string(400, 'a' + i % 26)});
    run({"xgroup", "create", "big", "g1", "0"});
    run({"xreadgroup", "group", "g1", "c", "count", "10", "streams", "big", ">"});
    run({"xdel", "big", "3", "4"});
    run({"xgroup", "create", "empty", "g1", "$", "mkstream"});
    before = State(*e, false);
    before_layout = State(*e, true);
    e->Close();
  }
  {
    auto e = Open();  // replays the log, then rewrites it
    EXPECT_EQ(State(*e, true), before_layout);
    e->Close();
  }
  auto e = Open();  // replays the rewrite
  EXPECT_EQ(State(*e, false), before);
  // Generated ids keep going after the replayed last id.
  Reply id = e->Run({"xadd", "s", "*", "n", "after"});
  EXPECT_EQ(id.str, "99999999999999-6");
}

}  // namespace
}  // namespace stratus
