#include "http/router.h"

#include <gtest/gtest.h>

namespace stratus::http {
namespace {

using Params = std::map<std::string, std::string>;

Handler Noop() {
  return [](RequestContext& ctx) -> asio::awaitable<Response> {
    co_return MakeResponse(ctx.request, beast::http::status::ok, "", "");
  };
}

Route Row(Verb verb, std::string path, std::string name) {
  return Route{verb, std::move(path), Scope::kApi, std::move(name), Noop()};
}

constexpr char kQueue[] = "/v2/projects/{project}/locations/{location}/queues/{queue}";

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string q = kQueue;
    ASSERT_TRUE(router_.Add(Row(Verb::get, "/v2/projects/{project}/locations", "locations.list")).ok());
    ASSERT_TRUE(router_.Add(Row(Verb::get, q, "queues.get")).ok());
    ASSERT_TRUE(router_.Add(Row(Verb::patch, q, "queues.patch")).ok());
    ASSERT_TRUE(router_.Add(Row(Verb::post, q + ":pause", "queues.pause")).ok());
    ASSERT_TRUE(router_.Add(Row(Verb::post, q + ":resume", "queues.resume")).ok());
    ASSERT_TRUE(router_.Add(Row(Verb::get, q + "/tasks/{task}", "tasks.get")).ok());
    ASSERT_TRUE(router_.Add(Row(Verb::post, q + "/tasks/{task}:run", "tasks.run")).ok());
    ASSERT_TRUE(router_.Add(Row(Verb::get, "/healthz", "health")).ok());
  }

  // The route name, "" when nothing matched.
  std::string Name(Verb verb, std::string_view path, Params* params = nullptr) {
    Params p;
    auto m = router_.Find(verb, path, params ? params : &p);
    return m.route ? m.route->name : "";
  }

  Router router_;
};

TEST_F(RouterTest, MatchesVariablesAndDecodesThem) {
  Params p;
  EXPECT_EQ(Name(Verb::get, "/v2/projects/my-proj/locations/us-central1/queues/q%2D1", &p), "queues.get");
  EXPECT_EQ(p, (Params{{"project", "my-proj"}, {"location", "us-central1"}, {"queue", "q-1"}}));
  EXPECT_EQ(Name(Verb::get, "/v2/projects/p/locations/l/queues/q/tasks/t1", &p), "tasks.get");
  EXPECT_EQ(p["task"], "t1");
  EXPECT_EQ(Name(Verb::get, "/healthz"), "health");
}

TEST_F(RouterTest, ProjectIdsMayContainColons) {
  Params p;
  EXPECT_EQ(Name(Verb::get, "/v2/projects/example.com:proj/locations", &p), "locations.list");
  EXPECT_EQ(p["project"], "example.com:proj");
  EXPECT_EQ(Name(Verb::post, "/v2/projects/example.com:proj/locations/l/queues/q:pause", &p), "queues.pause");
  EXPECT_EQ(p["project"], "example.com:proj");
}

TEST_F(RouterTest, CustomMethodsSelectTheRoute) {
  Params p;
  EXPECT_EQ(Name(Verb::post, "/v2/projects/p/locations/l/queues/q:pause", &p), "queues.pause");
  EXPECT_EQ(p["queue"], "q");
  EXPECT_EQ(Name(Verb::post, "/v2/projects/p/locations/l/queues/q:resume"), "queues.resume");
  EXPECT_EQ(Name(Verb::post, "/v2/projects/p/locations/l/queues/q/tasks/t:run", &p), "tasks.run");
  EXPECT_EQ(p["task"], "t");
  // An unknown custom method, or one on a route without it, matches nothing.
  EXPECT_EQ(Name(Verb::post, "/v2/projects/p/locations/l/queues/q:explode"), "");
  EXPECT_EQ(Name(Verb::get, "/v2/projects/p/locations/l/queues/q:pause"), "");
  EXPECT_EQ(Name(Verb::post, "/v2/projects/p/locations/l/queues/:pause"), "");
  // GET on a custom method that exists for POST is a 405, not a match of queues.get.
  EXPECT_TRUE(router_.Find(Verb::get, "/v2/projects/p/locations/l/queues/q:pause", &p).path_matched);
  EXPECT_FALSE(router_.Find(Verb::get, "/v2/projects/p/locations/l/queues/q:explode", &p).path_matched);
}

TEST_F(RouterTest, WrongVerbOnAKnownPathIsA405) {
  Params p;
  auto m = router_.Find(Verb::delete_, "/v2/projects/p/locations/l/queues/q", &p);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_matched);
  m = router_.Find(Verb::get, "/v2/projects/p/locations/l/queues/q/tasks/t:run", &p);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_matched);
}

TEST_F(RouterTest, UnknownPathsAreA404) {
  for (const char* path : {"/", "", "/v2", "/v2/projects/p/locations/l/queues", "/v2/projects//locations",
                           "/v2/projects/p/locations/l/queues/q/", "/v2/projects/p/locations/l/queues/q/extra",
                           "/V2/projects/p/locations", "/healthz/", "/v2/projects/p/locations/l/queues//tasks/t"}) {
    Params p;
    auto m = router_.Find(Verb::get, path, &p);
    EXPECT_EQ(m.route, nullptr) << path;
    EXPECT_FALSE(m.path_matched) << path;
  }
}

