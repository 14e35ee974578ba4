// /metrics of the real binary after real traffic: tasks created, delivered to a local target
// and dead-lettered, API requests of several methods and codes, unrouted paths, Redis REST
// commands. Checks the families the dashboard and the alerts use, their labels (RPC method
// names, bounded sets), one HELP/TYPE per family, and that the counts move by what was sent.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "http/event_loops.h"
#include "http/router.h"
#include "http/server.h"
#include "integration/rest_client.h"
#include "integration/stratus_process.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using testing::RestClient;
using testing::StratusProcess;

const std::string kParent = "projects/mon/locations/us-central1";
const std::string kOk = kParent + "/queues/metrics-ok";
const std::string kFail = kParent + "/queues/metrics-fail";

// A local target: POST /ok answers 200, POST /fail 500.
class Target {
 public:
  Target() : loops_(1) {
    auto answer = [](int status) {
      return [status](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
        co_return http::MakeResponse(ctx.request, static_cast<beast::http::status>(status), "", "text/plain");
      };
    };
    EXPECT_TRUE(router_.Add({http::Verb::post, "/ok", http::Scope::kPublic, "ok", answer(200)}).ok());
    EXPECT_TRUE(router_.Add({http::Verb::post, "/fail", http::Scope::kPublic, "fail", answer(500)}).ok());
    http::ServerHooks hooks;
    hooks.error = [](const http::Request& req, int status, std::string message) {
      return http::MakeResponse(req, static_cast<beast::http::status>(status), std::move(message), "text/plain");
    };
    server_ = std::make_unique<http::Server>(loops_, router_, hooks, http::ServerOptions{});
    EXPECT_TRUE(server_->Start().ok());
    loops_.Start();
  }
  ~Target() {
    server_->Stop();
    loops_.Stop();
  }
  std::string url() const { return server_->url(); }

 private:
  http::EventLoops loops_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

// Every sample line of a scrape: series (name and labels as written) -> value.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

double At(const std::map<std::string, double>& s, const std::string& series) {
  auto it = s.find(series);
  return it == s.end() ? 0 : it->second;
}

std::string Q(const std::string& queue) {
  return "{queue=\"" + queue + "\"}";
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(proc_.Start({"--redis-token", "metrics-token"})) << proc_.output();
    api_ = proc_.tasks_url() + "/v2/";
  }
  std::string Scrape() {
    auto r = rest_.Get(proc_.tasks_url() + "/metrics");
    EXPECT_EQ(r.status, 200);
    return r.body.is_string() ? r.body.get<std::string>() : r.body.dump();
  }
  void CreateQueue(const std::string& name, json retry) {
    auto r = rest_.Post(api_ + kParent + "/queues", {{"name", name}, {"retryConfig", std::move(retry)}});
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }
  void CreateTask(const std::string& queue, const std::string& url) {
    auto r = rest_.Post(api_ + queue + "/tasks", {{"task", {{"httpRequest", {{"url", url}, {"httpMethod", "POST"}}}}}});
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }
  int Redis(const json& command) {
    return rest_.Call(http::Verb::post, proc_.redis_url() + "/", command, {{"Authorization", "Bearer metrics-token"}})
        .status;
  }

  StratusProcess proc_;
  RestClient rest_;
  std::string api_;
};

