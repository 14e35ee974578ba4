// Cloud Scheduler jobs on a two-node cluster (docs/cluster.md, "Cloud Scheduler jobs"), real
// processes on the run's PostgreSQL: a job created through one node is listed and changed
// through the other; exactly one node runs the executor (the holder of the "scheduler" lease)
// and fires each execution once, whichever node took the call; a killed holder's executor
// moves to the other node within the lease, a stopped one's at once. Executions come from
// jobs.run (a cron tick is a minute away; the ticks across a takeover are tested with a fake
// clock in scheduler_takeover_test.cc).
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "integration/cluster_support.h"
#include "integration/raw_target.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::ClusterTest;

const std::string kJobs = "/v1/projects/p/locations/us-central1/jobs";

class ClusterScheduler : public ClusterTest {
 protected:
  ClusterScheduler()
      : target_([](testing::RawTarget::Conn& c) {
          while (c.Read()) c.Answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }) {}

  std::string Jobs(size_t node, const std::string& path = "") const { return nodes_[node]->tasks_url() + kJobs + path; }

  // The node running the executor, once the lease row names a live one of nodes_ (nullopt
  // after `timeout`); `not_node`: wait for another than this one.
  std::optional<size_t> Holder(std::chrono::milliseconds timeout = 30s, std::optional<size_t> not_node = {}) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string at =
          Sql("SELECT n.address FROM queue_leases l JOIN stratus_nodes n ON n.id = l.node WHERE l.queue = 'scheduler' "
              "AND l.expires_at > clock_timestamp()");
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (!at.empty() && at == nodes_[i]->tasks_url() && i != not_node) return i;
      }
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

  // Runs the job through `node` and waits until the target saw `hits` requests and the job
  // shows the attempt; true when exactly `hits` arrived.
  ::testing::AssertionResult RunThrough(size_t node, size_t hits) {
    auto r = rest_.Post(Jobs(node, "/beat:run"));
    if (r.status != 200) return ::testing::AssertionFailure() << r.body.dump();
    const int64_t asked = testing::WallMicros();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline && target_.seen().size() < hits) {
      std::this_thread::sleep_for(5ms);
    }
    auto seen = target_.seen();
    if (seen.size() < hits) {
      nodes_[node]->WaitForLine("\x01", 1s);  // reads what it logged so far
      return ::testing::AssertionFailure() << "the run through node " << node << " never came; its log:\n"
                                           << nodes_[node]->output();
    }
    std::cout << "a run through node " << node << " reached the target " << (seen[hits - 1].arrived - asked) / 1000
              << " ms after the call answered\n";
    // The executing node recorded it (so a second execution would have started by now).
    for (int i = 0; i < 600; ++i) {
      auto job = rest_.Get(Jobs(node, "/beat"));
      if (job.body.contains("lastAttemptTime") && job.body.contains("status")) break;
      std::this_thread::sleep_for(10ms);
    }
    if (target_.seen().size() != hits) {
      return ::testing::AssertionFailure() << target_.seen().size() << " requests, want " << hits;
    }
    return ::testing::AssertionSuccess();
  }

  // stratus_scheduler_executor_held of `node` (nullopt: absent, or the node does not answer).
  std::optional<double> Held(size_t node) {
    auto r = rest_.Get(nodes_[node]->tasks_url() + "/metrics");
    if (r.status != 200 || !r.body.is_string()) return std::nullopt;
    const std::string text = r.body.get<std::string>();
    const std::string key = "\nstratus_scheduler_executor_held ";
    const size_t at = text.find(key);
    if (at == std::string::npos) return std::nullopt;
    return std::stod(text.substr(at + key.size(), text.find('\n', at + 1) - at - key.size()));
  }

  void CreateJob(size_t node) {
    // 03:00 each day: no tick comes during the test; executions are jobs.run's.
    auto r = rest_.Post(Jobs(node), {{"name", "projects/p/locations/us-central1/jobs/beat"},
                                     {"schedule", "0 3 * * *"},
                                     {"httpTarget", {{"uri", target_.Url("/beat")}}}});
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }

  testing::RawTarget target_;
  testing::RestClient rest_;
};

