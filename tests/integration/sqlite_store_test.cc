// What the SQLite store does beyond the Store contract (store_test.cc holds the contract):
// one writer drains concurrent writes into one transaction (group commit), and a storage
// failure inside that transaction fails every write in it and leaves none of them behind.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "common/time.h"
#include "store/sqlite/sqlite_store.h"

namespace stratus {
namespace {

constexpr Micros kT0 = 1'795'000'000LL * kMicrosPerSecond;
constexpr auto kDeadline = std::chrono::seconds(120);
const std::string kQ = "projects/p/locations/l/queues/q";

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("stratus-sqlite-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = SqliteStore::Open((dir_ / "stratus.db").string(), StoreOptions{});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    Queue q;
    q.name = kQ;
    ASSERT_TRUE(W(QueueUpdate{kQ, [q](const Queue*, bool) -> StatusOr<Queue> { return q; }}).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  StatusOr<WriteResult> W(Mutation m, Micros now = kT0) { return store_->WriteSync(std::move(m), now); }

  static Task MakeTask(const std::string& id) {
    Task t;
    t.name = kQ + "/tasks/" + id;
    t.http_request = HttpRequest{"http://127.0.0.1:1/x", HttpMethod::kPost, {}, "body", std::nullopt, std::nullopt};
    t.schedule_time = kT0;
    t.create_time = kT0;
    return t;
  }

  // Holds the writer inside a batch of its own (a QueueUpdate whose apply waits) so the next
  // writes queue up behind it and go into one batch; release() lets it go.
  void HoldWriter() {
    auto held = holding_.get_future();
    store_->Write(QueueUpdate{kQ,
                              [this, released = released_](const Queue* q, bool) -> StatusOr<Queue> {
                                holding_.set_value();
                                released.wait();
                                return *q;
                              }},
                  kT0, [this](StatusOr<WriteResult> r) { first_.set_value(std::move(r)); });
    ASSERT_EQ(held.wait_for(kDeadline), std::future_status::ready);
  }
  StatusOr<WriteResult> Release() {
    release_.set_value();
    auto f = first_.get_future();
    EXPECT_EQ(f.wait_for(kDeadline), std::future_status::ready);
    return f.get();
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
  std::promise<void> holding_, release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::promise<StatusOr<WriteResult>> first_;
};

TEST_F(SqliteStoreTest, WritesQueuedTogetherShareOneCommit) {
  HoldWriter();
  constexpr int kWrites = 200;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, failed = 0;
  for (int i = 0; i < kWrites; ++i) {
    store_->Write(TaskCreate{MakeTask("t" + std::to_string(i))}, kT0, [&](StatusOr<WriteResult> r) {
      std::lock_guard lock(mu);
      failed += r.ok() ? 0 : 1;
      if (++done == kWrites) cv.notify_all();
    });
  }
  const uint64_t before = store_->commits();
  ASSERT_TRUE(Release().ok());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, kDeadline, [&] { return done == kWrites; }));
  EXPECT_EQ(failed, 0);
  // The held batch's commit, then the queued writes in one batch (kMaxBatch is 2048).
  EXPECT_LE(store_->commits() - before, 2u);
  EXPECT_EQ(*store_->CountTasks(kQ), kWrites);
}

// The writer must not keep what it remembered of the rolled-back batch either.
TEST_F(SqliteStoreTest, AStorageFailureFailsTheWholeBatchAndLeavesNothingBehind) {
  ASSERT_TRUE(W(TaskCreate{MakeTask("kept")}).ok());
  HoldWriter();
  std::promise<StatusOr<WriteResult>> created, ran, failing;
  store_->Write(TaskCreate{MakeTask("lost")}, kT0, [&](StatusOr<WriteResult> r) { created.set_value(std::move(r)); });
  store_->Write(TaskRun{kQ + "/tasks/kept"}, kT0 + 5, [&](StatusOr<WriteResult> r) { ran.set_value(std::move(r)); });
  store_->Write(QueueUpdate{kQ, [](const Queue*, bool) -> StatusOr<Queue> { return Unavailable("disk gone"); }}, kT0,
                [&](StatusOr<WriteResult> r) { failing.set_value(std::move(r)); });
  EXPECT_TRUE(Release().ok());
  auto wait = [](std::promise<StatusOr<WriteResult>>& p) {
    auto f = p.get_future();
    EXPECT_EQ(f.wait_for(kDeadline), std::future_status::ready);
    return f.get();
  };
  EXPECT_EQ(wait(created).status().code(), Code::kUnavailable);
  EXPECT_EQ(wait(ran).status().code(), Code::kUnavailable);
  EXPECT_EQ(wait(failing).status().code(), Code::kUnavailable);

  const std::string lost = kQ + "/tasks/lost";
  EXPECT_EQ(store_->GetTask(lost, kT0 + 10).status().code(), Code::kNotFound);
  EXPECT_EQ(W(AttemptStart{lost, kT0}, kT0 + 10).status().code(), Code::kNotFound);
  // The rolled-back tasks.run did not move the other task either.
  auto started = W(AttemptStart{kQ + "/tasks/kept", kT0}, kT0 + 10);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(started->task->schedule_time, kT0);
  EXPECT_EQ(*store_->CountTasks(kQ), 1);
}

}  // namespace
}  // namespace stratus
