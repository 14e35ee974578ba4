// The PostgreSQL store's pipelined batches (store/postgres/pg_store.cc): a batch's creates,
// attempt starts and successes go to the server together as one statement each. A statement
// the server refuses (here a name that is not UTF-8) fails only its own write: the others in
// the batch, before and after it in the pipeline, commit; and the one-statement writes give
// the same answers as the reads-then-writes they replace, in one batch with the other kinds.
#include <gtest/gtest.h>

#include <future>
#include <vector>

#include "common/time.h"
#include "integration/postgres_test_db.h"
#include "store/postgres/pg_store.h"

namespace stratus {
namespace {

using namespace std::chrono_literals;

const std::string kQ = "projects/p/locations/l/queues/q";
constexpr Micros kT0 = 1'700'000'000LL * kMicrosPerSecond;

Task MakeTask(const std::string& id) {
  Task t;
  t.name = kQ + "/tasks/" + id;
  t.http_request = HttpRequest{"http://127.0.0.1:1/x", HttpMethod::kPost, {}, "body", std::nullopt, std::nullopt};
  t.schedule_time = kT0;
  t.create_time = kT0;
  return t;
}

class PgPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = PgStore::Open(testing::FreshPostgresDb("pipeline_" + std::to_string(::getpid())), StoreOptions{});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store = std::move(*s);
    Queue q;
    q.name = kQ;
    ASSERT_TRUE(store->WriteSync(QueueUpdate{kQ, [q](const Queue*, bool) -> StatusOr<Queue> { return q; }}, kT0).ok());
  }

  // Queues `m`; its answer arrives in the returned future.
  std::future<StatusOr<WriteResult>> Write(Mutation m, Micros now) {
    auto p = std::make_shared<std::promise<StatusOr<WriteResult>>>();
    auto f = p->get_future();
    store->Write(std::move(m), now, [p](StatusOr<WriteResult> r) { p->set_value(std::move(r)); });
    return f;
  }

  // Keeps the writer busy until the returned promise is set, so what is written meanwhile
  // goes into one batch.
  std::promise<void> HoldWriter() {
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    auto holding = std::make_shared<std::promise<void>>();
    auto held = holding->get_future();
    store->Write(QueueUpdate{kQ,
                             [holding, released](const Queue* q, bool) -> StatusOr<Queue> {
                               holding->set_value();
                               released.wait();
                               return *q;
                             }},
                 kT0, [](const StatusOr<WriteResult>&) {});
    EXPECT_EQ(held.wait_for(30s), std::future_status::ready);
    return release;
  }

  static StatusOr<WriteResult> Await(std::future<StatusOr<WriteResult>>& f) {
    if (f.wait_for(30s) != std::future_status::ready) return Internal("no answer in 30 s");
    return f.get();
  }

  std::unique_ptr<PgStore> store;
};

TEST_F(PgPipeline, AStatementTheServerRefusesFailsOnlyItsOwnWrite) {
  ASSERT_TRUE(store->WriteSync(TaskCreate{MakeTask("started")}, kT0).ok());
  std::promise<void> release = HoldWriter();
  auto before = Write(TaskCreate{MakeTask("before")}, kT0);
  auto refused = Write(TaskCreate{MakeTask("not-utf8-\xff")}, kT0);
  auto start = Write(AttemptStart{kQ + "/tasks/started", kT0, 0}, kT0 + 10);
  auto after = Write(TaskCreate{MakeTask("after")}, kT0);
  release.set_value();

  auto r = Await(refused);
  EXPECT_EQ(r.status().code(), Code::kInternal) << r.status().ToString();
  for (auto* f : {&before, &after}) {
    auto created = Await(*f);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    ASSERT_TRUE(created->task);
    EXPECT_TRUE(store->GetTask(created->task->name, kT0 + 10).ok());
  }
  auto started = Await(start);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  ASSERT_TRUE(started->task);
  EXPECT_EQ(started->task->dispatch_count, 1);
  EXPECT_EQ(started->task->http_request->body, "body") << "the started task comes back whole";
  EXPECT_EQ(store->GetTask(kQ + "/tasks/started", kT0 + 20)->dispatch_count, 1) << "started once, not twice";
  EXPECT_EQ(*store->CountTasks(kQ), 3);
}

