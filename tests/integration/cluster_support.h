// Several real stratus nodes on one PostgreSQL database (the run's shared server, a database
// per test) for the cluster tests: start them, find which node holds a queue's lease from
// its /metrics, create queues and tasks through any node.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "integration/postgres_test_db.h"
#include "integration/rest_client.h"
#include "integration/stratus_process.h"

namespace stratus::testing {

inline const std::string kClusterLoc = "/v2/projects/p/locations/us-central1";
inline std::string ClusterQueueName(const std::string& id) {
  return "projects/p/locations/us-central1/queues/" + id;
}

class ClusterTest : public ::testing::Test {
 protected:
  static constexpr int kLeaseSeconds = 2;

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("cl_") + info->name() + "_" + std::to_string(::getpid());
    for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
    conninfo_ = FreshPostgresDb(name.substr(0, 60));
  }

  // Starts `n` nodes; they see each other within a tick.
  void StartNodes(int n) {
    for (int i = 0; i < n; ++i) {
      auto p = std::make_unique<StratusProcess>();
      ASSERT_TRUE(p->Start({"--store", conninfo_, "--redis-listen", "off", "--lease",
                            std::to_string(kLeaseSeconds) + "s", "--no-task-log"}))
          << p->output();
      nodes_.push_back(std::move(p));
    }
    // Every node has heartbeated (each does at start); after two ticks each has seen the
    // others, so queues are assigned once instead of moving while a node joins.
    const std::string count = "SELECT COUNT(*) FROM stratus_nodes";
    for (int i = 0; i < 200 && Sql(count) != std::to_string(n); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(Sql(count), std::to_string(n));
    std::this_thread::sleep_for(std::chrono::milliseconds(kLeaseSeconds * 1000 * 2 / 5 + 100));
  }

  // The first column of the first row of `sql` on the test's database ("" when none; the error
  // text when it failed).
  std::string Sql(const std::string& sql) { return testing::PgScalar(conninfo_, sql); }

  std::string Url(size_t node, const std::string& path) const { return nodes_[node]->tasks_url() + kClusterLoc + path; }

  // A metric of `node` for `queue` (nullopt: absent, or the node does not answer).
  std::optional<double> Metric(size_t node, const std::string& name, const std::string& queue) {
    RestClient rest;
    auto r = rest.Get(nodes_[node]->tasks_url() + "/metrics");
    if (r.status != 200 || !r.body.is_string()) return std::nullopt;
    const std::string text = r.body.get<std::string>();
    const std::string key = name + "{queue=\"" + ClusterQueueName(queue) + "\"";
    size_t at = text.find("\n" + key);
    if (at == std::string::npos) return std::nullopt;
    size_t sp = text.find("} ", at);
    if (sp == std::string::npos) return std::nullopt;
    return std::stod(text.substr(sp + 2, text.find('\n', sp) - sp - 2));
  }

  // The node holding `queue`'s lease and its epoch, once exactly one live node among
  // `candidates` reports one (nullopt after `timeout`).
  std::optional<std::pair<size_t, int64_t>> WaitOwner(const std::string& queue, const std::vector<size_t>& candidates,
                                                      std::chrono::seconds timeout = std::chrono::seconds(60),
                                                      int64_t above_epoch = 0) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<std::pair<size_t, int64_t>> holders;
      for (size_t n : candidates) {
        auto e = Metric(n, "stratus_queue_lease_epoch", queue);
        if (e && *e > static_cast<double>(above_epoch)) holders.emplace_back(n, static_cast<int64_t>(*e));
      }
      if (holders.size() == 1) return holders[0];
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }

  void CreateQueue(size_t node, const std::string& id, nlohmann::json extra = nlohmann::json::object()) {
    RestClient rest;
    extra["name"] = ClusterQueueName(id);
    auto r = rest.Post(Url(node, "/queues"), extra);
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }

  // Creates a task named `task` through `node`; true when acknowledged.
  static bool CreateTask(RestClient& rest, const std::string& base, const std::string& queue, const std::string& task,
                         const std::string& url) {
    nlohmann::json t = {{"name", ClusterQueueName(queue) + "/tasks/" + task},
                        {"httpRequest", {{"url", url}, {"httpMethod", "POST"}, {"body", "eA=="}}}};
    auto r = rest.Post(base + kClusterLoc + "/queues/" + queue + "/tasks", {{"task", t}});
    return r.status == 200;
  }

  std::string conninfo_;
  std::vector<std::unique_ptr<StratusProcess>> nodes_;
};

}  // namespace stratus::testing
