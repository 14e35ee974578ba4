// Token scopes, route permissions, actAs and the audit hook (api/access.h, api/audit.h),
// over a router whose rows carry the permissions the real tables use.
#include <gtest/gtest.h>

#include <cstdio>

#include "api/access.h"
#include "api/audit.h"
#include "common/json.h"

namespace stratus::api {
namespace {

namespace bh = beast::http;
using stratus::Json;

constexpr char kLoc[] = "/v2/projects/{project}/locations/{location}";

http::Handler Noop() {
  return [](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    co_return http::MakeResponse(ctx.request, bh::status::ok, "{}", "application/json");
  };
}

TEST(TokenFile, OneTokenAloneIsTheOldFormat) {
  for (const char* text : {"s3cret", "s3cret\n", "  s3cret \r\n\n"}) {
    auto t = ParseApiTokens(text, "f");
    ASSERT_TRUE(t.ok()) << t.status().message();
    ASSERT_EQ(t->size(), 1u);
    EXPECT_EQ((*t)[0].secret, "s3cret");
    EXPECT_EQ((*t)[0].name, "api-token");
    EXPECT_EQ((*t)[0].scope, TokenScope::kAdmin);
    EXPECT_TRUE((*t)[0].any_service_account);
  }
}

TEST(TokenFile, OneTokenALine) {
  auto t = ParseApiTokens(
      "# who may call stratus\n"
      "ops      admin     tok-ops\n"
      "\n"
      "web-app  enqueue   tok-web   serviceAccounts=jobs@p.iam.gserviceaccount.com,mail@p.iam.gserviceaccount.com\n"
      "grafana  read-only tok-graf\n"
      "deploy   admin     tok-dep   serviceAccounts=\n"
      "relay    enqueue   tok-rel   serviceAccounts=*\n",
      "tokens.txt");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->size(), 5u);
  const auto& v = *t;
  EXPECT_EQ(v[0].name, "ops");
  EXPECT_EQ(v[0].scope, TokenScope::kAdmin);
  EXPECT_TRUE(v[0].any_service_account);
  EXPECT_EQ(v[1].scope, TokenScope::kEnqueue);
  EXPECT_EQ(v[1].secret, "tok-web");
  EXPECT_FALSE(v[1].any_service_account);
  EXPECT_EQ(v[1].service_accounts,
            (std::vector<std::string>{"jobs@p.iam.gserviceaccount.com", "mail@p.iam.gserviceaccount.com"}));
  EXPECT_EQ(v[2].scope, TokenScope::kReadOnly);
  EXPECT_FALSE(v[2].any_service_account);
  EXPECT_TRUE(v[2].service_accounts.empty());
  EXPECT_FALSE(v[3].any_service_account);  // an admin limited to no service account
  EXPECT_TRUE(v[3].service_accounts.empty());
  EXPECT_TRUE(v[4].any_service_account);
}

TEST(TokenFile, ErrorsNameTheLineAndNeverTheToken) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"ops admin tok-1\n# x\nweb superuser tok-2\n",
                "--api-token-file t line 3: unknown scope \"superuser\" (use admin, enqueue or read-only)"},
           Case{"ops admin\nweb enqueue tok-2\n",
                "--api-token-file t line 1: expected NAME SCOPE TOKEN "
                "[serviceAccounts=EMAIL,...]"},
           Case{"ops admin tok-1 accounts=a@b\n",
                "--api-token-file t line 1: the fourth field must be serviceAccounts=EMAIL,... (or "
                "serviceAccounts=*)"},
           Case{"ops admin tok-1\nops enqueue tok-2\n", "--api-token-file t line 2: the name \"ops\" is used twice"},
           Case{"ops admin tok-1\nweb enqueue tok-1\n",
                "--api-token-file t line 2: this token is also given on an earlier line"},
           Case{"", "--api-token-file t is empty"},
           Case{"\n  \n", "--api-token-file t is empty"},
           Case{"# only a comment\n# and another\n", "--api-token-file t lists no token"},
       }) {
    auto t = ParseApiTokens(c.text, "t");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(t.status().message(), c.message);
    EXPECT_EQ(t.status().message().find("tok-"), std::string::npos);
  }
}

