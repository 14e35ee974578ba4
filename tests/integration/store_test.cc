// The Store contract (include/stratus/store.h), run against every implementation: SQLite on a
// real file, and PostgreSQL (a database of its own per test on the run's shared server,
// tests/support/postgres.sh). Nothing
// here may depend on one implementation (its own tests go beside it, e.g.
// sqlite_store_test.cc): no casts to a concrete store, no reliance on group commit, and every
// wait has a deadline.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <set>
#include <thread>

#include "common/time.h"
#include "integration/postgres_test_db.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

namespace stratus {
namespace {

constexpr Micros kT0 = 1'795'000'000LL * kMicrosPerSecond;
constexpr Micros kHour = 3600LL * kMicrosPerSecond;
constexpr auto kDeadline = std::chrono::seconds(120);  // a loaded machine, never a passing test
const std::string kQ = "projects/p/locations/l/queues/q";

// `fresh` starts the store's storage for a test from nothing; `open` opens it (again).
struct StoreFactory {
  std::string name;
  std::function<void(const std::string& dir)> fresh;
  std::function<std::unique_ptr<Store>(const std::string& dir, StoreOptions)> open;
};

// A PostgreSQL database name for a test's directory.
std::string DbNameFor(const std::string& dir) {
  return "store_" + std::to_string(std::hash<std::string>{}(dir));
}

const StoreFactory kStores[] = {
    {"sqlite", [](const std::string&) {},
     [](const std::string& dir, StoreOptions o) -> std::unique_ptr<Store> {
       auto s = SqliteStore::Open(dir + "/stratus.db", o);
       return s.ok() ? std::move(*s) : nullptr;
     }},
    {"postgres", [](const std::string& dir) { testing::FreshPostgresDb(DbNameFor(dir)); },
     [](const std::string& dir, StoreOptions o) -> std::unique_ptr<Store> {
       auto s = PgStore::Open(testing::PostgresDb(DbNameFor(dir)), o);
       EXPECT_TRUE(s.ok()) << s.status().ToString();
       return s.ok() ? std::move(*s) : nullptr;
     }},
};

void PrintTo(const StoreFactory& f, std::ostream* os) {
  *os << f.name;
}

class StoreTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("stratus-store-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    GetParam().fresh(dir_.string());
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen(StoreOptions o = {}) {
    store_.reset();
    store_ = GetParam().open(dir_.string(), o);
    ASSERT_NE(store_, nullptr);
  }

  StatusOr<WriteResult> W(Mutation m, Micros now = kT0) { return store_->WriteSync(std::move(m), now); }

  // The result an asynchronous write delivers to `p` (a failure of the test after kDeadline).
  static StatusOr<WriteResult> Await(std::promise<StatusOr<WriteResult>>& p) {
    auto f = p.get_future();
    EXPECT_EQ(f.wait_for(kDeadline), std::future_status::ready);
    return f.get();
  }

  // Holds the store's writer inside an update of kQ until the returned promise is set, so
  // writes sent meanwhile wait behind it and commit as one batch; `done` gets its result.
  std::promise<void> HoldWriter(std::promise<StatusOr<WriteResult>>& done) {
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    auto holding = std::make_shared<std::promise<void>>();
    auto held = holding->get_future();
    auto once = std::make_shared<std::atomic<bool>>(false);
    store_->Write(QueueUpdate{kQ,
                              [holding, once, released](const Queue* q, bool) -> StatusOr<Queue> {
                                if (!once->exchange(true)) holding->set_value();
                                released.wait();
                                return *q;
                              }},
                  kT0, [&done](StatusOr<WriteResult> r) { done.set_value(std::move(r)); });
    EXPECT_EQ(held.wait_for(kDeadline), std::future_status::ready);
    return release;
  }

  void CreateQueue(const std::string& name = kQ) {
    Queue q;
    q.name = name;
    auto r = W(QueueUpdate{name, [q](const Queue* cur, bool) -> StatusOr<Queue> {
                             if (cur) return AlreadyExists("exists");
                             return q;
                           }});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  Task MakeTask(const std::string& id, Micros schedule = kT0, const std::string& queue = kQ) {
    Task t;
    t.name = queue + "/tasks/" + id;
    t.http_request = HttpRequest{"http://127.0.0.1:1/x",  HttpMethod::kPost, {{"X-A", "1"}},
                                 std::string("b\0dy", 4), std::nullopt,      std::nullopt};
    t.schedule_time = schedule;
    t.create_time = kT0;
    t.dispatch_deadline = 600 * kMicrosPerSecond;
    return t;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, QueueRoundTripsAndSurvivesReopen) {
  Queue q;
  q.name = kQ;
  q.rate_limits.max_dispatches_per_second = 7.5;
  q.retry_config.max_attempts = -1;
  q.retry_config.min_backoff = 250'000;
  q.state = QueueState::kPaused;
  q.stratus.permanent_failure_statuses = {404, 410};
  ASSERT_TRUE(W(QueueUpdate{kQ, [q](const Queue*, bool) -> StatusOr<Queue> { return q; }}).ok());
  Reopen();
  auto got = store_->GetQueue(kQ);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->rate_limits.max_dispatches_per_second, 7.5);
  EXPECT_EQ(got->retry_config.max_attempts, -1);
  EXPECT_EQ(got->retry_config.min_backoff, 250'000);
  EXPECT_EQ(got->state, QueueState::kPaused);
  EXPECT_EQ(got->stratus.permanent_failure_statuses, (std::vector<int>{404, 410}));
}

TEST_P(StoreTest, QueueUpdateSeesCurrentAndAppliesAtomically) {
  CreateQueue();
  auto r = W(QueueUpdate{kQ, [](const Queue* cur, bool) -> StatusOr<Queue> {
                           if (!cur) return NotFound("missing");
                           Queue n = *cur;
                           n.state = QueueState::kPaused;
                           return n;
                         }});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->queue->state, QueueState::kPaused);
  auto dup =
      W(QueueUpdate{kQ, [](const Queue* cur, bool) -> StatusOr<Queue> { return AlreadyExists("apply says no"); }});
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "apply says no");           // apply's own error, as it is
  EXPECT_EQ(store_->GetQueue(kQ)->state, QueueState::kPaused);  // the failed update changed nothing
}

TEST_P(StoreTest, ListQueuesPagesByNameWithinParentAndFiltersState) {
  for (const char* id : {"c", "a", "b", "d"}) CreateQueue("projects/p/locations/l/queues/" + std::string(id));
  CreateQueue("projects/p/locations/other/queues/x");
  auto first = store_->ListQueues("projects/p/locations/l", std::nullopt, 3, "");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->items.size(), 3u);
  EXPECT_EQ(first->items[0].name, "projects/p/locations/l/queues/a");
  ASSERT_FALSE(first->next_cursor.empty());
  CreateQueue("projects/p/locations/l/queues/aa");  // inserted before the cursor: not repeated
  auto second = store_->ListQueues("projects/p/locations/l", std::nullopt, 3, first->next_cursor);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].name, "projects/p/locations/l/queues/d");
  EXPECT_TRUE(second->next_cursor.empty());
  auto paused = store_->ListQueues("projects/p/locations/l", QueueState::kPaused, 10, "");
  EXPECT_TRUE(paused->items.empty());
}

