// Who may call the real binary and what they may do: cross-origin and DNS-rebinding requests
// refused before they touch anything, scoped tokens from --api-token-file, actAs, and the
// audit lines in --audit-log.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <regex>
#include <set>

#include "api/access.h"
#include "api/cloudtasks/routes.h"
#include "api/stratus/routes.h"
#include "api/stratus/stats.h"
#include "common/clock.h"
#include "integration/paths.h"
#include "integration/run_shell.h"
#include "raw_http.h"
#include "rest_client.h"
#include "store/sqlite/sqlite_store.h"
#include "stratus_process.h"
#include "tasks/service.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using testing::RestClient;
using testing::StratusProcess;

constexpr char kLoc[] = "/v2/projects/p/locations/us-central1";

using testing::PortOf;

struct RawReply {
  int status = 0;
  json body;
};

// One request on its own connection, written exactly as given (the HTTP client would set
// its own Host), read to the end.
RawReply Raw(uint16_t port, const std::string& head, const std::string& body = "") {
  RawReply r;
  std::string req = head + "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  std::string in = testing::RawExchange(port, req, std::chrono::seconds(30));
  if (in.rfind("HTTP/1.1 ", 0) != 0) return r;
  r.status = std::stoi(in.substr(9, 3));
  size_t split = in.find("\r\n\r\n");
  if (split != std::string::npos) r.body = json::parse(in.substr(split + 4), nullptr, false);
  return r;
}

std::string Head(const std::string& method, const std::string& target, const std::string& host,
                 const std::string& extra = "") {
  return method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra;
}

class AccessGuard : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(proc_.Start({"--redis-token", "redis-secret", "--allowed-hosts", "tasks.example"})) << proc_.output();
    port_ = PortOf(proc_.tasks_url());
    self_ = "127.0.0.1:" + std::to_string(port_);
  }
  json QueueNames() {
    auto list = rest_.Get(proc_.tasks_url() + kLoc + "/queues");
    EXPECT_EQ(list.status, 200) << list.body.dump();
    json names = json::array();
    for (const auto& q : list.body.value("queues", json::array())) names.push_back(q["name"]);
    return names;
  }
  StratusProcess proc_;
  RestClient rest_;
  uint16_t port_ = 0;
  std::string self_;
};

TEST_F(AccessGuard, ACrossOriginTextPlainPostIsRefusedAndCreatesNothing) {
  const std::string queues = std::string(kLoc) + "/queues";
  const std::string evil_queue = R"({"name":"projects/p/locations/us-central1/queues/evil"})";
  // What a web page can send without a preflight: text/plain, its own Origin.
  RawReply r = Raw(port_, Head("POST", queues, self_, "Origin: https://evil.example\r\nContent-Type: text/plain\r\n"),
                   evil_queue);
  ASSERT_EQ(r.status, 403) << r.body.dump();
  EXPECT_EQ(r.body["error"]["status"], "PERMISSION_DENIED");
  EXPECT_EQ(r.body["error"]["message"],
            "Cross-origin request refused: Origin \"https://evil.example\" is not this server's own origin; call the "
            "API from a server or a command line, not from a web page.");
  // A foreign Origin with a JSON body too (a page that got past a preflight elsewhere).
  r = Raw(port_, Head("POST", queues, self_, "Origin: http://localhost:1\r\nContent-Type: application/json\r\n"),
          evil_queue);
  EXPECT_EQ(r.status, 403) << r.body.dump();
  // No Origin, but a browser's simple-request type.
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    r = Raw(port_, Head("POST", queues, self_, std::string("Content-Type: ") + type + "\r\n"), evil_queue);
    EXPECT_EQ(r.status, 400) << type << " " << r.body.dump();
    EXPECT_EQ(r.body["error"]["status"], "INVALID_ARGUMENT") << type;
  }
  EXPECT_EQ(QueueNames(), json::array());

  // A task in an existing queue: refused the same way, nothing queued.
  ASSERT_EQ(rest_.Post(proc_.tasks_url() + queues, {{"name", "projects/p/locations/us-central1/queues/q"}}).status,
            200);
  ASSERT_EQ(rest_.Post(proc_.tasks_url() + queues + "/q:pause").status, 200);
  const std::string task = R"({"task":{"httpRequest":{"url":"http://127.0.0.1:9/hook"}}})";
  r = Raw(port_,
          Head("POST", queues + "/q/tasks", self_, "Origin: https://evil.example\r\nContent-Type: text/plain\r\n"),
          task);
  EXPECT_EQ(r.status, 403) << r.body.dump();
  r = Raw(port_, Head("POST", queues + "/q/tasks", self_, "Content-Type: text/plain;charset=UTF-8\r\n"), task);
  EXPECT_EQ(r.status, 400) << r.body.dump();
  auto tasks = rest_.Get(proc_.tasks_url() + queues + "/q/tasks");
  ASSERT_EQ(tasks.status, 200);
  EXPECT_FALSE(tasks.body.contains("tasks")) << tasks.body.dump();

  // The server's own origin, with JSON, is a normal call.
  r = Raw(port_,
          Head("POST", queues + "/q/tasks", self_,
               "Origin: http://" + self_ + "\r\nContent-Type: application/json; charset=utf-8\r\n"),
          task);
  EXPECT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(QueueNames(), json::array({"projects/p/locations/us-central1/queues/q"}));
}

