// The per-queue time series of the real binary (GET .../queues/{q}/stats and
// .../locations/{l}/queueStats): tasks delivered to a local target answering 200 and 500,
// then the counts per second checked against what happened and when (the times the tasks
// themselves record), the error shapes, and who may read.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/time.h"
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

const std::string kParent = "projects/st/locations/us-central1";
const std::string kOk = kParent + "/queues/stats-ok";
const std::string kFail = kParent + "/queues/stats-fail";
constexpr char kAdmin[] = "tok-admin-1a2b";
constexpr char kReader[] = "tok-read-3c4d";
constexpr char kEnqueue[] = "tok-enq-5e6f";

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

int64_t Second(const json& timestamp) {
  auto t = ParseTimestamp(timestamp.get<std::string>());
  EXPECT_TRUE(t.ok()) << timestamp;
  return t.ok() ? *t / kMicrosPerSecond : 0;
}

int64_t WallSecond() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// field -> its total over the points, and the seconds where it was not 0.
struct Totals {
  std::map<std::string, int64_t> sum;
  std::map<std::string, std::map<int64_t, int64_t>> at;
};
Totals Sum(const json& points) {
  Totals t;
  for (const auto& p : points) {
    for (const char* f : {"created", "dispatched", "succeeded", "failed", "retried", "deadLettered"}) {
      const int64_t v = p.at(f).get<int64_t>();
      t.sum[f] += v;
      if (v) t.at[f][Second(p.at("time"))] += v;
    }
  }
  return t;
}

class QueueStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stratus-stats-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::ofstream(dir_ + "/tokens") << "ops admin " << kAdmin << "\ngraf read-only " << kReader << "\nweb enqueue "
                                    << kEnqueue << "\n";
    ASSERT_TRUE(proc_.Start({"--redis-listen", "off", "--api-token-file", dir_ + "/tokens"})) << proc_.output();
  }
  void TearDown() override {
    proc_.Stop();
    std::filesystem::remove_all(dir_);
  }
  testing::RestReply Call(http::Verb verb, const std::string& path, const std::string& token = kAdmin,
                          const json& body = nullptr) {
    return rest_.Call(verb, proc_.tasks_url() + path, body,
                      {{"Authorization", "Bearer " + token}, {"Host", "localhost"}});
  }
  json Get(const std::string& path, const std::string& token = kAdmin) {
    auto r = Call(http::Verb::get, path, token);
    EXPECT_EQ(r.status, 200) << path << " " << r.body.dump();
    return r.body;
  }
  void CreateQueue(const std::string& name, json retry) {
    auto r = Call(http::Verb::post, "/v2/" + kParent + "/queues", kAdmin, {{"name", name}, {"retryConfig", retry}});
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }
  json CreateTask(const std::string& queue, const std::string& url) {
    auto r = Call(http::Verb::post, "/v2/" + queue + "/tasks", kAdmin,
                  {{"task", {{"httpRequest", {{"url", url}, {"httpMethod", "POST"}}}}}});
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body;
  }

  std::string dir_;
  StratusProcess proc_;
  RestClient rest_;
};

