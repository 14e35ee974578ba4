// The JSONPath parser and evaluator behind JSON.*: what each form selects, legacy paths, and
// clear errors (never a crash) for malformed paths.
#include <gtest/gtest.h>

#include "kv/json_path.h"

namespace stratus::kv::jsonpath {
namespace {

// The values `path` selects in `doc`, as one compact JSON array.
std::string Sel(const std::string& path, const std::string& doc) {
  auto p = Parse(path);
  if (!p.ok()) return "error: " + p.status().message();
  JsonDoc root = JsonDoc::parse(doc);
  JsonDoc out = JsonDoc::array();
  for (const Location& l : Find(*p, root)) out.push_back(*Resolve(root, l));
  return JsonDump(out);
}

const char* kShop = R"({"name":"lamp","tags":["desk","led","usb"],"dims":{"w":12,"h":30},
  "items":[{"sku":"a1","qty":3,"price":9.5},{"sku":"b2","qty":0,"price":20},{"sku":"c3","qty":7,"price":4.25,"note":"x"}]})";

TEST(JsonPathTest, MembersIndicesAndWildcards) {
  EXPECT_EQ(Sel("$", R"({"a":1})"), R"([{"a":1}])");
  EXPECT_EQ(Sel("$.name", kShop), R"(["lamp"])");
  EXPECT_EQ(Sel("$['name']", kShop), R"(["lamp"])");
  EXPECT_EQ(Sel(R"($["dims"]["h"])", kShop), "[30]");
  EXPECT_EQ(Sel("$.tags[0]", kShop), R"(["desk"])");
  EXPECT_EQ(Sel("$.tags[-1]", kShop), R"(["usb"])");
  EXPECT_EQ(Sel("$.tags[5]", kShop), "[]");
  EXPECT_EQ(Sel("$.tags[*]", kShop), R"(["desk","led","usb"])");
  EXPECT_EQ(Sel("$.dims.*", kShop), "[12,30]");
  EXPECT_EQ(Sel("$.items[*].sku", kShop), R"(["a1","b2","c3"])");
  EXPECT_EQ(Sel("$.missing.deeper", kShop), "[]");
  EXPECT_EQ(Sel("$.name.x", kShop), "[]") << "a member of a string is nothing";
}

TEST(JsonPathTest, SlicesAndUnions) {
  const char* arr = "[0,1,2,3,4,5]";
  EXPECT_EQ(Sel("$[1:3]", arr), "[1,2]");
  EXPECT_EQ(Sel("$[:2]", arr), "[0,1]");
  EXPECT_EQ(Sel("$[4:]", arr), "[4,5]");
  EXPECT_EQ(Sel("$[-2:]", arr), "[4,5]");
  EXPECT_EQ(Sel("$[::2]", arr), "[0,2,4]");
  EXPECT_EQ(Sel("$[::-1]", arr), "[5,4,3,2,1,0]");
  EXPECT_EQ(Sel("$[0,2,-1]", arr), "[0,2,5]");
  EXPECT_EQ(Sel("$['name','dims']", kShop), R"(["lamp",{"w":12,"h":30}])");
  EXPECT_EQ(Sel("$[ 0 , 1 ]", arr), "[0,1]");
}

TEST(JsonPathTest, RecursiveDescentListsDeeperMatchesFirst) {
  const char* doc = R"({"k":1,"inner":{"k":2,"more":{"k":3}},"list":[{"k":4}]})";
  EXPECT_EQ(Sel("$..k", doc), "[3,2,4,1]");
  EXPECT_EQ(Sel("$..more.k", doc), "[3]");
  EXPECT_EQ(Sel("$..[0]", R"({"a":[[7,8],9]})"), "[7,[7,8]]");
  EXPECT_EQ(Sel("$..*", R"({"a":{"b":1}})"), R"([1,{"b":1}])");
}

TEST(JsonPathTest, Filters) {
  EXPECT_EQ(Sel("$.items[?(@.qty > 1)].sku", kShop), R"(["a1","c3"])");
  EXPECT_EQ(Sel("$.items[?(@.qty > 1 && @.price < 5)].sku", kShop), R"(["c3"])");
  EXPECT_EQ(Sel("$.items[?(@.qty == 0 || @.sku == 'a1')].sku", kShop), R"(["a1","b2"])");
  EXPECT_EQ(Sel(R"($.items[?(@.sku != "b2")].qty)", kShop), "[3,7]");
  EXPECT_EQ(Sel("$.items[?(@.note)].sku", kShop), R"(["c3"])");
  EXPECT_EQ(Sel("$.items[?(!(@.qty >= 3))].sku", kShop), R"(["b2"])");
  EXPECT_EQ(Sel("$.items[?(@.price <= 9.5)].sku", kShop), R"(["a1","c3"])");
  EXPECT_EQ(Sel("$.items[?(@.sku =~ '^[ab]')].sku", kShop), R"(["a1","b2"])");
  EXPECT_EQ(Sel("$.items[?(@.qty > $.dims.w)].sku", kShop), "[]");
  EXPECT_EQ(Sel("$.items[?(@.qty < $.dims.w)].sku", kShop), R"(["a1","b2","c3"])");
  EXPECT_EQ(Sel("$.tags[?(@ == 'led')]", kShop), R"(["led"])");
  EXPECT_EQ(Sel("$..[?(@.qty == 7)].sku", kShop), R"(["c3"])");
  EXPECT_EQ(Sel("$.items[?@.qty>2].sku", kShop), R"(["a1","c3"])") << "RFC 9535 form without parentheses";
  EXPECT_EQ(Sel("$[?(@ > 1)]", "[1,2,\"3\",true]"), "[2]") << "a string never orders against a number";
}

TEST(JsonPathTest, LegacyPaths) {
  auto root = Parse(".");
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->legacy);
  EXPECT_TRUE(root->IsRoot());
  EXPECT_EQ(Sel(".dims.w", kShop), "[12]");
  EXPECT_EQ(Sel("dims.w", kShop), "[12]");
  EXPECT_EQ(Sel("tags[1]", kShop), R"(["led"])");
  EXPECT_EQ(Sel("[\"name\"]", kShop), R"(["lamp"])");
  auto p = Parse("a.b");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->text, "$.a.b");
  EXPECT_TRUE(p->IsStatic());
  EXPECT_FALSE(Parse("$..a")->IsStatic());
  EXPECT_FALSE(Parse("$").value().legacy);
}

TEST(JsonPathTest, MalformedPathsAreRefusedWithTheirOffset) {
  for (const char* bad : {"$.", "$[", "$[1", "$['a", "$[?(@.a >)]", "$[?(@.a == 1]", "$x", "$.a[::0]", "$[?(1)]", "$..",
                          "$[a]", "$.a)", "$[?(@.a == 1 &&)]"}) {
    auto p = Parse(bad);
    EXPECT_FALSE(p.ok()) << bad;
  }
  EXPECT_EQ(Parse("$[1").status().message(), "JSONPath syntax error at offset 3: expected ',' or ']'");
  std::string deep = "$";
  for (int i = 0; i < 200; ++i) deep += "[?(@";
  EXPECT_FALSE(Parse(deep).ok()) << "nesting is bounded";
}

}  // namespace
}  // namespace stratus::kv::jsonpath
