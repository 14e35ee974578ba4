// The SDK's job endpoint against the real stratus binary: stratus delivers HTTP tasks with
// OIDC tokens it signs, and the JobServer verifies them against stratus's own discovery
// document and JWKS. Direct calls replay captured tokens (tampered with where the test needs).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "auth/oidc.h"
#include "common/base64.h"
#include "http/event_loops.h"
#include "http/server.h"
#include "integration/stratus_process.h"
#include "sdk/http_sync.h"
#include "stratus/sdk/canonical_json.h"
#include "stratus/sdk/idempotency.h"
#include "stratus/sdk/job_server.h"
#include "stratus/sdk/oidc_verifier.h"
#include "stratus/sdk/redis.h"

namespace stratus::sdk {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using testing::StratusProcess;

constexpr char kAudience[] = "https://jobs.example.test";
constexpr char kOtherAudience[] = "https://other.example.test";
constexpr char kQueuePrefix[] = "projects/p/locations/l/queues/";
constexpr char kWorkerSa[] = "worker@p.iam.gserviceaccount.com";
constexpr char kRefusedText[] = "missing or invalid OIDC token";
constexpr auto kWait = std::chrono::seconds(20);

// Polls `done` until it holds or `kWait` passes (a bound, not a pass/fail timer).
bool WaitFor(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::string HeaderOf(const http::ClientResult& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (beast::iequals(beast::string_view(k.data(), k.size()), beast::string_view(name.data(), name.size()))) return v;
  }
  return "";
}

// Records the Authorization header of each request to POST /capture/{id}: real tokens
// signed by stratus, for the tests that replay or tamper with them.
class TokenCapture {
 public:
  TokenCapture() : loops_(1) {
    Status added = router_.Add(
        http::Route{http::Verb::post, "/capture/{id}", http::Scope::kPublic, "capture",
                    [this](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
                      std::string id = ctx.Param("id");
                      auto auth = ctx.request[beast::http::field::authorization];
                      std::string header(auth.data(), auth.size());
                      {
                        std::lock_guard lock(mu_);
                        tokens_[id] = header.rfind("Bearer ", 0) == 0 ? header.substr(7) : header;
                      }
                      co_return http::MakeResponse(ctx.request, beast::http::status::ok, "{}", "application/json");
                    }});
    EXPECT_TRUE(added.ok());
    http::ServerHooks hooks;
    hooks.error = [](const http::Request& req, int status, std::string message) {
      return http::MakeResponse(req, static_cast<beast::http::status>(status), message, "text/plain");
    };
    server_ = std::make_unique<http::Server>(loops_, router_, hooks, http::ServerOptions{});
    EXPECT_TRUE(server_->Start().ok());
    loops_.Start();
  }
  ~TokenCapture() {
    server_->Stop();
    loops_.Stop();
  }
  std::string url(const std::string& id) const { return "http://" + server_->address() + "/capture/" + id; }
  std::string Token(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(id);
    return it == tokens_.end() ? "" : it->second;
  }

