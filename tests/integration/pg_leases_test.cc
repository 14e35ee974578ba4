// The queue leases in a real PostgreSQL (store/postgres/pg_leases.cc) and the fencing of
// attempt writes by their epoch (store/postgres/writer.cc): a lease is taken once, moves
// only when free or expired, and a write carrying an epoch that is no longer the queue's is
// refused with kLeaseLost in the same transaction. Also: a schema-1 database gains the
// cluster tables on open.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <future>
#include <thread>

#include "integration/postgres_test_db.h"
#include "store/postgres/pg_leases.h"
#include "store/postgres/pg_store.h"
#include "store/postgres/rows.h"

namespace stratus {
namespace {

using namespace std::chrono_literals;

const std::string kQ = "projects/p/locations/l/queues/q";
constexpr Micros kT0 = 1'700'000'000LL * kMicrosPerSecond;
constexpr Micros kLong = 3600LL * kMicrosPerSecond;

class PgLeases : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = testing::FreshPostgresDb("leases_" + std::to_string(::getpid()));
    auto s = PgStore::Open(conninfo_, StoreOptions{});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    Queue q;
    q.name = kQ;
    ASSERT_TRUE(store_->WriteSync(QueueUpdate{kQ, [q](const Queue*, bool) -> StatusOr<Queue> { return q; }}, kT0).ok());
    Task t;
    t.name = kQ + "/tasks/t";
    t.http_request = HttpRequest{"http://127.0.0.1:1/x", HttpMethod::kPost, {}, "b", std::nullopt, std::nullopt};
    t.schedule_time = kT0;
    t.create_time = kT0;
    ASSERT_TRUE(store_->WriteSync(TaskCreate{t}, kT0).ok());
  }
  std::string Sql(const std::string& sql) { return testing::PgScalar(conninfo_, sql); }

  std::string conninfo_;
  std::unique_ptr<PgStore> store_;
};

TEST_F(PgLeases, ALeaseIsTakenOnceAndMovesOnlyWhenExpired) {
  PgLeaseTable a(conninfo_), b(conninfo_);
  auto got = a.Acquire(kQ, "a", kLong);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(*got);
  EXPECT_EQ(**got, 1);
  auto lost = b.Acquire(kQ, "b", kLong);
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(*lost) << "taken while held";

  std::map<std::string, int64_t> held;
  auto view = a.Heartbeat({"a", "http://a"}, 1, &held);  // renewed for a microsecond: expired at once
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(held.at(kQ), 1);
  ASSERT_EQ(view->queues.size(), 1u);
  EXPECT_EQ(view->queues[0].holder, "a");
  std::this_thread::sleep_for(5ms);
  auto taken = b.Acquire(kQ, "b", kLong);
  ASSERT_TRUE(taken.ok());
  ASSERT_TRUE(*taken);
  EXPECT_EQ(**taken, 2) << "a takeover grows the epoch";
  ASSERT_TRUE(a.Heartbeat({"a", "http://a"}, kLong, &held).ok());
  EXPECT_TRUE(held.empty()) << "a renewed a lease b holds";
}

TEST_F(PgLeases, AttemptWritesWithAStaleEpochAreRefused) {
  PgLeaseTable a(conninfo_), b(conninfo_);
  auto first = a.Acquire(kQ, "a", 1);
  ASSERT_TRUE(first.ok() && *first);
  const std::string name = kQ + "/tasks/t";
  auto started = store_->WriteSync(AttemptStart{name, kT0, **first}, kT0 + 10);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::this_thread::sleep_for(5ms);
  auto second = b.Acquire(kQ, "b", kLong);
  ASSERT_TRUE(second.ok() && *second);

  AttemptFinish finish{name, AttemptFinish::Outcome::kSucceeded, *started->task->last_attempt, 200, true};
  finish.dispatch_count = 1;
  finish.epoch = **first;
  auto refused = store_->WriteSync(finish, kT0 + 20);
  EXPECT_EQ(ReasonOf(refused.status()), StoreReason::kLeaseLost) << refused.status().ToString();
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(store_->GetTask(name, kT0 + 30).ok()) << "the stale success was recorded";
  EXPECT_EQ(ReasonOf(store_->WriteSync(AttemptStart{name, kT0, **first}, kT0 + 30).status()), StoreReason::kLeaseLost);

  // The new owner's epoch goes through.
  auto again = store_->WriteSync(AttemptStart{name, kT0, **second}, kT0 + 40);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->task->dispatch_count, 2);
  // Unfenced writes (epoch 0: tools, one node) are not checked.
  finish.epoch = 0;
  finish.dispatch_count = 2;
  finish.attempt = *again->task->last_attempt;
  EXPECT_TRUE(store_->WriteSync(finish, kT0 + 50).ok());
}