TEST_F(AccessGuard, OnlyHostsTheServerIsKnownByAreAnswered) {
  const std::string queues = std::string(kLoc) + "/queues";
  for (const std::string& host :
       std::vector<std::string>{"evil.example", "evil.example:" + std::to_string(port_), "10.1.2.3"}) {
    for (const std::string& path : {queues, std::string("/healthz")}) {
      RawReply r = Raw(port_, Head("GET", path, host));
      EXPECT_EQ(r.status, 403) << host << path << r.body.dump();
      EXPECT_EQ(r.body["error"]["status"], "PERMISSION_DENIED") << host;
    }
  }
  RawReply r = Raw(port_, Head("POST", queues, "evil.example", "Content-Type: application/json\r\n"),
                   R"({"name":"projects/p/locations/us-central1/queues/rebound"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body["error"]["message"],
            "Host \"evil.example\" is not a name this server answers to (DNS rebinding protection); add it with "
            "--allowed-hosts.");
  EXPECT_EQ(QueueNames(), json::array());
  for (const std::string& host : std::vector<std::string>{self_, "localhost:" + std::to_string(port_),
                                                          "[::1]:" + std::to_string(port_), "tasks.example:443"}) {
    EXPECT_EQ(Raw(port_, Head("GET", queues, host)).status, 200) << host;
  }

  // The Redis REST listener answers its own way (Upstash JSON errors).
  uint16_t redis = PortOf(proc_.redis_url());
  const std::string auth = "Authorization: Bearer redis-secret\r\nContent-Type: application/json\r\n";
  r = Raw(redis, Head("POST", "/", "evil.example:" + std::to_string(redis), auth), R"(["SET","k","v"])");
  EXPECT_EQ(r.status, 403) << r.body.dump();
  EXPECT_EQ(r.body, (json{{"error",
                           "ERR Host \"evil.example\" is not a name this server answers to (DNS rebinding "
                           "protection); add it with --allowed-hosts."}}));
  r = Raw(redis, Head("POST", "/", "127.0.0.1:" + std::to_string(redis), auth + "Origin: https://evil.example\r\n"),
          R"(["SET","k","v"])");
  EXPECT_EQ(r.status, 403) << r.body.dump();
  r = Raw(redis, Head("POST", "/", "127.0.0.1:" + std::to_string(redis), auth), R"(["GET","k"])");
  EXPECT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body, (json{{"result", nullptr}}));
}

TEST(AccessGuardFlags, AllowedHostsStarAcceptsAnyHost) {
  StratusProcess proc;
  ASSERT_TRUE(proc.Start({"--redis-listen", "off", "--allowed-hosts", "*"})) << proc.output();
  RawReply r = Raw(PortOf(proc.tasks_url()), Head("GET", std::string(kLoc) + "/queues", "evil.example"));
  EXPECT_EQ(r.status, 200) << r.body.dump();
}