TEST_F(ClusterScheduler, AJobMadeOnOneNodeIsSharedAndRunsOnceOnTheExecutingNode) {
  StartNodes(2);
  CreateJob(1);
  auto listed = rest_.Get(Jobs(0));
  ASSERT_EQ(listed.status, 200) << listed.body.dump();
  ASSERT_EQ(listed.body.value("jobs", json::array()).size(), 1u) << listed.body.dump();
  EXPECT_EQ(listed.body["jobs"][0]["name"], "projects/p/locations/us-central1/jobs/beat");

  auto holder = Holder();
  ASSERT_TRUE(holder) << "no node holds the executor lease";
  EXPECT_EQ(Sql("SELECT count(*) FROM queue_leases WHERE queue = 'scheduler'"), "1");
  // Each node says in its /metrics whether it runs the executor.
  EXPECT_EQ(Held(*holder), 1.0);
  EXPECT_EQ(Held(1 - *holder), 0.0);
  // Runs through either node execute once, on the holder.
  EXPECT_TRUE(RunThrough(0, 1));
  EXPECT_TRUE(RunThrough(1, 2));
  EXPECT_TRUE(RunThrough(1 - *holder, 3));

  // A pause through one node is what the other answers; a resume too.
  ASSERT_EQ(rest_.Post(Jobs(1, "/beat:pause")).status, 200);
  EXPECT_EQ(rest_.Get(Jobs(0, "/beat")).body.value("state", ""), "PAUSED");
  ASSERT_EQ(rest_.Post(Jobs(0, "/beat:resume")).status, 200);
  EXPECT_EQ(rest_.Get(Jobs(1, "/beat")).body.value("state", ""), "ENABLED");
  // A delete through one node: gone for both, and from the executor (a run is NOT_FOUND).
  ASSERT_EQ(rest_.Call(http::Verb::delete_, Jobs(0, "/beat")).status, 200);
  EXPECT_EQ(rest_.Get(Jobs(1, "/beat")).status, 404);
  EXPECT_EQ(rest_.Post(Jobs(1, "/beat:run")).status, 404);
}

TEST_F(ClusterScheduler, AKilledExecutorMovesWithinTheLeaseAStoppedOneAtOnce) {
  StartNodes(2);
  CreateJob(0);
  auto holder = Holder();
  ASSERT_TRUE(holder);
  const std::string epoch_before = Sql("SELECT epoch FROM queue_leases WHERE queue = 'scheduler'");
  ASSERT_TRUE(RunThrough(*holder, 1));

  const auto killed = std::chrono::steady_clock::now();
  nodes_[*holder]->Kill();
  const size_t survivor = 1 - *holder;
  auto next = Holder(30s, *holder);
  ASSERT_EQ(next, survivor);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed);
  std::cout << "the survivor held the executor " << took.count() << " ms after kill -9 (lease " << kLeaseSeconds
            << " s)\n";
  // Within the lease plus a tick (lease/5), with room for a loaded machine.
  EXPECT_LT(took.count(), kLeaseSeconds * 1000 + kLeaseSeconds * 200 + 2000);
  EXPECT_GT(std::stoll(Sql("SELECT epoch FROM queue_leases WHERE queue = 'scheduler'")), std::stoll(epoch_before));
  EXPECT_TRUE(RunThrough(survivor, 2));
  EXPECT_EQ(Held(survivor), 1.0);

  // A node that joins does not take the executor from a live holder; a holder stopped with
  // SIGTERM hands it over at once, not after a lease.
  auto joined = std::make_unique<testing::StratusProcess>();
  ASSERT_TRUE(
      joined->Start({"--store", conninfo_, "--redis-listen", "off", "--lease", std::to_string(kLeaseSeconds) + "s"}))
      << joined->output();
  nodes_.push_back(std::move(joined));
  EXPECT_EQ(Holder(), survivor);
  const auto stopping = std::chrono::steady_clock::now();
  nodes_[survivor]->Stop();
  auto last = Holder(30s, survivor);
  ASSERT_EQ(last, nodes_.size() - 1);
  const auto handed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - stopping);
  std::cout << "the executor moved " << handed.count() << " ms after SIGTERM\n";
  EXPECT_LT(handed.count(), kLeaseSeconds * 1000) << "waited out the lease instead of a hand-over";
  EXPECT_TRUE(RunThrough(nodes_.size() - 1, 3));
}

TEST_F(ClusterScheduler, ARunAskedWhileNoNodeExecutesRunsOnceAfterTheTakeover) {
  StartNodes(2);
  CreateJob(0);
  auto holder = Holder();
  ASSERT_TRUE(holder);
  ASSERT_TRUE(RunThrough(*holder, 1));
  const size_t survivor = 1 - *holder;
  const std::string lease_before = Sql("SELECT node || ' ' || epoch FROM queue_leases WHERE queue = 'scheduler'");

  // kill -9 the holder: until its lease runs out no node executes. A run asked now through the
  // survivor answers OK and must not be lost.
  nodes_[*holder]->Kill();
  auto r = rest_.Post(Jobs(survivor, "/beat:run"));
  ASSERT_EQ(r.status, 200) << r.body.dump();
  ASSERT_EQ(Sql("SELECT node || ' ' || epoch FROM queue_leases WHERE queue = 'scheduler'"), lease_before)
      << "the survivor took the executor before the run was asked: the gap was not tested";
  EXPECT_EQ(target_.seen().size(), 1u) << "ran although no node held the executor";

  ASSERT_EQ(Holder(30s, *holder), survivor);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline && target_.seen().size() < 2) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(target_.seen().size(), 2u) << "the run asked during the takeover never came";
  // Exactly once: the request is taken, a later run is a run of its own.
  EXPECT_TRUE(RunThrough(survivor, 3));
  EXPECT_EQ(Sql("SELECT coalesce(doc::jsonb->>'pending_runs', '0') FROM scheduler_jobs"), "0");
}

}  // namespace
}  // namespace stratus
