// Several stratus nodes on one PostgreSQL (docs/cluster.md): real processes, a real loopback
// target, the run's shared PostgreSQL. Every node takes every call; exactly one node
// dispatches each queue; a killed owner's queue moves within the lease with nothing
// acknowledged lost; a stalled owner is fenced by the lease epoch; a queue's rate holds
// cluster-wide; a change through one node reaches the owner through NOTIFY.
#include <signal.h>

#include <atomic>
#include <ctime>
#include <map>
#include <set>

#include "integration/cluster_support.h"
#include "integration/raw_target.h"

namespace stratus {
namespace {

using namespace std::chrono_literals;
using testing::ClusterTest;

std::map<std::string, int> PerTask(const std::vector<testing::SeenRequest>& seen) {
  std::map<std::string, int> out;
  for (const auto& s : seen) ++out[s.Header("x-cloudtasks-taskname")];
  return out;
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

TEST_F(ClusterTest, ThreeNodesDeliverEveryTaskCreatedOnAnyOfThemExactlyOnce) {
  testing::RawTarget target([](testing::RawTarget::Conn& c) {
    while (c.Read()) c.Answer(testing::OkResponse());
  });
  StartNodes(3);
  const std::vector<std::string> queues = {"a", "b", "c", "d"};
  for (size_t i = 0; i < queues.size(); ++i) CreateQueue(i % 3, queues[i]);
  std::set<size_t> owners;
  for (const auto& q : queues) {
    auto owner = WaitOwner(q, {0, 1, 2});
    ASSERT_TRUE(owner) << "no single owner for " << q;
    owners.insert(owner->first);
  }
  constexpr int kPerQueue = 30;
  testing::RestClient rest;
  std::set<std::string> created;
  for (int i = 0; i < kPerQueue; ++i) {
    for (size_t q = 0; q < queues.size(); ++q) {
      const std::string id = queues[q] + "-" + std::to_string(i);
      ASSERT_TRUE(CreateTask(rest, nodes_[(i + q) % 3]->tasks_url(), queues[q], id, target.Url("/w")));
      created.insert(id);
    }
  }
  ASSERT_TRUE(target.WaitAnswered(created.size(), 120s)) << target.seen().size() << " of " << created.size();
  // Done once every queue is empty through every node (finished attempts are committed).
  for (size_t n = 0; n < 3; ++n) {
    for (const auto& q : queues) {
      EXPECT_TRUE(WaitFor([&] { return !rest.Get(Url(n, "/queues/" + q + "/tasks")).body.contains("tasks"); }, 60s));
    }
  }
  auto per_task = PerTask(target.seen());
  EXPECT_EQ(per_task.size(), created.size());
  for (const auto& id : created) EXPECT_EQ(per_task[id], 1) << id;
  std::printf("[cluster] %zu queues over %zu owners, %zu tasks once each\n", queues.size(), owners.size(),
              created.size());
}

TEST_F(ClusterTest, KillingTheOwnerMidBurstLosesNothingAndMovesItsQueueWithinTheLease) {
  // Answers after a moment, so attempts are in flight when the owner dies.
  testing::RawTarget target([](testing::RawTarget::Conn& c) {
    while (c.Read()) {
      std::this_thread::sleep_for(20ms);
      c.Answer(testing::OkResponse());
    }
  });
  StartNodes(3);
  constexpr int kMaxInFlight = 5;
  CreateQueue(0, "burst",
              {{"rateLimits", {{"maxDispatchesPerSecond", 500}, {"maxConcurrentDispatches", kMaxInFlight}}}});
  auto owner = WaitOwner("burst", {0, 1, 2});
  ASSERT_TRUE(owner);
  std::vector<size_t> others;
  for (size_t n = 0; n < 3; ++n) {
    if (n != owner->first) others.push_back(n);
  }
  testing::RestClient rest;
  std::set<std::string> acknowledged;
  constexpr int kTasks = 300;
  int64_t killed_at = 0, dead_at = 0;
  for (int i = 0; i < kTasks; ++i) {
    if (i == kTasks / 2) {
      // Mid-burst: the owner has dispatched some and has attempts in flight.
      ASSERT_TRUE(WaitFor([&] { return target.seen().size() >= 20; }, 60s));
      killed_at = testing::WallMicros();
      nodes_[owner->first]->Kill();  // returns once the process is gone
      dead_at = testing::WallMicros();
    }
    const std::string id = "t" + std::to_string(i);
    if (CreateTask(rest, nodes_[others[i % 2]]->tasks_url(), "burst", id, target.Url("/w"))) acknowledged.insert(id);
  }
  ASSERT_EQ(acknowledged.size(), static_cast<size_t>(kTasks)) << "a surviving node refused a create";
  auto next = WaitOwner("burst", others, 60s, owner->second);
  ASSERT_TRUE(next) << "the queue did not move";
  EXPECT_EQ(next->second, owner->second + 1);
  // Every acknowledged task arrives.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto per_task = PerTask(target.seen());
        for (const auto& id : acknowledged) {
          if (!per_task.count(id)) return false;
        }
        return true;
      },
      120s))
      << target.seen().size();
  auto seen = target.seen();
  int64_t first_after = 0;
  std::map<std::string, int64_t> first_arrival;
  for (const auto& s : seen) {
    if (s.arrived > dead_at && (first_after == 0 || s.arrived < first_after)) first_after = s.arrived;
    auto id = s.Header("x-cloudtasks-taskname");
    if (!first_arrival.count(id)) first_arrival[id] = s.arrived;
  }
  const double takeover = static_cast<double>(first_after - killed_at) / 1e6;
  std::printf("[cluster] lease %ds: first delivery by the new owner %.2f s after kill -9\n", kLeaseSeconds, takeover);
  // The lease, one tick to notice, and generous slack for a loaded machine.
  EXPECT_LT(takeover, kLeaseSeconds + 8.0);
  // Duplicates only from attempts in flight at the kill: at most the in-flight cap, each
  // first sent before the kill.
  int dups = 0;
  for (const auto& [id, n] : PerTask(seen)) {
    if (n > 1) {
      dups += n - 1;
      EXPECT_LT(first_arrival[id], dead_at) << id << " repeated but was not in flight at the kill";
    }
  }
  std::printf("[cluster] %d duplicate deliveries (in-flight cap %d)\n", dups, kMaxInFlight);
  EXPECT_LE(dups, kMaxInFlight);
}