 private:
  http::EventLoops loops_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;
  std::map<std::string, std::string> tokens_;
};

// What a handler saw, for the test thread to wait on.
struct Calls {
  std::mutex mu;
  std::vector<std::pair<JobContext, json>> seen;
  void Add(const JobContext& ctx, const json& data) {
    std::lock_guard lock(mu);
    seen.emplace_back(ctx, data);
  }
  size_t size() {
    std::lock_guard lock(mu);
    return seen.size();
  }
  std::pair<JobContext, json> At(size_t i) {
    std::lock_guard lock(mu);
    return seen.at(i);
  }
};

class JobServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    proc_ = new StratusProcess();
    ASSERT_TRUE(proc_->Start({"--redis-token", "t0ken"})) << proc_->output();
    auto http = internal::SyncHttp::Create("");
    ASSERT_TRUE(http.ok());
    http_ = http->release();
    capture_ = new TokenCapture();
  }
  static void TearDownTestSuite() {
    delete capture_;
    delete http_;
    delete proc_;
  }

  static std::string tasks_url() { return proc_->tasks_url(); }

  static http::ClientResult Send(http::Verb verb, const std::string& url, const std::string& body = "",
                                 const std::map<std::string, std::string>& headers = {}) {
    auto parsed = http::Url::Parse(url);
    EXPECT_TRUE(parsed.ok()) << url;
    http::Request req = internal::MakeRequest(verb, body);
    for (const auto& [k, v] : headers) req.set(k, v);
    return http_->Fetch(*parsed, std::move(req), std::chrono::milliseconds(10000));
  }
  static json JsonOf(const http::ClientResult& r) { return json::parse(r.body, nullptr, false); }

  static void CreateQueue(const std::string& queue) {
    json body = {{"name", kQueuePrefix + queue}, {"retryConfig", {{"minBackoff", "0.1s"}, {"maxBackoff", "1s"}}}};
    auto r = Send(http::Verb::post, tasks_url() + "/v2/projects/p/locations/l/queues", body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // An HTTP task that POSTs `payload` to `url` with an OIDC token for `audience`; its short id.
  static std::string CreateTask(const std::string& queue, const std::string& url, const json& payload,
                                const std::string& audience = kAudience) {
    json task = {{"httpRequest",
                  {{"url", url},
                   {"httpMethod", "POST"},
                   {"headers", {{"Content-Type", "application/json"}}},
                   {"body", Base64Encode(payload.dump())},
                   {"oidcToken", {{"serviceAccountEmail", kWorkerSa}, {"audience", audience}}}}}};
    auto r =
        Send(http::Verb::post, tasks_url() + "/v2/" + kQueuePrefix + queue + "/tasks", json{{"task", task}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    std::string name = JsonOf(r).value("name", "");
    return name.substr(name.rfind('/') + 1);
  }

  static bool TaskGone(const std::string& queue, const std::string& id) {
    return Send(http::Verb::get, tasks_url() + "/v2/" + kQueuePrefix + queue + "/tasks/" + id).status == 404;
  }

  // A token stratus signed for `audience`, captured on its way to the capture server.
  static std::string RealToken(const std::string& audience) {
    static std::atomic<int> n{0};
    std::string id = "t" + std::to_string(n++);
    std::string queue = "capture-" + id;
    CreateQueue(queue);
    CreateTask(queue, capture_->url(id), json{{"x", 1}}, audience);
    EXPECT_TRUE(WaitFor([&] { return !capture_->Token(id).empty(); }));
    return capture_->Token(id);
  }

  static std::shared_ptr<OidcVerifier> Verifier(std::vector<std::string> issuers = {},
                                                std::function<int64_t()> now_s = {}) {
    OidcVerifierOptions o;
    o.issuers = issuers.empty() ? std::vector<std::string>{tasks_url()} : std::move(issuers);
    o.audiences = {kAudience};
    o.now_s = std::move(now_s);
    auto v = OidcVerifier::Create(std::move(o));
    EXPECT_TRUE(v.ok()) << v.status().message();
    return std::shared_ptr<OidcVerifier>(std::move(*v));
  }

  // The payload TaskQueue sends: the server recomputes its key. `label` only tells call
  // sites apart.
  static json Payload(const std::string& job, const std::string& /*label*/, json data = json::object()) {
    std::string key = IdempotencyKey(job, data).value();
    return {{"data", std::move(data)}, {"idempotencyKey", key}, {"jobName", job}};
  }

  static http::ClientResult PostJob(const JobServer& server, const std::string& job, const std::string& body,
                                    const std::string& token = "") {
    std::map<std::string, std::string> headers;
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    return Send(http::Verb::post, server.url() + "/api/jobs/" + job, body, headers);
  }

  static std::unique_ptr<JobServer> StartServer(JobServerOptions options,
                                                std::vector<std::pair<std::string, JobHandler>> jobs) {
    auto server = std::make_unique<JobServer>(std::move(options));
    for (auto& [name, handler] : jobs) server->Register(name, std::move(handler));
    Status st = server->Start();
    EXPECT_TRUE(st.ok()) << st.message();
    return server;
  }

  static JobServerOptions Unauthenticated() {
    JobServerOptions o;
    o.mode = JobServerMode::kLocal;
    o.allow_unauthenticated = true;
    o.logger = Logger([](std::string_view) {});
    return o;
  }

  static std::unique_ptr<HttpRedis> Redis() {
    RedisOptions options;
    options.url = proc_->redis_url();
    options.token = "t0ken";
    auto redis = HttpRedis::Create(options);
    EXPECT_TRUE(redis.ok()) << redis.status().message();
    return redis.ok() ? std::move(*redis) : nullptr;
  }

  static inline StratusProcess* proc_ = nullptr;
  static inline internal::SyncHttp* http_ = nullptr;
  static inline TokenCapture* capture_ = nullptr;
};

// ---- delivery through stratus ----

TEST_F(JobServerTest, ValidDeliveryRunsTheHandlerWithItsContext) {
  Calls calls;
  JobServerOptions o;
  o.verifier = Verifier();
  o.allowed_service_accounts = {kWorkerSa};
  std::vector<std::string> lines;
  std::mutex lines_mu;
  o.logger = Logger([&](std::string_view line) {
    std::lock_guard lock(lines_mu);
    lines.emplace_back(line);
  });
  auto server = StartServer(std::move(o), {{"greet", [&](const JobContext& ctx, const json& data) {
                                              calls.Add(ctx, data);
                                              return JobResult::Ok({{"greeted", data.value("name", "")}});
                                            }}});
  CreateQueue("valid");
  auto before = std::chrono::system_clock::now();
  std::string id =
      CreateTask("valid", server->url() + "/api/jobs/greet", Payload("greet", "k-valid", {{"name", "ada"}}));
  ASSERT_TRUE(WaitFor([&] { return calls.size() == 1; }));
  auto [ctx, data] = calls.At(0);
  EXPECT_EQ(data, (json{{"name", "ada"}}));
  EXPECT_EQ(ctx.job_name, "greet");
  EXPECT_EQ(ctx.idempotency_key, IdempotencyKey("greet", json{{"name", "ada"}}).value());
  EXPECT_EQ(ctx.queue, "valid");
  EXPECT_EQ(ctx.task, id);
  EXPECT_EQ(ctx.retry_count, 0);
  EXPECT_EQ(ctx.execution_count, 0);
  EXPECT_EQ(ctx.previous_response, 0);
  ASSERT_TRUE(ctx.eta.has_value());
  EXPECT_LT(std::chrono::abs(*ctx.eta - before), std::chrono::seconds(30));
  EXPECT_TRUE(WaitFor([&] { return TaskGone("valid", id); }));  // the 200 was accepted

  // One structured line per request, with no trace of the bearer token.
  std::lock_guard lock(lines_mu);
  ASSERT_EQ(lines.size(), 1u);
  json line = json::parse(lines[0]);
  EXPECT_EQ(line["job"], "greet");
  EXPECT_EQ(line["task"], id);
  EXPECT_EQ(line["queue"], "valid");
  EXPECT_EQ(line["retry_count"], 0);
  EXPECT_EQ(line["outcome"], "ok");
  EXPECT_TRUE(line["duration_ms"].is_number());
  EXPECT_EQ(lines[0].find("eyJ"), std::string::npos);  // no JWT (they start with base64 "{\"")
}

TEST_F(JobServerTest, RetryableFailureAnswers503AndStratusRetriesUntilItSucceeds) {
  Calls calls;
  JobServerOptions o;
  o.verifier = Verifier();
  o.allowed_service_accounts = {kWorkerSa};
  o.logger = Logger([](std::string_view) {});
  auto server = StartServer(std::move(o), {{"flaky", [&](const JobContext& ctx, const json& data) {
                                              calls.Add(ctx, data);
                                              if (calls.size() == 1)
                                                throw RetryableError("downstream busy", seconds(1));
                                              return JobResult::Ok();
                                            }}});
  CreateQueue("retry");
  std::string id = CreateTask("retry", server->url() + "/api/jobs/flaky", Payload("flaky", "k-retry"));
  ASSERT_TRUE(WaitFor([&] { return calls.size() == 2; }));
  EXPECT_TRUE(WaitFor([&] { return TaskGone("retry", id); }));
  auto [second, data] = calls.At(1);
  EXPECT_EQ(second.retry_count, 1);
  EXPECT_EQ(second.previous_response, 503);
  EXPECT_EQ(calls.size(), 2u);
}

TEST_F(JobServerTest, PermanentFailureIsAcknowledgedAndRecorded) {
  Calls calls;
  auto failed = std::make_shared<MemoryFailedTaskStore>();
  JobServerOptions o;
  o.verifier = Verifier();
  o.allowed_service_accounts = {kWorkerSa};
  o.failed_tasks = failed;
  o.logger = Logger([](std::string_view) {});
  auto server = StartServer(std::move(o), {{"charge", [&](const JobContext& ctx, const json& data) -> JobResult {
                                              calls.Add(ctx, data);
                                              throw PermanentError("card declined");
                                            }}});
  CreateQueue("perm-ack");
  std::string id =
      CreateTask("perm-ack", server->url() + "/api/jobs/charge", Payload("charge", "k-perm", {{"amount", 5}}));
  ASSERT_TRUE(WaitFor([&] { return TaskGone("perm-ack", id); }));  // 200: not retried
  EXPECT_EQ(calls.size(), 1u);
  auto all = failed->All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].job_name, "charge");
  EXPECT_EQ(all[0].idempotency_key, IdempotencyKey("charge", json{{"amount", 5}}).value());
  EXPECT_EQ(all[0].task, id);
  EXPECT_EQ(all[0].queue, "perm-ack");
  EXPECT_EQ(all[0].error, "card declined");
  EXPECT_EQ(all[0].data, (json{{"amount", 5}}));
  EXPECT_TRUE(ParseTimestamp(all[0].failed_at).ok()) << all[0].failed_at;
}

TEST_F(JobServerTest, PermanentFailureWithStatusIsDeadLetteredByStratus) {
  JobServerOptions o;
  o.verifier = Verifier();
  o.allowed_service_accounts = {kWorkerSa};
  o.permanent_answer = PermanentFailureAnswer::kStatus;
  o.permanent_status = 422;
  o.logger = Logger([](std::string_view) {});
  auto server = StartServer(
      std::move(o), {{"parse", [](const JobContext&, const json&) { return JobResult::Permanent("unparseable"); }}});
  CreateQueue("perm-status");
  std::string config_url = tasks_url() + "/stratus/v1/" + kQueuePrefix + "perm-status/config";
  auto put = Send(http::Verb::put, config_url, json{{"permanentFailureStatuses", {422}}}.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  std::string id = CreateTask("perm-status", server->url() + "/api/jobs/parse", Payload("parse", "k-422"));
  json dead;
  ASSERT_TRUE(WaitFor([&] {
    dead = JsonOf(Send(http::Verb::get, tasks_url() + "/stratus/v1/" + kQueuePrefix + "perm-status/deadLetters"));
    return dead.contains("deadLetters") && dead["deadLetters"].size() == 1;
  })) << dead.dump();
  EXPECT_EQ(dead["deadLetters"][0]["responseStatus"], 422);
}

// ---- direct calls: answers ----

TEST_F(JobServerTest, PermanentStatusAnswerUsesTheConfiguredStatus) {
  JobServerOptions o = Unauthenticated();
  o.permanent_answer = PermanentFailureAnswer::kStatus;
  o.permanent_status = 422;
  auto server = StartServer(std::move(o), {{"parse", [](const JobContext&, const json&) -> JobResult {
                                              throw DownstreamHttpError(400, "upstream rejected it");
                                            }}});
  auto r = PostJob(*server, "parse", Payload("parse", "k").dump());
  EXPECT_EQ(r.status, 422);
  json body = JsonOf(r);
  EXPECT_EQ(body["ok"], false);
  EXPECT_EQ(body["permanent"], true);
  EXPECT_EQ(body["error"], "upstream rejected it");
}

TEST_F(JobServerTest, AnswersSuccessRetryAndAcknowledgedPermanent) {
  auto failed = std::make_shared<MemoryFailedTaskStore>();
  JobServerOptions o = Unauthenticated();
  o.failed_tasks = failed;
  auto server = StartServer(
      std::move(o),
      {{"ok",
        [](const JobContext&, const json& d) {
          return JobResult::Ok({{"echo", d}});
        }},
       {"later", [](const JobContext&, const json&) { return JobResult::Retry("try later", seconds(3)); }},
       {"boom", [](const JobContext&, const json&) -> JobResult { throw std::runtime_error("boom"); }},
       {"bad", [](const JobContext&, const json&) { return JobResult::FromHttpStatus(404, "no such user"); }}});

  auto ok = PostJob(*server, "ok", Payload("ok", "k1", {{"a", 1}}).dump());
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(JsonOf(ok), (json{{"ok", true}, {"result", {{"echo", {{"a", 1}}}}}}));

  auto later = PostJob(*server, "later", Payload("later", "k2").dump());
  EXPECT_EQ(later.status, 503);
  EXPECT_EQ(HeaderOf(later, "Retry-After"), "3");
  EXPECT_EQ(JsonOf(later)["error"], "try later");

  auto boom = PostJob(*server, "boom", Payload("boom", "k3").dump());
  EXPECT_EQ(boom.status, 503);
  EXPECT_EQ(HeaderOf(boom, "Retry-After"), "");
  EXPECT_EQ(JsonOf(boom)["error"], "boom");

  auto bad = PostJob(*server, "bad", Payload("bad", "k4", {{"user", 7}}).dump());
  EXPECT_EQ(bad.status, 200);
  EXPECT_EQ(JsonOf(bad), (json{{"ok", false}, {"permanent", true}, {"error", "no such user"}}));
  ASSERT_EQ(failed->All().size(), 1u);
  EXPECT_EQ(failed->All()[0].data, (json{{"user", 7}}));
}

TEST_F(JobServerTest, RejectsBadPayloadsWith400AndUnknownJobsWith404) {
  std::atomic<int> runs{0};
  auto server = StartServer(Unauthenticated(), {{"echo", [&](const JobContext&, const json&) {
                                                   ++runs;
                                                   return JobResult::Ok();
                                                 }}});
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not json", "{nope"},
      {"empty body", ""},
      {"array body", "[1,2]"},
      {"data not an object", json{{"data", {1, 2}}, {"idempotencyKey", "k"}, {"jobName", "echo"}}.dump()},
      {"data missing", json{{"idempotencyKey", "k"}, {"jobName", "echo"}}.dump()},
      {"idempotencyKey missing", json{{"data", json::object()}, {"jobName", "echo"}}.dump()},
      {"idempotencyKey not a string",
       json{{"data", json::object()}, {"idempotencyKey", 5}, {"jobName", "echo"}}.dump()},
      {"jobName missing", json{{"data", json::object()}, {"idempotencyKey", "k"}}.dump()},
      {"jobName mismatch", Payload("other", "k").dump()},
  };
  for (const auto& [what, body] : bad) {
    auto r = PostJob(*server, "echo", body);
    EXPECT_EQ(r.status, 400) << what << ": " << r.body;
    EXPECT_TRUE(JsonOf(r)["error"].is_string()) << what << ": " << r.body;
  }
  auto unknown = PostJob(*server, "nope", Payload("nope", "k").dump());
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_TRUE(JsonOf(unknown)["error"].is_string());
  auto nested = PostJob(*server, "echo/extra", Payload("echo", "k").dump());
  EXPECT_EQ(nested.status, 404);
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(PostJob(*server, "echo", Payload("echo", "k").dump()).status, 200);
  EXPECT_EQ(runs, 1);
}

TEST_F(JobServerTest, ServesHealthzAndStopsCleanly) {
  auto server = StartServer(Unauthenticated(), {});
  auto r = Send(http::Verb::get, server->url() + "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(server->port(), 0);
  server->Stop();
  server->Stop();  // idempotent
  auto after = Send(http::Verb::get, server->url() + "/healthz");
  EXPECT_NE(after.failure, http::ClientResult::Failure::kNone);
}

TEST_F(JobServerTest, StartNeedsAVerifierUnlessUnauthenticatedIsAllowed) {
  JobServer server{JobServerOptions{}};
  Status st = server.Start();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
}

// ---- direct calls: authentication ----

TEST_F(JobServerTest, RejectsMissingWrongAndTamperedTokens) {
  std::atomic<int> runs{0};
  JobServerOptions o;
  o.verifier = Verifier();
  o.allowed_service_accounts = {kWorkerSa};
  o.logger = Logger([](std::string_view) {});
  auto server = StartServer(std::move(o), {{"echo", [&](const JobContext&, const json&) {
                                              ++runs;
                                              return JobResult::Ok();
                                            }}});
  const std::string body = Payload("echo", "k-auth").dump();
  const std::string token = RealToken(kAudience);
  ASSERT_FALSE(token.empty());

  auto reasons = Verifier();
  auto expect_401 = [&](const std::string& what, const std::string& tok, const std::string& mentions) {
    auto r = PostJob(*server, "echo", body, tok);
    EXPECT_EQ(r.status, 401) << what << ": " << r.body;
    EXPECT_EQ(JsonOf(r), (json{{"error", kRefusedText}})) << what;
    if (tok.empty()) return;
    std::string error = reasons->Verify(tok).status().message();
    EXPECT_NE(error.find(mentions), std::string::npos) << what << ": " << error;
  };
  expect_401("no token", "", "");
  expect_401("other audience", RealToken(kOtherAudience), "audience");

  // Forged: the same header and claims with flipped signature bytes.
  size_t dot = token.rfind('.');
  std::string sig = *Base64Decode(token.substr(dot + 1));
  sig[sig.size() / 2] ^= 0x5a;
  sig[0] ^= 0x01;
  expect_401("forged signature", token.substr(0, dot + 1) + auth::Base64Url(sig), "signature");

  // alg "none": the real claims, no signature.
  std::string claims = token.substr(token.find('.') + 1, dot - token.find('.') - 1);
  expect_401("alg none", auth::Base64Url(R"({"alg":"none","typ":"JWT"})") + "." + claims + ".", "alg");
  expect_401("garbage", "not-a-jwt", "JWT");
  EXPECT_EQ(runs, 0);

  // The untouched token passes, so the rejections above are about what was changed.
  auto ok = PostJob(*server, "echo", body, token);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(runs, 1);
  auto lowercase = Send(http::Verb::post, server->url() + "/api/jobs/echo", Payload("echo", "k2").dump(),
                        {{"Authorization", "bearer " + token}});
  EXPECT_EQ(lowercase.status, 200) << lowercase.body;
}

TEST_F(JobServerTest, RejectsExpiredTokensAndUntrustedIssuers) {
  const std::string token = RealToken(kAudience);
  ASSERT_FALSE(token.empty());
  const std::string body = Payload("echo", "k-exp").dump();
  auto echo = [](const JobContext&, const json&) { return JobResult::Ok(); };

  // Two hours on: the token (1 h lifetime) has expired.
  auto later = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
               .count() +
           2 * 3600;
  };
  std::vector<std::string> lines;
  std::mutex lines_mu;
  auto logged = [&](const std::string& needle) {
    std::lock_guard lock(lines_mu);
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != l.npos; });
  };
  JobServerOptions expired_opts;
  expired_opts.verifier = Verifier({}, later);
  expired_opts.allowed_service_accounts = {kWorkerSa};
  const Logger logger([&](std::string_view line) {
    std::lock_guard lock(lines_mu);
    lines.emplace_back(line);
  });
  expired_opts.logger = logger;
  auto expired = StartServer(std::move(expired_opts), {{"echo", echo}});
  auto r = PostJob(*expired, "echo", body, token);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(JsonOf(r), (json{{"error", kRefusedText}})) << r.body;
  EXPECT_TRUE(logged("token expired"));

  JobServerOptions issuer_opts;
  issuer_opts.verifier = Verifier({"https://accounts.google.com"});
  issuer_opts.allowed_service_accounts = {kWorkerSa};
  issuer_opts.logger = logger;
  auto untrusted = StartServer(std::move(issuer_opts), {{"echo", echo}});
  r = PostJob(*untrusted, "echo", body, token);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(JsonOf(r), (json{{"error", kRefusedText}})) << r.body;
  EXPECT_TRUE(logged("not trusted"));
}

