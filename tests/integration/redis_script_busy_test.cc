// A Lua script that never ends, against the real binary: other Redis commands are answered
// BUSY after the threshold, SCRIPT KILL stops it (UNKILLABLE once it wrote, NOTBUSY when
// nothing runs), with Redis's texts; and the Cloud Tasks API on the same server answers
// while two such scripts are queued, because scripts run on their own thread, not the loops.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "rest_client.h"
#include "sdk/http_sync.h"
#include "stratus_process.h"

namespace stratus {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kToken = "script-busy-token";
constexpr const char* kBusy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";

struct RedisAnswer {
  int status = 0;
  json body;
};

// One Redis REST command on its own connection (a script can take a while: 120 s timeout).
RedisAnswer Command(const std::string& base, const json& command) {
  auto http = sdk::internal::SyncHttp::Create("");
  EXPECT_TRUE(http.ok());
  auto url = http::Url::Parse(base + "/");
  EXPECT_TRUE(url.ok());
  auto req = sdk::internal::MakeRequest(http::Verb::post, command.dump());
  req.set("authorization", std::string("Bearer ") + kToken);
  auto res = (*http)->Fetch(*url, std::move(req), 120s);
  RedisAnswer a;
  if (res.failure != http::ClientResult::Failure::kNone) return a;
  a.status = res.status;
  a.body = json::parse(res.body, nullptr, false);
  return a;
}

std::string ErrorOf(const RedisAnswer& a) {
  return a.body.is_object() && a.body.contains("error") && a.body["error"].is_string()
             ? a.body["error"].get<std::string>()
             : "";
}

class RedisScriptBusyTest : public ::testing::Test {
 protected:
  // BUSY after 300 ms; `max_time_ms`: --redis-script-max-time (0: only SCRIPT KILL stops a script).
  void Start(int max_time_ms) {
    ASSERT_TRUE(stratus_.Start({"--redis-token", kToken, "--threads", "2", "--redis-script-timeout", "300",
                                "--redis-script-max-time", std::to_string(max_time_ms)}))
        << stratus_.output();
    redis_ = stratus_.redis_url();
    tasks_ = stratus_.tasks_url();
  }

  // Polls until PING is answered BUSY: a script passed the threshold.
  bool WaitBusy() {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      RedisAnswer a = Command(redis_, json::array({"ping"}));
      if (a.status == 400 && ErrorOf(a) == kBusy) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  std::future<RedisAnswer> Spawn(const std::string& script) {
    std::string base = redis_;
    return std::async(std::launch::async, [base, script] { return Command(base, json::array({"eval", script, 0})); });
  }

  testing::StratusProcess stratus_;
  std::string redis_, tasks_;
};

TEST_F(RedisScriptBusyTest, TwoSpinningScriptsLeaveCloudTasksAnsweringAndScriptKillEndsThem) {
  Start(0);
  auto first = Spawn("while true do end");
  auto second = Spawn("while true do end");
  ASSERT_TRUE(WaitBusy());

  // The Cloud Tasks API answers while the script still runs (it is BUSY after the call too).
  testing::RestClient rest;
  auto queues = rest.Get(tasks_ + "/v2/projects/p/locations/us-central1/queues");
  EXPECT_EQ(queues.status, 200) << queues.body.dump();
  auto created = rest.Post(tasks_ + "/v2/projects/p/locations/us-central1/queues",
                           json{{"name", "projects/p/locations/us-central1/queues/q"}});
  EXPECT_EQ(created.status, 200) << created.body.dump();
  EXPECT_EQ(ErrorOf(Command(redis_, json::array({"get", "k"}))), kBusy);

  // SCRIPT KILL ends the script running then. The other one was either queued behind it
  // (then it runs next and is killed too) or arrived once the first was past the threshold
  // (then it was answered BUSY, as Redis does).
  auto pending = [&] {
    return (first.wait_for(0s) != std::future_status::ready) + (second.wait_for(0s) != std::future_status::ready);
  };
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (pending() > 0 && std::chrono::steady_clock::now() < deadline) {
    RedisAnswer kill = Command(redis_, json::array({"script", "kill"}));
    EXPECT_TRUE(kill.body == json({{"result", "OK"}}) ||
                ErrorOf(kill) == "NOTBUSY No scripts in execution right now." || ErrorOf(kill) == kBusy)
        << kill.body.dump();
    std::this_thread::sleep_for(20ms);
  }
  int killed = 0;
  for (auto* f : {&first, &second}) {
    ASSERT_EQ(f->wait_for(60s), std::future_status::ready);
    RedisAnswer a = f->get();
    EXPECT_EQ(a.status, 400);
    std::string e = ErrorOf(a);
    killed += e.find("Script killed by user with SCRIPT KILL...") != std::string::npos;
    EXPECT_TRUE(e.find("Script killed by user with SCRIPT KILL...") != std::string::npos || e == kBusy) << e;
  }
  EXPECT_GE(killed, 1);
  RedisAnswer none = Command(redis_, json::array({"script", "kill"}));
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(ErrorOf(none), "NOTBUSY No scripts in execution right now.");
  EXPECT_EQ(Command(redis_, json::array({"ping"})).body, json({{"result", "PONG"}}));
}

TEST_F(RedisScriptBusyTest, BacktrackingPatternIsKillable) {
  Start(0);
  // Time spent inside string.find (C, where Lua's instruction hook never runs).
  auto running = Spawn("return string.find(string.rep('a', 1000), string.rep('a-', 3) .. 'b')");
  ASSERT_TRUE(WaitBusy());
  testing::RestClient rest;
  EXPECT_EQ(rest.Get(tasks_ + "/v2/projects/p/locations/us-central1/queues").status, 200);
  EXPECT_EQ(Command(redis_, json::array({"script", "kill"})).body, json({{"result", "OK"}}));
  ASSERT_EQ(running.wait_for(60s), std::future_status::ready);
  EXPECT_NE(ErrorOf(running.get()).find("Script killed by user"), std::string::npos);
}

TEST_F(RedisScriptBusyTest, ScriptThatWroteIsUnkillable) {
  Start(3000);
  auto running = Spawn("redis.call('set', 'written', '1') while true do end");
  ASSERT_TRUE(WaitBusy());
  RedisAnswer kill = Command(redis_, json::array({"script", "kill"}));
  EXPECT_EQ(kill.status, 400);
  EXPECT_EQ(ErrorOf(kill),
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the "
            "script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
  testing::RestClient rest;
  EXPECT_EQ(rest.Get(tasks_ + "/v2/projects/p/locations/us-central1/queues").status, 200);
  // --redis-script-max-time (3 s here) is what ends it; the write stays, as after any script error.
  ASSERT_EQ(running.wait_for(120s), std::future_status::ready);
  EXPECT_NE(ErrorOf(running.get()).find("script time limit"), std::string::npos);
  EXPECT_EQ(Command(redis_, json::array({"get", "written"})).body, json({{"result", "1"}}));
}

}  // namespace
}  // namespace stratus