TEST_P(StoreTest, TaskCreateNeedsQueueAndRejectsDuplicates) {
  auto missing = W(TaskCreate{MakeTask("t1")});
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(ReasonOf(missing.status()), StoreReason::kQueueMissing);
  CreateQueue();
  ASSERT_TRUE(W(TaskCreate{MakeTask("t1")}).ok());
  auto dup = W(TaskCreate{MakeTask("t1")});
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(ReasonOf(dup.status()), StoreReason::kTaskExists);
  auto got = store_->GetTask(kQ + "/tasks/t1", kT0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->http_request->body, std::string("b\0dy", 4));
  EXPECT_EQ(got->http_request->headers.at("X-A"), "1");
}

TEST_P(StoreTest, DeletedTaskNameStaysTakenForTheWindowOnly) {
  Reopen(StoreOptions{kHour, 0});
  CreateQueue();
  ASSERT_TRUE(W(TaskCreate{MakeTask("t1")}).ok());
  ASSERT_TRUE(W(TaskDelete{kQ + "/tasks/t1"}, kT0).ok());
  EXPECT_EQ(ReasonOf(store_->GetTask(kQ + "/tasks/t1", kT0 + 1).status()), StoreReason::kTaskRecentlyDeleted);
  EXPECT_EQ(ReasonOf(W(TaskCreate{MakeTask("t1")}, kT0 + kHour - 1).status()), StoreReason::kTaskNameTombstoned);
  Reopen(StoreOptions{kHour, 0});  // the window survives restarts
  EXPECT_EQ(ReasonOf(W(TaskCreate{MakeTask("t1")}, kT0 + kHour - 1).status()), StoreReason::kTaskNameTombstoned);
  EXPECT_TRUE(W(TaskCreate{MakeTask("t1")}, kT0 + kHour + 1).ok());
  EXPECT_EQ(ReasonOf(store_->GetTask(kQ + "/tasks/none", kT0).status()), StoreReason::kTaskMissing);
  EXPECT_EQ(ReasonOf(W(TaskDelete{kQ + "/tasks/none"}).status()), StoreReason::kTaskMissing);
  EXPECT_EQ(ReasonOf(W(TaskRun{kQ + "/tasks/none"}).status()), StoreReason::kTaskMissing);
}

