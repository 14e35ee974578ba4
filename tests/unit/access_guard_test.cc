// The request guard (api/access.h): which Host, Origin and Content-Type values each listener
// answers, decided before any credential or route handler.
#include <gtest/gtest.h>

#include "api/access.h"
#include "common/json.h"

namespace stratus::api {
namespace {

namespace bh = beast::http;
using stratus::Json;

const HostPolicy kLoopback = MakeHostPolicy("127.0.0.1", {});

TEST(HostGuard, LoopbackListenerAnswersLoopbackNamesOnly) {
  for (const char* host :
       {"localhost", "localhost:8123", "LOCALHOST:1", "app.localhost:8123", "localhost.", "127.0.0.1", "127.0.0.1:8123",
        "127.9.9.9:80", "[::1]", "[::1]:8123", "[::ffff:127.0.0.1]:8123"}) {
    EXPECT_TRUE(CheckHost(host, kLoopback).ok()) << host;
  }
  // A rebinding attack reaches us under the attacker's own name.
  for (const char* host : {"evil.example", "evil.example:8123", "localhost.evil.example", "evillocalhost",
                           "10.0.0.5:8123", "[2001:db8::1]:8123", "0x7f000001", "2130706433:8123"}) {
    Status st = CheckHost(host, kLoopback);
    EXPECT_EQ(st.code(), Code::kPermissionDenied) << host;
  }
  EXPECT_EQ(CheckHost("evil.example:8123", kLoopback).message(),
            "Host \"evil.example\" is not a name this server answers to (DNS rebinding protection); add it with "
            "--allowed-hosts.");
}

TEST(HostGuard, MalformedHostIsInvalid) {
  for (const char* host : {"a b", "[::1", "::1", "host:port", "a/b", "user@host", ":8123"}) {
    EXPECT_EQ(CheckHost(host, kLoopback).code(), Code::kInvalidArgument) << host;
  }
}

TEST(HostGuard, NoHostIsLeftToTheHttpLayer) {
  EXPECT_TRUE(CheckHost("", kLoopback).ok());
}

TEST(HostGuard, AllowedHostsAddNamesAndDomains) {
  HostPolicy p = MakeHostPolicy("127.0.0.1", {"Tasks.Internal", ".corp.example", "proxy.example."});
  for (const char* host : {"tasks.internal:8123", "TASKS.INTERNAL", "corp.example", "a.corp.example:443",
                           "a.b.corp.example", "proxy.example", "localhost:1"}) {
    EXPECT_TRUE(CheckHost(host, p).ok()) << host;
  }
  for (const char* host : {"xcorp.example", "tasks.internal.evil", "evil.example", "10.0.0.5"}) {
    EXPECT_EQ(CheckHost(host, p).code(), Code::kPermissionDenied) << host;
  }
}

TEST(HostGuard, NonLoopbackListenerAnswersAnyHostUnlessListed) {
  for (const char* bind : {"0.0.0.0", "::", "10.0.0.5"}) {
    HostPolicy open = MakeHostPolicy(bind, {});
    EXPECT_TRUE(CheckHost("evil.example", open).ok()) << bind;
    HostPolicy listed = MakeHostPolicy(bind, {"tasks.example"});
    EXPECT_TRUE(CheckHost("tasks.example:8123", listed).ok()) << bind;
    // IP literals stay reachable (health probes use the pod address); rebinding needs a name.
    EXPECT_TRUE(CheckHost("10.0.0.5:8123", listed).ok()) << bind;
    EXPECT_TRUE(CheckHost("[2001:db8::1]:8123", listed).ok()) << bind;
    EXPECT_TRUE(CheckHost("localhost", listed).ok()) << bind;
    EXPECT_EQ(CheckHost("evil.example", listed).code(), Code::kPermissionDenied) << bind;
  }
}

TEST(HostGuard, StarAcceptsAnyHost) {
  EXPECT_TRUE(CheckHost("evil.example", MakeHostPolicy("127.0.0.1", {"*"})).ok());
  EXPECT_TRUE(CheckHost("evil.example", MakeHostPolicy("127.0.0.1", {"a.example", "*"})).ok());
}

TEST(OriginGuard, OnlyTheServersOwnOrigin) {
  EXPECT_TRUE(CheckOrigin("http://127.0.0.1:8123", "127.0.0.1:8123").ok());
  EXPECT_TRUE(CheckOrigin("HTTP://LocalHost:8123", "localhost:8123").ok());
  EXPECT_TRUE(CheckOrigin("https://tasks.example", "tasks.example:443").ok());
  EXPECT_TRUE(CheckOrigin("http://tasks.example:80", "tasks.example").ok());
  EXPECT_TRUE(CheckOrigin("http://[::1]:8123", "[::1]:8123").ok());
  // Either scheme: what matters is the authority, which no other page can share.
  EXPECT_TRUE(CheckOrigin("https://127.0.0.1:8123", "127.0.0.1:8123").ok());
  for (const char* origin :
       {"http://evil.example", "http://127.0.0.1:8124", "http://localhost:8123", "null", "",
        "http://127.0.0.1:8123/path", "file://", "ftp://127.0.0.1:8123", "127.0.0.1:8123", "http://127.0.0.1"}) {
    Status st = CheckOrigin(origin, "127.0.0.1:8123");
    EXPECT_EQ(st.code(), Code::kPermissionDenied) << origin;
  }
  EXPECT_EQ(CheckOrigin("http://localhost:8123", "").code(), Code::kPermissionDenied);
  EXPECT_EQ(CheckOrigin("https://evil.example", "127.0.0.1:8123").message(),
            "Cross-origin request refused: Origin \"https://evil.example\" is not this server's own origin; call the "
            "API from a server or a command line, not from a web page.");
}

TEST(ContentTypeGuard, BrowsersSimpleRequestTypesAreRefusedWithABody) {
  for (const char* type : {"text/plain", "text/plain;charset=UTF-8", "Text/Plain", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=----x", " text/plain "}) {
    Status st = CheckContentType(type, true);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << type;
    EXPECT_TRUE(CheckContentType(type, false).ok()) << type;
  }
  EXPECT_EQ(CheckContentType("text/plain;charset=UTF-8", true).message(),
            "Content-Type \"text/plain\" is not accepted for a JSON request body (browsers send it cross-origin); "
            "send application/json.");
  // gcloud and the Node clients send application/json; a body without a type is left alone.
  for (const char* type : {"application/json", "application/json; charset=utf-8", "", "application/octet-stream"}) {
    EXPECT_TRUE(CheckContentType(type, true).ok()) << type;
  }
}

http::Request Post(const char* host, const char* origin, const char* type, std::string body) {
  http::Request req{bh::verb::post, "/v2/projects/p/locations/l/queues", 11};
  if (host) req.set(bh::field::host, host);
  if (origin) req.set(bh::field::origin, origin);
  if (type) req.set(bh::field::content_type, type);
  req.body() = std::move(body);
  return req;
}

TEST(RequestGuard, ChecksHostThenOriginThenContentType) {
  RequestGuard g{kLoopback, true};
  EXPECT_TRUE(CheckRequest(Post("127.0.0.1:8123", nullptr, "application/json", "{}"), g).ok());
  EXPECT_TRUE(CheckRequest(Post("127.0.0.1:8123", "http://127.0.0.1:8123", "application/json", "{}"), g).ok());
  EXPECT_EQ(CheckRequest(Post("evil.example:8123", "http://evil.example:8123", "application/json", "{}"), g).message(),
            CheckHost("evil.example", kLoopback).message());
  EXPECT_EQ(CheckRequest(Post("127.0.0.1:8123", "http://evil.example", "text/plain", "{}"), g).message(),
            CheckOrigin("http://evil.example", "").message());
  EXPECT_EQ(CheckRequest(Post("127.0.0.1:8123", nullptr, "text/plain", "{}"), g).code(), Code::kInvalidArgument);
  // Off the JSON API (the Redis listener takes raw values), the content type is not checked.
  RequestGuard raw{kLoopback, false};
  EXPECT_TRUE(CheckRequest(Post("127.0.0.1:8123", nullptr, "text/plain", "v"), raw).ok());
  EXPECT_EQ(CheckRequest(Post("127.0.0.1:8123", "http://evil.example", nullptr, "v"), raw).code(),
            Code::kPermissionDenied);
}

TEST(RequestGuard, TwoHostHeadersAreRefused) {
  http::Request req = Post("127.0.0.1:8123", nullptr, "application/json", "{}");
  req.insert(bh::field::host, "evil.example");
  EXPECT_EQ(CheckRequest(req, RequestGuard{HostPolicy{}, true}).code(), Code::kInvalidArgument);
}

TEST(RequestGuard, CloudTasksHooksAnswerGoogleStatusBeforeAuthentication) {
  AccessOptions o;
  o.tokens.push_back(ApiToken{"ci", TokenScope::kAdmin, "s3cret", true, {}});
  o.guard.hosts = kLoopback;
  http::ServerHooks hooks = CloudTasksHooks(std::move(o));
  http::Request req = Post("127.0.0.1:8123", "http://evil.example", "text/plain", "{}");
  req.set(bh::field::authorization, "Bearer s3cret");
  http::RequestContext ctx{req, "/v2/projects/p/locations/l/queues", {}, {}, "127.0.0.1:1"};
  // Public routes too: a rebinding page must not even read /healthz.
  for (http::Scope scope : {http::Scope::kApi, http::Scope::kPublic}) {
    auto denied = hooks.authorize(ctx, scope);
    ASSERT_TRUE(denied.has_value());
    EXPECT_EQ(denied->result_int(), 403u);
    Json body = Json::parse(denied->body());
    EXPECT_EQ(body["error"]["status"], "PERMISSION_DENIED");
    EXPECT_EQ(body["error"]["code"], 403);
    EXPECT_EQ(body["error"]["message"], CheckOrigin("http://evil.example", "").message());
  }
  http::Request plain = Post("127.0.0.1:8123", nullptr, "text/plain", "{}");
  http::RequestContext plain_ctx{plain, "/v2/projects/p/locations/l/queues", {}, {}, "127.0.0.1:1"};
  auto bad = hooks.authorize(plain_ctx, http::Scope::kApi);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->result_int(), 400u);
  EXPECT_EQ(Json::parse(bad->body())["error"]["status"], "INVALID_ARGUMENT");
}

TEST(RequestGuard, GuardedHooksRenderInTheInnerProtocol) {
  http::ServerHooks inner;
  inner.error = [](const http::Request& req, int status, std::string message) {
    return http::MakeResponse(req, static_cast<bh::status>(status), Json{{"error", "ERR " + message}}.dump(),
                              "application/json");
  };
  bool inner_ran = false;
  inner.authorize = [&inner_ran](const http::RequestContext&, http::Scope) -> std::optional<http::Response> {
    inner_ran = true;
    return std::nullopt;
  };
  http::ServerHooks hooks = GuardedHooks(inner, RequestGuard{kLoopback, false});
  http::Request evil = Post("evil.example:8079", nullptr, nullptr, "");
  http::RequestContext ctx{evil, "/", {}, {}, "127.0.0.1:1"};
  auto denied = hooks.authorize(ctx, http::Scope::kApi);
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->result_int(), 403u);
  EXPECT_EQ(Json::parse(denied->body())["error"], "ERR " + CheckHost("evil.example", kLoopback).message());
  EXPECT_FALSE(inner_ran);
  http::Request good = Post("127.0.0.1:8079", nullptr, "text/plain", "v");
  http::RequestContext good_ctx{good, "/", {}, {}, "127.0.0.1:1"};
  EXPECT_FALSE(hooks.authorize(good_ctx, http::Scope::kApi).has_value());
  EXPECT_TRUE(inner_ran);
}

}  // namespace
}  // namespace stratus::api
