// The ticks of a job across an executor takeover, on a real PostgreSQL with a fake clock (a
// cron tick is a minute apart; here the clock moves instead): two nodes' ExecutorLeases over
// one database, each executor sending through a fake Sender that records which node sent
// which tick. A tick the old holder recorded is not fired again; a tick it left unrecorded
// (it stalled before firing) is fired once by the new holder; the stalled node, woken up,
// cannot record over the new holder (its epoch is refused) and gives the executor up.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "integration/postgres_test_db.h"
#include "scheduler/executor_lease.h"
#include "scheduler/postgres/pg_job_store.h"
#include "store/postgres/pg_leases.h"
#include "stratus/store.h"
#include "tasks/engine/sender.h"

namespace stratus::scheduler {
namespace {

using namespace std::chrono_literals;

constexpr Micros kLease = 2 * kMicrosPerSecond;  // real time: the table's clock judges expiry
const std::string kJob = "projects/p/locations/l/jobs/minutely";

Micros At(const char* rfc3339) {
  auto t = ParseTimestamp(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : 0;
}

struct Hit {
  std::string node;
  std::string tick;  // X-CloudScheduler-ScheduleTime
};

class Hits {
 public:
  void Add(Hit h) {
    std::lock_guard lock(mu_);
    hits_.push_back(std::move(h));
  }
  std::vector<Hit> all() {
    std::lock_guard lock(mu_);
    return hits_;
  }

 private:
  std::mutex mu_;
  std::vector<Hit> hits_;
};

class RecordingSender final : public Sender {
 public:
  RecordingSender(std::string node, Hits& hits) : node_(std::move(node)), hits_(hits) {}
  asio::awaitable<http::ClientResult> Send(const http::Url&, http::Request req, std::chrono::milliseconds,
                                           http::SendOptions) override {
    Hit h{node_, ""};
    for (const auto& f : req) {
      if (f.name_string() == "X-CloudScheduler-ScheduleTime") h.tick = std::string(f.value());
    }
    hits_.Add(std::move(h));
    http::ClientResult r;
    r.status = 200;
    co_return r;
  }

 private:
  std::string node_;
  Hits& hits_;
};

// The executor's JobStore: the node's PgJobStore, each RecordRun's outcome kept.
class RecordsKept final : public JobStore {
 public:
  explicit RecordsKept(JobStore& s) : s_(s) {}
  StatusOr<Job> Create(const Job& job) override { return s_.Create(job); }
  StatusOr<Job> Get(const std::string& name) override { return s_.Get(name); }
  StatusOr<std::vector<Job>> List(const std::string& parent) override { return s_.List(parent); }
  StatusOr<std::vector<Job>> All() override { return s_.All(); }
  StatusOr<Job> Update(const Job& job) override { return s_.Update(job); }
  Status RecordRun(const std::string& name, Micros schedule_time, Micros last_attempt_time,
                   const std::optional<Status>& status, int64_t epoch) override {
    Status st = s_.RecordRun(name, schedule_time, last_attempt_time, status, epoch);
    std::lock_guard lock(mu_);
    if (IsExecutorLeaseLost(st)) ++refused_;
    return st;
  }
  Status Delete(const std::string& name) override { return s_.Delete(name); }
  Status RequestRun(const std::string& name) override { return s_.RequestRun(name); }
  StatusOr<int64_t> TakeRuns(const std::string& name, int64_t epoch) override { return s_.TakeRuns(name, epoch); }
  int refused() {
    std::lock_guard lock(mu_);
    return refused_;
  }

 private:
  JobStore& s_;
  std::mutex mu_;
  int refused_ = 0;
};

// One node: its own connections, event loop and blocking pool, and the executor lease.
struct Node {
  Node(const std::string& id, const std::string& conninfo, const Clock& clock, Hits& hits)
      : table(conninfo), store(Open(conninfo)), kept(*store) {
    auto make = [this, id, &clock, &hits](int64_t epoch, std::function<void()> fenced) {
      ExecutorOptions o;
      o.make_sender = [id, &hits](asio::io_context&) { return std::make_unique<RecordingSender>(id, hits); };
      o.max_sleep = 1000;  // 1 ms: timers look at the fake clock that often
      o.stop_wait = 0;
      o.epoch = epoch;
      o.on_fenced = std::move(fenced);
      o.resume_window = 2 * kLease + 60 * kMicrosPerSecond;
      return std::make_unique<Executor>(kept, clock, loop, pool, nullptr, nullptr, o);
    };
    auto publish = [this](const cluster::Change& c) { return store->Publish(c); };
    lease = std::make_unique<ExecutorLease>(table, *store, clock, make, publish, ExecutorLeaseOptions{id, kLease});
    Resume();
  }
  static std::unique_ptr<PgJobStore> Open(const std::string& conninfo) {
    auto s = PgJobStore::Open(conninfo);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(*s);
  }
  ~Node() {
    lease.reset();
    Pause();
    pool.join();
  }
  // A stalled process: its loop stops running (no timer fires, nothing is sent or recorded).
  void Pause() {
    loop.stop();
    if (thread.joinable()) thread.join();
  }
  void Resume() {
    loop.restart();
    thread = std::thread([this] { loop.run(); });
  }

  PgLeaseTable table;
  std::unique_ptr<PgJobStore> store;
  RecordsKept kept;
  asio::io_context loop;
  asio::executor_work_guard<asio::io_context::executor_type> work{loop.get_executor()};
  asio::thread_pool pool{1};
  std::unique_ptr<ExecutorLease> lease;
  std::thread thread;
};

bool WaitFor(const std::function<bool()>& cond, const std::function<void()>& each = {}) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (each) each();
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

TEST(SchedulerTakeover, EachTickFiresOnceAcrossATakeoverAndAStalledHolderCannotRecord) {
  SetLogEnabled(getenv("SCHED_LOG") != nullptr);
  const std::string conninfo = testing::FreshPostgresDb("takeover_" + std::to_string(::getpid()));
  FakeClock clock(At("2026-12-01T12:00:30Z"));
  Hits hits;
  auto a = std::make_unique<Node>("node-a", conninfo, clock, hits);
  Node b("node-b", conninfo, clock, hits);
  Job job;
  job.name = kJob;
  job.schedule = "* * * * *";
  job.http_target.uri = "http://worker.test/tick";
  job.schedule_time = At("2026-12-01T12:01:00Z");  // as the service stores it at create
  ASSERT_TRUE(a->store->Create(job).ok());
  auto stored = [&] { return b.store->Get(kJob)->schedule_time; };

  a->lease->Tick();
  ASSERT_TRUE(a->lease->epoch()) << "node-a did not take the free executor lease";
  const int64_t first_epoch = *a->lease->epoch();
  b.lease->Tick();
  EXPECT_FALSE(b.lease->epoch()) << "two executors";
  b.lease->Start();  // keeps trying every lease/5

  // 12:01 fires once, on node-a, and is recorded as done (scheduleTime moves to 12:02).
  clock.Set(At("2026-12-01T12:01:00Z"));
  ASSERT_TRUE(WaitFor([&] { return stored() == At("2026-12-01T12:02:00Z"); }, [&] { a->lease->Tick(); }));
  ASSERT_EQ(hits.all().size(), 1u);
  EXPECT_EQ(hits.all()[0].node, "node-a");
  EXPECT_EQ(hits.all()[0].tick, "2026-12-01T12:01:00Z");

  // node-a stalls just before 12:02 and stops renewing; 12:02 comes and goes.
  a->Pause();
  clock.Set(At("2026-12-01T12:02:05Z"));
  ASSERT_TRUE(WaitFor([&] { return b.lease->epoch().has_value(); })) << "node-b never took over";
  EXPECT_EQ(*b.lease->epoch(), first_epoch + 1);
  // node-b continues from the stored scheduleTime: 12:02, which node-a never fired, fires now,
  // once; 12:01, which node-a recorded, does not fire again.
  ASSERT_TRUE(WaitFor([&] { return stored() == At("2026-12-01T12:03:00Z"); }));
  clock.Set(At("2026-12-01T12:03:00Z"));
  ASSERT_TRUE(WaitFor([&] { return stored() == At("2026-12-01T12:04:00Z"); }));
  auto seen = hits.all();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].node, "node-b");
  EXPECT_EQ(seen[1].tick, "2026-12-01T12:02:00Z");
  EXPECT_EQ(seen[2].node, "node-b");
  EXPECT_EQ(seen[2].tick, "2026-12-01T12:03:00Z");

  // node-a wakes up: its timer for 12:02 fires (a request of a stalled node may still go
  // out), but its record is refused: the stored scheduleTime stays node-b's, and node-a's
  // next round gives the executor up.
  a->Resume();
  ASSERT_TRUE(WaitFor([&] { return a->kept.refused() == 1; })) << "node-a's late record was not refused";
  ASSERT_EQ(hits.all().size(), 4u);
  EXPECT_EQ(hits.all()[3].node, "node-a");
  ASSERT_TRUE(WaitFor([&] {
    a->lease->Tick();
    return !a->lease->epoch().has_value();
  }));
  EXPECT_EQ(stored(), At("2026-12-01T12:04:00Z"));
  EXPECT_EQ(*b.lease->epoch(), first_epoch + 1);
  a.reset();
  b.lease->Stop();
  SetLogEnabled(true);
}

}  // namespace
}  // namespace stratus::scheduler