TEST_P(StoreTest, DeletedQueueNameReuseWindow) {
  Reopen(StoreOptions{kHour, kHour});
  CreateQueue();
  ASSERT_TRUE(W(QueueDelete{kQ}).ok());
  bool recently = false;
  auto r = W(QueueUpdate{kQ,
                         [&](const Queue*, bool rd) -> StatusOr<Queue> {
                           recently = rd;
                           return FailedPrecondition("recently deleted");
                         }},
             kT0 + 10);
  EXPECT_TRUE(recently);
  EXPECT_EQ(r.status().message(), "recently deleted");
  EXPECT_EQ(ReasonOf(W(QueueDelete{kQ}).status()), StoreReason::kQueueMissing);
  EXPECT_EQ(ReasonOf(W(QueuePurge{kQ, kT0}).status()), StoreReason::kQueueMissing);
  EXPECT_EQ(ReasonOf(store_->GetQueue(kQ).status()), StoreReason::kQueueMissing);
}

TEST_P(StoreTest, ListTasksIsStableAcrossInsertsAndHidesBodiesOnRequest) {
  CreateQueue();
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(W(TaskCreate{MakeTask("t" + std::to_string(i), kT0 + i)}).ok());
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = store_->ListTasks(kQ, 10, cursor, false);
    ASSERT_TRUE(page.ok());
    for (const auto& t : page->items) {
      EXPECT_TRUE(seen.insert(t.name).second) << "seen twice: " << t.name;
      EXPECT_TRUE(t.http_request->body.empty());
    }
    if (pages++ == 0) {
      // Inserts and reschedules during a listing must not shift the pages.
      ASSERT_TRUE(W(TaskCreate{MakeTask("early", kT0 - 100)}).ok());
      ASSERT_TRUE(W(TaskRun{kQ + "/tasks/t20"}, kT0 - 200).ok());
      ASSERT_TRUE(W(TaskRun{kQ + "/tasks/t3"}, kT0 + 900).ok());
    }
    cursor = page->next_cursor;
  } while (!cursor.empty());
  for (int i = 0; i < 25; ++i) EXPECT_TRUE(seen.count(kQ + "/tasks/t" + std::to_string(i))) << i;
  EXPECT_EQ(*store_->CountTasks(kQ), 26);
  EXPECT_EQ(store_->ListTasks(kQ, 1, "", true)->items[0].http_request->body, std::string("b\0dy", 4));
  EXPECT_EQ(ReasonOf(store_->ListTasks(kQ, 10, "garbage", false).status()), StoreReason::kBadCursor);
  EXPECT_EQ(ReasonOf(store_->ListQueues("projects/p/locations/l", std::nullopt, 10, "garbage").status()),
            StoreReason::kBadCursor);
}

