// `stratus serve --store <PostgreSQL>` through the real binary, on a database of its own on the
// run's shared PostgreSQL: queues and tasks land in the database (another server started on it
// later sees them) and a task is delivered from it. Several servers on one database:
// cluster_*_test.cc.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "integration/paths.h"
#include "integration/postgres_test_db.h"
#include "integration/raw_target.h"
#include "integration/rest_client.h"
#include "integration/run_shell.h"
#include "integration/stratus_process.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kLoc = "/v2/projects/p/locations/us-central1";

class PostgresServe : public ::testing::Test {
 protected:
  void SetUp() override { conninfo_ = testing::FreshPostgresDb("serve_" + std::to_string(::getpid())); }

  bool Start(testing::StratusProcess& p) { return p.Start({"--store", conninfo_, "--redis-listen", "off"}); }

  std::string conninfo_;
  testing::RestClient rest_;
};

TEST_F(PostgresServe, QueuesAndTasksLiveInTheDatabase) {
  {
    testing::StratusProcess first;
    ASSERT_TRUE(Start(first)) << first.output();
    auto q = rest_.Post(first.tasks_url() + kLoc + "/queues", {{"name", "projects/p/locations/us-central1/queues/q"}});
    ASSERT_EQ(q.status, 200) << q.body.dump();
    auto paused = rest_.Post(first.tasks_url() + kLoc + "/queues/q:pause", json::object());
    ASSERT_EQ(paused.status, 200) << paused.body.dump();
    auto t = rest_.Post(first.tasks_url() + kLoc + "/queues/q/tasks",
                        {{"task",
                          {{"name", "projects/p/locations/us-central1/queues/q/tasks/kept"},
                           {"httpRequest", {{"url", "http://127.0.0.1:1/x"}, {"body", "aGVsbG8="}}}}}});
    ASSERT_EQ(t.status, 200) << t.body.dump();
  }
  // A new server with a new data dir: what it serves can only have come from PostgreSQL.
  testing::StratusProcess second;
  ASSERT_TRUE(Start(second)) << second.output();
  auto q = rest_.Get(second.tasks_url() + kLoc + "/queues/q");
  ASSERT_EQ(q.status, 200) << q.body.dump();
  EXPECT_EQ(q.body["state"], "PAUSED");
  auto t = rest_.Get(second.tasks_url() + kLoc + "/queues/q/tasks/kept?responseView=FULL");
  ASSERT_EQ(t.status, 200) << t.body.dump();
  EXPECT_EQ(t.body["httpRequest"]["body"], "aGVsbG8=");
}

TEST_F(PostgresServe, ATaskIsDeliveredOnceFromTheDatabase) {
  testing::RawTarget target([](testing::RawTarget::Conn& c) {
    while (c.Read()) c.Answer(testing::OkResponse());
  });
  testing::StratusProcess server;
  ASSERT_TRUE(Start(server)) << server.output();
  ASSERT_EQ(
      rest_.Post(server.tasks_url() + kLoc + "/queues", {{"name", "projects/p/locations/us-central1/queues/d"}}).status,
      200);
  auto t = rest_.Post(server.tasks_url() + kLoc + "/queues/d/tasks",
                      {{"task", {{"httpRequest", {{"url", target.Url("/work")}, {"body", "eA=="}}}}}});
  ASSERT_EQ(t.status, 200) << t.body.dump();
  ASSERT_TRUE(target.WaitAnswered(1, 60s));
  const std::string name = t.body["name"];
  // Finished: gone from the database, so a listing through the API is empty.
  for (int i = 0; i < 300; ++i) {
    auto list = rest_.Get(server.tasks_url() + kLoc + "/queues/d/tasks");
    if (list.status == 200 && !list.body.contains("tasks")) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(rest_.Get(server.tasks_url() + kLoc + "/queues/d/tasks").body.contains("tasks"));
  EXPECT_EQ(target.seen().size(), 1u);
  EXPECT_EQ(target.seen()[0].body, "x");
}

TEST_F(PostgresServe, AnUnreachableDatabaseFailsTheStartWithoutThePassword) {
  const std::string cmd = std::string(STRATUS_BINARY) +
                          " serve --listen 127.0.0.1:0 --redis-listen off --data-dir /tmp/stratus-pg-unreachable-" +
                          std::to_string(::getpid()) +
                          " --store 'postgres://u:s3cret@127.0.0.1:1/none?connect_timeout=5' 2>&1";
  auto [rc, out] = testing::RunShell(cmd);
  std::filesystem::remove_all("/tmp/stratus-pg-unreachable-" + std::to_string(::getpid()));
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("cannot connect to postgres://u:***@127.0.0.1:1/none"), std::string::npos) << out;
  EXPECT_EQ(out.find("s3cret"), std::string::npos) << out;
}

}  // namespace
}  // namespace stratus
