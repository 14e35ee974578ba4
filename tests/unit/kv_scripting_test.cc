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

// Every pattern feature of the Lua 5.1 manual (§5.4.1) and the four functions' documented
// behaviour, with the results Lua 5.1 gives.
TEST_F(KvScriptingTest, PatternFeaturesMatchLua51) {
  struct Case {
    const char* script;
    const char* want;
  };
  const Case cases[] = {
      // Classes, their complements, and sets built from them.
      {"return (string.gsub('aZ09 !~_', '[^%a]', ''))", "\"aZ\""},
      {"return (string.gsub('aZ09 !~_', '%A', ''))", "\"aZ\""},
      {"return (string.gsub('aZ09 !~_', '%D', ''))", "\"09\""},
      {"return (string.gsub('aZ09 !~_', '%L', ''))", "\"a\""},
      {"return (string.gsub('aZ09 !~_', '%U', ''))", "\"Z\""},
      {"return (string.gsub('aZ09 !~_', '%W', ''))", "\"aZ09\""},
      {"return (string.gsub('aZ09 !~_', '%X', ''))", "\"a09\""},
      {"return (string.gsub('aZ09 !~_', '%P', ''))", "\"!~_\""},
      {"return (string.gsub('aZ09 !~_', '%S', ''))", "\" \""},
      {"return (string.gsub('aZ09 !~_', '%C', ''))", "\"\""},
      {"return select(2, string.gsub('a \\t\\n\\1\\127', '%s', ''))", ":3"},
      {"return select(2, string.gsub('a \\t\\n\\1\\127', '%c', ''))", ":4"},
      {"return {string.find('a\\0b', '%z')}", "[:2, :2]"},
      {"return select(2, string.gsub('a\\0b\\0', '%Z', ''))", ":2"},
      {"return (string.gsub('\\200\\255a', '%a', ''))", "\"\xc8\xff\""},  // bytes over 127 are in no class
      // %<punctuation> is the byte itself.
      {"return {string.find('a+b', '%+')}", "[:2, :2]"},
      {"return string.match('a.b', '%.')", "\".\""},
      {"return {string.gsub('100%', '%%', ' percent')}", "[\"100 percent\", :1]"},
      // Sets: ranges, classes, ^, ']' first, '-' at the edges.
      {"return string.match('  _id9 x', '[%a_][%w_]*')", "\"_id9\""},
      {"return string.match('zz1fA9g', '[0-9a-fA-F]+')", "\"1fA9\""},
      {"return string.match('a]b', '[]]')", "\"]\""},
      {"return string.match(']]abc]', '[^]]+')", "\"abc\""},
      {"return string.match('a]', '[%]]')", "\"]\""},
      {"return string.match('x-y', '[a-]')", "\"-\""},
      {"return string.match('d-e', '[a-c-e]+')", "\"-e\""},
      {"return string.match('12 ab 3', '[^%d%s]+')", "\"ab\""},
      {"return #string.match('a\\nb', '.+')", ":3"},
      // Repetitions.
      {"return string.match('aaab', 'a*')", "\"aaa\""},
      {"return {string.find('baaa', 'a*')}", "[:1, :0]"},
      {"return {string.find('baaa', 'a+')}", "[:2, :4]"},
      {"return string.match('<a><b>', '<(.-)>')", "\"a\""},
      {"return string.match('<a><b>', '<(.*)>')", "\"a><b\""},
      {"return {string.find('colour', 'colou?r')}", "[:1, :6]"},
      {"return string.match('color colour', 'colou?r')", "\"color\""},
      {"return string.match('aa*', 'a**')", "\"aa*\""},
      {"return {string.find('a*b', '*')}", "[:2, :2]"},  // a quantifier that starts an item is a byte
      {"return {string.find('a-b', '-')}", "[:2, :2]"},
      {"return string.match('a*', '(a)*')", "\"a\""},  // a quantifier after ')' too
      {"return string.match('aa', '(a)*')", "(nil)"},
      {"return {string.find('a%b', '%%b')}", "[:2, :3]"},
      // Anchors: '^' only first, '$' only last.
      {"return string.match('a^b', 'a^b')", "\"a^b\""},
      {"return string.find('a^b', '^b')", "(nil)"},
      {"return string.match('a$b', 'a$b')", "\"a$b\""},
      {"return string.match('ba', 'b$')", "(nil)"},
      {"return {string.find('abc', '$')}", "[:4, :3]"},
      {"return {string.find('xab', '^a', 2)}", "[:2, :2]"},
      {"return string.find('xab', '^a')", "(nil)"},
      {"return string.match('aaa', '^(a-)$')", "\"aaa\""},
      {"return {string.gsub('aaa', '^a', 'b')}", "[\"baa\", :1]"},
      {"return {string.gsub('aaa', '^', '>')}", "[\">aaa\", :1]"},
      // Captures and position captures.
      {"return {string.match('abcd', '((a)(b)c)d')}", "[\"abc\", \"a\", \"b\"]"},
      {"return {string.find('hello', '()ll()')}", "[:3, :4, :3, :5]"},
      {"return string.match('abc', '()')", ":1"},
      {"return select('#', string.find('a', string.rep('()', 32)))", ":34"},
      // Back-references.
      {"return {string.match('xyyx', '(.)(.)%2%1')}", "[\"x\", \"y\"]"},
      {"return {string.find('abab', '(ab)%1')}", "[:1, :4, \"ab\"]"},
      {"return string.match('aa', '()a%1')", "(nil)"},  // a position has no text to repeat
      // %b and %f.
      {"return string.match('x = {a{b}c} y', '%b{}')", "\"{a{b}c}\""},
      {"return string.match('((x)', '%b()')", "\"(x)\""},
      {"return string.match('(x', '%b()')", "(nil)"},
      {"return string.match('a|b|c|', '%b||')", "\"|b|\""},
      {"return {string.gsub('THE (quick) fox', '%f[%a]%a+', 'W')}", "[\"W (W) W\", :3]"},
      {"return string.match('hello world', '%a+%f[%A]')", "\"hello\""},
      {"return {string.find('abc', '%f[%z]')}", "[:4, :3]"},
      {"return {string.gsub('aXbY', '%f[%u]', '|')}", "[\"a|Xb|Y\", :2]"},
      // find's init and plain arguments.
      {"return {string.find('abc', 'c', -1)}", "[:3, :3]"},
      {"return {string.find('abc', 'a', -10)}", "[:1, :1]"},
      {"return {string.find('abc', 'b', 0)}", "[:2, :2]"},
      {"return {string.find('abc', '', 10)}", "[:4, :3]"},
      {"return string.match('abc', '.', 10)", "(nil)"},
      {"return {string.match('hello', '(l)(.)', 4)}", "[\"l\", \"o\"]"},
      {"return {string.find('a+b', '+', 1, true)}", "[:2, :2]"},
      {"return {string.find('a.b', '.', 1, false)}", "[:1, :1]"},
      {"return {string.find('a.b', '', 1, true)}", "[:1, :0]"},
      // gsub replacements: %0, %1-%9, %%, %<other byte>, numbers, tables, functions, limits.
      {"return {string.gsub('abc', '(b)', '[%1%0%%]')}", "[\"a[bb%]c\", :1]"},
      {"return {string.gsub('abc', 'b', '%x')}", "[\"axc\", :1]"},
      {"return {string.gsub('abc', 'b', '%1')}", "[\"abc\", :1]"},  // no captures: %1 is the match
      {"return {string.gsub('abc', '()', '%1')}", "[\"1a2b3c4\", :4]"},
      {"return {string.gsub('aaa', 'a', 'b', 0)}", "[\"aaa\", :0]"},
      {"return {string.gsub('aaa', 'a', 'b', -1)}", "[\"aaa\", :0]"},
      {"return {string.gsub('abc', 'b', 5)}", "[\"a5c\", :1]"},
      {"return {string.gsub('a b', '%a', {a = 'x'})}", "[\"x b\", :2]"},
      {"return {string.gsub('abc', '%w', function(c) if c == 'b' then return false end return c:upper() end)}",
       "[\"AbC\", :3]"},
      {"return {string.gsub('k=v', '(%w)=(%w)', function(a, b) return b .. '=' .. a end)}", "[\"v=k\", :1]"},
      {"return {string.gsub('ab', '()', function(p) return p end)}", "[\"1a2b3\", :3]"},
      {"return {string.gsub('', '', 'x')}", "[\"x\", :1]"},
      {"return {string.gsub('abc', '%w*', '-')}", "[\"--\", :2]"},
      {"return {string.gsub('abc', 'x*', '-')}", "[\"-a-b-c-\", :4]"},
      {"local r = string.gsub('abc', '(b)', '%1%') return {#r, string.byte(r, 3)}",
       "[:4, :0]"},  // a final '%': NUL, as Lua 5.1
      // gmatch: empty matches step on by one; '^' is an ordinary byte; captures.
      {"local t = {} for w in string.gmatch('abc', 'b*') do t[#t+1] = '<' .. w .. '>' end return table.concat(t)",
       "\"<><b><><>\""},
      {"local n = 0 for w in string.gmatch('^a^a', '^a') do n = n + 1 end return n", ":2"},
      {"local n = 0 for w in string.gmatch('aaa', '^a') do n = n + 1 end return n", ":0"},
      {"local t = {} for p, c in string.gmatch('ab', '()(.)') do t[#t+1] = p .. c end return table.concat(t, ',')",
       "\"1a,2b\""},
      {"local t = {} for k, v in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do t[#t+1] = v .. k end "
       "return table.concat(t)",
       "\"1a2b\""},
      // A mistake after the point where the match fails is never reached, as in Lua.
      {"return string.find('b', 'a%')", "(nil)"},
      {"return string.find('b', 'a[')", "(nil)"},
      {"return {string.gsub('abc', '(a', 'x')}", "[\"xbc\", :1]"},  // no capture is read
  };
  for (const auto& c : cases) {
    EXPECT_EQ(DebugString(Eval(c.script)), c.want) << c.script;
  }
}