TEST_P(StoreTest, PurgeDropsTasksCreatedBeforeIt) {
  CreateQueue();
  ASSERT_TRUE(W(TaskCreate{MakeTask("old")}, kT0).ok());
  ASSERT_TRUE(W(QueuePurge{kQ, kT0 + 5}, kT0 + 5).ok());
  ASSERT_TRUE(W(TaskCreate{MakeTask("new")}, kT0 + 6).ok());
  EXPECT_EQ(store_->GetTask(kQ + "/tasks/old", kT0 + 7).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->GetTask(kQ + "/tasks/new", kT0 + 7).ok());
  EXPECT_EQ(*store_->GetQueue(kQ)->purge_time, kT0 + 5);
}

TEST_P(StoreTest, AttemptsCountAndRecordOutcomes) {
  CreateQueue();
  ASSERT_TRUE(W(TaskCreate{MakeTask("t", kT0)}).ok());
  const std::string name = kQ + "/tasks/t";
  EXPECT_EQ(ReasonOf(W(AttemptStart{name, kT0 + 1}).status()), StoreReason::kTaskRescheduled);  // stale schedule
  auto started = W(AttemptStart{name, kT0}, kT0 + 10);
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(started->task->dispatch_count, 1);
  EXPECT_EQ(started->task->first_attempt->dispatch_time, kT0 + 10);
  AttemptFinish retry{name, AttemptFinish::Outcome::kRetry, *started->task->last_attempt, 404, true, kT0 + 500};
  retry.dispatch_count = 1;
  retry.attempt.response_status = Status(Code::kNotFound, "HTTP status code 404");
  ASSERT_TRUE(W(retry, kT0 + 20).ok());
  Reopen();
  auto t = store_->GetTask(name, kT0 + 30);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->dispatch_count, 1);
  EXPECT_EQ(t->response_count, 1);
  EXPECT_EQ(t->execution_count, 1);
  EXPECT_EQ(t->previous_response, 404);
  EXPECT_EQ(t->schedule_time, kT0 + 500);
  EXPECT_EQ(t->last_attempt->response_status->code(), Code::kNotFound);
  std::vector<TaskKey> keys;
  ASSERT_TRUE(store_->ScanTasks("", [&](TaskKey k) { keys.push_back(k); }).ok());
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].schedule_time, kT0 + 500);

  auto second = W(AttemptStart{name, kT0 + 500}, kT0 + 600);
  ASSERT_TRUE(second.ok());
  AttemptFinish ok{name, AttemptFinish::Outcome::kSucceeded, *second->task->last_attempt};
  ok.dispatch_count = 1;  // not this attempt: refused, nothing changes
  EXPECT_EQ(ReasonOf(W(ok, kT0 + 700).status()), StoreReason::kTaskReplaced);
  ok.dispatch_count = 2;
  ASSERT_TRUE(W(ok, kT0 + 700).ok());
  EXPECT_EQ(ReasonOf(store_->GetTask(name, kT0 + 800).status()), StoreReason::kTaskRecentlyDeleted);
}