TEST_F(JobServerTest, VerifierReportsClaimsAndRateLimitsUnknownKids) {
  const std::string token = RealToken(kAudience);
  auto verifier = Verifier();
  auto verified = verifier->Verify(token);
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_EQ(verified->issuer, tasks_url());
  EXPECT_EQ(verified->audience, kAudience);
  EXPECT_EQ(verified->email, "worker@p.iam.gserviceaccount.com");
  EXPECT_EQ(verified->claims["email_verified"], true);

  // A kid the JWKS lacks: rejected, and the refetch it may cause is rate-limited.
  std::string header = *Base64Decode(token.substr(0, token.find('.')));
  json h = json::parse(header);
  h["kid"] = "no-such-kid";
  std::string forged = auth::Base64Url(h.dump()) + token.substr(token.find('.'));
  for (int i = 0; i < 3; ++i) {
    auto r = verifier->Verify(forged);
    EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
    EXPECT_NE(r.status().message().find("kid"), std::string::npos) << r.status().message();
  }
  EXPECT_TRUE(verifier->Verify(token).ok());
}

TEST_F(JobServerTest, ConcurrentFirstVerificationsAllWaitForTheKeys) {
  // Regression: threads arriving while the first one fetched the JWKS were told "unknown kid".
  const std::string token = RealToken(kAudience);
  for (int round = 0; round < 3; ++round) {
    auto verifier = Verifier();
    std::vector<std::future<Status>> results;
    for (int i = 0; i < 8; ++i) {
      results.push_back(std::async(std::launch::async, [&] { return verifier->Verify(token).status(); }));
    }
    for (auto& r : results) {
      Status st = r.get();
      EXPECT_TRUE(st.ok()) << st.message();
    }
  }
}