TEST_F(RouterTest, PatchAndGetShareAPath) {
  EXPECT_EQ(Name(Verb::patch, "/v2/projects/p/locations/l/queues/q"), "queues.patch");
  EXPECT_EQ(Name(Verb::get, "/v2/projects/p/locations/l/queues/q"), "queues.get");
}

TEST(Router, RejectsDuplicateRows) {
  Router r;
  ASSERT_TRUE(r.Add(Row(Verb::get, "/a/{x}", "first")).ok());
  Status st = r.Add(Row(Verb::get, "/a/{x}", "second"));
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "route second: duplicate of first");
  EXPECT_TRUE(r.Add(Row(Verb::post, "/a/{x}", "third")).ok());
  EXPECT_EQ(r.routes().size(), 2u);
}

TEST(Router, RejectsTheSameTemplateUnderOtherVariableNames) {
  Router r;
  ASSERT_TRUE(r.Add(Row(Verb::get, "/a/{x}", "first")).ok());
  // "/a/{y}" can never be reached: "/a/{x}" always matches first.
  if (r.Add(Row(Verb::get, "/a/{y}", "second")).ok()) {
    ADD_FAILURE() << "GET /a/{y} accepted beside GET /a/{x}; the second row is unreachable";
  }
}

TEST(Router, RejectsMalformedRows) {
  for (const char* path : {"", "a/b", "/a/{b", "/a/b}", "/a/{b}c", "/a/x{b}", "/a/{b}/c}"}) {
    Router r;
    EXPECT_EQ(r.Add(Row(Verb::get, path, "bad")).code(), Code::kInvalidArgument) << path;
    EXPECT_TRUE(r.routes().empty()) << path;
  }
  Router r;
  EXPECT_FALSE(r.Add(Route{Verb::get, "/ok", Scope::kApi, "nohandler", nullptr}).ok());
}

TEST(Router, RejectsAnUnnamedVariable) {
  std::string accepted;
  for (const char* path : {"/a/{}", "/a/{b}{c}"}) {
    Router r;
    if (r.Add(Row(Verb::get, path, "bad")).ok()) accepted += std::string(" ") + path;
  }
  if (!accepted.empty()) ADD_FAILURE() << "malformed templates accepted:" << accepted;
}

TEST(Router, CustomVerbOnALiteralSegment) {
  Router r;
  ASSERT_TRUE(r.Add(Row(Verb::post, "/v1/tasks:batchCreate", "batch")).ok());
  Params p;
  auto m = r.Find(Verb::post, "/v1/tasks:batchCreate", &p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(r.Find(Verb::post, "/v1/tasks", &p).route, nullptr);
}

TEST(Router, CatchAllTakesTheRawRemainder) {
  Router r;
  ASSERT_TRUE(r.Add(Row(Verb::post, "/v1/{db}/{rest=**}", "any")).ok());
  Params p;
  auto m = r.Find(Verb::post, "/v1/d%2F1/set/a%2Fb/c:d", &p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(p, (Params{{"db", "d/1"}, {"rest", "set/a%2Fb/c:d"}}));
  m = r.Find(Verb::post, "/v1/d", &p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(p["rest"], "");
  EXPECT_EQ(r.Find(Verb::post, "/v1", &p).route, nullptr);
  EXPECT_TRUE(r.Find(Verb::get, "/v1/d/x", &p).path_matched);
}

TEST(Router, FixedTemplatesWinOverCatchAlls) {
  Router r;
  ASSERT_TRUE(r.Add(Row(Verb::get, "/{rest=**}", "root")).ok());
  ASSERT_TRUE(r.Add(Row(Verb::get, "/a/{rest=**}", "under-a")).ok());
  ASSERT_TRUE(r.Add(Row(Verb::get, "/a/b", "exact")).ok());
  Params p;
  EXPECT_EQ(r.Find(Verb::get, "/a/b", &p).route->name, "exact");
  EXPECT_EQ(r.Find(Verb::get, "/a/c/d", &p).route->name, "under-a");
  EXPECT_EQ(p["rest"], "c/d");
  EXPECT_EQ(r.Find(Verb::get, "/z", &p).route->name, "root");
}

TEST(Router, CatchAllMustBeLastWithoutACustomVerb) {
  for (const char* path : {"/{rest=**}/x", "/a/{rest=**}:verb"}) {
    Router r;
    EXPECT_EQ(r.Add(Row(Verb::get, path, "bad")).code(), Code::kInvalidArgument) << path;
  }
}

TEST(Router, ParamsAreLeftAloneWhenNothingMatches) {
  Router r;
  ASSERT_TRUE(r.Add(Row(Verb::get, "/a/{x}", "a")).ok());
  Params p{{"keep", "me"}};
  EXPECT_EQ(r.Find(Verb::get, "/b/1", &p).route, nullptr);
  EXPECT_EQ(p, (Params{{"keep", "me"}}));
}

}  // namespace
}  // namespace stratus::http