TEST_F(ClusterTest, AStalledOwnersAttemptRecordIsRefusedAndItGivesTheQueueUp) {
  // The first request is held until the test lets it go; the rest are answered at once.
  std::atomic<bool> release{false};
  std::atomic<int> conns{0};
  testing::RawTarget target([&](testing::RawTarget::Conn& c) {
    const bool first = conns.fetch_add(1) == 0;
    while (c.Read()) {
      if (first) {
        while (!release) std::this_thread::sleep_for(10ms);
      }
      c.Answer(testing::OkResponse());
    }
  });
  StartNodes(2);
  CreateQueue(0, "fenced", {{"rateLimits", {{"maxConcurrentDispatches", 1}}}});
  auto owner = WaitOwner("fenced", {0, 1});
  ASSERT_TRUE(owner);
  const size_t stalled = owner->first, other = 1 - owner->first;
  testing::RestClient rest;
  ASSERT_TRUE(CreateTask(rest, nodes_[other]->tasks_url(), "fenced", "held", target.Url("/w")));
  ASSERT_TRUE(WaitFor([&] { return target.seen().size() >= 1; }, 60s));

  nodes_[stalled]->SendSignal(SIGSTOP);
  const int64_t stopped_at = testing::WallMicros();
  auto next = WaitOwner("fenced", {other}, 60s, owner->second);
  ASSERT_TRUE(next) << "the other node did not take the queue";
  // The new owner retries the attempt the stalled one has in flight (at-least-once).
  ASSERT_TRUE(WaitFor([&] { return PerTask(target.seen())["held"] >= 2; }, 60s));
  std::printf("[cluster] lease %ds: stalled owner's queue redelivered %.2f s after SIGSTOP\n", kLeaseSeconds,
              static_cast<double>(target.seen().back().arrived - stopped_at) / 1e6);

  nodes_[stalled]->SendSignal(SIGCONT);
  release = true;  // the stalled node's attempt ends now, under its old epoch
  ASSERT_TRUE(WaitFor(
      [&] {
        auto refused = Metric(stalled, "stratus_lease_writes_refused_total", "fenced");
        return refused && *refused >= 1;
      },
      60s))
      << "the stale attempt's record was not refused";
  EXPECT_FALSE(Metric(stalled, "stratus_queue_lease_epoch", "fenced")) << "it still claims the queue";
  // The queue keeps working, from the new owner alone.
  ASSERT_TRUE(CreateTask(rest, nodes_[stalled]->tasks_url(), "fenced", "after", target.Url("/w")));
  ASSERT_TRUE(WaitFor([&] { return PerTask(target.seen())["after"] >= 1; }, 60s));
  // One owner again: either node (once the stalled node's heartbeat is back it ranks first
  // for the queue again and may take it back, under a newer epoch).
  auto owner_now = WaitOwner("fenced", {0, 1}, 30s, owner->second);
  ASSERT_TRUE(owner_now);
}