TEST(Scopes, WhatEachScopeGrants) {
  for (const char* p : {"cloudtasks.queues.create", "cloudtasks.queues.purge", "cloudtasks.tasks.run",
                        "stratus.deadLetters.retry", "cloudtasks.queues.get", "cloudtasks.tasks.create", "", "*"}) {
    EXPECT_TRUE(ScopeGrants(TokenScope::kAdmin, p)) << p;
  }
  EXPECT_TRUE(ScopeGrants(TokenScope::kEnqueue, "cloudtasks.tasks.create"));
  // "*" needs no permission (testIamPermissions); a route without one is admin-only.
  for (TokenScope scope : {TokenScope::kEnqueue, TokenScope::kReadOnly}) {
    EXPECT_TRUE(ScopeGrants(scope, "*"));
    EXPECT_FALSE(ScopeGrants(scope, ""));
  }
  for (const char* p : {"cloudtasks.tasks.get", "cloudtasks.tasks.list", "cloudtasks.tasks.delete",
                        "cloudtasks.queues.get", "cloudtasks.queues.purge", "cloudtasks.locations.list"}) {
    EXPECT_FALSE(ScopeGrants(TokenScope::kEnqueue, p)) << p;
  }
  for (const char* p : {"cloudtasks.tasks.get", "cloudtasks.tasks.list", "cloudtasks.queues.get",
                        "cloudtasks.queues.list", "cloudtasks.queues.getIamPolicy", "cloudtasks.locations.list",
                        "stratus.deadLetters.list", "stratus.queueConfigs.get", "stratus.metrics.get"}) {
    EXPECT_TRUE(ScopeGrants(TokenScope::kReadOnly, p)) << p;
  }
  for (const char* p : {"cloudtasks.tasks.create", "cloudtasks.tasks.delete", "cloudtasks.tasks.run",
                        "cloudtasks.queues.create", "cloudtasks.queues.update", "cloudtasks.queues.delete",
                        "cloudtasks.queues.purge", "cloudtasks.queues.pause", "cloudtasks.queues.resume",
                        "cloudtasks.queues.setIamPolicy", "stratus.deadLetters.retry", "stratus.queueConfigs.update"}) {
    EXPECT_FALSE(ScopeGrants(TokenScope::kReadOnly, p)) << p;
  }
}

TEST(Scopes, QueueChangesAndDeadLetterActionsAreAudited) {
  for (const char* p :
       {"cloudtasks.queues.create", "cloudtasks.queues.update", "cloudtasks.queues.delete", "cloudtasks.queues.purge",
        "cloudtasks.queues.pause", "cloudtasks.queues.resume", "cloudtasks.queues.setIamPolicy",
        "stratus.queueConfigs.update", "stratus.deadLetters.retry", "stratus.deadLetters.delete"}) {
    EXPECT_TRUE(IsAudited(p)) << p;
  }
  for (const char* p : {"cloudtasks.queues.get", "cloudtasks.queues.list", "cloudtasks.tasks.create",
                        "cloudtasks.tasks.delete", "stratus.deadLetters.list", "stratus.queueConfigs.get", "", "*"}) {
    EXPECT_FALSE(IsAudited(p)) << p;
  }
}

class ScopedHooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string loc = kLoc;
    std::string q = loc + "/queues/{queue}";
    struct R {
      http::Verb verb;
      std::string path;
      const char* name;
      const char* permission;
    };
    for (const R& r : {
             R{http::Verb::post, loc + "/queues", "queues.create", "cloudtasks.queues.create"},
             R{http::Verb::get, q, "queues.get", "cloudtasks.queues.get"},
             R{http::Verb::patch, q, "queues.patch", "cloudtasks.queues.update"},
             R{http::Verb::post, q + ":purge", "queues.purge", "cloudtasks.queues.purge"},
             R{http::Verb::post, q + ":testIamPermissions", "queues.testIamPermissions", "*"},
             R{http::Verb::post, q + ":unlisted", "queues.unlisted", ""},
             R{http::Verb::post, q + "/tasks", "tasks.create", "cloudtasks.tasks.create"},
             R{http::Verb::get, q + "/tasks/{task}", "tasks.get", "cloudtasks.tasks.get"},
         }) {
      ASSERT_TRUE(router_.Add(http::Route{r.verb, r.path, http::Scope::kApi, r.name, Noop(), r.permission}).ok());
    }
    auto tokens = ParseApiTokens(
        "ops    admin     tok-ops\n"
        "web    enqueue   tok-web  serviceAccounts=jobs@p.iam.gserviceaccount.com\n"
        "bare   enqueue   tok-bare\n"
        "graf   read-only tok-graf\n"
        "deploy admin     tok-dep  serviceAccounts=deploy@p.iam.gserviceaccount.com\n",
        "t");
    ASSERT_TRUE(tokens.ok()) << tokens.status().message();
    console_ = open_memstream(&buf_, &len_);
    ASSERT_NE(console_, nullptr);
    auto audit = AuditLog::Open("", console_);
    ASSERT_TRUE(audit.ok());
    AccessOptions o;
    o.tokens = std::move(*tokens);
    o.router = &router_;
    o.audit = std::move(*audit);
    hooks_ = CloudTasksHooks(std::move(o));
  }
  void TearDown() override {
    hooks_ = {};
    std::fclose(console_);
    std::free(buf_);
  }
  std::string Console() {
    std::fflush(console_);
    return buf_ ? std::string(buf_, len_) : std::string();
  }

  // Runs the authorize hook (and then the observe hook, as the server does) for a request.
  std::optional<http::Response> Call(http::Verb verb, std::string path, const char* token, std::string body = "") {
    http::Request req{verb, path, 11};
    req.set(bh::field::host, "127.0.0.1:8123");
    if (token) req.set(bh::field::authorization, std::string("Bearer ") + token);
    if (!body.empty()) req.set(bh::field::content_type, "application/json");
    req.body() = std::move(body);
    http::RequestContext ctx{req, path, {}, {}, "127.0.0.1:5000"};
    http::Router::Match m = router_.Find(verb, path, &ctx.params);
    EXPECT_TRUE(m.route) << path;
    auto denied = hooks_.authorize(ctx, http::Scope::kApi);
    if (hooks_.observe) hooks_.observe(ctx, m.route->name, denied ? static_cast<int>(denied->result_int()) : 200, 0);
    return denied;
  }
  static std::string Message(const std::optional<http::Response>& r) {
    return r ? Json::parse(r->body())["error"]["message"].get<std::string>() : "";
  }
  static std::string TaskWith(const char* token_field, const char* email_field, const char* email) {
    Json t = {{"task", {{"httpRequest", {{"url", "https://x.example/"}, {token_field, {{email_field, email}}}}}}}};
    return t.dump();
  }

  http::Router router_;
  http::ServerHooks hooks_;
  std::FILE* console_ = nullptr;
  char* buf_ = nullptr;
  size_t len_ = 0;
};

constexpr char kQ[] = "/v2/projects/p/locations/l/queues/q";

TEST_F(ScopedHooksTest, AdminMayDoEverything) {
  EXPECT_FALSE(Call(http::Verb::post, std::string(kQ) + ":purge", "tok-ops"));
  EXPECT_FALSE(Call(http::Verb::post, "/v2/projects/p/locations/l/queues", "tok-ops", R"({"name":"x"})"));
  EXPECT_FALSE(Call(http::Verb::post, std::string(kQ) + "/tasks", "tok-ops",
                    TaskWith("oidcToken", "serviceAccountEmail", "any@p.iam.gserviceaccount.com")));
}

TEST_F(ScopedHooksTest, UnknownTokenIs401) {
  auto r = Call(http::Verb::get, kQ, "tok-nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 401u);
  EXPECT_EQ(Json::parse(r->body())["error"]["status"], "UNAUTHENTICATED");
}

TEST_F(ScopedHooksTest, EnqueueMayOnlyCreateTasks) {
  EXPECT_FALSE(Call(http::Verb::post, std::string(kQ) + "/tasks", "tok-web", R"({"task":{}})"));
  auto purge = Call(http::Verb::post, std::string(kQ) + ":purge", "tok-web");
  ASSERT_TRUE(purge);
  EXPECT_EQ(purge->result_int(), 403u);
  EXPECT_EQ(Json::parse(purge->body()),
            (Json{{"error",
                   {{"code", 403},
                    {"message",
                     "The principal (user or service account) lacks IAM permission \"cloudtasks.queues.purge\" for the "
                     "resource \"projects/p/locations/l/queues/q\" (or the resource may not exist)."},
                    {"status", "PERMISSION_DENIED"}}}}));
  EXPECT_EQ(Message(Call(http::Verb::get, std::string(kQ) + "/tasks/t1", "tok-web")),
            "The principal (user or service account) lacks IAM permission \"cloudtasks.tasks.get\" for the resource "
            "\"projects/p/locations/l/queues/q\" (or the resource may not exist).");
  EXPECT_EQ(Message(Call(http::Verb::post, "/v2/projects/p/locations/l/queues", "tok-web", "{}")),
            "The principal (user or service account) lacks IAM permission \"cloudtasks.queues.create\" for the "
            "resource \"projects/p/locations/l\" (or the resource may not exist).");
  // testIamPermissions needs no permission, as at Google; a route without one is admin-only.
  EXPECT_FALSE(Call(http::Verb::post, std::string(kQ) + ":testIamPermissions", "tok-web", "{}"));
  for (const char* token : {"tok-web", "tok-graf"}) {
    auto r = Call(http::Verb::post, std::string(kQ) + ":unlisted", token, "{}");
    ASSERT_TRUE(r) << token;
    EXPECT_EQ(r->result_int(), 403u);
  }
  EXPECT_FALSE(Call(http::Verb::post, std::string(kQ) + ":unlisted", "tok-ops", "{}"));
}

TEST_F(ScopedHooksTest, ReadOnlyMayOnlyRead) {
  EXPECT_FALSE(Call(http::Verb::get, kQ, "tok-graf"));
  EXPECT_FALSE(Call(http::Verb::get, std::string(kQ) + "/tasks/t1", "tok-graf"));
  for (auto [verb, path] :
       {std::pair{http::Verb::post, std::string(kQ) + "/tasks"},
        std::pair{http::Verb::post, std::string(kQ) + ":purge"}, std::pair{http::Verb::patch, std::string(kQ)}}) {
    auto r = Call(verb, path, "tok-graf", "{}");
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->result_int(), 403u);
  }
}

