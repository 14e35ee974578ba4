// PostgreSQL going away under a running `stratus serve --store ...`: on a private PostgreSQL
// the test stops and starts itself (tests/support/postgres.sh halt/resume), creates answer
// UNAVAILABLE with a google.rpc.Status body and are never acknowledged, /readyz fails, and
// once the database is back everything resumes without a restart: creates are acknowledged
// again and every task acknowledged before, during or after the outage is delivered.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "integration/raw_target.h"
#include "integration/rest_client.h"
#include "integration/stratus_process.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kParent = "projects/p/locations/us-central1";
const std::string kLoc = "/v2/" + kParent;

// A PostgreSQL of the test's own, on a Unix socket in a temp dir (as the postgres user when
// root), which the test may halt and resume.
class PrivatePostgres {
 public:
  PrivatePostgres() {
    char tmpl[] = "/tmp/stratus-pg-private-XXXXXX";
    dir_ = mkdtemp(tmpl);
    state_ = dir_ + "/state";
    started_ = Run("start");
    std::ifstream in(state_);
    std::getline(in, conninfo_);
  }
  ~PrivatePostgres() {
    Run("stop");
    std::filesystem::remove_all(dir_);
  }
  bool started() const { return started_ && !conninfo_.empty(); }
  const std::string& conninfo() const { return conninfo_; }
  bool Halt() { return Run("halt"); }
  bool Resume() { return Run("resume"); }

 private:
  bool Run(const std::string& cmd) {
    std::string line =
        std::string("bash ") + STRATUS_SOURCE_DIR + "/tests/support/postgres.sh " + cmd + " " + state_ + " >/dev/null";
    return std::system(line.c_str()) == 0;
  }
  std::string dir_, state_, conninfo_;
  bool started_ = false;
};

class PostgresOutage : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pg_.started()) << "the private PostgreSQL did not start";
    ASSERT_TRUE(server_.Start({"--store", pg_.conninfo(), "--redis-listen", "off"})) << server_.output();
    base_ = server_.tasks_url();
    auto q = rest_.Post(base_ + kLoc + "/queues", {{"name", kParent + "/queues/q"}});
    ASSERT_EQ(q.status, 200) << q.body.dump();
  }

  int Ready() { return rest_.Get(base_ + "/readyz").status; }
  // Polls /readyz until it answers `status` (false after a minute).
  bool WaitReady(int status) {
    for (int i = 0; i < 600; ++i) {
      if (Ready() == status) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  testing::RestReply Create(const std::string& id, const std::string& url) {
    return rest_.Post(base_ + kLoc + "/queues/q/tasks",
                      {{"task", {{"name", kParent + "/queues/q/tasks/" + id}, {"httpRequest", {{"url", url}}}}}});
  }
  static void ExpectUnavailable(const testing::RestReply& r) {
    EXPECT_EQ(r.status, 503) << r.body.dump();
    ASSERT_TRUE(r.body.is_object()) << r.body.dump();
    EXPECT_EQ(r.body["error"]["code"], 503) << r.body.dump();
    EXPECT_EQ(r.body["error"]["status"], "UNAVAILABLE") << r.body.dump();
    EXPECT_TRUE(r.body["error"]["message"].is_string()) << r.body.dump();
  }

  PrivatePostgres pg_;
  testing::StratusProcess server_;
  testing::RestClient rest_;
  std::string base_;
};

TEST_F(PostgresOutage, CreatesAreRefusedWhileDownAndAcceptedWhenBack) {
  testing::RawTarget target([](testing::RawTarget::Conn& c) {
    while (c.Read()) c.Answer(testing::OkResponse());
  });
  ASSERT_EQ(Ready(), 200);
  ASSERT_TRUE(pg_.Halt());
  ExpectUnavailable(Create("during", target.Url("/during")));
  EXPECT_TRUE(WaitReady(503));
  auto readyz = rest_.Get(base_ + "/readyz");
  EXPECT_EQ(readyz.body["ready"], false) << readyz.body.dump();
  // Never acknowledged, so never delivered: nothing of it reached the database.
  ASSERT_TRUE(pg_.Resume());
  EXPECT_TRUE(WaitReady(200));
  auto gone = rest_.Get(base_ + kLoc + "/queues/q/tasks/during");
  EXPECT_EQ(gone.status, 404) << gone.body.dump();
  // The same server, no restart: creates are acknowledged and dispatched again.
  auto after = Create("after", target.Url("/after"));
  ASSERT_EQ(after.status, 200) << after.body.dump();
  ASSERT_TRUE(target.WaitAnswered(1, 60s));
  EXPECT_EQ(target.seen()[0].path, "/after");
}

TEST_F(PostgresOutage, RestartedUnderLoadNothingAcknowledgedIsLostAndDispatchResumes) {
  testing::RawTarget target([](testing::RawTarget::Conn& c) {
    while (c.Read()) c.Answer(testing::OkResponse());
  });
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<int> refused{0}, other{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int w = 0; w < 4; ++w) {
    clients.emplace_back([&, w] {
      testing::RestClient rest;
      for (int i = 0; !stop; ++i) {
        const std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
        auto r = rest.Post(
            base_ + kLoc + "/queues/q/tasks",
            {{"task",
              {{"name", kParent + "/queues/q/tasks/" + id}, {"httpRequest", {{"url", target.Url("/" + id)}}}}}});
        if (r.status == 200) {
          std::lock_guard lock(mu);
          acknowledged.insert(id);
        } else if (r.status == 503 && r.body.is_object() && r.body["error"]["status"] == "UNAVAILABLE") {
          ++refused;
        } else {
          ++other;
          ADD_FAILURE() << r.status << " " << r.body.dump();
        }
      }
    });
  }
  auto acked = [&] {
    std::lock_guard lock(mu);
    return acknowledged.size();
  };
  auto wait_acked = [&](size_t n) {
    for (int i = 0; i < 600 && acked() < n; ++i) std::this_thread::sleep_for(100ms);
    return acked() >= n;
  };
  EXPECT_TRUE(wait_acked(50));
  ASSERT_TRUE(pg_.Halt());
  for (int i = 0; i < 600 && refused < 20; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_GE(refused.load(), 20);
  ASSERT_TRUE(pg_.Resume());
  const size_t before_back = acked();
  EXPECT_TRUE(wait_acked(before_back + 50));  // creates are acknowledged again
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(other.load(), 0);

  // Every acknowledged task is delivered: the ones from before the restart included.
  const size_t want = acknowledged.size();
  bool all = false;
  for (int i = 0; i < 1200 && !all; ++i) {
    std::set<std::string> seen;
    for (const auto& s : target.seen()) seen.insert(s.path.substr(1));
    all = std::includes(seen.begin(), seen.end(), acknowledged.begin(), acknowledged.end());
    if (!all) std::this_thread::sleep_for(100ms);
  }
  std::set<std::string> seen;
  for (const auto& s : target.seen()) seen.insert(s.path.substr(1));
  size_t missing = 0;
  for (const auto& id : acknowledged) missing += seen.count(id) == 0;
  EXPECT_EQ(missing, 0u) << "of " << want << " acknowledged tasks";
  // A refused create is not acknowledged; only one cut off in its COMMIT (at most one per
  // client, when the server went down) may have been committed all the same.
  size_t unacknowledged = 0;
  for (const auto& id : seen) unacknowledged += acknowledged.count(id) == 0;
  EXPECT_LE(unacknowledged, clients.size());
}

}  // namespace
}  // namespace stratus
