// JSON.* on the embedded engine: every command's replies for JSONPath and legacy paths (the
// cases RedisJSON and Upstash document, with our own documents), RedisJSON's error texts,
// TYPE/OBJECT/MEMORY for a JSON key, and every write surviving a restart and a log rewrite.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "kv/engine.h"

namespace stratus::kv {
namespace {

constexpr Micros kStart = 1'700'000'000'000'000;

std::string S(const Reply& r) {
  return DebugString(r);
}

class KvJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stratus-kvjson-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Open();
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open(uint64_t rewrite_min_bytes = 64u * 1024 * 1024) {
    engine_.reset();
    engine_ = std::make_unique<Engine>(clock_);
    EngineOptions o;
    o.log_path = dir_ + "/appendonly.log";
    o.active_expiry = false;
    o.rewrite_min_bytes = rewrite_min_bytes;
    ASSERT_TRUE(engine_->Open(o).ok());
  }
  std::string Run(const Argv& argv) { return S(engine_->Run(argv)); }

  std::string dir_;
  FakeClock clock_{kStart};
  std::unique_ptr<Engine> engine_;
};

TEST_F(KvJsonTest, SetAndGetWithJsonPathAndLegacyPaths) {
  EXPECT_EQ(Run({"JSON.SET", "pet", "$", R"({"kind":"cat","age":4,"toys":["ball","mouse"],"vet":{"name":"Ng"}})"}),
            "+OK");
  EXPECT_EQ(Run({"JSON.GET", "pet"}), R"("{"kind":"cat","age":4,"toys":["ball","mouse"],"vet":{"name":"Ng"}}")");
  EXPECT_EQ(Run({"JSON.GET", "pet", "$.age"}), R"("[4]")");
  EXPECT_EQ(Run({"JSON.GET", "pet", ".age"}), R"("4")");
  EXPECT_EQ(Run({"JSON.GET", "pet", "toys[1]"}), R"(""mouse"")");
  EXPECT_EQ(Run({"JSON.GET", "pet", "$.nothing"}), R"("[]")");
  EXPECT_EQ(Run({"JSON.GET", "pet", ".nothing"}), "-ERR Path '$.nothing' does not exist");
  EXPECT_EQ(Run({"JSON.GET", "nokey", "$"}), "(nil)");
  // Several paths: an object keyed by path; arrays unless every path is legacy.
  EXPECT_EQ(Run({"JSON.GET", "pet", "$.age", "$.kind"}), R"("{"$.age":[4],"$.kind":["cat"]}")");
  EXPECT_EQ(Run({"JSON.GET", "pet", ".age", ".kind"}), R"("{".age":4,".kind":"cat"}")");
  EXPECT_EQ(Run({"JSON.GET", "pet", ".age", "$.kind"}), R"("{".age":[4],"$.kind":["cat"]}")");
  // Replace, add a member, NX and XX.
  EXPECT_EQ(Run({"JSON.SET", "pet", "$.age", "5"}), "+OK");
  EXPECT_EQ(Run({"JSON.SET", "pet", "$.vet.phone", R"("555")"}), "+OK");
  EXPECT_EQ(Run({"JSON.GET", "pet", "$.vet"}), R"("[{"name":"Ng","phone":"555"}]")");
  EXPECT_EQ(Run({"JSON.SET", "pet", "$.age", "9", "NX"}), "(nil)");
  EXPECT_EQ(Run({"JSON.SET", "pet", "$.weight", "9", "XX"}), "(nil)");
  EXPECT_EQ(Run({"JSON.SET", "pet", "$.weight", "3.5", "NX"}), "+OK");
  EXPECT_EQ(Run({"JSON.SET", "pet", "$.a.b.c", "1"}), "(nil)") << "only the last step may be new";
  EXPECT_EQ(Run({"JSON.SET", "fresh", "$", "1", "XX"}), "(nil)");
  EXPECT_EQ(Run({"JSON.SET", "fresh", "$.x", "1"}), "-ERR new objects must be created at the root");
  EXPECT_EQ(Run({"JSON.SET", "fresh", "$", "{bad"}), "-ERR expected value at line 1 column 2");
  EXPECT_EQ(Run({"JSON.SET", "fresh", "$", "1", "NX", "XX"}), "-ERR syntax error");
  EXPECT_EQ(Run({"JSON.SET", "fresh", "$[", "1"}), "-ERR JSONPath syntax error at offset 2: expected ']'");
  EXPECT_EQ(Run({"JSON.GET", "pet", "$.age"}), R"("[5]")");
  // Every match of a multi-path is written.
  Run({"JSON.SET", "multi", "$", R"({"p":{"v":1},"q":{"v":2}})"});
  EXPECT_EQ(Run({"JSON.SET", "multi", "$..v", "0"}), "+OK");
  EXPECT_EQ(Run({"JSON.GET", "multi"}), R"("{"p":{"v":0},"q":{"v":0}}")");
}

TEST_F(KvJsonTest, GetFormatsWithIndentNewlineAndSpace) {
  Run({"JSON.SET", "d", "$", R"({"a":[1,2],"b":{}})"});
  EXPECT_EQ(Run({"JSON.GET", "d", "INDENT", "  ", "NEWLINE", "\n", "SPACE", " "}),
            "\"{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}\"");
  EXPECT_EQ(Run({"JSON.GET", "d", "SPACE", " ", "$.a"}), R"("[[1,2]]")");
  EXPECT_EQ(Run({"JSON.GET", "d", "indent", "\t", "newline", "\n", "$.b"}), "\"[\n\t{}\n]\"");
}

TEST_F(KvJsonTest, WrongTypeAndTypeNames) {
  Run({"SET", "plain", "x"});
  EXPECT_EQ(Run({"JSON.GET", "plain"}), "-WRONGTYPE Operation against a key holding the wrong kind of value");
  EXPECT_EQ(Run({"JSON.SET", "plain", "$", "1"}), "-WRONGTYPE Operation against a key holding the wrong kind of value");
  Run({"JSON.SET", "d", "$", R"({"i":1,"f":1.5,"s":"x","b":true,"n":null,"o":{},"a":[]})"});
  EXPECT_EQ(Run({"TYPE", "d"}), "+ReJSON-RL");
  EXPECT_EQ(Run({"JSON.TYPE", "d"}), R"("object")");
  EXPECT_EQ(Run({"JSON.TYPE", "d", "$.*"}), R"(["integer", "number", "string", "boolean", "null", "object", "array"])");
  EXPECT_EQ(Run({"JSON.TYPE", "d", ".f"}), R"("number")");
  EXPECT_EQ(Run({"JSON.TYPE", "d", ".zz"}), "(nil)");
  EXPECT_EQ(Run({"JSON.TYPE", "nokey"}), "(nil)");
  EXPECT_EQ(Run({"OBJECT", "ENCODING", "d"}), R"("raw")");
  EXPECT_EQ(Run({"JSON.STRLEN", "d", ".i"}), "-WRONGTYPE wrong type of path value - expected string but found integer");
}

TEST_F(KvJsonTest, DelForgetAndClear) {
  Run({"JSON.SET", "d", "$", R"({"x":1,"in":{"x":2,"y":3},"arr":[1,2,3,4]})"});
  EXPECT_EQ(Run({"JSON.DEL", "d", "$..x"}), ":2");
  EXPECT_EQ(Run({"JSON.GET", "d"}), R"("{"in":{"y":3},"arr":[1,2,3,4]}")");
  EXPECT_EQ(Run({"JSON.FORGET", "d", "$.arr[1,3]"}), ":2") << "higher indices go first, so both go";
  EXPECT_EQ(Run({"JSON.GET", "d", "$.arr"}), R"("[[1,3]]")");
  EXPECT_EQ(Run({"JSON.DEL", "d", ".nothing"}), ":0");
  EXPECT_EQ(Run({"JSON.SET", "c", "$", R"({"o":{"a":1},"a":[1],"s":"keep","t":true,"i":42,"f":2.5})"}), "+OK");
  EXPECT_EQ(Run({"JSON.CLEAR", "c", "$.*"}), ":4");
  EXPECT_EQ(Run({"JSON.GET", "c"}), R"("{"o":{},"a":[],"s":"keep","t":true,"i":0,"f":0}")");
  EXPECT_EQ(Run({"JSON.CLEAR", "nokey"}), "-ERR could not perform this operation on a key that doesn't exist");
  EXPECT_EQ(Run({"JSON.DEL", "d"}), ":1");
  EXPECT_EQ(Run({"EXISTS", "d"}), ":0");
  EXPECT_EQ(Run({"JSON.DEL", "d"}), ":0");
}

TEST_F(KvJsonTest, StringsAndNumbers) {
  Run({"JSON.SET", "d", "$", R"({"a":"hi","n":{"a":"there"},"m":{"a":7}})"});
  EXPECT_EQ(Run({"JSON.STRLEN", "d", "$..a"}), "[:5, (nil), :2]");
  EXPECT_EQ(Run({"JSON.STRAPPEND", "d", "$..a", R"("!")"}), "[:6, (nil), :3]");
  EXPECT_EQ(Run({"JSON.STRAPPEND", "d", ".a", R"("?")"}), ":4");
  EXPECT_EQ(Run({"JSON.STRAPPEND", "d", ".a", "1"}),
            "-WRONGTYPE wrong type of path value - expected string but found integer");
  EXPECT_EQ(Run({"JSON.GET", "d", ".a"}), R"(""hi!?"")");
  EXPECT_EQ(Run({"JSON.STRLEN", "d", ".n.a"}), ":6");

  Run({"JSON.SET", "k", "$", R"({"i":1,"f":2.5,"s":"x","deep":[{"i":10}]})"});
  EXPECT_EQ(Run({"JSON.NUMINCRBY", "k", "$.i", "0.5"}), R"("[1.5]")");
  EXPECT_EQ(Run({"JSON.NUMINCRBY", "k", "$..i", "2"}), R"("[12,3.5]")");
  EXPECT_EQ(Run({"JSON.NUMMULTBY", "k", "$.deep[0].i", "3"}), R"("[36]")");
  EXPECT_EQ(Run({"JSON.NUMMULTBY", "k", "$.f", "2"}), R"("[5.0]")");
  EXPECT_EQ(Run({"JSON.NUMINCRBY", "k", "$.s", "1"}), R"("[null]")");
  EXPECT_EQ(Run({"JSON.NUMINCRBY", "k", ".f", "1"}), R"("6.0")");
  EXPECT_EQ(Run({"JSON.NUMINCRBY", "k", ".s", "1"}),
            "-WRONGTYPE wrong type of path value - expected number but found string");
  EXPECT_EQ(Run({"JSON.NUMINCRBY", "k", ".zz", "1"}), "-ERR Path '$.zz' does not exist");
  EXPECT_EQ(Run({"JSON.NUMINCRBY", "k", "$.i", "\"1\""}),
            "-WRONGTYPE wrong type of path value - expected number but found string");
  EXPECT_EQ(Run({"JSON.NUMMULTBY", "k", "$.f", "1e308"}), "-ERR result is not a number");
  Run({"JSON.SET", "big", "$", "9223372036854775807"});
  EXPECT_EQ(Run({"JSON.NUMINCRBY", "big", "$", "1"}), R"("[9.223372036854776e+18]")") << "overflow turns double";
  EXPECT_EQ(Run({"JSON.NUMINCRBY", "nokey", "$", "1"}),
            "-ERR could not perform this operation on a key that doesn't exist");
}

TEST_F(KvJsonTest, ToggleObjectsAndResp) {
  Run({"JSON.SET", "d", "$", R"({"on":true,"cfg":{"on":false,"mode":"x"},"list":[1]})"});
  EXPECT_EQ(Run({"JSON.TOGGLE", "d", "$..on"}), "[:1, :0]");
  EXPECT_EQ(Run({"JSON.TOGGLE", "d", ".on"}), R"("true")");
  EXPECT_EQ(Run({"JSON.TOGGLE", "d", "$.list"}), "[(nil)]");
  EXPECT_EQ(Run({"JSON.OBJKEYS", "d"}), R"(["on", "cfg", "list"])");
  EXPECT_EQ(Run({"JSON.OBJKEYS", "d", "$..*"}), R"([(nil), (nil), (nil), (nil), ["on", "mode"], (nil)])");
  EXPECT_EQ(Run({"JSON.OBJLEN", "d", "$.cfg"}), "[:2]");
  EXPECT_EQ(Run({"JSON.OBJLEN", "d", ".list"}),
            "-WRONGTYPE wrong type of path value - expected object but found array");
  EXPECT_EQ(Run({"JSON.OBJLEN", "nokey"}), "(nil)");
  Run({"JSON.SET", "r", "$", R"({"n":null,"t":true,"i":3,"f":0.25,"s":"str","a":[1,"x"]})"});
  EXPECT_EQ(Run({"JSON.RESP", "r"}),
            R"([+{, "n", (nil), "t", +true, "i", :3, "f", "0.25", "s", "str", "a", [+[, :1, "x"]])");
  EXPECT_EQ(Run({"JSON.RESP", "r", "$.a"}), R"([[+[, :1, "x"]])");
  EXPECT_EQ(Run({"JSON.RESP", "r", ".i"}), ":3");
}

TEST_F(KvJsonTest, Arrays) {
  Run({"JSON.SET", "d", "$", R"({"xs":[1,2],"in":{"xs":["a"]},"s":"no"})"});
  EXPECT_EQ(Run({"JSON.ARRAPPEND", "d", "$..xs", "3", R"("z")"}), "[:3, :4]");
  EXPECT_EQ(Run({"JSON.GET", "d", "$.xs"}), R"("[[1,2,3,"z"]]")");
  EXPECT_EQ(Run({"JSON.ARRAPPEND", "d", "$.s", "1"}), "[(nil)]");
  EXPECT_EQ(Run({"JSON.ARRAPPEND", "d", ".s", "1"}),
            "-WRONGTYPE wrong type of path value - expected array but found string");
  EXPECT_EQ(Run({"JSON.ARRLEN", "d", "$..xs"}), "[:3, :4]");
  EXPECT_EQ(Run({"JSON.ARRLEN", "d", ".xs"}), ":4");
  EXPECT_EQ(Run({"JSON.ARRINSERT", "d", "$.xs", "1", "10", "11"}), "[:6]");
  EXPECT_EQ(Run({"JSON.ARRINSERT", "d", "$.xs", "-1", "12"}), "[:7]");
  EXPECT_EQ(Run({"JSON.GET", "d", "$.xs"}), R"("[[1,10,11,2,3,12,"z"]]")");
  EXPECT_EQ(Run({"JSON.ARRINSERT", "d", "$.xs", "99", "0"}), "-ERR index out of bounds");
  EXPECT_EQ(Run({"JSON.ARRINDEX", "d", "$.xs", "3"}), "[:4]");
  EXPECT_EQ(Run({"JSON.ARRINDEX", "d", "$.xs", R"("z")"}), "[:6]");
  EXPECT_EQ(Run({"JSON.ARRINDEX", "d", "$.xs", "10", "2"}), "[:-1]");
  EXPECT_EQ(Run({"JSON.ARRINDEX", "d", "$.xs", "3", "-3"}), "[:4]");
  EXPECT_EQ(Run({"JSON.ARRINDEX", "d", "$.xs", "3", "0", "4"}), "[:-1]") << "stop is exclusive";
  EXPECT_EQ(Run({"JSON.ARRINDEX", "d", "$.xs", R"("3")"}), "[:-1]") << "a string is not the number";
  EXPECT_EQ(Run({"JSON.ARRPOP", "d", "$.xs"}), R"([""z""])");
  EXPECT_EQ(Run({"JSON.ARRPOP", "d", "$.xs", "0"}), R"(["1"])");
  EXPECT_EQ(Run({"JSON.ARRPOP", "d", ".xs", "99"}), R"("12")") << "the index is clamped";
  EXPECT_EQ(Run({"JSON.GET", "d", "$.xs"}), R"("[[10,11,2,3]]")");
  EXPECT_EQ(Run({"JSON.ARRTRIM", "d", "$.xs", "1", "2"}), "[:2]");
  EXPECT_EQ(Run({"JSON.GET", "d", "$.xs"}), R"("[[11,2]]")");
  EXPECT_EQ(Run({"JSON.ARRTRIM", "d", "$.xs", "0", "-1"}), "[:2]");
  EXPECT_EQ(Run({"JSON.ARRTRIM", "d", "$.xs", "5", "9"}), "[:0]");
  EXPECT_EQ(Run({"JSON.ARRPOP", "d", "$.xs"}), "[(nil)]");
  EXPECT_EQ(Run({"JSON.ARRAPPEND", "nokey", "$", "1"}),
            "-ERR could not perform this operation on a key that doesn't exist");
  // A recursive match holding both an array and arrays inside it: inner ones change first.
  Run({"JSON.SET", "n", "$", "[[1,[2,3]]]"});
  EXPECT_EQ(Run({"JSON.ARRPOP", "n", "$..*"}), R"([(nil), (nil), (nil), "3", "[2]"])");
  EXPECT_EQ(Run({"JSON.GET", "n"}), R"("[[1]]")");
}

TEST_F(KvJsonTest, MergeFollowsRfc7396) {
  Run({"JSON.SET", "d", "$", R"({"keep":1,"drop":2,"sub":{"x":1},"list":[1,2,3]})"});
  EXPECT_EQ(Run({"JSON.MERGE", "d", "$", R"({"drop":null,"sub":{"y":2},"list":[9],"new":true})"}), "+OK");
  EXPECT_EQ(Run({"JSON.GET", "d"}), R"("{"keep":1,"sub":{"x":1,"y":2},"list":[9],"new":true}")");
  EXPECT_EQ(Run({"JSON.MERGE", "d", "$.sub.x", "5"}), "+OK");
  EXPECT_EQ(Run({"JSON.MERGE", "d", "$.added", R"({"a":null,"b":1})"}), "+OK");
  EXPECT_EQ(Run({"JSON.MERGE", "d", "$.keep", "null"}), "+OK");
  EXPECT_EQ(Run({"JSON.GET", "d"}), R"("{"sub":{"x":5,"y":2},"list":[9],"new":true,"added":{"b":1}}")");
  EXPECT_EQ(Run({"JSON.MERGE", "fresh", "$", R"({"a":1,"b":null})"}), "+OK");
  EXPECT_EQ(Run({"JSON.GET", "fresh"}), R"("{"a":1}")");
  EXPECT_EQ(Run({"JSON.MERGE", "none", "$.a", "1"}), "-ERR new objects must be created at the root");
}

TEST_F(KvJsonTest, MGetAndMSet) {
  EXPECT_EQ(Run({"JSON.MSET", "a", "$", R"({"v":1,"in":{"v":2}})", "b", "$", R"({"v":3})"}), "+OK");
  EXPECT_EQ(Run({"JSON.MSET", "a", "$.w", "7", "b", "$.v", "4"}), "+OK");
  Run({"SET", "plain", "x"});
  EXPECT_EQ(Run({"JSON.MGET", "a", "b", "nokey", "plain", "$..v"}), R"(["[2,1]", "[4]", (nil), (nil)])");
  EXPECT_EQ(Run({"JSON.MGET", "a", "b", ".w"}), R"(["7", (nil)])");
  EXPECT_EQ(Run({"JSON.MSET", "a", "$", "1", "c"}), "-ERR wrong number of arguments for 'json.mset' command");
  EXPECT_EQ(Run({"JSON.MSET", "a", "$.v", "5", "c", "$.x", "1"}), "-ERR new objects must be created at the root");
  EXPECT_EQ(Run({"JSON.GET", "a", "$.v"}), R"("[1]")") << "nothing written when one triple is refused";
}

TEST_F(KvJsonTest, NestingIsBounded) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  EXPECT_EQ(Run({"JSON.SET", "d", "$", deep}), "-ERR recursion limit exceeded");
  std::string ok(100, '[');
  ok += std::string(100, ']');
  EXPECT_EQ(Run({"JSON.SET", "d", "$", ok}), "+OK");
  std::string path = "$";
  for (int i = 0; i < 99; ++i) path += "[0]";
  EXPECT_EQ(Run({"JSON.SET", "d", path, ok}), "-ERR recursion limit exceeded");
  EXPECT_EQ(Run({"JSON.ARRAPPEND", "d", path, ok}), "-ERR recursion limit exceeded");
}

