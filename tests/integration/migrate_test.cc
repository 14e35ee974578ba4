// `stratus migrate --from DATA_DIR --to <PostgreSQL>` through the real binary: a data dir made
// by this build's embedded store (queues with their settings, tasks with bodies, headers and
// schedule times, a task with a failed attempt, a dead letter, a deleted task's tombstone) is
// copied into a database of its own on the run's shared PostgreSQL, and a server on that
// database answers every REST read exactly as the embedded node did.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "integration/postgres_test_db.h"
#include "integration/raw_target.h"
#include "integration/rest_client.h"
#include "integration/run_shell.h"
#include "integration/stratus_process.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kParent = "projects/p/locations/us-central1";
const std::string kLoc = "/v2/" + kParent;
const std::string kExt = "/stratus/v1/" + kParent;

testing::ShellRun Migrate(const std::string& args) {
  return testing::RunShell(std::string(STRATUS_BINARY) + " migrate " + args + " 2>&1");
}

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = testing::FreshPostgresDb("migrate_" + std::to_string(::getpid()));
    char tmpl[] = "/tmp/stratus-migrate-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Args(const std::string& extra = "") const {
    return "--from " + dir_ + " --to '" + conninfo_ + "'" + extra;
  }

  json Ok(const testing::RestReply& r) {
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body;
  }

  // Everything a client can read about queues a, r and dl, as the server answers it.
  json Snapshot(const std::string& base) {
    json s;
    s["queues"] = Ok(rest_.Get(base + kLoc + "/queues"));
    for (std::string q : {"a", "r", "dl"}) {
      s[q]["queue"] = Ok(rest_.Get(base + kLoc + "/queues/" + q));
      s[q]["config"] = Ok(rest_.Get(base + kExt + "/queues/" + q + "/config"));
      s[q]["tasks"] = Ok(rest_.Get(base + kLoc + "/queues/" + q + "/tasks?responseView=FULL"));
      s[q]["dead"] = Ok(rest_.Get(base + kExt + "/queues/" + q + "/deadLetters"));
      for (const auto& t : s[q]["tasks"].value("tasks", json::array())) {
        std::string name = t["name"];
        s[q]["each"][name] = Ok(rest_.Get(base + "/v2/" + name + "?responseView=FULL"));
      }
    }
    s["dead_one"] = Ok(rest_.Get(base + kExt + "/queues/dl/deadLetters/doomed"));
    auto gone = rest_.Get(base + kLoc + "/queues/a/tasks/gone");
    s["gone"] = {gone.status, gone.body};
    // The OIDC keys: tokens signed before the move verify against the same JWKS after it.
    s["jwks"] = Ok(rest_.Get(base + "/.well-known/jwks.json"));
    s["jobs"] = Ok(rest_.Get(base + "/v1/" + kParent + "/jobs"));
    return s;
  }

  // Makes queues a (tasks due in a day), r (one task after a failed attempt, retried in an
  // hour) and dl (one dead letter) on an embedded node in dir_; returns what it serves.
  json MakeDataDir() {
    testing::RawTarget target([](testing::RawTarget::Conn& c) {
      while (c.Read()) c.Answer("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nX-Why: busy\r\n\r\nbusy");
    });
    testing::StratusProcess node;
    EXPECT_TRUE(node.Start({"--redis-listen", "off"}, dir_)) << node.output();
    const std::string base = node.tasks_url();
    Ok(rest_.Post(base + kLoc + "/queues",
                  {{"name", kParent + "/queues/a"},
                   {"rateLimits", {{"maxDispatchesPerSecond", 7}, {"maxConcurrentDispatches", 3}}},
                   {"retryConfig", {{"maxAttempts", 9}, {"minBackoff", "2s"}}}}));
    Ok(rest_.Post(base + kLoc + "/queues/a:pause"));
    Ok(rest_.Post(base + kLoc + "/queues",
                  {{"name", kParent + "/queues/r"},
                   {"retryConfig", {{"maxAttempts", 5}, {"minBackoff", "3600s"}, {"maxBackoff", "3600s"}}}}));
    Ok(rest_.Post(base + kLoc + "/queues", {{"name", kParent + "/queues/dl"}, {"retryConfig", {{"maxAttempts", 1}}}}));
    const int64_t tomorrow = std::time(nullptr) + 86400;
    for (int i = 0; i < 120; ++i) {
      json task = {{"httpRequest",
                    {{"url", "https://example.com/job/" + std::to_string(i)},
                     {"httpMethod", i % 2 ? "PUT" : "POST"},
                     {"headers", {{"Content-Type", "application/octet-stream"}, {"X-N", std::to_string(i)}}},
                     {"body", i == 0 ? "AAEC/f7/" : "aGVsbG8g" + std::to_string(i % 10) + "w=="}}}};
      char ts[32];
      std::time_t when = tomorrow + i;
      std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&when));
      task["scheduleTime"] = ts;
      if (i < 3) task["name"] = kParent + "/queues/a/tasks/named-" + std::to_string(i);
      Ok(rest_.Post(base + kLoc + "/queues/a/tasks", {{"task", task}}));
    }
    Ok(rest_.Post(base + kLoc + "/queues/a/tasks",
                  {{"task", {{"name", kParent + "/queues/a/tasks/gone"}, {"httpRequest", {{"url", "https://x/"}}}}}}));
    auto del = rest_.Call(http::Verb::delete_, base + kLoc + "/queues/a/tasks/gone");
    EXPECT_EQ(del.status, 200) << del.body.dump();
    Ok(rest_.Post(base + kLoc + "/queues/r/tasks",
                  {{"task",
                    {{"name", kParent + "/queues/r/tasks/again"},
                     {"httpRequest", {{"url", target.Url("/again")}, {"body", "cmV0cnk="}}}}}}));
    Ok(rest_.Post(base + kLoc + "/queues/dl/tasks",
                  {{"task",
                    {{"name", kParent + "/queues/dl/tasks/doomed"},
                     {"httpRequest", {{"url", target.Url("/doomed")}, {"body", "ZG9vbWVk"}}}}}}));
    // Two Cloud Scheduler jobs, one of them paused.
    for (std::string id : {"nightly", "weekly"}) {
      Ok(rest_.Post(base + "/v1/" + kParent + "/jobs",
                    {{"name", kParent + "/jobs/" + id},
                     {"schedule", id == "nightly" ? "0 3 * * *" : "0 4 * * 1"},
                     {"timeZone", "Europe/Berlin"},
                     {"httpTarget", {{"uri", "https://example.com/" + id}, {"body", "aGk="}}}}));
    }
    Ok(rest_.Post(base + "/v1/" + kParent + "/jobs/weekly:pause"));
    // Wait until the attempt on r is recorded and dl's task is a dead letter.
    bool settled = false;
    for (int i = 0; i < 600 && !settled; ++i) {
      auto r = rest_.Get(base + kLoc + "/queues/r/tasks/again");
      auto d = rest_.Get(base + kExt + "/queues/dl/deadLetters/doomed");
      settled = r.status == 200 && r.body.value("responseCount", 0) == 1 && d.status == 200;
      if (!settled) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(settled);
    json before = Snapshot(base);
    node.Stop();
    return before;
  }

  std::string conninfo_;
  std::string dir_;
  testing::RestClient rest_;
};