TEST_P(StoreTest, DeadLettersKeepTheLastAttemptAndCanBeRetried) {
  CreateQueue();
  ASSERT_TRUE(W(TaskCreate{MakeTask("t", kT0)}).ok());
  const std::string name = kQ + "/tasks/t";
  auto started = W(AttemptStart{name, kT0}, kT0 + 10);
  ASSERT_TRUE(started.ok());
  AttemptFinish dead{name, AttemptFinish::Outcome::kDeadLetter, *started->task->last_attempt, 410, true};
  dead.dispatch_count = 1;
  dead.dead_reason = "permanent failure status 410";
  dead.response_headers = {{"X-Why", "gone"}};
  dead.response_body = "it is gone";
  ASSERT_TRUE(W(dead, kT0 + 20).ok());
  EXPECT_EQ(store_->GetTask(name, kT0 + 30).status().code(), Code::kNotFound);
  Reopen();
  auto d = store_->GetDeadLetter(name);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->reason, "permanent failure status 410");
  EXPECT_EQ(d->response_status, 410);
  EXPECT_EQ(d->response_headers.at("X-Why"), "gone");
  EXPECT_EQ(d->response_body, "it is gone");
  EXPECT_EQ(d->task.dispatch_count, 1);
  EXPECT_EQ(d->task.http_request->body, std::string("b\0dy", 4));
  EXPECT_EQ(store_->ListDeadLetters(kQ, 10, "")->items.size(), 1u);

  auto retried = W(DeadLetterRetry{name}, kT0 + 40);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->task->dispatch_count, 0);
  EXPECT_EQ(retried->task->schedule_time, kT0 + 40);
  EXPECT_TRUE(store_->GetTask(name, kT0 + 50).ok());
  EXPECT_EQ(ReasonOf(store_->GetDeadLetter(name).status()), StoreReason::kDeadLetterMissing);
  EXPECT_EQ(ReasonOf(W(DeadLetterDelete{name}).status()), StoreReason::kDeadLetterMissing);
  EXPECT_EQ(ReasonOf(W(DeadLetterRetry{name}).status()), StoreReason::kDeadLetterMissing);
}

TEST_P(StoreTest, DeadLettersExpireAfterRetention) {
  Reopen(StoreOptions{kHour, 0, 2 * kHour});
  CreateQueue();
  ASSERT_TRUE(W(TaskCreate{MakeTask("t", kT0)}).ok());
  const std::string name = kQ + "/tasks/t";
  auto started = W(AttemptStart{name, kT0}, kT0);
  AttemptFinish dead{name, AttemptFinish::Outcome::kDeadLetter, *started->task->last_attempt, 500, true};
  dead.dispatch_count = 1;
  ASSERT_TRUE(W(dead, kT0).ok());
  // Garbage collection runs with writes once a minute of store time has passed.
  ASSERT_TRUE(W(TaskCreate{MakeTask("later", kT0)}, kT0 + 3 * kHour).ok());
  EXPECT_EQ(store_->GetDeadLetter(name).status().code(), Code::kNotFound);
}

// Waits, with a deadline, until `n` callbacks have run.
class Countdown {
 public:
  explicit Countdown(int n) : left_(n) {}
  void Done() {
    std::lock_guard lock(mu_);
    if (--left_ == 0) cv_.notify_all();
  }
  bool Wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return left_ <= 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int left_;
};