TEST_F(KvJsonTest, MemoryUsageOfAKilobyteDocument) {
  std::string doc = "{";
  for (int i = 0; i < 24; ++i) {
    if (i) doc += ",";
    doc += "\"field" + std::to_string(i) + "\":{\"name\":\"value number " + std::to_string(i) +
           "\",\"n\":" + std::to_string(i * 7) + "}";
  }
  doc += "}";
  ASSERT_GT(doc.size(), 900u);
  ASSERT_LT(doc.size(), 1200u);
  Run({"JSON.SET", "kb", "$", doc});
  int64_t bytes = engine_->Run({"MEMORY", "USAGE", "kb"}).integer;
  EXPECT_GT(bytes, static_cast<int64_t>(doc.size()));
  EXPECT_LT(bytes, static_cast<int64_t>(doc.size()) * 6);
  std::printf("MEMORY USAGE of a %zu-byte JSON document: %lld\n", doc.size(), static_cast<long long>(bytes));
}

// A multi-match write that fails part-way keeps what it changed before the failure, in memory
// and in the log alike.
TEST_F(KvJsonTest, APartlyAppliedWriteReplaysToTheSameState) {
  Run({"JSON.SET", "d", "$", R"({"in":{"f":2},"f":1e308})"});
  EXPECT_EQ(Run({"JSON.NUMMULTBY", "d", "$..f", "10"}), "-ERR result is not a number");
  const std::string want = R"("{"in":{"f":20},"f":1e+308}")";
  EXPECT_EQ(Run({"JSON.GET", "d"}), want) << "the deeper match changed first";
  Open();
  EXPECT_EQ(Run({"JSON.GET", "d"}), want);
}