TEST_F(ClusterTest, AQueuesRateHoldsAcrossTheClusterWithCreatesOnEveryNode) {
  testing::RawTarget target([](testing::RawTarget::Conn& c) {
    while (c.Read()) c.Answer(testing::OkResponse());
  });
  StartNodes(3);
  constexpr double kRate = 20;
  CreateQueue(0, "slow", {{"rateLimits", {{"maxDispatchesPerSecond", kRate}}}});
  testing::RestClient rest;
  auto q = rest.Get(Url(1, "/queues/slow"));
  ASSERT_EQ(q.status, 200);
  const double burst = q.body["rateLimits"]["maxBurstSize"].get<double>();
  ASSERT_TRUE(WaitOwner("slow", {0, 1, 2}));
  constexpr int kTasks = 90;
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(CreateTask(rest, nodes_[i % 3]->tasks_url(), "slow", "r" + std::to_string(i), target.Url("/w")));
  }
  ASSERT_TRUE(target.WaitAnswered(kTasks, 120s));
  auto seen = target.seen();
  std::vector<int64_t> at;
  for (const auto& s : seen) at.push_back(s.arrived);
  std::sort(at.begin(), at.end());
  // A token bucket lets through at most burst + rate * w in any window of w seconds; allow
  // two more for arrival jitter at the target.
  size_t worst = 0;
  for (size_t i = 0; i < at.size(); ++i) {
    size_t j = i;
    while (j < at.size() && at[j] - at[i] < 1'000'000) ++j;
    worst = std::max(worst, j - i);
  }
  std::printf("[cluster] rate %.0f/s, burst %.0f: at most %zu deliveries in any second\n", kRate, burst, worst);
  EXPECT_LE(static_cast<double>(worst), burst + kRate + 2);
  const double span = static_cast<double>(at.back() - at.front()) / 1e6;
  EXPECT_GE(span, (kTasks - burst) / kRate * 0.9) << "faster than the rate allows";
}