// The writer share-locks the lease rows of a batch's attempt writes and the heartbeat renews
// (locks) a node's rows: both take them in queue order, so neither waits for the other while
// holding a row the other wants. Here a "renewal" holds the first queue's row and then wants
// the second's while a batch writes the second queue's attempt before the first's: in batch
// order the two deadlock (PostgreSQL aborts one of them after deadlock_timeout).
TEST_F(PgLeases, AttemptWritesAndARenewalTakeLeaseRowsInOneOrder) {
  const std::string q2 = kQ + "2";  // sorts after kQ
  Queue q;
  q.name = q2;
  ASSERT_TRUE(store_->WriteSync(QueueUpdate{q2, [q](const Queue*, bool) -> StatusOr<Queue> { return q; }}, kT0).ok());
  Task t;
  t.name = q2 + "/tasks/t";
  t.http_request = HttpRequest{"http://127.0.0.1:1/x", HttpMethod::kPost, {}, "b", std::nullopt, std::nullopt};
  t.schedule_time = kT0;
  t.create_time = kT0;
  ASSERT_TRUE(store_->WriteSync(TaskCreate{t}, kT0).ok());
  PgLeaseTable a(conninfo_);
  auto e1 = a.Acquire(kQ, "a", kLong);
  auto e2 = a.Acquire(q2, "a", kLong);
  ASSERT_TRUE(e1.ok() && *e1 && e2.ok() && *e2);

  PGconn* renewal = PQconnectdb(conninfo_.c_str());
  auto exec = [renewal](const std::string& sql) {
    PGresult* r = PQexec(renewal, sql.c_str());
    std::string err = PQresultStatus(r) == PGRES_COMMAND_OK ? "" : PQresultErrorMessage(r);
    PQclear(r);
    return err;
  };
  ASSERT_EQ(exec("BEGIN"), "");
  ASSERT_EQ(exec("UPDATE queue_leases SET expires_at = expires_at WHERE queue = '" + kQ + "'"), "");

  // One batch: the held write keeps the writer busy while the two attempt writes queue up.
  std::promise<void> release, holding;
  std::shared_future<void> released = release.get_future().share();
  std::promise<StatusOr<WriteResult>> first, second;
  store_->Write(QueueUpdate{kQ,
                            [&holding, released](const Queue* cur, bool) -> StatusOr<Queue> {
                              holding.set_value();
                              released.wait();
                              return *cur;
                            }},
                kT0, [](StatusOr<WriteResult>) {});
  ASSERT_EQ(holding.get_future().wait_for(30s), std::future_status::ready);
  store_->Write(AttemptStart{q2 + "/tasks/t", kT0, **e2}, kT0 + 10,
                [&](StatusOr<WriteResult> r) { second.set_value(std::move(r)); });
  store_->Write(AttemptStart{kQ + "/tasks/t", kT0, **e1}, kT0 + 10,
                [&](StatusOr<WriteResult> r) { first.set_value(std::move(r)); });
  release.set_value();
  // The writer is now waiting for the renewal's row (kQ); let the renewal go on to q2's.
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (Sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") != "1" &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(exec("UPDATE queue_leases SET expires_at = expires_at WHERE queue = '" + q2 + "'"), "");
  EXPECT_EQ(exec("COMMIT"), "");
  PQfinish(renewal);
  for (auto* p : {&first, &second}) {
    auto f = p->get_future();
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
    auto r = f.get();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
}

TEST_F(PgLeases, NodesAreLiveWhileTheyHeartbeatAndLeavingFreesTheirLeases) {
  PgLeaseTable a(conninfo_), b(conninfo_);
  std::map<std::string, int64_t> held;
  ASSERT_TRUE(a.Heartbeat({"a", "http://a"}, kLong, &held).ok());
  auto got = a.Acquire(kQ, "a", kLong);
  ASSERT_TRUE(got.ok() && *got);
  auto view = b.Heartbeat({"b", "http://b"}, kLong, &held);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->live_nodes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Sql("SELECT address FROM stratus_nodes WHERE id = 'a'"), "http://a");
  ASSERT_TRUE(a.Leave("a").ok());
  view = b.Heartbeat({"b", "http://b"}, kLong, &held);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->live_nodes, (std::vector<std::string>{"b"}));
  ASSERT_EQ(view->queues.size(), 1u);
  EXPECT_EQ(view->queues[0].holder, "");
  auto taken = b.Acquire(kQ, "b", kLong);
  ASSERT_TRUE(taken.ok() && *taken);
  EXPECT_EQ(**taken, 2);
}

TEST_F(PgLeases, ASchemaOneDatabaseGainsTheClusterTables) {
  store_->Close();
  store_.reset();
  ASSERT_EQ(Sql("DROP TABLE queue_leases, stratus_nodes"), "");
  ASSERT_EQ(Sql("UPDATE stratus_schema SET version = 1"), "");
  auto s = PgStore::Open(conninfo_, StoreOptions{});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(Sql("SELECT version FROM stratus_schema"), std::to_string(pg::kSchemaVersion));
  EXPECT_EQ(Sql("SELECT to_regclass('queue_leases') IS NOT NULL AND to_regclass('stratus_nodes') IS NOT NULL"), "t");
  EXPECT_TRUE((*s)->GetTask(kQ + "/tasks/t", kT0).ok()) << "rows kept";
}

}  // namespace
}  // namespace stratus