TEST_F(ScopedHooksTest, TasksMaySignOnlyAsListedServiceAccounts) {
  const std::string tasks = std::string(kQ) + "/tasks";
  EXPECT_FALSE(Call(http::Verb::post, tasks, "tok-web",
                    TaskWith("oidcToken", "serviceAccountEmail", "jobs@p.iam.gserviceaccount.com")));
  EXPECT_FALSE(Call(http::Verb::post, tasks, "tok-bare", R"({"task":{"httpRequest":{"url":"https://x.example/"}}})"));
  const std::string denied =
      "The principal (user or service account) lacks IAM permission \"iam.serviceAccounts.actAs\" for the resource "
      "\"admin@p.iam.gserviceaccount.com\" (or the resource may not exist).";
  for (const char* token : {"tok-web", "tok-bare"}) {
    for (auto [tf, ef] : {std::pair{"oidcToken", "serviceAccountEmail"}, std::pair{"oauthToken", "serviceAccountEmail"},
                          std::pair{"oidc_token", "service_account_email"}}) {
      auto r = Call(http::Verb::post, tasks, token, TaskWith(tf, ef, "admin@p.iam.gserviceaccount.com"));
      ASSERT_TRUE(r) << token << " " << tf;
      EXPECT_EQ(r->result_int(), 403u);
      EXPECT_EQ(Message(r), denied) << token << " " << tf;
    }
  }
  // An admin limited to some accounts is held to them; an unlimited one is not.
  EXPECT_EQ(Message(Call(http::Verb::post, tasks, "tok-dep",
                         TaskWith("oidcToken", "serviceAccountEmail", "admin@p.iam.gserviceaccount.com"))),
            denied);
  EXPECT_FALSE(Call(http::Verb::post, tasks, "tok-dep",
                    TaskWith("oidcToken", "serviceAccountEmail", "deploy@p.iam.gserviceaccount.com")));
  // A body the decoder refuses is left to the handler, which answers with the decoder's error.
  EXPECT_FALSE(Call(http::Verb::post, tasks, "tok-bare", R"({"task":{"httpRequest":{"url":1,"oidcToken":{}}}})"));
}

TEST_F(ScopedHooksTest, QueueHttpTargetTokensNeedActAs) {
  Json queue = {{"name", "projects/p/locations/l/queues/q2"},
                {"httpTarget", {{"oidcToken", {{"serviceAccountEmail", "admin@p.iam.gserviceaccount.com"}}}}}};
  EXPECT_EQ(Message(Call(http::Verb::post, "/v2/projects/p/locations/l/queues", "tok-dep", queue.dump())),
            "The principal (user or service account) lacks IAM permission \"iam.serviceAccounts.actAs\" for the "
            "resource \"admin@p.iam.gserviceaccount.com\" (or the resource may not exist).");
  EXPECT_TRUE(Call(http::Verb::patch, kQ, "tok-dep", queue.dump()));
  EXPECT_FALSE(Call(http::Verb::patch, kQ, "tok-ops", queue.dump()));
}

TEST_F(ScopedHooksTest, AuditLinesNameTheTokenNeverTheSecret) {
  Call(http::Verb::post, std::string(kQ) + ":purge", "tok-ops");
  Call(http::Verb::post, std::string(kQ) + ":purge", "tok-web");
  Call(http::Verb::post, "/v2/projects/p/locations/l/queues", "tok-ops",
       R"({"name":"projects/p/locations/l/queues/new"})");
  Call(http::Verb::get, kQ, "tok-ops");                                 // a read: not audited
  Call(http::Verb::post, std::string(kQ) + "/tasks", "tok-ops", "{}");  // a task: not audited
  Call(http::Verb::post, std::string(kQ) + ":purge", "tok-nope");
  std::string out = Console();
  EXPECT_EQ(out.find("tok-"), std::string::npos) << out;
  std::vector<Json> lines;
  for (size_t start = 0, nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(Json::parse(out.substr(start, nl - start)));
  }
  ASSERT_EQ(lines.size(), 4u) << out;
  auto strip_time = [](Json j) {
    EXPECT_TRUE(j.contains("time"));
    j.erase("time");
    return j;
  };
  EXPECT_EQ(strip_time(lines[0]), (Json{{"event", "audit"},
                                        {"principal", "ops"},
                                        {"remote", "127.0.0.1:5000"},
                                        {"method", "queues.purge"},
                                        {"http", "POST"},
                                        {"resource", "projects/p/locations/l/queues/q"},
                                        {"status", 200},
                                        {"outcome", "ok"}}));
  EXPECT_EQ(lines[1]["principal"], "web");
  EXPECT_EQ(lines[1]["status"], 403);
  EXPECT_EQ(lines[1]["outcome"], "denied");
  EXPECT_EQ(lines[2]["method"], "queues.create");
  EXPECT_EQ(lines[2]["resource"], "projects/p/locations/l/queues/new");
  EXPECT_EQ(lines[3]["principal"], "anonymous");
  EXPECT_EQ(lines[3]["status"], 401);
}

TEST(OpenApi, WithoutTokensEveryScopeIsAllowedAndNothingIsAudited) {
  http::Router router;
  ASSERT_TRUE(router
                  .Add(http::Route{http::Verb::post, std::string(kLoc) + "/queues/{queue}:purge", http::Scope::kApi,
                                   "queues.purge", Noop(), "cloudtasks.queues.purge"})
                  .ok());
  AccessOptions o;
  o.router = &router;
  http::ServerHooks hooks = CloudTasksHooks(std::move(o));
  http::Request req{bh::verb::post, std::string(kQ) + ":purge", 11};
  req.set(bh::field::authorization, "Bearer whatever");
  http::RequestContext ctx{req, std::string_view(kQ), {}, {}, "127.0.0.1:1"};
  EXPECT_FALSE(hooks.authorize(ctx, http::Scope::kApi).has_value());
  EXPECT_FALSE(static_cast<bool>(hooks.observe));
}

TEST(AuditLine, IsOneJsonObject) {
  AuditEntry e{"ops", "[::1]:5000", "stratus.deadLetters.retry", "POST", "projects/p/locations/l/queues/q/tasks/t1",
               404};
  Json j = Json::parse(AuditLine(e, 1'700'000'000'000'000));
  EXPECT_EQ(j["event"], "audit");
  EXPECT_EQ(j["time"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["outcome"], "failed");
  EXPECT_EQ(j["resource"], "projects/p/locations/l/queues/q/tasks/t1");
  EXPECT_EQ(AuditLine(e, 0).find('\n'), std::string::npos);
}

// A refused queue create names the body's queue name: a caller sending megabytes there must not
// grow the audit log by megabytes per request.
TEST(AuditLine, FieldsFromCallersAreBounded) {
  std::string huge(8 << 20, 'q');
  AuditEntry e{"anonymous", "127.0.0.1:1", "cloudtasks.queues.create", "POST", "projects/p/locations/l/queues/" + huge,
               401};
  std::string line = AuditLine(e, 0);
  EXPECT_LT(line.size(), 1000u);
  Json j = Json::parse(line);
  EXPECT_EQ(j["resource"].get<std::string>().rfind("projects/p/locations/l/queues/qqq", 0), 0u);
  EXPECT_NE(j["resource"].get<std::string>().find("bytes)"), std::string::npos);
}

}  // namespace
}  // namespace stratus::api
