// FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL and FCALL/FCALL_RO against a real
// redis-server 7.0: the same replies and error texts. Libraries and functions come back in
// the order Redis's dictionaries give, so FUNCTION LIST is compared sorted by name.
#include <gtest/gtest.h>

#include <algorithm>

#include "integration/redis_differential.h"

namespace stratus {
namespace {

using kv::Argv;
using kv::Reply;

// The value after `field` in a flat [field, value, ...] array, or nullptr.
const Reply* FieldOf(const Reply& r, std::string_view field) {
  for (size_t i = 0; i + 1 < r.elems.size(); i += 2) {
    if (r.elems[i].str == field) return &r.elems[i + 1];
  }
  return nullptr;
}

// FUNCTION LIST with its libraries, and each library's functions, sorted by name.
Reply SortedList(Reply r) {
  if (r.type != Reply::Type::kArray) return r;
  auto name_of = [](const Reply& e, std::string_view field) {
    const Reply* v = FieldOf(e, field);
    return v ? v->str : std::string();
  };
  for (auto& lib : r.elems) {
    for (size_t i = 0; i + 1 < lib.elems.size(); i += 2) {
      if (lib.elems[i].str != "functions") continue;
      auto& fns = lib.elems[i + 1].elems;
      std::sort(fns.begin(), fns.end(),
                [&](const Reply& a, const Reply& b) { return name_of(a, "name") < name_of(b, "name"); });
    }
  }
  std::sort(r.elems.begin(), r.elems.end(),
            [&](const Reply& a, const Reply& b) { return name_of(a, "library_name") < name_of(b, "library_name"); });
  return r;
}

// Everything after " script: " differs (Redis names the line, the engine does not).
std::string Shown(const Reply& r) {
  std::string s = kv::DebugString(r);
  size_t at = s.find(" script: ");
  return at == std::string::npos ? s : s.substr(0, at);
}

class RedisDifferentialFunctions : public testing::RedisDifferentialTest {
 protected:
  void SetUp() override {
    testing::RedisDifferentialTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    Flush();
    Same({"function", "flush"});
  }
  void Same(const Argv& cmd) {
    Reply got;
    Reply want = Both(cmd, &got);
    if (!cmd.empty() && kv::IEquals(cmd[0], "function") && cmd.size() > 1 && kv::IEquals(cmd[1], "list")) {
      want = SortedList(std::move(want));
      got = SortedList(std::move(got));
    }
    EXPECT_EQ(Shown(got), Shown(want)) << testing::Shown(cmd);
  }
};

const std::string kLib =
    "#!lua name=mylib\n"
    "redis.register_function('setter', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n"
    "redis.register_function{function_name='getter', callback=function(keys, args) return redis.call('get', keys[1]) "
    "end, flags={'no-writes'}, description='reads one key'}\n"
    "redis.register_function{function_name='bad_ro', callback=function(keys) return redis.call('del', keys[1]) end, "
    "flags={'no-writes', 'allow-oom'}}\n"
    "redis.register_function('echo', function(keys, args) return {#keys, #args, args[1]} end)\n"
    "redis.register_function('boom', function() error('boom') end)\n"
    "redis.register_function('fails', function(keys) return redis.call('incr', keys[1]) end)\n";

TEST_F(RedisDifferentialFunctions, LoadCallListDeleteAnswerLikeRedis) {
  const std::vector<Argv> calls = {
      {"function", "load", kLib},
      {"function", "load", kLib},
      {"function", "load", "REPLACE", kLib},
      {"fcall", "setter", "1", "k", "v"},
      {"get", "k"},
      {"fcall", "getter", "1", "k"},
      {"fcall_ro", "getter", "1", "k"},
      {"fcall_ro", "bad_ro", "1", "k"},
      {"fcall", "bad_ro", "1", "k"},
      {"fcall", "echo", "2", "a", "b", "c"},
      {"fcall", "echo", "0"},
      {"fcall", "boom", "0"},
      {"fcall", "fails", "1", "k"},
      {"fcall", "nosuch", "0"},
      {"fcall", "Setter", "1", "k", "v"},
      {"fcall", "echo", "x"},
      {"fcall", "echo", "-1"},
      {"fcall", "echo", "3", "a"},
      {"fcall"},
      {"fcall", "echo"},
      {"eval", "return redis.call('fcall', 'echo', '0')", "0"},
      {"function", "list"},
      {"function", "list", "withcode"},
      {"function", "list", "libraryname", "my*"},
      {"function", "list", "LIBRARYNAME", "MYLIB", "WITHCODE"},
      {"function", "list", "libraryname", "other"},
      {"function", "list", "libraryname"},
      {"function", "list", "bogus"},
      {"function", "list", "withcode", "withcode"},
      {"function", "stats"},
      {"function", "stats", "x"},
      {"function", "load", "#!lua name=second\nredis.register_function('two', function() return 2 end)"},
      {"function", "load", "#!lua name=third\nredis.register_function('two', function() return 3 end)"},
      {"function", "load", "REPLACE", "#!lua name=second\nredis.register_function('echo', function() return 3 end)"},
      {"fcall", "two", "0"},
      {"function", "stats"},
      {"function", "delete", "second"},
      {"function", "delete", "second"},
      {"function", "delete"},
      {"fcall", "two", "0"},
      {"script", "flush"},
      {"fcall", "getter", "1", "k"},
      {"flushall"},
      {"fcall", "echo", "0"},
      {"function", "kill"},
      {"function", "bogus"},
      {"function", "flush", "bogus"},
      {"function", "flush", "async"},
      {"function", "list"},
      {"function", "flush", "sync"},
  };
  for (const auto& cmd : calls) Same(cmd);
}

TEST_F(RedisDifferentialFunctions, BadLibrariesAreRefusedLikeRedis) {
  const std::vector<std::string> bodies = {
      "redis.register_function('f', function() return 1 end)",
      "#!lua",
      "#!lua name=x",
      "#!lua\nredis.register_function('f', function() return 1 end)",
      "#!lua name=a name=b\nreturn 1",
      "#!lua nam=x\nreturn 1",
      "#!lua name=bad-name\nredis.register_function('f', function() return 1 end)",
      "#!lua name=\nredis.register_function('f', function() return 1 end)",
      "#!python name=x\nredis.register_function('f', function() return 1 end)",
      "#!LUA name=upper\nredis.register_function('f', function() return 1 end)",
      "#!lua name=nofn\nlocal x = 1",
      "#!lua name=syntax\nlocal x = = 1",
      "#!lua name=runtime\nerror('no')",
      "#!lua name=calls\nredis.call('set', 'a', 'b')",
      "#!lua name=g\nx = 1\nredis.register_function('f', function() return 1 end)",
      "#!lua name=dup\nredis.register_function('f', function() return 1 end)\nredis.register_function('f', "
      "function() return 2 end)",
      "#!lua name=badfn\nredis.register_function('f-1', function() return 1 end)",
      "#!lua name=args1\nredis.register_function('f')",
      "#!lua name=args2\nredis.register_function(1, function() end)",
      "#!lua name=args3\nredis.register_function('f', 'g')",
      "#!lua name=args4\nredis.register_function('f', function() end, 3)",
      "#!lua name=t5\nredis.register_function{function_name='f'}",
      "#!lua name=t6\nredis.register_function{callback=function() end}",
      "#!lua name=t7\nredis.register_function{function_name='f', callback=function() end, flags={'bogus'}}",
      "#!lua name=t8\nredis.register_function{function_name='f', callback=function() end, flags='no-writes'}",
      "#!lua name=t9\nredis.register_function{function_name='f', callback=function() end, other=1}",
      "#!lua name=t10\nredis.register_function{function_name='f', callback=function() end, description=1}",
      "#!lua name=t11\nredis.register_function{function_name=1, callback=function() end}",
      "#!lua name=t12\nredis.register_function{function_name='f', callback=1}",
  };
  for (const auto& body : bodies) Same({"function", "load", body});
  Same({"function", "load", "#!lua name=ok\nredis.register_function('f', function() return 1 end)"});
  Same({"function", "load", "#!lua name=ok2\nredis.register_function('f', function() return 1 end)"});
  Same({"function", "load", "bogus", "#!lua name=ok\nredis.register_function('f', function() return 1 end)"});
  Same({"function", "load", "replace"});
  Same({"function", "load"});
  // A script's own runtime error reads as Redis 7.0 words it.
  Same({"eval", "error('x')", "0"});
  Same({"eval", "local t = nil; return t.x", "0"});
  // register_function outside FUNCTION LOAD.
  Same({"eval", "redis.register_function('f', function() return 1 end)", "0"});
  Same({"function", "list"});
}

TEST_F(RedisDifferentialFunctions, DumpAndRestoreRoundTripLikeRedis) {
  Same({"function", "load", kLib});
  Same({"function", "load", "#!lua name=second\nredis.register_function('two', function() return 2 end)"});
  // Each side restores its own dump (the payload bytes are each server's own format).
  Reply engine_dump = engine_.Run({"function", "dump"});
  Reply redis_dump = client_->Call({"function", "dump"});
  ASSERT_EQ(engine_dump.type, Reply::Type::kBulk);
  auto restore = [&](const Argv& tail) {
    Argv e{"function", "restore", engine_dump.str};
    Argv r{"function", "restore", redis_dump.str};
    e.insert(e.end(), tail.begin(), tail.end());
    r.insert(r.end(), tail.begin(), tail.end());
    EXPECT_EQ(Shown(engine_.Run(e)), Shown(client_->Call(r))) << testing::Shown(tail);
  };
  Same({"function", "delete", "second"});
  restore({});  // APPEND: mylib exists
  Same({"function", "load", "#!lua name=second\nredis.register_function('two', function() return 2 end)"});
  restore({"bogus"});
  restore({"REPLACE"});
  Same({"function", "list", "withcode"});
  Same({"function", "flush"});
  restore({});
  Same({"function", "list", "withcode"});
  Same({"function", "delete", "second"});
  Same({"function", "load", "#!lua name=third\nredis.register_function('three', function() return 3 end)"});
  restore({"FLUSH"});
  Same({"function", "list", "withcode"});
  Same({"fcall", "two", "0"});
  Same({"fcall", "three", "0"});
  // A library in the way under REPLACE that holds a function of the dump: all or nothing.
  Same({"function", "delete", "second"});
  Same({"function", "load", "#!lua name=other\nredis.register_function('two', function() return 22 end)"});
  restore({"REPLACE"});
  Same({"function", "list", "withcode"});
  Same({"function", "restore", "garbage"});
  Same({"function", "restore", ""});
  Same({"function", "restore"});
  Same({"function", "dump", "x"});
}

// Upstash (unlike Redis 7.0, which refuses up front) lets FCALL_RO run a function not
// declared no-writes; its writes still fail.
TEST_F(RedisDifferentialFunctions, FcallRoRunsUndeclaredFunctionsAsUpstashDoes) {
  ASSERT_EQ(engine_.Run({"function", "load", kLib}).str, "mylib");
  ASSERT_EQ(engine_.Run({"set", "k", "v"}).str, "OK");
  EXPECT_EQ(kv::DebugString(engine_.Run({"fcall_ro", "echo", "1", "k", "a"})), kv::DebugString(Reply::Array({
                                                                                   Reply::Integer(1),
                                                                                   Reply::Integer(1),
                                                                                   Reply::Bulk("a"),
                                                                               })));
  Reply refused = engine_.Run({"fcall_ro", "setter", "1", "k", "x"});
  EXPECT_EQ(refused.str.rfind("ERR Write commands are not allowed from read-only scripts.", 0), 0u) << refused.str;
  EXPECT_EQ(engine_.Run({"get", "k"}).str, "v");
}

}  // namespace
}  // namespace stratus