std::string WriteFile(const std::string& dir, const std::string& name, const std::string& text) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string TempDir() {
  char tmpl[] = "/tmp/stratus-access-XXXXXX";
  return mkdtemp(tmpl);
}

constexpr char kJobs[] = "jobs@p.iam.gserviceaccount.com";
constexpr char kTokens[] =
    "# stratus API tokens\n"
    "ops  admin     tok-ops-5f1d\n"
    "web  enqueue   tok-web-93ab  serviceAccounts=jobs@p.iam.gserviceaccount.com\n"
    "graf read-only tok-graf-77c2\n"
    "cron enqueue   tok-cron-4e20\n"
    "rpt  enqueue   tok-rpt-2b61  serviceAccounts=owner@p.iam.gserviceaccount.com\n";

class ScopedTokens : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    audit_ = dir_ + "/audit.log";
    ASSERT_TRUE(proc_.Start(
        {"--redis-listen", "off", "--api-token-file", WriteFile(dir_, "tokens", kTokens), "--audit-log", audit_}))
        << proc_.output();
  }
  void TearDown() override {
    proc_.Stop();
    std::filesystem::remove_all(dir_);
  }
  testing::RestReply Call(http::Verb verb, const std::string& path, const std::string& token,
                          const json& body = nullptr) {
    std::map<std::string, std::string> h;
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    return rest_.Call(verb, proc_.tasks_url() + path, body, h);
  }
  static json Task(const char* email) {
    json req = {{"url", "http://127.0.0.1:9/hook"}};
    if (email) req["oidcToken"] = {{"serviceAccountEmail", email}};
    return {{"task", {{"httpRequest", req}}}};
  }
  std::vector<json> AuditLines() {
    std::ifstream in(audit_);
    std::vector<json> out;
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line, nullptr, false));
    return out;
  }

  std::string dir_, audit_;
  const std::string q_signed_ = std::string(kLoc) + "/queues/signed";
  StratusProcess proc_;
  RestClient rest_;
};

TEST_F(ScopedTokens, EachTokenDoesWhatItsScopeAllows) {
  const std::string q = std::string(kLoc) + "/queues/q";
  using V = http::Verb;
  ASSERT_EQ(Call(V::post, std::string(kLoc) + "/queues", "tok-ops-5f1d",
                 {{"name", "projects/p/locations/us-central1/queues/q"}})
                .status,
            200);
  ASSERT_EQ(Call(V::post, q + ":pause", "tok-ops-5f1d").status, 200);

  // enqueue: create tasks, signing only as its own service accounts.
  EXPECT_EQ(Call(V::post, q + "/tasks", "tok-web-93ab", Task(nullptr)).status, 200);
  EXPECT_EQ(Call(V::post, q + "/tasks", "tok-web-93ab", Task(kJobs)).status, 200);
  auto act_as = Call(V::post, q + "/tasks", "tok-web-93ab", Task("owner@p.iam.gserviceaccount.com"));
  EXPECT_EQ(act_as.status, 403);
  EXPECT_EQ(act_as.body,
            (json{{"error",
                   {{"code", 403},
                    {"message",
                     "The principal (user or service account) lacks IAM permission \"iam.serviceAccounts.actAs\" for "
                     "the resource \"owner@p.iam.gserviceaccount.com\" (or the resource may not exist)."},
                    {"status", "PERMISSION_DENIED"}}}}));
  auto purge = Call(V::post, q + ":purge", "tok-web-93ab");
  EXPECT_EQ(purge.status, 403);
  EXPECT_EQ(purge.body["error"]["message"],
            "The principal (user or service account) lacks IAM permission \"cloudtasks.queues.purge\" for the "
            "resource \"projects/p/locations/us-central1/queues/q\" (or the resource may not exist).");
  EXPECT_EQ(Call(V::get, q + "/tasks", "tok-web-93ab").status, 403);
  EXPECT_EQ(
      Call(V::delete_, "/stratus/v1/projects/p/locations/us-central1/queues/q/deadLetters", "tok-web-93ab").status,
      403);

  // read-only: reads, never a change.
  auto list = Call(V::get, q + "/tasks", "tok-graf-77c2");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["tasks"].size(), 2u) << list.body.dump();
  EXPECT_EQ(Call(V::get, q, "tok-graf-77c2").status, 200);
  EXPECT_EQ(Call(V::post, q + "/tasks", "tok-graf-77c2", Task(nullptr)).status, 403);
  EXPECT_EQ(Call(V::delete_, q, "tok-graf-77c2").status, 403);

  // admin: anything, any service account.
  EXPECT_EQ(Call(V::post, q + "/tasks", "tok-ops-5f1d", Task("owner@p.iam.gserviceaccount.com")).status, 200);
  EXPECT_EQ(
      Call(V::delete_, "/stratus/v1/projects/p/locations/us-central1/queues/q/deadLetters", "tok-ops-5f1d").status,
      200);
  EXPECT_EQ(Call(V::post, q + ":purge", "tok-ops-5f1d").status, 200);
  EXPECT_EQ(Call(V::get, q, "").status, 401);
  EXPECT_EQ(Call(V::get, q, "tok-nope").status, 401);
}

