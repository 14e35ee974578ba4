// Lua scripting in the embedded engine, in-process: the sandbox (text chunks only, read-only
// globals and libraries, no setfenv/getmetatable/newproxy/...), the interpreter's memory cap,
// the pattern matcher (same results as Lua 5.1, stoppable), and BUSY / SCRIPT KILL /
// UNKILLABLE / NOTBUSY with Redis's texts. Scripts run on the engine's script thread, never
// on the caller's.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "kv/engine.h"
#include "kv/scripting.h"

namespace stratus::kv {
namespace {

using namespace std::chrono_literals;

class KvScriptingTest : public ::testing::Test {
 protected:
  void Open(EngineOptions o = {}) {
    o.active_expiry = false;
    engine_ = std::make_unique<Engine>(clock_);
    ASSERT_TRUE(engine_->Open(o).ok());
  }
  void SetUp() override { Open(); }

  Reply Eval(const std::string& script, std::vector<std::string> args = {}) {
    Argv argv{"EVAL", script, "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    return engine_->Run(argv);
  }
  std::string EvalError(const std::string& script) {
    Reply r = Eval(script);
    EXPECT_TRUE(r.is_error()) << script << " -> " << DebugString(r);
    return r.str;
  }

  // Runs a script on another thread; the future holds its reply.
  std::future<Reply> Spawn(const std::string& script) {
    return std::async(std::launch::async, [this, script] { return Eval(script); });
  }
  // Waits until other commands get BUSY (the script passed the threshold).
  void WaitBusy() {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      Reply r = engine_->Run({"PING"});
      if (r.is_error() && r.str == kBusyError) return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL() << "the engine never answered BUSY";
  }

  SystemClock clock_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(KvScriptingTest, ScriptsStillWork) {
  EXPECT_EQ(DebugString(Eval("return {1, 'two', {ok='OK'}, false, 3.9}")),
            DebugString(Reply::Array(
                {Reply::Integer(1), Reply::Bulk("two"), Reply::Status("OK"), Reply::Nil(), Reply::Integer(3)})));
  Reply r =
      engine_->Run({"EVAL", "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])", "1", "k", "v"});
  EXPECT_EQ(DebugString(r), DebugString(Reply::Bulk("v")));
  Reply sha = engine_->Run({"SCRIPT", "LOAD", "return ARGV[1] .. '!'"});
  ASSERT_EQ(sha.type, Reply::Type::kBulk);
  EXPECT_EQ(engine_->Run({"EVALSHA", sha.str, "0", "hi"}).str, "hi!");
  EXPECT_EQ(
      Eval("local t = {} for w in string.gmatch('a b c', '%a+') do t[#t+1] = w end return table.concat(t, ',')").str,
      "a,b,c");
  EXPECT_EQ(Eval("local ok, e = pcall(error, 'x') return tostring(ok)").str, "false");
  EXPECT_EQ(Eval("return _G.redis.sha1hex('')").str, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Eval("local f = loadstring('return 1 + 1') return f()").integer, 2);
}

TEST_F(KvScriptingTest, BytecodeIsRefused) {
  // CVE-2015-4335: crafted bytecode breaks out of the VM. Text chunks only, refused with
  // Redis 7's texts.
  Reply r = Eval("local f, e = loadstring(string.dump(function() return 1 end)) return {tostring(f), e}");
  ASSERT_EQ(r.elems.size(), 2u) << DebugString(r);
  EXPECT_EQ(r.elems[0].str, "nil");
  EXPECT_NE(r.elems[1].str.find("]:1: unexpected symbol near 'char(27)'"), std::string::npos) << r.elems[1].str;
  EXPECT_EQ(EvalError(std::string("\x1bLua\x51\x00\x01\x04", 8)),
            "ERR Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'");
  // A chunk loaded by a script writes the same read-only globals, not the real ones.
  std::string e = EvalError("loadstring('x = 1')()");
  EXPECT_NE(e.find("Attempt to modify a readonly table"), std::string::npos) << e;
}

TEST_F(KvScriptingTest, GlobalsAreReadOnly) {
  std::string e = EvalError("x = 1");
  EXPECT_NE(e.find("Attempt to modify a readonly table"), std::string::npos) << e;
  e = EvalError("return undefined_name");
  EXPECT_NE(e.find("Script attempted to access nonexistent global variable 'undefined_name'"), std::string::npos) << e;
  for (const char* s :
       {"string.rep = nil", "redis.call = nil", "table.insert = tostring", "math.floor = 1", "rawset(_G, 'redis', 1)",
        "rawset(string, 'rep', 1)", "setmetatable(_G, nil)", "_G.KEYS = {}"}) {
    e = EvalError(s);
    EXPECT_TRUE(e.find("readonly table") != std::string::npos || e.find("protected metatable") != std::string::npos)
        << s << ": " << e;
  }
  // One script cannot replace another's function.
  Reply sha = engine_->Run({"SCRIPT", "LOAD", "return 'mine'"});
  ASSERT_EQ(sha.type, Reply::Type::kBulk);
  e = EvalError("f_" + sha.str + " = function() return 'evil' end");
  EXPECT_NE(e.find("Attempt to modify a readonly table"), std::string::npos) << e;
  EXPECT_EQ(engine_->Run({"EVALSHA", sha.str, "0"}).str, "mine");
  // Locals are the scripts' own.
  EXPECT_EQ(Eval("local x = 1 x = x + 1 return x").integer, 2);
}

TEST_F(KvScriptingTest, DangerousFunctionsAreUnreachable) {
  for (const char* name : {"setfenv", "getfenv", "getmetatable", "newproxy", "debug", "dofile", "loadfile", "load",
                           "require", "module", "print", "io", "os", "package", "gcinfo"}) {
    std::string e = EvalError(std::string("return type(") + name + ")");
    EXPECT_NE(e.find(std::string("nonexistent global variable '") + name + "'"), std::string::npos)
        << name << ": " << e;
  }
  std::string e = EvalError("collectgarbage('stop')");
  EXPECT_NE(e.find("not allowed"), std::string::npos) << e;
  EXPECT_EQ(Eval("return type(collectgarbage('count'))").str, "number");
  // The real string table is out of reach through the string metatable too.
  EXPECT_EQ(Eval("return type(('x').rep)").str, "function");
}

TEST_F(KvScriptingTest, MemoryIsCapped) {
  EngineOptions o;
  o.script.memory_bytes = 32u << 20;
  Open(o);
  std::string e = EvalError("return #string.rep('x', 2^28)");
  EXPECT_NE(e.find("memory limit"), std::string::npos) << e;
  e = EvalError("local s = 'x' for i = 1, 40 do s = s .. s end return #s");
  EXPECT_NE(e.find("not enough memory"), std::string::npos) << e;
  e = EvalError("local t = {} for i = 1, 1e8 do t[i] = i end return #t");
  EXPECT_NE(e.find("not enough memory"), std::string::npos) << e;
  e = EvalError("local t = {} for i = 1, 1e8 do t[i] = tostring(i) .. 'padding padding' end return #t");
  EXPECT_NE(e.find("not enough memory"), std::string::npos) << e;
  EXPECT_LT(engine_->scripts().memory_used(), o.script.memory_bytes);
  // The interpreter is fine afterwards.
  EXPECT_EQ(Eval("return #string.rep('ab', 1000)").integer, 2000);
}

TEST_F(KvScriptingTest, PatternsMatchLikeLua51) {
  struct Case {
    const char* script;
    const char* want;
  };
  const Case cases[] = {
      {"return {string.find('hello world', 'o w')}", "[:5, :7]"},
      {"return {string.find('hello', 'l+')}", "[:3, :4]"},
      {"return {string.find('hello', '(l)(l)')}", "[:3, :4, \"l\", \"l\"]"},
      {"return {string.find('a.b', '.', 1, true)}", "[:2, :2]"},
      {"return {string.find('abcabc', 'b', 3)}", "[:5, :5]"},
      {"return string.find('abc', 'x')", "(nil)"},
      {"return string.match('key=value', '(%w+)=(%w+)')", "\"key\""},
      {"return {string.match('key=value', '(%w+)=(%w+)')}", "[\"key\", \"value\"]"},
      {"return string.match('  trim  ', '^%s*(.-)%s*$')", "\"trim\""},
      {"return string.match('f(a(b)c)d', '%b()')", "\"(a(b)c)\""},
      {"return string.match('THE (quick) fox', '%f[%a]%a+')", "\"THE\""},
      {"return string.match('abcabc', '(abc)%1')", "\"abc\""},
      {"return {string.match('hello', '()ll()')}", "[:3, :5]"},
      {"return string.match('2024-01-02', '^(%d+)-(%d+)-(%d+)$')", "\"2024\""},
      {"return {string.gsub('hello world', 'o', '0')}", "[\"hell0 w0rld\", :2]"},
      {"return {string.gsub('hello', '', '-')}", "[\"-h-e-l-l-o-\", :6]"},
      {"return {string.gsub('abc', '%w', '%0%0')}", "[\"aabbcc\", :3]"},
      {"return {string.gsub('$name is $age', '%$(%w+)', {name='bob', age=3})}", "[\"bob is 3\", :2]"},
      {"return {string.gsub('abc', '.', function(c) return c:upper() end, 2)}", "[\"ABc\", :2]"},
      {"return {string.gsub('x y', '^%a', 'Z')}", "[\"Z y\", :1]"},
      {"local n = 0 for k, v in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do n = n + v end return n", ":3"},
      {"return string.match('[x]', '[%[]')", "\"[\""},
      {"return string.match('a-b', '[a-c%-]+')", "\"a-b\""},
      {"return string.match('abc', '[^b]+')", "\"a\""},
      {"return ('x'):rep(3, nil)", "\"xxx\""},
      {"return string.rep('ab', 0)", "\"\""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(DebugString(Eval(c.script)), c.want) << c.script;
  }
  for (const char* bad :
       {"return string.find('a', '%')", "return string.find('a', '[a')", "return string.find('a', '(a')",
        "return string.match('a', 'a)')", "return string.gsub('a', 'a', '%2')"}) {
    EvalError(bad);
  }
  // Nesting deeper than Lua 5.2's limit is refused instead of overflowing the C stack.
  std::string e = EvalError("return string.find(string.rep('a', 500), string.rep('a?', 500))");
  EXPECT_NE(e.find("pattern too complex"), std::string::npos) << e;
}

TEST_F(KvScriptingTest, TimeLimitStopsCCode) {
  EngineOptions o;
  o.script.max_time = 300ms;
  Open(o);
  auto start = std::chrono::steady_clock::now();
  // Days of backtracking inside string.find, where the instruction hook never runs.
  std::string e = EvalError("return string.find(string.rep('a', 1000), string.rep('a-', 3) .. 'b')");
  EXPECT_NE(e.find("Script killed: it ran longer than the script time limit of 300 ms"), std::string::npos) << e;
  e = EvalError("while true do end");
  EXPECT_NE(e.find("Script killed"), std::string::npos) << e;
  e = EvalError("return string.gsub(string.rep('a', 3000), '.-.-.-b', 'x')");
  EXPECT_NE(e.find("Script killed"), std::string::npos) << e;
  e = EvalError("while true do pcall(function() while true do end end) end");
  EXPECT_NE(e.find("Script killed"), std::string::npos) << e;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 60s);
  EXPECT_EQ(Eval("return 1").integer, 1);
}

TEST_F(KvScriptingTest, ScriptsRunOffTheCallingThread) {
  EngineOptions o;
  o.script_busy_after = 600s;
  Open(o);
  std::vector<Argv> eval{{"EVAL", "return 1", "0"}};
  BatchResult out;
  EXPECT_EQ(engine_->TryExecute(eval, false, false, &out, nullptr).route, Engine::Route::kScriptThread);
  EXPECT_TRUE(out.replies.empty());
  std::vector<Argv> load{{"SCRIPT", "LOAD", "return 1"}};
  EXPECT_EQ(engine_->TryExecute(load, false, false, &out, nullptr).route, Engine::Route::kScriptThread);

  // While a script runs (below the busy threshold) other batches are told to wait, at once,
  // and woken when it ends.
  auto spin = Spawn("local n = 0 while n < 2e8 do n = n + 1 end return n");
  std::vector<Argv> ping{{"PING"}};
  auto deadline = std::chrono::steady_clock::now() + 30s;
  std::promise<void> woken;
  Engine::Attempt a;
  while (std::chrono::steady_clock::now() < deadline) {
    a = engine_->TryExecute(ping, false, false, &out, [&woken] { woken.set_value(); });
    if (a.route == Engine::Route::kWait) break;
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(a.route, Engine::Route::kWait);
  EXPECT_EQ(woken.get_future().wait_for(120s), std::future_status::ready);
  EXPECT_EQ(spin.get().integer, 200000000);
  EXPECT_EQ(engine_->TryExecute(ping, false, false, &out, nullptr).route, Engine::Route::kDone);
  EXPECT_EQ(out.replies.at(0).str, "PONG");
}

TEST_F(KvScriptingTest, BusyAndScriptKill) {
  EngineOptions o;
  o.script_busy_after = 200ms;
  Open(o);
  EXPECT_EQ(engine_->Run({"SCRIPT", "KILL"}).str, kNotBusyError);
  for (const char* script :
       {"while true do end", "return string.find(string.rep('a', 1000), string.rep('a-', 3) .. 'b')",
        "while true do pcall(function() while true do end end) end",
        "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
        "local t = {} for i = 1, 100 do t[i] = 'x' end while true do table.concat(t) end"}) {
    auto running = Spawn(script);
    WaitBusy();
    EXPECT_EQ(engine_->Run({"GET", "k"}).str, kBusyError);
    EXPECT_EQ(engine_->Run({"EVAL", "return 1", "0"}).str, kBusyError);
    BatchResult multi = engine_->Execute({{"SET", "k", "v"}}, true, false);
    ASSERT_TRUE(multi.abort.has_value());
    EXPECT_EQ(multi.abort->str, kBusyError);
    // Refusals that come before BUSY in Redis still do.
    EXPECT_EQ(engine_->Run({"GET"}).str, "ERR wrong number of arguments for 'get' command");
    EXPECT_EQ(DebugString(engine_->Run({"SCRIPT", "KILL"})), DebugString(Reply::Ok()));
    ASSERT_EQ(running.wait_for(60s), std::future_status::ready) << script;
    Reply r = running.get();
    EXPECT_NE(r.str.find("Script killed by user with SCRIPT KILL..."), std::string::npos) << script << ": " << r.str;
    EXPECT_EQ(engine_->Run({"SCRIPT", "KILL"}).str, kNotBusyError);
    EXPECT_EQ(engine_->Run({"PING"}).str, "PONG");
  }
}

TEST_F(KvScriptingTest, ScriptThatWroteIsUnkillable) {
  EngineOptions o;
  o.script_busy_after = 200ms;
  o.script.max_time = 3s;  // the only way out for a script that wrote
  Open(o);
  auto running = Spawn("redis.call('SET', 'k', 'v') while true do end");
  WaitBusy();
  EXPECT_EQ(engine_->Run({"SCRIPT", "KILL"}).str, kUnkillableError);
  ASSERT_EQ(running.wait_for(60s), std::future_status::ready);
  EXPECT_NE(running.get().str.find("Script killed: it ran longer than the script time limit"), std::string::npos);
  // Like any script error in Redis, what it wrote stays.
  EXPECT_EQ(engine_->Run({"GET", "k"}).str, "v");
}

TEST_F(KvScriptingTest, CloseStopsARunningScript) {
  auto running = Spawn("while true do end");
  auto deadline = std::chrono::steady_clock::now() + 30s;
  std::vector<Argv> ping{{"PING"}};
  BatchResult out;
  while (std::chrono::steady_clock::now() < deadline &&
         engine_->TryExecute(ping, false, false, &out, nullptr).route != Engine::Route::kWait) {
    std::this_thread::sleep_for(1ms);
  }
  engine_->Close();
  ASSERT_EQ(running.wait_for(60s), std::future_status::ready);
  EXPECT_NE(running.get().str.find("shutting down"), std::string::npos);
}

}  // namespace
}  // namespace stratus::kv