TEST_P(StoreTest, ConcurrentWritesAllLand) {
  CreateQueue();
  constexpr int kThreads = 8, kPerThread = 100;
  std::atomic<int> failed{0};
  Countdown done(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        store_->Write(TaskCreate{MakeTask("t" + std::to_string(t) + "_" + std::to_string(i))}, kT0,
                      [&](StatusOr<WriteResult> r) {
                        if (!r.ok()) ++failed;
                        done.Done();
                      });
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(done.Wait()) << "writes still unanswered after " << kDeadline.count() << " s";
  EXPECT_EQ(failed.load(), 0);
  Reopen();
  EXPECT_EQ(*store_->CountTasks(kQ), kThreads * kPerThread);
}

// Whatever a store batches, a write reported failed left nothing behind, and one reported
// done is there: an apply that fails with a storage error (UNAVAILABLE) while other writes
// are queued behind a slow one.
TEST_P(StoreTest, AFailedWriteLeavesNothingBehind) {
  CreateQueue();
  ASSERT_TRUE(W(TaskCreate{MakeTask("kept")}).ok());
  std::promise<StatusOr<WriteResult>> first, created, ran, failing;
  std::promise<void> release = HoldWriter(first);
  store_->Write(TaskCreate{MakeTask("maybe")}, kT0, [&](StatusOr<WriteResult> r) { created.set_value(std::move(r)); });
  store_->Write(TaskRun{kQ + "/tasks/kept"}, kT0 + 5, [&](StatusOr<WriteResult> r) { ran.set_value(std::move(r)); });
  store_->Write(QueueUpdate{kQ, [](const Queue*, bool) -> StatusOr<Queue> { return Unavailable("disk gone"); }}, kT0,
                [&](StatusOr<WriteResult> r) { failing.set_value(std::move(r)); });
  release.set_value();
  EXPECT_TRUE(Await(first).ok());
  const bool create_ok = Await(created).ok();
  const bool run_ok = Await(ran).ok();
  EXPECT_EQ(Await(failing).status().code(), Code::kUnavailable);

  const std::string maybe = kQ + "/tasks/maybe";
  EXPECT_EQ(store_->GetTask(maybe, kT0 + 10).ok(), create_ok);
  EXPECT_EQ(W(AttemptStart{maybe, kT0}, kT0 + 10).ok(), create_ok);
  auto started = W(AttemptStart{kQ + "/tasks/kept", run_ok ? kT0 + 5 : kT0}, kT0 + 10);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(*store_->CountTasks(kQ), create_ok ? 2 : 1);
  EXPECT_EQ(store_->GetQueue(kQ)->state, QueueState::kRunning);  // the failed update changed nothing
}

// A write refused inside a batch (the PostgreSQL store rolls the batch back and applies the
// others again) does not take the creates batched with it down: each lands, with its task.
TEST_P(StoreTest, ARefusedWriteDoesNotFailTheCreatesBatchedWithIt) {
  CreateQueue();
  std::promise<StatusOr<WriteResult>> first, before, refused, after;
  std::promise<void> release = HoldWriter(first);
  // Queued behind the held write: one batch.
  store_->Write(TaskCreate{MakeTask("before")}, kT0, [&](StatusOr<WriteResult> r) { before.set_value(std::move(r)); });
  store_->Write(QueueUpdate{kQ, [](const Queue*, bool) -> StatusOr<Queue> { return Internal("refused"); }}, kT0,
                [&](StatusOr<WriteResult> r) { refused.set_value(std::move(r)); });
  store_->Write(TaskCreate{MakeTask("after")}, kT0, [&](StatusOr<WriteResult> r) { after.set_value(std::move(r)); });
  release.set_value();
  EXPECT_TRUE(Await(first).ok());
  for (auto* p : {&before, &after}) {
    auto r = Await(*p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(r->task);
    EXPECT_EQ(store_->GetTask(r->task->name, kT0 + 10)->name, r->task->name);
  }
  EXPECT_EQ(Await(refused).status().code(), Code::kInternal);
  EXPECT_EQ(*store_->CountTasks(kQ), 2);
}

TEST_P(StoreTest, QueueDeleteRemovesTasksAndDeadLetters) {
  CreateQueue();
  ASSERT_TRUE(W(TaskCreate{MakeTask("t")}).ok());
  ASSERT_TRUE(W(QueueDelete{kQ}).ok());
  EXPECT_EQ(store_->GetQueue(kQ).status().code(), Code::kNotFound);
  EXPECT_EQ(*store_->CountTasks(kQ), 0);
}

TEST_P(StoreTest, WritesAfterCloseFailCleanly) {
  store_->Close();
  EXPECT_EQ(W(QueueDelete{kQ}).status().code(), Code::kUnavailable);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest, ::testing::ValuesIn(kStores),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace stratus