TEST_F(MetricsTest, FamiliesLabelsAndCountsAfterRealTraffic) {
  Target target;
  CreateQueue(kOk, json::object());
  CreateQueue(kFail, {{"maxAttempts", 2}, {"minBackoff", "0.1s"}, {"maxBackoff", "0.1s"}});
  const auto before = Samples(Scrape());
  // A new queue's counters are there at 0, so its first failure and dead letter count in rate().
  for (const char* name : {"stratus_tasks_created_total", "stratus_tasks_succeeded_total",
                           "stratus_tasks_dead_lettered_total", "stratus_tasks_retried_total"}) {
    EXPECT_EQ(before.count(name + Q(kFail)), 1u) << name;
    EXPECT_EQ(At(before, name + Q(kFail)), 0) << name;
  }
  EXPECT_EQ(before.count("stratus_task_attempts_failed_total{queue=\"" + kFail + "\",class=\"5xx\"}"), 1u);

  for (int i = 0; i < 3; ++i) CreateTask(kOk, target.url() + "/ok");
  CreateTask(kFail, target.url() + "/fail");
  EXPECT_EQ(rest_.Get(api_ + kParent + "/queues/no-such-queue").status, 404);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(rest_.Get(proc_.tasks_url() + "/no/such/path/" + std::to_string(i)).status, 404);
  }
  EXPECT_EQ(Redis(json::array({"SET", "k", "v"})), 200);
  EXPECT_EQ(Redis(json::array({"get", "k"})), 200);
  EXPECT_EQ(Redis(json::array({"INCR", "k"})), 400);  // not an integer
  EXPECT_EQ(Redis(json::array({"MADEUPCOMMAND", "k"})), 400);

  // Delivered and dead-lettered: wait on the counters themselves.
  std::map<std::string, double> s;
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string text;
  for (;;) {
    text = Scrape();
    s = Samples(text);
    if (At(s, "stratus_tasks_succeeded_total" + Q(kOk)) >= 3 &&
        At(s, "stratus_tasks_dead_lettered_total" + Q(kFail)) >= 1) {
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), limit) << text;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // One HELP and one TYPE per family, and every sample belongs to a declared family.
  std::map<std::string, int> types;
  std::regex type_line("^# TYPE (\\S+) (counter|gauge|histogram)$");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, type_line)) ++types[m[1]];
  }
  for (const auto& [family, n] : types) {
    EXPECT_EQ(n, 1) << family;
    EXPECT_NE(text.find("# HELP " + family + " "), std::string::npos) << family;
  }
  for (const auto& [series, v] : s) {
    std::string name = series.substr(0, series.find('{'));
    bool declared = types.count(name) > 0;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string sfx = suffix;
      if (!declared && name.size() > sfx.size() && name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
        declared = types.count(name.substr(0, name.size() - sfx.size())) > 0;
      }
    }
    EXPECT_TRUE(declared) << series;
  }

  // Attempts: duration and lateness per queue, with 30 s and 60 s as bucket bounds.
  EXPECT_EQ(At(s, "stratus_attempt_duration_seconds_count" + Q(kOk)), 3);
  EXPECT_EQ(At(s, "stratus_attempt_duration_seconds_count" + Q(kFail)), 2);
  EXPECT_EQ(At(s, "stratus_dispatch_lateness_seconds_count" + Q(kOk)), 3);
  for (const char* le : {"30", "60", "+Inf"}) {
    EXPECT_EQ(At(s, "stratus_attempt_duration_seconds_bucket{queue=\"" + kOk + "\",le=\"" + le + "\"}"), 3) << le;
    EXPECT_EQ(At(s, "stratus_dispatch_lateness_seconds_bucket{queue=\"" + kOk + "\",le=\"" + le + "\"}"), 3) << le;
  }
  EXPECT_EQ(At(s, "stratus_task_attempts_failed_total{queue=\"" + kFail + "\",class=\"5xx\"}"), 2);
  EXPECT_EQ(At(s, "stratus_tasks_retried_total" + Q(kFail)), 1);

  // Create latency per queue: successful creates only.
  EXPECT_EQ(At(s, "stratus_task_create_duration_seconds_count" + Q(kOk)), 3);
  EXPECT_EQ(At(s, "stratus_task_create_duration_seconds_count" + Q(kFail)), 1);
  EXPECT_EQ(At(before, "stratus_task_create_duration_seconds_count" + Q(kOk)), 0);

  // API requests by RPC method and code; the counts moved by what was sent.
  const std::string create = "{method=\"CreateTask\",code=\"200\",transport=\"rest\"}";
  EXPECT_EQ(At(before, "stratus_api_requests_total" + create), 0);
  EXPECT_EQ(At(s, "stratus_api_requests_total" + create), 4);
  EXPECT_EQ(At(s, "stratus_api_request_duration_seconds_count" + create), 4);
  EXPECT_EQ(At(s,
               "stratus_api_request_duration_seconds_bucket{method=\"CreateTask\",code=\"200\",transport=\"rest\",le="
               "\"+Inf\"}"),
            4);
  EXPECT_EQ(At(s, "stratus_api_requests_total{method=\"CreateQueue\",code=\"200\",transport=\"rest\"}"), 2);
  EXPECT_EQ(At(s, "stratus_api_requests_total{method=\"GetQueue\",code=\"404\",transport=\"rest\"}"), 1);
  EXPECT_EQ(At(s, "stratus_api_requests_total{method=\"unrouted\",code=\"404\",transport=\"rest\"}"), 12);
  EXPECT_GE(At(s, "stratus_api_requests_total{method=\"GetMetrics\",code=\"200\",transport=\"rest\"}"), 1);
  std::set<std::string> methods;
  std::regex method_label("method=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), method_label); it != std::sregex_iterator(); ++it) {
    methods.insert((*it)[1]);
  }
  for (const auto& m : methods) EXPECT_TRUE(std::regex_match(m, std::regex("[A-Za-z]+"))) << m;  // no paths
  EXPECT_EQ(text.find("no/such/path"), std::string::npos);

  // The SQLite writer: commits happened between the scrapes, several writes in them.
  EXPECT_GT(At(s, "stratus_store_commit_duration_seconds_count"),
            At(before, "stratus_store_commit_duration_seconds_count"));
  EXPECT_GE(At(s, "stratus_store_commit_writes_sum") - At(before, "stratus_store_commit_writes_sum"), 4);
  EXPECT_EQ(At(s, "stratus_store_commit_duration_seconds_count"), At(s, "stratus_store_commit_writes_count"));
  EXPECT_EQ(At(s, "stratus_store_commit_failures_total"), 0);
  EXPECT_NE(text.find("stratus_store_commit_duration_seconds_bucket{le=\"60\"}"), std::string::npos);

  // Redis REST commands by known name; anything else is "other".
  EXPECT_EQ(At(s, "stratus_redis_commands_total{command=\"set\"}"), 1);
  EXPECT_EQ(At(s, "stratus_redis_commands_total{command=\"get\"}"), 1);
  EXPECT_EQ(At(s, "stratus_redis_commands_total{command=\"incr\"}"), 1);
  EXPECT_EQ(At(s, "stratus_redis_command_errors_total{command=\"incr\"}"), 1);
  EXPECT_EQ(At(s, "stratus_redis_commands_total{command=\"other\"}"), 1);
  EXPECT_EQ(At(s, "stratus_redis_command_errors_total{command=\"other\"}"), 1);
  EXPECT_EQ(At(s, "stratus_redis_command_errors_total{command=\"set\"}"), 0);
  EXPECT_EQ(text.find("madeupcommand"), std::string::npos);
}

}  // namespace
}  // namespace stratus