TEST_F(KvJsonTest, EveryWriteSurvivesRestartAndRewrite) {
  Run({"JSON.SET", "d", "$", R"({"s":"a","n":1,"f":0.5,"b":false,"xs":[3,1,2],"o":{"k":"v"},"gone":1})"});
  Run({"JSON.SET", "d", "$.extra", R"({"deep":[1]})"});
  Run({"JSON.STRAPPEND", "d", "$.s", R"("bc")"});
  Run({"JSON.NUMINCRBY", "d", "$.n", "41"});
  Run({"JSON.NUMMULTBY", "d", "$.f", "3"});
  Run({"JSON.TOGGLE", "d", "$.b"});
  Run({"JSON.ARRAPPEND", "d", "$.xs", "4"});
  Run({"JSON.ARRINSERT", "d", "$.xs", "0", "0"});
  Run({"JSON.ARRPOP", "d", "$.xs", "1"});
  Run({"JSON.ARRTRIM", "d", "$.xs", "0", "2"});
  Run({"JSON.DEL", "d", "$.gone"});
  Run({"JSON.MERGE", "d", "$.o", R"({"k":null,"m":2})"});
  Run({"JSON.CLEAR", "d", "$.extra.deep"});
  Run({"JSON.MSET", "e", "$", R"({"x":[1,2]})", "d", "$.mset", "true"});
  Run({"JSON.SET", "tmp", "$", "1"});
  Run({"JSON.FORGET", "tmp"});
  Run({"EXPIRE", "e", "1000"});
  const std::string want_d = Run({"JSON.GET", "d"});
  const std::string want_e = Run({"JSON.GET", "e"});
  EXPECT_EQ(want_d,
            R"("{"s":"abc","n":42,"f":1.5,"b":true,"xs":[0,1,2],"o":{"m":2},"extra":{"deep":[]},"mset":true}")");

  Open();
  EXPECT_EQ(Run({"JSON.GET", "d"}), want_d);
  EXPECT_EQ(Run({"JSON.GET", "e"}), want_e);
  EXPECT_EQ(Run({"EXISTS", "tmp"}), ":0");
  EXPECT_EQ(Run({"TTL", "e"}), ":1000");

  // A log past the rewrite threshold is rewritten to JSON.SET records of the documents.
  Open(/*rewrite_min_bytes=*/512);
  for (int i = 0; i < 200; ++i) Run({"JSON.NUMINCRBY", "e", "$.x[0]", "1"});
  Open();
  EXPECT_LT(std::filesystem::file_size(dir_ + "/appendonly.log"), 2048u);
  EXPECT_EQ(Run({"JSON.GET", "d"}), want_d);
  EXPECT_EQ(Run({"JSON.GET", "e"}), R"("{"x":[201,2]}")");
  EXPECT_EQ(Run({"TTL", "e"}), ":1000");
}

}  // namespace
}  // namespace stratus::kv
