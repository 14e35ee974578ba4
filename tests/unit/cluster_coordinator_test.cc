// The cluster's ownership logic on a fake clock: rendezvous assignment, queue leases taken,
// renewed, handed over, expired and fenced. The lease table here is an in-memory model of
// PostgreSQL's (store/postgres/pg_leases.cc), judging expiry by the same fake clock.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "cluster/coordinator.h"

namespace stratus::cluster {
namespace {

constexpr Micros kLease = 5 * kMicrosPerSecond;

class FakeTable final : public LeaseTable {
 public:
  explicit FakeTable(const Clock& clock) : clock_(clock) {}

  StatusOr<ClusterView> Heartbeat(const NodeInfo& self, Micros lease, std::map<std::string, int64_t>* held) override {
    if (down.count(self.id)) return Unavailable("partitioned");
    const Micros now = clock_.Now();
    heartbeat[self.id] = now;
    held->clear();
    for (auto& [q, l] : leases) {
      if (l.node == self.id) {
        l.expires = now + lease;
        (*held)[q] = l.epoch;
      }
    }
    ClusterView v;
    for (const auto& [n, at] : heartbeat) {
      if (at > now - lease) v.live_nodes.push_back(n);
    }
    for (const auto& q : queues) {
      auto it = leases.find(q);
      if (it == leases.end()) {
        v.queues.push_back({q, "", 0, true});
      } else {
        v.queues.push_back({q, it->second.node, it->second.epoch, it->second.node.empty() || it->second.expires < now});
      }
    }
    return v;
  }
  StatusOr<std::optional<int64_t>> Acquire(const std::string& queue, const std::string& self, Micros lease) override {
    if (down.count(self)) return Unavailable("partitioned");
    auto& l = leases[queue];
    if (!l.node.empty() && l.expires >= clock_.Now()) return std::optional<int64_t>();
    l.node = self;
    l.epoch += 1;
    l.expires = clock_.Now() + lease;
    return std::optional<int64_t>(l.epoch);
  }
  Status Release(const std::string& queue, const std::string& self, int64_t epoch) override {
    auto& l = leases[queue];
    if (l.node == self && l.epoch == epoch) {
      l.node.clear();
      l.expires = clock_.Now();
    }
    ++releases;
    return Status::Ok();
  }
  Status Leave(const std::string& self) override {
    for (auto& [q, l] : leases) {
      if (l.node == self) l.node.clear();
    }
    heartbeat.erase(self);
    return Status::Ok();
  }

  struct Lease {
    std::string node;
    int64_t epoch = 0;
    Micros expires = 0;
  };
  std::set<std::string> queues;
  std::map<std::string, Lease> leases;
  std::map<std::string, Micros> heartbeat;
  std::set<std::string> down;  // nodes whose calls fail
  int releases = 0;

 private:
  const Clock& clock_;
};

// What a dispatcher would have been told.
class Recorder final : public OwnershipListener {
 public:
  void Acquired(const std::string& queue, int64_t epoch) override { running[queue] = epoch; }
  void Lost(const std::string& queue) override {
    running.erase(queue);
    ++lost;
  }
  int64_t InFlight(const std::string& queue) override {
    auto it = in_flight.find(queue);
    return it == in_flight.end() ? 0 : it->second;
  }
  std::map<std::string, int64_t> running;
  std::map<std::string, int64_t> in_flight;
  int lost = 0;
};

class Cluster : public ::testing::Test {
 protected:
  struct Node {
    std::unique_ptr<Coordinator> c;
    Recorder r;
  };
  Node& Add(const std::string& id) {
    auto& n = nodes_[id];
    n.c = std::make_unique<Coordinator>(table_, clock_, CoordinatorOptions{{id, "http://" + id}, kLease});
    n.c->SetListener(&n.r);
    return n;
  }
  void AddQueues(int n) {
    for (int i = 0; i < n; ++i) table_.queues.insert("projects/p/locations/l/queues/q" + std::to_string(i));
  }
  void TickAll() {
    for (auto& [id, n] : nodes_) {
      if (!stalled_.count(id)) n.c->Tick();
    }
  }
  // Who runs each queue, by what the listeners were told; fails on a queue run twice.
  std::map<std::string, std::string> Runners() {
    std::map<std::string, std::string> out;
    for (auto& [id, n] : nodes_) {
      if (stalled_.count(id)) continue;
      for (const auto& [q, e] : n.r.running) {
        EXPECT_TRUE(out.emplace(q, id).second) << q << " runs on two nodes";
      }
    }
    return out;
  }

