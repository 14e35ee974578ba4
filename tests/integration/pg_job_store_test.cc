// The cluster's JobStore in a real PostgreSQL (scheduler/postgres/pg_job_store.cc): jobs as
// the embedded store keeps them, a change notification sent with every user mutation, and
// RecordRun fenced by the executor lease's epoch in the same transaction; jobs.run requests
// kept in the row until the executor takes them, once. Also: a schema-2
// database gains scheduler_jobs on open.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <string>
#include <vector>

#include "integration/postgres_test_db.h"
#include "scheduler/executor_lease.h"
#include "scheduler/postgres/pg_job_store.h"
#include "store/postgres/pg.h"
#include "store/postgres/pg_leases.h"
#include "store/postgres/rows.h"
#include "stratus/store.h"

namespace stratus::scheduler {
namespace {

const std::string kParent = "projects/p/locations/l";
constexpr Micros kLong = 3600LL * kMicrosPerSecond;

Job MakeJob(const std::string& id) {
  Job j;
  j.name = kParent + "/jobs/" + id;
  j.schedule = "*/5 * * * *";
  j.time_zone = "Europe/Berlin";
  j.http_target.uri = "https://example.com/" + id;
  j.http_target.body = std::string("\0\1b", 3);
  j.http_target.oidc_token = OidcToken{"sa@p.iam.gserviceaccount.com", "aud"};
  j.schedule_time = 1'700'000'100'000'000;
  j.user_update_time = 1'700'000'000'000'000;
  return j;
}

class PgJobs : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = testing::FreshPostgresDb("jobs_" + std::to_string(::getpid()));
    auto s = PgJobStore::Open(conninfo_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  std::string Sql(const std::string& sql) { return testing::PgScalar(conninfo_, sql); }

  std::string conninfo_;
  std::unique_ptr<PgJobStore> store_;
};

TEST_F(PgJobs, JobsReadBackAsWrittenAndEveryUserChangeIsNotified) {
  auto listen = pg::Conn::Open(conninfo_);
  ASSERT_TRUE(listen.ok());
  ASSERT_TRUE((*listen)->Exec("LISTEN stratus_changes").ok());

  const Job a = MakeJob("a");
  ASSERT_TRUE(store_->Create(a).ok());
  ASSERT_TRUE(store_->Create(MakeJob("b")).ok());
  EXPECT_EQ(store_->Create(a).status().code(), Code::kAlreadyExists);
  auto got = store_->Get(a.name);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->http_target, a.http_target);
  EXPECT_EQ(got->schedule_time, a.schedule_time);
  auto listed = store_->List(kParent);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[1].name, kParent + "/jobs/b");
  EXPECT_TRUE(store_->List("projects/p/locations/other")->empty());

  ASSERT_TRUE(store_->RecordRun(a.name, 42, 41, Status(Code::kUnavailable, "down"), 0).ok());
  Job changed = a;
  changed.state = JobState::kPaused;
  auto updated = store_->Update(changed);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->last_attempt_time, 41) << "the executor's record stays";
  EXPECT_EQ(store_->Get(a.name)->state, JobState::kPaused);
  ASSERT_TRUE(store_->Delete(a.name).ok());
  EXPECT_EQ(store_->Delete(a.name).code(), Code::kNotFound);
  EXPECT_EQ(store_->Get(a.name).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->RecordRun(a.name, 1, 1, std::nullopt, 0).code(), Code::kNotFound);
  EXPECT_EQ(*store_->Count(), 1);

  // Create a, create b, update a, delete a: four kJobChanged notifications, in order; the
  // executor's RecordRun and the refused create sent none.
  std::vector<cluster::Change> changes;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (changes.size() < 4 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{(*listen)->socket(), POLLIN, 0};
    ::poll(&p, 1, 50);
    ASSERT_TRUE((*listen)->ConsumeInput());
    while (auto n = (*listen)->NextNotification()) {
      for (auto& c : cluster::DecodeChanges(n->payload)) changes.push_back(c);
    }
  }
  ASSERT_EQ(changes.size(), 4u);
  const std::vector<std::string> names = {a.name, kParent + "/jobs/b", a.name, a.name};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(changes[i].kind, cluster::Change::Kind::kJobChanged);
    EXPECT_EQ(changes[i].name, names[i]);
  }
}