TEST_F(KvScriptingTest, PatternErrorsMatchLua51) {
  const std::pair<const char*, const char*> cases[] = {
      {"return string.find('a', '%')", "malformed pattern (ends with '%')"},
      {"return string.find('a', 'a%')", "malformed pattern (ends with '%')"},
      {"return string.find('a', '[a')", "malformed pattern (missing ']')"},
      {"return string.find('a', '[]')", "malformed pattern (missing ']')"},
      {"return string.find('a', '[^]')", "malformed pattern (missing ']')"},
      {"return string.find('a', '[%]')", "malformed pattern (missing ']')"},
      {"return string.find('a', '[a%')", "malformed pattern (missing ']')"},
      {"return string.find('a', '%b')", "malformed pattern (missing arguments to '%b')"},
      {"return string.find('a', '%bx')", "malformed pattern (missing arguments to '%b')"},
      {"return string.find('a', '%f')", "missing '[' after '%f' in pattern"},
      {"return string.find('a', '%fa')", "missing '[' after '%f' in pattern"},
      {"return string.find('a', '%f[a')", "malformed pattern (missing ']')"},
      {"return string.find('a', '(a')", "unfinished capture"},
      {"return string.match('a', 'a)')", "invalid pattern capture"},
      {"return string.gsub('a', 'a', '%2')", "invalid capture index"},
      {"return string.find('aa', '(a)%2')", "invalid capture index"},
      {"return string.find('a', '%0')", "invalid capture index"},
      {"return string.find('aa', '(a%1)')", "invalid capture index"},
      {"return string.find('a', string.rep('()', 33))", "too many captures"},
      {"return string.gsub('a', 'a', true)", "bad argument #3 to 'gsub' (string/function/table expected)"},
      {"return string.gsub('a', 'a', function() return {} end)", "invalid replacement value (a table)"},
      {"return string.gsub('a', '(a', function(c) return c end)", "unfinished capture"},
      {"for w in string.gmatch('a', '%') do end", "malformed pattern (ends with '%')"},
      {"return string.find(string.rep('a', 500), string.rep('a?', 500))", "pattern too complex"},
      {"return string.find(string.rep('a', 300), string.rep('a*', 300))", "pattern too complex"},
  };
  for (const auto& [script, want] : cases) {
    // Redis 7.0's form: "ERR user_script:1: <message> script: <sha>, on @user_script."
    std::string e = EvalError(script);
    size_t at = e.find("user_script:1: ");
    ASSERT_NE(at, std::string::npos) << script << ": " << e;
    EXPECT_EQ(e.substr(at, e.find(" script: ") - at), std::string("user_script:1: ") + want) << script;
  }
  // Just under the nesting limit is fine.
  EXPECT_EQ(DebugString(Eval("return {string.find(string.rep('a', 150), string.rep('a?', 150))}")), "[:1, :150]");
}

// Repetitions walk the subject in a loop: a 1 MiB subject does not grow the C stack.
TEST_F(KvScriptingTest, PatternsOnLongSubjects) {
  const char* prologue = "local s = string.rep('a', 1048576) .. 'b' ";
  const std::pair<const char*, const char*> cases[] = {
      {"return #string.match(s, '.*')", ":1048577"},
      {"return #string.match(s, '^(a-)b$')", ":1048576"},
      {"return {string.find(s, 'a+b$')}", "[:1, :1048577]"},
      {"return #string.match(s, '[^b]*')", ":1048576"},
      {"return select(2, string.gsub(s, 'a', ''))", ":1048576"},
      {"return #string.match(s, '%f[%a]%a*')", ":1048577"},
      {"return #string.match('(' .. s .. ')', '%b()')", ":1048579"},
      {"return #string.match(s .. s, '(.+)%1')", ":1048577"},
  };
  for (const auto& [script, want] : cases) {
    EXPECT_EQ(DebugString(Eval(std::string(prologue) + script)), want) << script;
  }
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