TEST_F(MigrateTest, EverythingReadsBackThroughAServerOnTheDatabase) {
  json before = MakeDataDir();
  ASSERT_EQ(before["a"]["tasks"]["tasks"].size(), 120u);
  ASSERT_EQ(before["dead_one"]["task"]["name"], kParent + "/queues/dl/tasks/doomed");
  ASSERT_EQ(before["gone"][0], 404);

  testing::ShellRun m = Migrate(Args());
  ASSERT_EQ(m.code, 0) << m.out;
  EXPECT_NE(m.out.find("verified: 3 queues, 121 tasks, 1 dead letters, "), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("copied 121 tasks"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("copied 1 OIDC signing keys"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find(" tombstones, 1 OIDC keys in "), std::string::npos) << m.out;
  EXPECT_EQ(m.out.find("OIDC signing keys ("), std::string::npos) << "no longer left behind: " << m.out;
  EXPECT_NE(m.out.find("verified: 2 Cloud Scheduler jobs"), std::string::npos) << m.out;
  EXPECT_EQ(m.out.find("Cloud Scheduler jobs (" + dir_), std::string::npos) << "not left behind any more: " << m.out;
  ASSERT_EQ(before["jobs"]["jobs"].size(), 2u) << before["jobs"].dump();

  // A server on the database alone (a fresh data dir) serves the same answers byte for byte.
  testing::StratusProcess pg;
  ASSERT_TRUE(pg.Start({"--store", conninfo_, "--redis-listen", "off"})) << pg.output();
  json after = Snapshot(pg.tasks_url());
  ASSERT_EQ(after["jwks"]["keys"].size(), 1u) << after["jwks"].dump();
  EXPECT_EQ(after.dump(), before.dump());
  for (const auto& [key, value] : before.items()) EXPECT_EQ(after[key], value) << key;

  // The tombstone came along: the deleted name stays taken for the de-dup window.
  auto again =
      rest_.Post(pg.tasks_url() + kLoc + "/queues/a/tasks",
                 {{"task", {{"name", kParent + "/queues/a/tasks/gone"}, {"httpRequest", {{"url", "https://x/"}}}}}});
  EXPECT_EQ(again.status, 409) << again.body.dump();
  // And the dead letter can be retried there.
  auto retried = rest_.Post(pg.tasks_url() + kExt + "/queues/dl/deadLetters/doomed:retry");
  EXPECT_EQ(retried.status, 200) << retried.body.dump();
}

TEST_F(MigrateTest, ARotatedKeyComesAlongAndKeepsVerifying) {
  MakeDataDir();
  // A start after --oidc-rotate-after makes a second key; the first stays published.
  std::this_thread::sleep_for(1100ms);
  json jwks;
  {
    testing::StratusProcess node;
    ASSERT_TRUE(node.Start({"--redis-listen", "off", "--oidc-rotate-after", "1s"}, dir_)) << node.output();
    jwks = Ok(rest_.Get(node.tasks_url() + "/.well-known/jwks.json"));
    node.Stop();
  }
  ASSERT_EQ(jwks["keys"].size(), 2u) << jwks.dump();
  testing::ShellRun m = Migrate(Args());
  ASSERT_EQ(m.code, 0) << m.out;
  EXPECT_NE(m.out.find("copied 2 OIDC signing keys"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find(" tombstones, 2 OIDC keys in "), std::string::npos) << m.out;
  testing::StratusProcess pg;
  ASSERT_TRUE(pg.Start({"--store", conninfo_, "--redis-listen", "off"})) << pg.output();
  EXPECT_EQ(Ok(rest_.Get(pg.tasks_url() + "/.well-known/jwks.json")), jwks);
}

TEST_F(MigrateTest, ARunningServersDataDirIsRefused) {
  testing::StratusProcess node;
  ASSERT_TRUE(node.Start({"--redis-listen", "off"}, dir_)) << node.output();
  testing::ShellRun m = Migrate(Args());
  EXPECT_EQ(m.code, 1) << m.out;
  EXPECT_NE(m.out.find("is using the data dir " + dir_), std::string::npos) << m.out;
}

TEST_F(MigrateTest, ANonEmptyDatabaseNeedsForce) {
  MakeDataDir();
  ASSERT_EQ(Migrate(Args()).code, 0);
  testing::ShellRun again = Migrate(Args());
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("is not empty (3 queues, 121 tasks, 1 dead letters"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find(" tombstones, 1 OIDC keys); give --force"), std::string::npos) << again.out;
  testing::ShellRun forced = Migrate(Args(" --force"));
  EXPECT_EQ(forced.code, 0) << forced.out;
  EXPECT_NE(forced.out.find("verified: 3 queues, 121 tasks, 1 dead letters"), std::string::npos) << forced.out;
  EXPECT_NE(forced.out.find("verified: 2 Cloud Scheduler jobs"), std::string::npos) << forced.out;
}

TEST_F(MigrateTest, ADatabaseAServerUsesIsRefused) {
  MakeDataDir();
  testing::StratusProcess pg;
  ASSERT_TRUE(pg.Start({"--store", conninfo_, "--redis-listen", "off"})) << pg.output();
  testing::ShellRun m = Migrate(Args());
  EXPECT_EQ(m.code, 1) << m.out;
  EXPECT_NE(m.out.find("another stratus server is using this PostgreSQL database"), std::string::npos) << m.out;
}

TEST_F(MigrateTest, ADirWithoutADatabaseIsRefused) {
  testing::ShellRun m = Migrate(Args());
  EXPECT_EQ(m.code, 1) << m.out;
  EXPECT_NE(m.out.find("no stratus database at " + dir_ + "/stratus.db"), std::string::npos) << m.out;
}

}  // namespace
}  // namespace stratus