  FakeClock clock_{1'700'000'000LL * kMicrosPerSecond};
  FakeTable table_{clock_};
  std::map<std::string, Node> nodes_;
  std::set<std::string> stalled_;  // not ticking (stopped or dead)
};

TEST(Rendezvous, OnlyTheLeavingNodesQueuesMove) {
  const std::vector<std::string> three = {"a", "b", "c"}, two = {"a", "c"};
  int moved = 0, on_b = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string q = "q" + std::to_string(i);
    const std::string before = RendezvousOwner(q, three), after = RendezvousOwner(q, two);
    if (before == "b") {
      ++on_b;
      EXPECT_NE(after, "b");
    } else {
      EXPECT_EQ(before, after) << q;
    }
    moved += before != after;
  }
  EXPECT_EQ(moved, on_b);
  EXPECT_GT(on_b, 50);  // about a third
  EXPECT_LT(on_b, 150);
  EXPECT_EQ(RendezvousOwner("q", {}), "");
}

TEST_F(Cluster, QueuesAreSpreadAndEachRunsOnExactlyOneNode) {
  AddQueues(30);
  Add("a");
  Add("b");
  Add("c");
  TickAll();  // everyone is in the node list now
  TickAll();
  auto runners = Runners();
  ASSERT_EQ(runners.size(), 30u);
  std::map<std::string, int> per_node;
  for (const auto& [q, n] : runners) {
    ++per_node[n];
    EXPECT_EQ(n, RendezvousOwner(q, {"a", "b", "c"}));
    EXPECT_EQ(nodes_[n].c->EpochOf(q), table_.leases[q].epoch);
  }
  EXPECT_EQ(per_node.size(), 3u);
}

TEST_F(Cluster, ADeadNodesQueuesAreTakenOnlyAfterItsLeaseExpires) {
  AddQueues(20);
  Add("a");
  Add("b");
  TickAll();
  TickAll();
  std::set<std::string> of_a;
  for (const auto& [q, n] : Runners()) {
    if (n == "a") of_a.insert(q);
  }
  ASSERT_FALSE(of_a.empty());
  std::map<std::string, int64_t> epochs;
  for (const auto& q : of_a) epochs[q] = table_.leases[q].epoch;

  stalled_.insert("a");  // a dies: no heartbeat, no renewal
  clock_.Advance(kLease - kMicrosPerSecond);
  TickAll();
  for (const auto& q : of_a) EXPECT_EQ(nodes_["b"].r.running.count(q), 0u) << "taken before the lease ran out";
  clock_.Advance(kMicrosPerSecond + 1);
  TickAll();
  for (const auto& q : of_a) {
    ASSERT_EQ(nodes_["b"].r.running.count(q), 1u) << q;
    EXPECT_EQ(nodes_["b"].r.running[q], epochs[q] + 1) << "a takeover fences the old owner";
  }
  EXPECT_EQ(Runners().size(), 20u);
}

TEST_F(Cluster, AJoiningNodeGetsItsShareAfterTheAttemptsInFlightFinish) {
  AddQueues(20);
  auto& a = Add("a");
  TickAll();
  ASSERT_EQ(a.r.running.size(), 20u);
  for (const auto& [q, e] : a.r.running) a.r.in_flight[q] = 1;  // every queue busy
  auto& b = Add("b");
  TickAll();  // a sees b, stops its share; b's share is not free yet
  TickAll();
  std::set<std::string> of_b;
  for (const auto& q : table_.queues) {
    if (RendezvousOwner(q, {"a", "b"}) == "b") of_b.insert(q);
  }
  ASSERT_FALSE(of_b.empty());
  for (const auto& q : of_b) {
    EXPECT_EQ(a.r.running.count(q), 0u) << "a stopped starting attempts";
    EXPECT_EQ(b.r.running.count(q), 0u) << "b waits for a's attempts in flight";
  }
  for (auto& [q, n] : a.r.in_flight) n = 0;
  TickAll();  // a releases, then b takes
  TickAll();
  for (const auto& q : of_b) EXPECT_EQ(b.r.running.count(q), 1u) << q;
  EXPECT_EQ(Runners().size(), 20u);
}

TEST_F(Cluster, AHandOverWaitsAtMostOneLeaseForAttemptsInFlight) {
  AddQueues(10);
  auto& a = Add("a");
  TickAll();
  for (const auto& [q, e] : a.r.running) a.r.in_flight[q] = 1;  // stuck for good
  auto& b = Add("b");
  TickAll();
  TickAll();  // a sees b and starts handing over; the attempts never finish
  for (const auto& q : table_.queues) {
    if (RendezvousOwner(q, {"a", "b"}) == "b") {
      EXPECT_EQ(b.r.running.count(q), 0u) << q;
    }
  }
  for (int i = 0; i < 5; ++i) {  // a lease of ticks, both nodes heartbeating
    clock_.Advance(kLease / 5);
    TickAll();
  }
  TickAll();
  for (const auto& q : table_.queues) {
    if (RendezvousOwner(q, {"a", "b"}) == "b") {
      EXPECT_EQ(b.r.running.count(q), 1u) << q;
    }
  }
}

TEST_F(Cluster, ANodeThatCannotRenewStopsWhenItsLeaseRunsOut) {
  AddQueues(5);
  auto& a = Add("a");
  TickAll();
  ASSERT_EQ(a.r.running.size(), 5u);
  table_.down.insert("a");
  clock_.Advance(kLease / 2);
  TickAll();
  EXPECT_EQ(a.r.running.size(), 5u) << "still within the last renewal";
  clock_.Advance(kLease / 2);
  TickAll();
  EXPECT_TRUE(a.r.running.empty());
  EXPECT_TRUE(a.c->Held().empty());
}

// A renewal that failed past the lease (in PostgreSQL: a heartbeat that waited out a long
// writer transaction and lost a deadlock) stops the queues, but nobody else took them: the
// next renewal still names the node, and it must run them again, not hold them idle forever.
TEST_F(Cluster, ANodeWhoseRenewalFailedRunsItsQueuesAgainWhenTheTableStillNamesIt) {
  AddQueues(5);
  auto& a = Add("a");
  TickAll();
  ASSERT_EQ(a.r.running.size(), 5u);
  const auto epochs = a.r.running;
  table_.down.insert("a");
  clock_.Advance(kLease);
  TickAll();
  ASSERT_TRUE(a.r.running.empty());
  table_.down.erase("a");
  clock_.Advance(kLease / 5);
  TickAll();
  EXPECT_EQ(a.r.running, epochs) << "the same leases, run again under their epochs";
  EXPECT_EQ(a.c->Held(), epochs);
}

TEST_F(Cluster, AStaleNodeLearnsAtItsNextTickThatItsQueuesMoved) {
  AddQueues(8);
  auto& a = Add("a");
  TickAll();
  auto& b = Add("b");
  stalled_.insert("a");  // SIGSTOP
  clock_.Advance(kLease + 1);
  TickAll();
  ASSERT_EQ(b.r.running.size(), 8u);
  stalled_.erase("a");  // SIGCONT: its view is stale until it ticks
  EXPECT_EQ(a.r.running.size(), 8u);
  a.c->Tick();
  for (const auto& [q, e] : a.r.running) EXPECT_EQ(b.r.running.count(q), 0u) << q << " on both";
  EXPECT_EQ(Runners().size(), 8u);
}

TEST_F(Cluster, ARefusedWriteStopsTheQueueAtOnce) {
  AddQueues(3);
  auto& a = Add("a");
  TickAll();
  const std::string q = *table_.queues.begin();
  const int64_t epoch = a.r.running.at(q);
  a.c->Refused(q, epoch - 1);  // an older epoch: not this lease
  EXPECT_EQ(a.r.running.count(q), 1u);
  a.c->Refused(q, epoch);
  EXPECT_EQ(a.r.running.count(q), 0u);
  EXPECT_FALSE(a.c->EpochOf(q));
}

TEST_F(Cluster, AGracefulLeaveFreesEverythingForTheNextTick) {
  AddQueues(12);
  auto& a = Add("a");
  TickAll();
  auto& b = Add("b");
  TickAll();
  TickAll();
  a.c->Stop();
  stalled_.insert("a");
  EXPECT_TRUE(a.r.running.empty());
  b.c->Tick();  // no lease to wait out
  EXPECT_EQ(b.r.running.size(), 12u);
}

TEST_F(Cluster, ADeletedQueuesLeaseIsFreed) {
  AddQueues(2);
  auto& a = Add("a");
  TickAll();
  ASSERT_EQ(a.r.running.size(), 2u);
  const std::string q = *table_.queues.begin();
  table_.queues.erase(q);
  TickAll();
  EXPECT_EQ(a.r.running.count(q), 0u);
  EXPECT_TRUE(table_.leases[q].node.empty());
}

}  // namespace
}  // namespace stratus::cluster