// ---- idempotency (needs the Redis REST listener and IdempotencyManager) ----

std::shared_ptr<IdempotencyManager> Idempotency(HttpRedis& redis, const std::string& prefix) {
  IdempotencyOptions o;
  o.prefix = prefix;
  o.on_redis_error = IdempotencyFailureMode::kFailClosed;
  return std::make_shared<IdempotencyManager>(redis, o);
}

TEST_F(JobServerTest, DuplicateDeliveriesRunTheHandlerOnce) {
  auto redis = Redis();
  ASSERT_TRUE(redis);
  std::atomic<int> runs{0};
  JobServerOptions o = Unauthenticated();
  o.idempotency = Idempotency(*redis, "idem-dup:");
  auto server = StartServer(std::move(o), {{"once", [&](const JobContext&, const json& d) {
                                              ++runs;
                                              return JobResult::Ok({{"n", d["n"]}});
                                            }}});
  const std::string body = Payload("once", "k-dup", {{"n", 7}}).dump();
  auto first = PostJob(*server, "once", body);
  EXPECT_EQ(first.status, 200) << first.body;
  auto second = PostJob(*server, "once", body);
  EXPECT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(JsonOf(second), (json{{"ok", true}, {"duplicate", true}, {"result", {{"n", 7}}}}));
  EXPECT_EQ(runs, 1);
}