// A queue's httpTarget token replaces a task's own at delivery: a task is checked against
// the account its deliveries will sign as, so an enqueue token cannot borrow the queue's.
TEST_F(ScopedTokens, ATaskMayOnlyGoToAQueueSigningAsAnAccountTheTokenMayActAs) {
  using V = http::Verb;
  auto make_queue = [&](const char* id, const char* token_field) {
    return Call(V::post, std::string(kLoc) + "/queues", "tok-ops-5f1d",
                {{"name", std::string("projects/p/locations/us-central1/queues/") + id},
                 {"httpTarget", {{token_field, {{"serviceAccountEmail", kJobs}}}}}})
        .status;
  };
  ASSERT_EQ(make_queue("signed", "oidcToken"), 200);
  ASSERT_EQ(make_queue("bearer", "oauthToken"), 200);
  ASSERT_EQ(Call(V::post, q_signed_ + ":pause", "tok-ops-5f1d").status, 200);
  const json denied = {{"error",
                        {{"code", 403},
                         {"message",
                          "The principal (user or service account) lacks IAM permission \"iam.serviceAccounts.actAs\" "
                          "for the resource \"jobs@p.iam.gserviceaccount.com\" (or the resource may not exist)."},
                         {"status", "PERMISSION_DENIED"}}}};

  // No accounts, or only another one (even when the task names that one itself): refused.
  for (const char* queue : {"signed", "bearer"}) {
    const std::string tasks = std::string(kLoc) + "/queues/" + queue + "/tasks";
    auto bare = Call(V::post, tasks, "tok-cron-4e20", Task(nullptr));
    EXPECT_EQ(bare.status, 403) << queue;
    EXPECT_EQ(bare.body, denied) << queue << " " << bare.body.dump();
    auto other = Call(V::post, tasks, "tok-rpt-2b61", Task("owner@p.iam.gserviceaccount.com"));
    EXPECT_EQ(other.status, 403) << queue;
    EXPECT_EQ(other.body, denied) << queue << " " << other.body.dump();
    auto listed = Call(V::get, tasks, "tok-ops-5f1d");
    ASSERT_EQ(listed.status, 200);
    EXPECT_FALSE(listed.body.contains("tasks")) << queue << " " << listed.body.dump();
  }

  // A token that may act as the queue's account, or as any: accepted.
  EXPECT_EQ(Call(V::post, q_signed_ + "/tasks", "tok-web-93ab", Task(nullptr)).status, 200);
  EXPECT_EQ(Call(V::post, q_signed_ + "/tasks", "tok-ops-5f1d", Task(nullptr)).status, 200);
  auto listed = Call(V::get, q_signed_ + "/tasks", "tok-ops-5f1d");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body["tasks"].size(), 2u) << listed.body.dump();
  // A queue without a token of its own still takes tasks from a token with no accounts.
  ASSERT_EQ(Call(V::post, std::string(kLoc) + "/queues", "tok-ops-5f1d",
                 {{"name", "projects/p/locations/us-central1/queues/plain"}})
                .status,
            200);
  EXPECT_EQ(Call(V::post, std::string(kLoc) + "/queues/plain/tasks", "tok-cron-4e20", Task(nullptr)).status, 200);
}

