#include "http/message.h"

#include <gtest/gtest.h>

namespace stratus::http {
namespace {

using Map = std::map<std::string, std::string>;

TEST(PercentDecode, DecodesEscapesInEitherCase) {
  EXPECT_EQ(PercentDecode("projects%2Fp%2flocations"), "projects/p/locations");
  EXPECT_EQ(PercentDecode("a%20b"), "a b");
  EXPECT_EQ(PercentDecode("%00"), std::string("\0", 1));
  EXPECT_EQ(PercentDecode("%e2%9C%93"), "\xe2\x9c\x93");
}

TEST(PercentDecode, LeavesInvalidOrTruncatedEscapes) {
  EXPECT_EQ(PercentDecode("%"), "%");
  EXPECT_EQ(PercentDecode("%4"), "%4");
  EXPECT_EQ(PercentDecode("a%"), "a%");
  EXPECT_EQ(PercentDecode("%zz"), "%zz");
  EXPECT_EQ(PercentDecode("%%41"), "%A");
  EXPECT_EQ(PercentDecode("%4g"), "%4g");
}

TEST(PercentDecode, PlusIsSpaceOnlyWhenAsked) {
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("a%2Bb", true), "a+b");
}

TEST(ParseQuery, SplitsAndDecodes) {
  EXPECT_EQ(ParseQuery("a=1&b=%20x"), (Map{{"a", "1"}, {"b", " x"}}));
  EXPECT_EQ(ParseQuery(""), Map{});
  EXPECT_EQ(ParseQuery("flag"), (Map{{"flag", ""}}));
  EXPECT_EQ(ParseQuery("&&a=1&"), (Map{{"a", "1"}}));
  EXPECT_EQ(ParseQuery("=v"), (Map{{"", "v"}}));
  EXPECT_EQ(ParseQuery("a=b=c"), (Map{{"a", "b=c"}}));
  EXPECT_EQ(ParseQuery("filter=state%3A+PAUSED"), (Map{{"filter", "state: PAUSED"}}));
}

TEST(ParseQuery, RepeatedKeyKeepsTheLastValue) {
  EXPECT_EQ(ParseQuery("a=1&a=2"), (Map{{"a", "2"}}));
}

TEST(ParseQuery, ReadsTheGoogleClientsAltParameter) {
  Map q = ParseQuery("responseView=2&$alt=json%3Benum-encoding=int");
  EXPECT_EQ(q["$alt"], "json;enum-encoding=int");
  EXPECT_EQ(q["responseView"], "2");
}

TEST(RequestContext, MissingParamsAndQueryAreEmpty) {
  Request req{Verb::get, "/x?a=1", 11};
  RequestContext ctx{req, "/x", {{"a", "1"}}, {{"project", "p"}}, ""};
  EXPECT_EQ(ctx.Param("project"), "p");
  EXPECT_EQ(ctx.Param("nope"), "");
  EXPECT_EQ(ctx.Query("a"), "1");
  EXPECT_EQ(ctx.Query("nope"), "");
}

TEST(MakeResponse, SetsStatusTypeLengthAndKeepAlive) {
  Request req{Verb::get, "/", 11};
  req.keep_alive(true);
  Response res = MakeResponse(req, beast::http::status::not_found, "{}", "application/json");
  EXPECT_EQ(res.result_int(), 404u);
  EXPECT_EQ(res.version(), 11u);
  EXPECT_EQ(res[beast::http::field::content_type], "application/json");
  EXPECT_EQ(res[beast::http::field::content_length], "2");
  EXPECT_EQ(res[beast::http::field::server], "stratus");
  EXPECT_TRUE(res.keep_alive());
  EXPECT_EQ(res.body(), "{}");

  Request close{Verb::get, "/", 10};
  Response res2 = MakeResponse(close, beast::http::status::ok, "", "");
  EXPECT_FALSE(res2.keep_alive());
  EXPECT_EQ(res2.count(beast::http::field::content_type), 0u);
}

}  // namespace
}  // namespace stratus::http