TEST_F(JobServerTest, DuplicateTasksThroughStratusRunOnce) {
  auto redis = Redis();
  ASSERT_TRUE(redis);
  std::atomic<int> runs{0};
  JobServerOptions o;
  o.verifier = Verifier();
  o.allowed_service_accounts = {kWorkerSa};
  o.idempotency = Idempotency(*redis, "idem-tasks:");
  o.logger = Logger([](std::string_view) {});
  auto server = StartServer(std::move(o), {{"once", [&](const JobContext&, const json&) {
                                              ++runs;
                                              return JobResult::Ok();
                                            }}});
  CreateQueue("dup");
  const json payload = Payload("once", "k-same");
  std::string a = CreateTask("dup", server->url() + "/api/jobs/once", payload);
  ASSERT_TRUE(WaitFor([&] { return TaskGone("dup", a); }));
  std::string b = CreateTask("dup", server->url() + "/api/jobs/once", payload);
  ASSERT_TRUE(WaitFor([&] { return TaskGone("dup", b); }));  // acknowledged as a duplicate
  EXPECT_EQ(runs, 1);
}

TEST_F(JobServerTest, RetryableFailureReleasesTheKeyAndPermanentOneKeepsIt) {
  auto redis = Redis();
  ASSERT_TRUE(redis);
  std::atomic<int> flaky_runs{0}, fatal_runs{0};
  auto failed = std::make_shared<MemoryFailedTaskStore>();
  JobServerOptions o = Unauthenticated();
  o.idempotency = Idempotency(*redis, "idem-release:");
  o.failed_tasks = failed;
  auto server = StartServer(std::move(o), {{"flaky",
                                            [&](const JobContext&, const json&) {
                                              return ++flaky_runs == 1 ? JobResult::Retry("not yet") : JobResult::Ok();
                                            }},
                                           {"fatal", [&](const JobContext&, const json&) {
                                              ++fatal_runs;
                                              return JobResult::Permanent("never");
                                            }}});
  const std::string flaky = Payload("flaky", "k-flaky").dump();
  EXPECT_EQ(PostJob(*server, "flaky", flaky).status, 503);
  EXPECT_EQ(PostJob(*server, "flaky", flaky).status, 200);
  EXPECT_EQ(flaky_runs, 2);

  const std::string fatal = Payload("fatal", "k-fatal").dump();
  EXPECT_EQ(PostJob(*server, "fatal", fatal).status, 200);
  auto again = PostJob(*server, "fatal", fatal);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(JsonOf(again)["permanent"], true);
  EXPECT_EQ(JsonOf(again)["duplicate"], true);
  EXPECT_EQ(fatal_runs, 1);
  EXPECT_EQ(failed->All().size(), 1u);
}