TEST_F(ScopedTokens, QueueChangesAreAuditedByTokenNameWithoutSecrets) {
  const std::string q = std::string(kLoc) + "/queues/q";
  using V = http::Verb;
  ASSERT_EQ(Call(V::post, std::string(kLoc) + "/queues", "tok-ops-5f1d",
                 {{"name", "projects/p/locations/us-central1/queues/q"}})
                .status,
            200);
  EXPECT_EQ(Call(V::post, q + ":purge", "tok-web-93ab").status, 403);
  EXPECT_EQ(Call(V::post, q + ":pause", "tok-ops-5f1d").status, 200);
  EXPECT_EQ(Call(V::post, q + "/tasks", "tok-web-93ab", Task(nullptr)).status, 200);  // not a queue change
  EXPECT_EQ(Call(V::get, q, "tok-graf-77c2").status, 200);                            // a read
  EXPECT_EQ(Call(V::post, "/stratus/v1/projects/p/locations/us-central1/queues/q/deadLetters/t1:retry", "tok-ops-5f1d")
                .status,
            404);
  EXPECT_EQ(Call(V::delete_, q, "tok-nope").status, 401);

  std::vector<json> lines = AuditLines();
  ASSERT_EQ(lines.size(), 5u);
  struct Want {
    const char* principal;
    const char* method;
    const char* resource;
    int status;
  };
  const Want want[] = {
      {"ops", "queues.create", "projects/p/locations/us-central1/queues/q", 200},
      {"web", "queues.purge", "projects/p/locations/us-central1/queues/q", 403},
      {"ops", "queues.pause", "projects/p/locations/us-central1/queues/q", 200},
      {"ops", "stratus.deadLetters.retry", "projects/p/locations/us-central1/queues/q/tasks/t1", 404},
      {"anonymous", "queues.delete", "projects/p/locations/us-central1/queues/q", 401},
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const json& l = lines[i];
    EXPECT_EQ(l["event"], "audit") << l.dump();
    EXPECT_EQ(l["principal"], want[i].principal) << l.dump();
    EXPECT_EQ(l["method"], want[i].method) << l.dump();
    EXPECT_EQ(l["resource"], want[i].resource) << l.dump();
    EXPECT_EQ(l["status"], want[i].status) << l.dump();
    EXPECT_TRUE(l["time"].is_string());
    EXPECT_EQ(l["remote"].get<std::string>().rfind("127.0.0.1:", 0), 0u) << l.dump();
  }
  std::ifstream in(audit_);
  std::stringstream all;
  all << in.rdbuf();
  EXPECT_EQ(all.str().find("tok-"), std::string::npos) << all.str();
  struct stat st {};
  ASSERT_EQ(stat(audit_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // A restart appends.
  proc_.Stop();
  std::string data_dir = proc_.data_dir();
  ASSERT_TRUE(
      proc_.Start({"--redis-listen", "off", "--api-token-file", dir_ + "/tokens", "--audit-log", audit_}, data_dir))
      << proc_.output();
  EXPECT_EQ(Call(V::post, q + ":resume", "tok-ops-5f1d").status, 200);
  lines = AuditLines();
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[5]["method"], "queues.resume");
}

TEST(ApiTokenFile, TheOldOneTokenFormatStillWorks) {
  std::string dir = TempDir();
  StratusProcess proc;
  ASSERT_TRUE(proc.Start({"--redis-listen", "off", "--api-token-file", WriteFile(dir, "token", "legacy-tok\n")}))
      << proc.output();
  RestClient rest;
  const std::string url = proc.tasks_url() + kLoc + "/queues";
  EXPECT_EQ(rest.Call(http::Verb::get, url, nullptr, {{"Authorization", "Bearer legacy-tok"}}).status, 200);
  EXPECT_EQ(rest.Call(http::Verb::post, url, {{"name", "projects/p/locations/us-central1/queues/q"}},
                      {{"Authorization", "Bearer legacy-tok"}})
                .status,
            200);
  EXPECT_EQ(rest.Call(http::Verb::get, url, nullptr, {{"Authorization", "Bearer other"}}).status, 401);
  proc.Stop();
  std::filesystem::remove_all(dir);
}

TEST(ApiTokenFile, AnUnknownScopeStopsTheStartNamingTheLine) {
  std::string dir = TempDir();
  std::string file = WriteFile(dir, "tokens", "ops admin tok-a\nweb superuser tok-b\n");
  std::string cmd = std::string(STRATUS_BINARY) +
                    " serve --listen 127.0.0.1:0 --redis-listen off --grpc-listen off --data-dir " + dir +
                    "/data --api-token-file " + file + " 2>&1";
  auto [rc, out] = testing::RunShell(cmd);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(
      out.find("--api-token-file " + file + " line 2: unknown scope \"superuser\" (use admin, enqueue or read-only)"),
      std::string::npos)
      << out;
  EXPECT_EQ(out.find("tok-b"), std::string::npos) << out;
  EXPECT_EQ(out.find("stratus: ready"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

// The real route tables: every API route names a permission in Google's form (a row added
// without one would be admin-only), enqueue tokens reach task creation alone, and exactly the
// queue changes and dead-letter actions are audited.
TEST(RouteTable, EveryApiRouteNamesAPermission) {
  std::string dir = TempDir();
  {
    auto store = SqliteStore::Open(dir + "/stratus.db", StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status().message();
    SystemClock clock;
    asio::thread_pool blocking{1};
    TasksService service(**store, clock, blocking, ServiceOptions{});
    Metrics metrics;
    http::Router router;
    ASSERT_TRUE(api::RegisterCloudTasksRoutes(router, service).ok());
    ASSERT_TRUE(api::RegisterStratusRoutes(router, service).ok());
    ASSERT_TRUE(api::RegisterMetricsRoute(router, metrics).ok());
    http::EventLoops loops(1);
    Dispatcher dispatcher(**store, clock, loops, nullptr, metrics, DispatchOptions{});
    ASSERT_TRUE(api::RegisterStatsRoutes(router, service, dispatcher).ok());
    const std::regex form(
        "(cloudtasks\\.(locations|queues|tasks)|"
        "stratus\\.(queueConfigs|deadLetters|metrics|queueStats))\\.[a-zA-Z]+");
    std::set<std::string> audited, enqueue, read_only;
    for (const auto& r : router.routes()) {
      if (r->scope != http::Scope::kApi) continue;
      if (r->name == "queues.testIamPermissions") {
        EXPECT_EQ(r->permission, "*");
      } else {
        EXPECT_TRUE(std::regex_match(r->permission, form)) << r->name << ": " << r->permission;
      }
      if (api::IsAudited(r->permission)) audited.insert(r->name);
      if (api::ScopeGrants(api::TokenScope::kEnqueue, r->permission)) enqueue.insert(r->name);
      if (api::ScopeGrants(api::TokenScope::kReadOnly, r->permission)) read_only.insert(r->name);
      // Nothing a read-only token may call changes anything.
      if (api::ScopeGrants(api::TokenScope::kReadOnly, r->permission) && r->name != "queues.getIamPolicy" &&
          r->name != "queues.testIamPermissions") {
        EXPECT_EQ(r->verb, http::Verb::get) << r->name;
      }
    }
    // tasks.buffer creates a task: Google asks cloudtasks.tasks.create for it too.
    EXPECT_EQ(enqueue,
              (std::set<std::string>{"tasks.create", "tasks.buffer", "tasks.buffer.id", "queues.testIamPermissions"}));
    EXPECT_EQ(audited,
              (std::set<std::string>{
                  "queues.create", "queues.patch", "queues.delete", "queues.purge", "queues.pause", "queues.resume",
                  "queues.setIamPolicy", "stratus.config.set", "stratus.config.patch", "stratus.deadLetters.purge",
                  "stratus.deadLetters.retryAll", "stratus.deadLetters.delete", "stratus.deadLetters.retry"}));
    EXPECT_TRUE(read_only.count("admin.metrics"));
    EXPECT_TRUE(read_only.count("stratus.deadLetters.list"));
    EXPECT_TRUE(read_only.count("stratus.queueStats.get"));
    EXPECT_TRUE(read_only.count("stratus.queueStats.list"));
    (*store)->Close();
    blocking.join();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace stratus