TEST_F(PgPipeline, OneBatchAnswersEachWriteAsIfAlone) {
  ASSERT_TRUE(store->WriteSync(TaskCreate{MakeTask("done")}, kT0).ok());
  auto started = store->WriteSync(AttemptStart{kQ + "/tasks/done", kT0, 0}, kT0 + 10);
  ASSERT_TRUE(started.ok() && started->task);
  ASSERT_TRUE(store->WriteSync(TaskCreate{MakeTask("deleted")}, kT0).ok());
  ASSERT_TRUE(store->WriteSync(TaskDelete{kQ + "/tasks/deleted"}, kT0).ok());
  ASSERT_TRUE(store->WriteSync(TaskCreate{MakeTask("later")}, kT0).ok());

  std::promise<void> release = HoldWriter();
  AttemptFinish success;
  success.name = kQ + "/tasks/done";
  success.attempt = *started->task->last_attempt;
  success.dispatch_count = started->task->dispatch_count;
  auto finished = Write(success, kT0 + 20);
  auto again = Write(success, kT0 + 20);  // the task is gone by then
  auto fresh = Write(TaskCreate{MakeTask("fresh")}, kT0 + 20);
  auto twice = Write(TaskCreate{MakeTask("fresh")}, kT0 + 20);
  auto tombstoned = Write(TaskCreate{MakeTask("deleted")}, kT0 + 20);
  auto no_queue = Write(TaskCreate{[] {
                          Task t = MakeTask("x");
                          t.name = kQ + "-missing/tasks/x";
                          return t;
                        }()},
                        kT0 + 20);
  auto rescheduled = Write(AttemptStart{kQ + "/tasks/later", kT0 - 1, 0}, kT0 + 20);
  auto missing = Write(AttemptStart{kQ + "/tasks/nothing", kT0, 0}, kT0 + 20);
  auto run = Write(TaskRun{kQ + "/tasks/fresh"}, kT0 + 30);  // reads what the pipeline wrote
  release.set_value();

  EXPECT_TRUE(Await(finished).ok());
  EXPECT_EQ(ReasonOf(Await(again).status()), StoreReason::kTaskMissing);
  EXPECT_TRUE(Await(fresh).ok());
  EXPECT_EQ(ReasonOf(Await(twice).status()), StoreReason::kTaskExists);
  EXPECT_EQ(ReasonOf(Await(tombstoned).status()), StoreReason::kTaskNameTombstoned);
  EXPECT_EQ(ReasonOf(Await(no_queue).status()), StoreReason::kQueueMissing);
  EXPECT_EQ(ReasonOf(Await(rescheduled).status()), StoreReason::kTaskRescheduled);
  EXPECT_EQ(ReasonOf(Await(missing).status()), StoreReason::kTaskMissing);
  auto ran = Await(run);
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_EQ(ran->task->schedule_time, kT0 + 30);
  EXPECT_EQ(store->GetTask(kQ + "/tasks/done", kT0 + 40).status().code(), Code::kNotFound);
  EXPECT_EQ(*store->CountTasks(kQ), 2);  // later, fresh
}

// Each start's answer carries its task's body back while the creates after it carry theirs
// out, megabytes each way in one pipeline: libpq reads the answers while it waits to send,
// so neither side stalls on a full socket.
TEST_F(PgPipeline, ABatchOfLargeBodiesBothWaysCompletes) {
  constexpr int kEach = 120;
  const std::string big(64 * 1024, 'b');
  auto sized = [&big](const std::string& id) {
    Task t = MakeTask(id);
    t.http_request->body = big;
    return t;
  };
  std::vector<std::future<StatusOr<WriteResult>>> created;
  created.reserve(kEach);
  for (int i = 0; i < kEach; ++i) created.push_back(Write(TaskCreate{sized("old" + std::to_string(i))}, kT0));
  for (auto& f : created) ASSERT_TRUE(Await(f).ok());

  std::promise<void> release = HoldWriter();
  std::vector<std::future<StatusOr<WriteResult>>> started, more;
  started.reserve(kEach);
  more.reserve(kEach);
  for (int i = 0; i < kEach; ++i) {
    started.push_back(Write(AttemptStart{kQ + "/tasks/old" + std::to_string(i), kT0, 0}, kT0 + 10));
    more.push_back(Write(TaskCreate{sized("new" + std::to_string(i))}, kT0 + 10));
  }
  release.set_value();
  for (auto& f : started) {
    auto r = Await(f);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->task->http_request->body.size(), big.size());
  }
  for (auto& f : more) ASSERT_TRUE(Await(f).ok());
  EXPECT_EQ(*store->CountTasks(kQ), 2 * kEach);
}

}  // namespace
}  // namespace stratus