TEST_F(PgJobs, ARecordUnderAStaleExecutorEpochIsRefused) {
  const Job a = MakeJob("a");
  ASSERT_TRUE(store_->Create(a).ok());
  PgLeaseTable leases(conninfo_);
  auto first = leases.Acquire(kExecutorLease, "node-a", kLong);
  ASSERT_TRUE(first.ok() && *first) << first.status().ToString();
  ASSERT_TRUE(store_->RecordRun(a.name, 100, 99, Status(), **first).ok());
  // node-a stalls; its lease is freed (or expires) and node-b takes the executor.
  ASSERT_TRUE(leases.Release(kExecutorLease, "node-a", **first).ok());
  auto second = leases.Acquire(kExecutorLease, "node-b", kLong);
  ASSERT_TRUE(second.ok() && *second);
  EXPECT_EQ(**second, **first + 1);
  ASSERT_TRUE(store_->RecordRun(a.name, 200, 199, Status(), **second).ok());
  // node-a wakes up and records the run it had in flight: refused, the new holder's stays.
  Status stale = store_->RecordRun(a.name, 150, 149, Status(Code::kInternal, "late"), **first);
  EXPECT_TRUE(IsExecutorLeaseLost(stale)) << stale.ToString();
  EXPECT_EQ(stale.message(),
            "scheduler: the executor lease is held by another node now (this node no longer runs the jobs)");
  auto job = store_->Get(a.name);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->schedule_time, 200);
  EXPECT_EQ(job->last_attempt_time, 199);
  // A renewal of the stale epoch fails too; the holder's succeeds.
  EXPECT_FALSE(*leases.Renew(kExecutorLease, "node-a", **first, kLong));
  EXPECT_TRUE(*leases.Renew(kExecutorLease, "node-b", **second, kLong));
}

TEST_F(PgJobs, RunRequestsStayInTheRowUntilTheExecutorTakesThemOnce) {
  const Job a = MakeJob("a");
  ASSERT_TRUE(store_->Create(a).ok());
  PgLeaseTable leases(conninfo_);
  auto first = leases.Acquire(kExecutorLease, "node-a", kLong);
  ASSERT_TRUE(first.ok() && *first) << first.status().ToString();
  // Two jobs.run calls while nobody takes them: both kept, through an update too.
  ASSERT_TRUE(store_->RequestRun(a.name).ok());
  ASSERT_TRUE(store_->RequestRun(a.name).ok());
  Job changed = a;
  changed.description = "changed meanwhile";
  ASSERT_TRUE(store_->Update(changed).ok());
  EXPECT_EQ(store_->Get(a.name)->pending_runs, 2);
  EXPECT_EQ(store_->RequestRun(kParent + "/jobs/gone").code(), Code::kNotFound);
  // node-b takes the executor; node-a's stale term cannot take them, node-b's takes both once.
  ASSERT_TRUE(leases.Release(kExecutorLease, "node-a", **first).ok());
  auto second = leases.Acquire(kExecutorLease, "node-b", kLong);
  ASSERT_TRUE(second.ok() && *second);
  auto stale = store_->TakeRuns(a.name, **first);
  EXPECT_TRUE(IsExecutorLeaseLost(stale.status())) << stale.status().ToString();
  auto taken = store_->TakeRuns(a.name, **second);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(*taken, 2);
  EXPECT_EQ(*store_->TakeRuns(a.name, **second), 0);
  EXPECT_EQ(store_->Get(a.name)->pending_runs, 0);
  EXPECT_EQ(store_->Get(a.name)->description, "changed meanwhile");
}

TEST_F(PgJobs, ASchemaTwoDatabaseGainsTheJobsTable) {
  ASSERT_TRUE(store_->Create(MakeJob("a")).ok());
  store_.reset();
  ASSERT_EQ(Sql("DROP TABLE scheduler_jobs"), "");
  ASSERT_EQ(Sql("UPDATE stratus_schema SET version = 2"), "");
  auto s = PgJobStore::Open(conninfo_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(Sql("SELECT version FROM stratus_schema"), std::to_string(pg::kSchemaVersion));
  EXPECT_EQ(Sql("SELECT to_regclass('scheduler_jobs') IS NOT NULL"), "t");
  EXPECT_TRUE((*s)->All()->empty());
}

}  // namespace
}  // namespace stratus::scheduler