TEST_F(JobServerTest, ADeliveryWhileTheFirstRunsIsToldToComeBack) {
  auto redis = Redis();
  ASSERT_TRUE(redis);
  std::promise<void> entered, release;
  auto released = release.get_future().share();
  JobServerOptions o = Unauthenticated();
  o.idempotency = Idempotency(*redis, "idem-busy:");
  o.in_progress_retry_after = seconds(4);
  auto server = StartServer(std::move(o), {{"slow", [&](const JobContext&, const json&) {
                                              entered.set_value();
                                              released.wait();
                                              return JobResult::Ok();
                                            }}});
  const std::string body = Payload("slow", "k-busy").dump();
  auto first = std::async(std::launch::async, [&] { return PostJob(*server, "slow", body); });
  entered.get_future().wait();
  auto second = PostJob(*server, "slow", body);
  EXPECT_EQ(second.status, 503) << second.body;
  EXPECT_EQ(HeaderOf(second, "Retry-After"), "4");
  release.set_value();
  EXPECT_EQ(first.get().status, 200);
}

TEST_F(JobServerTest, RedisFailedTaskStoreKeepsTheNewestEntries) {
  auto redis = Redis();
  ASSERT_TRUE(redis);
  RedisFailedTaskStore store(*redis, "failed-test", 2);
  for (int i = 0; i < 3; ++i) {
    FailedTask f;
    f.job_name = "job";
    f.idempotency_key = "k" + std::to_string(i);
    f.error = "e";
    f.data = {{"i", i}};
    ASSERT_TRUE(store.Record(f).ok());
  }
  auto list = redis->Command({"LRANGE", "failed-test", "0", "-1"});
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(json::parse((*list)[0].get<std::string>())["idempotencyKey"], "k2");
  EXPECT_EQ(json::parse((*list)[1].get<std::string>())["idempotencyKey"], "k1");
}

}  // namespace
}  // namespace stratus::sdk