TEST_F(QueueStatsTest, CountsPerSecondMatchWhatHappened) {
  Target target;
  CreateQueue(kOk, json::object());
  CreateQueue(kFail, {{"maxAttempts", 2}, {"minBackoff", "0.1s"}, {"maxBackoff", "0.1s"}});
  const int64_t first = WallSecond();
  for (int i = 0; i < 3; ++i) CreateTask(kOk, target.url() + "/ok");
  const json failing = CreateTask(kFail, target.url() + "/fail");

  // Wait for the events themselves: three successes, one dead letter.
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  json ok_stats, fail_stats;
  for (;;) {
    ok_stats = Get("/stratus/v1/" + kOk + "/stats");
    fail_stats = Get("/stratus/v1/" + kFail + "/stats?seconds=300&step=1");
    if (Sum(ok_stats["points"]).sum["succeeded"] == 3 && Sum(fail_stats["points"]).sum["deadLettered"] == 1) break;
    ASSERT_LT(std::chrono::steady_clock::now(), limit) << ok_stats.dump() << fail_stats.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const int64_t last = WallSecond();
  const json dead = Get("/stratus/v1/" + kFail + "/deadLetters");
  ASSERT_EQ(dead["deadLetters"].size(), 1u) << dead.dump();

  // The default: the last 300 seconds, one point a second, oldest first, ending at now.
  EXPECT_EQ(ok_stats["queue"], kOk);
  EXPECT_EQ(ok_stats["seconds"], 300);
  EXPECT_EQ(ok_stats["step"], 1);
  ASSERT_EQ(ok_stats["points"].size(), 300u);
  EXPECT_EQ(Second(ok_stats["points"].back()["time"]), Second(ok_stats["now"]));
  EXPECT_EQ(Second(ok_stats["points"][1]["time"]), Second(ok_stats["points"][0]["time"]) + 1);

  Totals ok = Sum(ok_stats["points"]);
  EXPECT_EQ(ok.sum["created"], 3);
  EXPECT_EQ(ok.sum["dispatched"], 3);
  EXPECT_EQ(ok.sum["succeeded"], 3);
  EXPECT_EQ(ok.sum["failed"], 0);
  EXPECT_EQ(ok.sum["retried"], 0);
  EXPECT_EQ(ok.sum["deadLettered"], 0);
  for (const auto& [field, seconds] : ok.at) {
    for (const auto& [s, n] : seconds) {
      EXPECT_GE(s, first) << field;
      EXPECT_LE(s, last) << field;
    }
  }
  // Latency quantiles where attempts ended; none where nothing happened.
  bool some_latency = false;
  for (const auto& p : ok_stats["points"]) {
    if (p["succeeded"] != 0) {
      ASSERT_TRUE(p["latencyP95"].is_number()) << p.dump();
      EXPECT_GE(p["latencyP95"].get<double>(), p["latencyP50"].get<double>());
      some_latency = true;
    }
    if (p["dispatched"] == 0) {
      EXPECT_TRUE(p["latenessP95"].is_null()) << p.dump();
    }
  }
  EXPECT_TRUE(some_latency);

  // The failing task: each attempt counted in the second the task records for it.
  const json& task = dead["deadLetters"][0]["task"];
  Totals fail = Sum(fail_stats["points"]);
  EXPECT_EQ(fail.sum["created"], 1);
  EXPECT_EQ(fail.sum["dispatched"], 2);
  EXPECT_EQ(fail.sum["failed"], 2);
  EXPECT_EQ(fail.sum["retried"], 1);
  EXPECT_EQ(fail.sum["deadLettered"], 1);
  EXPECT_EQ(fail.sum["succeeded"], 0);
  const int64_t first_dispatch = Second(task["firstAttempt"]["dispatchTime"]);
  const int64_t last_dispatch = Second(task["lastAttempt"]["dispatchTime"]);
  const int64_t last_response = Second(task["lastAttempt"]["responseTime"]);
  std::map<int64_t, int64_t> dispatched = {{first_dispatch, 1}};
  dispatched[last_dispatch] += 1;
  EXPECT_EQ(fail.at["dispatched"], dispatched);
  EXPECT_EQ(fail.at["deadLettered"], (std::map<int64_t, int64_t>{{last_response, 1}}));
  EXPECT_GE(fail.at["failed"][last_response], 1);
  const int64_t created = Second(failing["createTime"]);
  ASSERT_EQ(fail.at["created"].size(), 1u);
  EXPECT_GE(fail.at["created"].begin()->first, created);
  EXPECT_LE(fail.at["created"].begin()->first, first_dispatch);

  // Steps sum their seconds: one point of the whole window holds every count.
  json whole = Get("/stratus/v1/" + kFail + "/stats?seconds=300&step=300");
  ASSERT_EQ(whole["points"].size(), 1u);
  EXPECT_EQ(whole["points"][0]["dispatched"], 2);
  EXPECT_EQ(whole["points"][0]["failed"], 2);
  EXPECT_EQ(whole["points"][0]["depth"], 0);
  EXPECT_EQ(whole["points"][0]["inFlight"], 0);
  EXPECT_EQ(Get("/stratus/v1/" + kFail + "/stats?seconds=3600&step=60")["points"].size(), 60u);

  // The overview: one row per queue of the location, the last minute.
  json overview = Get("/stratus/v1/" + kParent + "/queueStats");
  ASSERT_EQ(overview["queues"].size(), 2u) << overview.dump();
  std::map<std::string, json> rows;
  for (const auto& r : overview["queues"]) rows[r["queue"]] = r;
  EXPECT_EQ(rows[kOk]["state"], "RUNNING");
  EXPECT_EQ(rows[kOk]["succeededPerMinute"], 3);
  EXPECT_EQ(rows[kOk]["dispatchedPerMinute"], 3);
  EXPECT_EQ(rows[kOk]["failedPerMinute"], 0);
  EXPECT_EQ(rows[kOk]["depth"], 0);
  EXPECT_EQ(rows[kFail]["failedPerMinute"], 2);
  EXPECT_EQ(rows[kFail]["deadLetteredPerMinute"], 1);
  EXPECT_EQ(rows[kFail]["tracked"], true);
}

TEST_F(QueueStatsTest, GaugesFollowTheQueue) {
  CreateQueue(kOk, json::object());
  ASSERT_EQ(Call(http::Verb::post, "/v2/" + kOk + ":pause").status, 200);
  // Two tasks wait in the paused queue, due now: depth 2, the oldest ageing.
  CreateTask(kOk, "http://127.0.0.1:9/never");
  CreateTask(kOk, "http://127.0.0.1:9/never");
  // The runner learns of a task just after its create is answered: wait for it.
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  json rows;
  for (;;) {
    rows = Get("/stratus/v1/" + kParent + "/queueStats")["queues"];
    ASSERT_EQ(rows.size(), 1u);
    if (rows[0]["depth"] == 2) break;
    ASSERT_LT(std::chrono::steady_clock::now(), limit) << rows.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(rows[0]["state"], "PAUSED");
  EXPECT_EQ(rows[0]["depth"], 2);
  EXPECT_EQ(rows[0]["inFlight"], 0);
  json points = Get("/stratus/v1/" + kOk + "/stats?seconds=10")["points"];
  EXPECT_EQ(points.back()["depth"], 2);
  EXPECT_GE(points.back()["oldestAgeSeconds"].get<double>(), 0);
  EXPECT_EQ(Sum(points).sum["created"], 2);

  // A deleted queue drops its series: recreated, it starts from nothing.
  ASSERT_EQ(Call(http::Verb::delete_, "/v2/" + kOk).status, 200);
  auto gone = Call(http::Verb::get, "/stratus/v1/" + kOk + "/stats");
  EXPECT_EQ(gone.status, 404) << gone.body.dump();
}

TEST_F(QueueStatsTest, ErrorsAreRpcStatuses) {
  CreateQueue(kOk, json::object());
  // A missing queue: the words GetQueue uses.
  const std::string missing = kParent + "/queues/no-such-queue";
  auto get_queue = Call(http::Verb::get, "/v2/" + missing);
  auto stats = Call(http::Verb::get, "/stratus/v1/" + missing + "/stats");
  ASSERT_EQ(get_queue.status, 404);
  EXPECT_EQ(stats.status, 404);
  EXPECT_EQ(stats.body, get_queue.body);
  EXPECT_EQ(stats.body["error"]["status"], "NOT_FOUND");

  const std::string base = "/stratus/v1/" + kOk + "/stats";
  auto bad = [&](const std::string& query, const std::string& message) {
    auto r = Call(http::Verb::get, base + query);
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_EQ(r.body["error"]["status"], "INVALID_ARGUMENT") << query;
    EXPECT_EQ(r.body["error"]["code"], 400) << query;
    EXPECT_EQ(r.body["error"]["message"], message) << query;
  };
  bad("?seconds=3601", "seconds must be a whole number of seconds from 1 to 3600, not \"3601\".");
  bad("?seconds=0", "seconds must be a whole number of seconds from 1 to 3600, not \"0\".");
  bad("?seconds=ten", "seconds must be a whole number of seconds from 1 to 3600, not \"ten\".");
  bad("?seconds=60&step=61", "step must be a whole number of seconds from 1 to seconds (60), not \"61\".");
  bad("?seconds=60&step=-1", "step must be a whole number of seconds from 1 to seconds (60), not \"-1\".");
  bad("?seconds=60&step=7", "seconds (60) must be a multiple of step (7).");
  EXPECT_EQ(Call(http::Verb::get, base + "?seconds=3600&step=3600").status, 200);

  // /metrics names the requests by their RPC.
  auto scrape = Call(http::Verb::get, "/metrics");
  ASSERT_EQ(scrape.status, 200);
  const std::string text = scrape.body.is_string() ? scrape.body.get<std::string>() : scrape.body.dump();
  for (const char* sample :
       {"stratus_api_requests_total{method=\"GetQueueStats\",code=\"400\",transport=\"rest\"} 6",
        "stratus_api_requests_total{method=\"GetQueueStats\",code=\"404\",transport=\"rest\"} 1",
        "stratus_api_requests_total{method=\"GetQueueStats\",code=\"200\",transport=\"rest\"} 1"}) {
    EXPECT_NE(text.find(sample), std::string::npos) << sample;
  }
}

TEST_F(QueueStatsTest, ReadOnlyTokensMayRead) {
  CreateQueue(kOk, json::object());
  const std::string stats = "/stratus/v1/" + kOk + "/stats";
  const std::string overview = "/stratus/v1/" + kParent + "/queueStats";
  EXPECT_EQ(Get(stats, kReader)["points"].size(), 300u);
  EXPECT_EQ(Get(overview, kReader)["queues"].size(), 1u);
  // An enqueue-only token may not, and no token at all is unauthenticated.
  auto denied = Call(http::Verb::get, stats, kEnqueue);
  EXPECT_EQ(denied.status, 403) << denied.body.dump();
  EXPECT_EQ(denied.body["error"]["status"], "PERMISSION_DENIED");
  EXPECT_NE(denied.body["error"]["message"].get<std::string>().find("stratus.queueStats.get"), std::string::npos)
      << denied.body.dump();
  EXPECT_EQ(Call(http::Verb::get, overview, kEnqueue).status, 403);
  auto anonymous = rest_.Call(http::Verb::get, proc_.tasks_url() + stats, nullptr, {{"Host", "localhost"}});
  EXPECT_EQ(anonymous.status, 401) << anonymous.body.dump();
}

}  // namespace
}  // namespace stratus