TEST_F(ClusterTest, AResumeThroughAnotherNodeWakesTheOwnerAtOnce) {
  testing::RawTarget target([](testing::RawTarget::Conn& c) {
    while (c.Read()) c.Answer(testing::OkResponse());
  });
  StartNodes(2);
  CreateQueue(0, "paused");
  auto owner = WaitOwner("paused", {0, 1});
  ASSERT_TRUE(owner);
  const size_t other = 1 - owner->first;
  // A marker queue with the same owner (rendezvous spreads them; try a few names).
  std::string marker;
  for (int i = 0; i < 12 && marker.empty(); ++i) {
    const std::string id = "marker" + std::to_string(i);
    CreateQueue(other, id);
    auto o = WaitOwner(id, {0, 1});
    ASSERT_TRUE(o);
    if (o->first == owner->first) marker = id;
  }
  ASSERT_FALSE(marker.empty());
  testing::RestClient rest;
  ASSERT_EQ(rest.Post(Url(other, "/queues/paused:pause")).status, 200);
  ASSERT_TRUE(CreateTask(rest, nodes_[other]->tasks_url(), "paused", "waits", target.Url("/w")));
  // Once the marker (created after, through the same node) arrives, the owner has read the
  // notifications committed before it, the pause included.
  ASSERT_TRUE(CreateTask(rest, nodes_[other]->tasks_url(), marker, "m", target.Url("/w")));
  ASSERT_TRUE(WaitFor([&] { return PerTask(target.seen())["m"] == 1; }, 60s));
  EXPECT_EQ(PerTask(target.seen())["waits"], 0) << "delivered while paused through another node";

  ASSERT_EQ(rest.Post(Url(other, "/queues/paused:resume")).status, 200);
  const int64_t resumed = testing::WallMicros();
  ASSERT_TRUE(WaitFor([&] { return PerTask(target.seen())["waits"] == 1; }, 60s));
  int64_t arrived = 0;
  for (const auto& s : target.seen()) {
    if (s.Header("x-cloudtasks-taskname") == "waits") arrived = s.arrived;
  }
  const double latency = static_cast<double>(arrived - resumed) / 1e6;
  std::printf("[cluster] resume through a non-owner: delivered %.3f s later\n", latency);
  // Well under a coordinator tick or a poll: only a notification explains it (slack for load).
  EXPECT_LT(latency, 1.5);
}

TEST_F(ClusterTest, ARunRequestedWhileTheOwnerIsStalledIsServedByTheNextOwner) {
  testing::RawTarget target([](testing::RawTarget::Conn& c) {
    while (c.Read()) c.Answer(testing::OkResponse());
  });
  StartNodes(2);
  CreateQueue(0, "held");
  auto owner = WaitOwner("held", {0, 1});
  ASSERT_TRUE(owner);
  const size_t stalled = owner->first, other = 1 - owner->first;
  testing::RestClient rest;
  ASSERT_EQ(rest.Post(Url(other, "/queues/held:pause")).status, 200);
  // A task due tomorrow on a paused queue: only tasks.run sends it.
  char ts[32];
  const std::time_t tomorrow = std::time(nullptr) + 86400;
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tomorrow));
  nlohmann::json task = {{"name", testing::ClusterQueueName("held") + "/tasks/later"},
                         {"scheduleTime", ts},
                         {"httpRequest", {{"url", target.Url("/w")}, {"httpMethod", "POST"}}}};
  ASSERT_EQ(rest.Post(Url(other, "/queues/held/tasks"), {{"task", task}}).status, 200);

  // The owner stalls; the run is asked of the other node, which does not dispatch the queue.
  nodes_[stalled]->SendSignal(SIGSTOP);
  ASSERT_EQ(rest.Post(Url(other, "/queues/held/tasks/later:run")).status, 200);
  auto next = WaitOwner("held", {other}, 60s, owner->second);
  ASSERT_TRUE(next) << "the other node did not take the queue";
  // Taking the queue, it runs the task: paused or not, due tomorrow or not.
  EXPECT_TRUE(WaitFor([&] { return PerTask(target.seen())["later"] >= 1; }, 30s))
      << "the run request was lost with the stalled owner";
  nodes_[stalled]->SendSignal(SIGCONT);
}

}  // namespace
}  // namespace stratus
