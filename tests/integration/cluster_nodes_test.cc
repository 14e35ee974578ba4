// Nodes of one cluster answer every call from the shared database: what is written through
// one is read through another at once, and a bad --lease is refused at start.

#include "integration/cluster_support.h"
#include "integration/run_shell.h"

namespace stratus {
namespace {

using testing::ClusterTest;

TEST_F(ClusterTest, EveryNodeReadsWhatAnotherWrote) {
  StartNodes(2);
  CreateQueue(0, "shared");
  testing::RestClient rest;
  auto q = rest.Get(Url(1, "/queues/shared"));
  ASSERT_EQ(q.status, 200) << q.body.dump();
  ASSERT_EQ(rest.Post(Url(1, "/queues/shared:pause")).status, 200);
  EXPECT_EQ(rest.Get(Url(0, "/queues/shared")).body["state"], "PAUSED");
  ASSERT_TRUE(CreateTask(rest, nodes_[1]->tasks_url(), "shared", "seen", "http://127.0.0.1:1/x"));
  auto t = rest.Get(Url(0, "/queues/shared/tasks/seen"));
  EXPECT_EQ(t.status, 200) << t.body.dump();
  // The name is taken cluster-wide.
  EXPECT_FALSE(CreateTask(rest, nodes_[0]->tasks_url(), "shared", "seen", "http://127.0.0.1:1/x"));
  // Exactly one of them holds the queue's lease.
  EXPECT_TRUE(WaitOwner("shared", {0, 1}));
}

TEST_F(ClusterTest, ALeaseOutOfRangeIsRefusedAtStart) {
  const std::string dir = "/tmp/stratus-lease-flag-" + std::to_string(::getpid());
  const std::string cmd = std::string(STRATUS_BINARY) + " serve --listen 127.0.0.1:0 --redis-listen off --data-dir " +
                          dir + " --lease 100ms --store '" + conninfo_ + "' 2>&1";
  auto [rc, out] = testing::RunShell(cmd);
  std::filesystem::remove_all(dir);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("--lease wants a duration from 1s to 10m, got '100ms'"), std::string::npos) << out;
}

}  // namespace
}  // namespace stratus
