#include "api/access.h"

#include <gtest/gtest.h>

#include "common/json.h"

namespace stratus::api {
namespace {

namespace bh = beast::http;
using stratus::Json;

constexpr char kDenied[] =
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential.";

class AccessTest : public ::testing::Test {
 protected:
  // The response the hook sends instead of running the handler, or nullopt when allowed.
  std::optional<http::Response> Check(const http::ServerHooks& hooks, const http::Request& req,
                                      http::Scope scope = http::Scope::kApi) {
    http::RequestContext ctx{req, "/v2/projects/p/locations", {}, {}, "127.0.0.1:1"};
    return hooks.authorize(ctx, scope);
  }
  static http::Request With(bh::field f, const char* value) {
    http::Request req{bh::verb::get, "/v2/projects/p/locations", 11};
    req.set(f, value);
    return req;
  }
  static http::Request WithApiKey(const char* value) {
    http::Request req{bh::verb::get, "/v2/projects/p/locations", 11};
    req.set("x-goog-api-key", value);
    return req;
  }
  http::ServerHooks open_ = CloudTasksHooks(std::nullopt);
  http::ServerHooks locked_ = CloudTasksHooks(std::string("s3cret-token"));
};

TEST_F(AccessTest, WithoutATokenEverythingIsOpen) {
  http::Request bare{bh::verb::get, "/", 11};
  EXPECT_FALSE(Check(open_, bare).has_value());
  EXPECT_FALSE(Check(open_, With(bh::field::authorization, "Bearer whatever")).has_value());
}

TEST_F(AccessTest, BearerTokenIsAccepted) {
  EXPECT_FALSE(Check(locked_, With(bh::field::authorization, "Bearer s3cret-token")).has_value());
  EXPECT_FALSE(Check(locked_, With(bh::field::authorization, "bearer s3cret-token")).has_value());
  EXPECT_FALSE(Check(locked_, With(bh::field::authorization, "BEARER s3cret-token")).has_value());
}

TEST_F(AccessTest, ApiKeyHeaderIsAccepted) {
  EXPECT_FALSE(Check(locked_, WithApiKey("s3cret-token")).has_value());
  EXPECT_TRUE(Check(locked_, WithApiKey("s3cret-tokeN")).has_value());
}

TEST_F(AccessTest, WrongOrMissingCredentialsGet401) {
  http::Request bare{bh::verb::get, "/", 11};
  for (const http::Request& req :
       {bare, With(bh::field::authorization, "Bearer wrong"), With(bh::field::authorization, "Bearer s3cret-token2"),
        With(bh::field::authorization, "Bearer s3cret-toke"), With(bh::field::authorization, "Basic s3cret-token"),
        With(bh::field::authorization, "s3cret-token"), With(bh::field::authorization, "Bearer "),
        With(bh::field::authorization, "Bearer  s3cret-token"), WithApiKey("")}) {
    auto denied = Check(locked_, req);
    ASSERT_TRUE(denied.has_value()) << req[bh::field::authorization];
    EXPECT_EQ(denied->result_int(), 401u);
    Json body = Json::parse(denied->body());
    EXPECT_EQ(body, (Json{{"error", {{"code", 401}, {"message", kDenied}, {"status", "UNAUTHENTICATED"}}}}));
  }
}

TEST_F(AccessTest, PublicRoutesNeedNoCredentials) {
  http::Request bare{bh::verb::get, "/healthz", 11};
  EXPECT_FALSE(Check(locked_, bare, http::Scope::kPublic).has_value());
}

TEST_F(AccessTest, ErrorHookRendersGoogleRpcStatus) {
  http::Request req{bh::verb::get, "/nope", 11};
  http::Response res = locked_.error(req, 404, "The requested URL /nope was not found on this server.");
  EXPECT_EQ(res.result_int(), 404u);
  EXPECT_EQ(Json::parse(res.body()), (Json{{"error",
                                            {{"code", 404},
                                             {"message", "The requested URL /nope was not found on this server."},
                                             {"status", "NOT_FOUND"}}}}));
}

TEST(SecretEquals, ComparesWholeSecrets) {
  EXPECT_TRUE(SecretEquals("abc", "abc"));
  EXPECT_FALSE(SecretEquals("abc", "abd"));
  EXPECT_FALSE(SecretEquals("abc", "ab"));
  EXPECT_FALSE(SecretEquals("ab", "abc"));
  EXPECT_FALSE(SecretEquals("", ""));
  EXPECT_FALSE(SecretEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

}  // namespace
}  // namespace stratus::api
