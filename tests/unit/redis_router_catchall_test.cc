// The router's trailing {var=**} segment, which the Redis path form (/set/k/v/EX/100) needs.
#include <gtest/gtest.h>

#include "http/router.h"

namespace stratus::http {
namespace {

asio::awaitable<Response> Noop(RequestContext&) {
  co_return Response{};
}

TEST(RouterCatchAll, MatchesTheRestOfThePathRaw) {
  Router r;
  ASSERT_TRUE(r.Add({Verb::post, "/", Scope::kApi, "root", Noop}).ok());
  ASSERT_TRUE(r.Add({Verb::post, "/pipeline", Scope::kApi, "pipeline", Noop}).ok());
  ASSERT_TRUE(r.Add({Verb::get, "/{rest=**}", Scope::kApi, "path", Noop}).ok());
  ASSERT_TRUE(r.Add({Verb::get, "/v1/{id}/files/{path=**}", Scope::kApi, "files", Noop}).ok());
  std::map<std::string, std::string> p;

  auto m = r.Find(Verb::get, "/set/k%2Fx/v:1/EX/100", &p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->name, "path");
  EXPECT_EQ(p["rest"], "set/k%2Fx/v:1/EX/100");  // raw: the handler splits, then decodes

  m = r.Find(Verb::post, "/pipeline", &p);
  EXPECT_EQ(m.route->name, "pipeline");  // an exact route wins over the catch-all
  m = r.Find(Verb::get, "/", &p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(p["rest"], "");

  m = r.Find(Verb::get, "/v1/a%20b/files/x/y", &p);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->name, "files");
  EXPECT_EQ(p["id"], "a b");
  EXPECT_EQ(p["path"], "x/y");
  m = r.Find(Verb::get, "/v1/a/files", &p);  // zero remaining segments
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(p["path"], "");

  m = r.Find(Verb::delete_, "/anything/at/all", &p);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_matched);  // 405, not 404
}

TEST(RouterCatchAll, MustBeLast) {
  Router r;
  EXPECT_FALSE(r.Add({Verb::get, "/{rest=**}/x", Scope::kApi, "bad", Noop}).ok());
}

}  // namespace
}  // namespace stratus::http
