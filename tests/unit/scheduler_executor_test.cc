// The scheduler's executor driven in-process: a fake clock, a fake Sender in place of the HTTP
// client and an in-memory JobStore, on one event loop the test runs. Timers poll the fake clock
// every millisecond (max_sleep), so moving the clock is all it takes to bring a tick or a retry
// due; assertions are on what was sent and recorded, with the fake time of each send.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <mutex>

#include "common/clock.h"
#include "common/log.h"
#include "common/time.h"
#include "scheduler/executor.h"

namespace stratus::scheduler {
namespace {

constexpr Micros kSec = kMicrosPerSecond;
constexpr char kParent[] = "projects/p/locations/l";

Micros At(const char* rfc3339) {
  auto t = ParseTimestamp(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : 0;
}

std::string JobName(const std::string& id) {
  return std::string(kParent) + "/jobs/" + id;
}

// Jobs in a map; RecordRun calls kept in order (they come from the blocking pool).
class MemoryJobStore final : public JobStore {
 public:
  struct Run {
    std::string name;
    Micros schedule_time;
    Micros last_attempt_time;
    std::optional<Status> status;
  };

  StatusOr<Job> Create(const Job& job) override {
    std::lock_guard lock(mu_);
    if (jobs_.count(job.name)) return AlreadyExists("exists");
    return jobs_[job.name] = job;
  }
  StatusOr<Job> Get(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(name);
    if (it == jobs_.end()) return NotFound("no job");
    return it->second;
  }
  StatusOr<std::vector<Job>> List(const std::string&) override { return All(); }
  StatusOr<std::vector<Job>> All() override {
    std::lock_guard lock(mu_);
    std::vector<Job> out;
    for (const auto& [n, j] : jobs_) out.push_back(j);
    return out;
  }
  StatusOr<Job> Update(const Job& job) override {
    std::lock_guard lock(mu_);
    if (!jobs_.count(job.name)) return NotFound("no job");
    return jobs_[job.name] = job;
  }
  Status RecordRun(const std::string& name, Micros schedule_time, Micros last_attempt_time,
                   const std::optional<Status>& status, int64_t /*epoch*/) override {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(name);
    if (it == jobs_.end()) return NotFound("no job");
    it->second.schedule_time = schedule_time;
    it->second.last_attempt_time = last_attempt_time;
    it->second.status = status;
    runs_.push_back({name, schedule_time, last_attempt_time, status});
    return Status::Ok();
  }
  Status Delete(const std::string& name) override {
    std::lock_guard lock(mu_);
    return jobs_.erase(name) ? Status::Ok() : NotFound("no job");
  }
  std::vector<Run> Runs(const std::string& name) {
    std::lock_guard lock(mu_);
    std::vector<Run> out;
    for (const auto& r : runs_) {
      if (r.name == name) out.push_back(r);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, Job> jobs_;
  std::vector<Run> runs_;
};

struct Sent {
  Micros at = 0;  // the fake clock when it was sent
  std::string job;
  std::string url;
  std::map<std::string, std::string> headers;
  std::string Header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? "<absent>" : it->second;
  }
};

// Records each request with the fake time; answers through `script`. With `hold` set, each
// request waits until Release().
class FakeSender final : public Sender {
 public:
  FakeSender(asio::io_context& loop, const Clock& clock) : loop_(loop), clock_(clock) {}
  std::vector<Sent> sent;
  std::function<http::ClientResult(const Sent&)> script = [](const Sent&) {
    http::ClientResult r;
    r.status = 200;
    return r;
  };
  bool hold = false;
  int active = 0;
  int max_active = 0;

  void Release() {
    for (auto* t : held_) t->cancel();
  }

  asio::awaitable<http::ClientResult> Send(const http::Url& url, http::Request req, std::chrono::milliseconds,
                                           http::SendOptions) override {
    Sent s;
    s.at = clock_.Now();
    s.url = url.Origin() + url.target;
    for (const auto& f : req) s.headers[std::string(f.name_string())] = std::string(f.value());
    s.job = s.Header("X-CloudScheduler-JobName");
    sent.push_back(s);
    ++active;
    max_active = std::max(max_active, active);
    if (hold) {
      asio::steady_timer gate(loop_, asio::steady_timer::time_point::max());
      held_.push_back(&gate);
      boost::system::error_code ec;
      co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      held_.erase(std::find(held_.begin(), held_.end(), &gate));
    }
    --active;
    co_return script(s);
  }

 private:
  asio::io_context& loop_;
  const Clock& clock_;
  std::vector<asio::steady_timer*> held_;
};

http::ClientResult Reply(int status) {
  http::ClientResult r;
  r.status = status;
  return r;
}

class SchedulerExecutor : public ::testing::Test {
 protected:
  void SetUp() override { SetLogEnabled(getenv("SCHED_LOG") != nullptr); }
  void TearDown() override {
    if (exec_) exec_->Stop();
    SetLogEnabled(true);
  }

  Job& AddJob(const std::string& id, const std::string& schedule) {
    Job job;
    job.name = JobName(id);
    job.schedule = schedule;
    job.http_target.uri = "http://worker.test/" + id;
    auto created = store_.Create(job);
    EXPECT_TRUE(created.ok());
    jobs_[id] = job;
    return jobs_[id];
  }
  void Save(const std::string& id) { ASSERT_TRUE(store_.Update(jobs_[id]).ok()); }

  void Start() {
    ExecutorOptions o;
    o.make_sender = [this](asio::io_context& loop) {
      auto s = std::make_unique<FakeSender>(loop, clock_);
      sender_ = s.get();
      return s;
    };
    o.max_sleep = 1000;  // 1 ms: timers look at the fake clock that often
    o.stop_wait = 0;
    exec_ = std::make_unique<Executor>(store_, clock_, loop_, pool_, nullptr, nullptr, o);
    Status st = exec_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    // Runs the posted loading of each job: its timer is armed for the tick after now.
    loop_.poll();
  }
  // Runs the loop until `done` holds (false after a generous real-time limit).
  bool RunUntil(const std::function<bool()>& done) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done()) {
      if (std::chrono::steady_clock::now() > limit) return false;
      loop_.run_for(std::chrono::milliseconds(1));
    }
    return true;
  }
  // Gives the executor a few of its polls at the current fake time. Never decides a test on
  // its own: the assertions after it are on fake times recorded with each send.
  void RunAWhile() { loop_.run_for(std::chrono::milliseconds(20)); }
  std::vector<Sent> SentBy(const std::string& id) {
    std::vector<Sent> out;
    for (const auto& s : sender_->sent) {
      if (s.job == id) out.push_back(s);
    }
    return out;
  }
  bool Recorded(const std::string& id, Micros schedule_time) {
    for (const auto& r : store_.Runs(JobName(id))) {
      if (r.schedule_time == schedule_time) return true;
    }
    return false;
  }

  FakeClock clock_{At("2026-12-01T12:00:30Z")};
  asio::io_context loop_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{loop_.get_executor()};
  MemoryJobStore store_;
  asio::thread_pool pool_{1};  // after the store: joined before the store goes
  std::map<std::string, Job> jobs_;
  FakeSender* sender_ = nullptr;
  std::unique_ptr<Executor> exec_;
};

TEST_F(SchedulerExecutor, FiresAtTheMinuteNeverEarlyAndMissedTicksAreNotReplayed) {
  Job& job = AddJob("minutely", "* * * * *");
  job.schedule_time = At("2026-12-01T11:50:00Z");  // missed while the server was down
  job.last_attempt_time = At("2026-12-01T11:49:00Z");
  Save("minutely");
  Start();
  // At start the next tick is computed from now and shown as scheduleTime; nothing is replayed.
  ASSERT_TRUE(RunUntil([&] { return Recorded("minutely", At("2026-12-01T12:01:00Z")); }));
  EXPECT_EQ(store_.Runs(JobName("minutely")).front().last_attempt_time, At("2026-12-01T11:49:00Z"));
  clock_.Set(At("2026-12-01T12:00:59.999Z"));
  RunAWhile();
  clock_.Set(At("2026-12-01T12:01:00Z"));
  ASSERT_TRUE(RunUntil([&] { return sender_->sent.size() == 1; }));
  const Sent& s = sender_->sent[0];
  EXPECT_GE(s.at, At("2026-12-01T12:01:00Z")) << "sent before its tick";
  EXPECT_EQ(s.url, "http://worker.test:80/minutely");
  EXPECT_EQ(s.Header("X-CloudScheduler-ScheduleTime"), "2026-12-01T12:01:00Z");
  EXPECT_EQ(s.Header("X-CloudScheduler-JobName"), "minutely");
  EXPECT_EQ(s.Header("X-CloudScheduler"), "true");
  EXPECT_EQ(s.Header("User-Agent"), "Google-Cloud-Scheduler");
  // The record: the next tick, this attempt's start, OK.
  ASSERT_TRUE(RunUntil([&] { return Recorded("minutely", At("2026-12-01T12:02:00Z")); }));
  auto run = store_.Runs(JobName("minutely")).back();
  EXPECT_EQ(run.last_attempt_time, At("2026-12-01T12:01:00Z"));
  ASSERT_TRUE(run.status.has_value());
  EXPECT_TRUE(run.status->ok());
  // Ten minutes pass at once (the process was held up): one execution, for the tick that is
  // due now, and not the nine in between.
  clock_.Set(At("2026-12-01T12:11:00.500Z"));
  ASSERT_TRUE(RunUntil([&] { return sender_->sent.size() == 2; }));
  EXPECT_EQ(sender_->sent[1].Header("X-CloudScheduler-ScheduleTime"), "2026-12-01T12:02:00Z");
  ASSERT_TRUE(RunUntil([&] { return Recorded("minutely", At("2026-12-01T12:12:00Z")); }));
  RunAWhile();
  EXPECT_EQ(sender_->sent.size(), 2u);
}

TEST_F(SchedulerExecutor, RetriesWithinATickOnTheDocumentedBackoff) {
  Job& job = AddJob("hourly", "0 * * * *");
  job.retry_config.retry_count = 3;
  job.retry_config.min_backoff = 10 * kSec;
  job.retry_config.max_backoff = 300 * kSec;
  job.retry_config.max_doublings = 3;
  Save("hourly");
  Start();
  const std::vector<int> answers = {503, 500, 404, 200};
  sender_->script = [&](const Sent&) { return Reply(answers[sender_->sent.size() - 1]); };
  ASSERT_TRUE(RunUntil([&] { return Recorded("hourly", At("2026-12-01T13:00:00Z")); }));
  clock_.Set(At("2026-12-01T13:00:00Z"));
  ASSERT_TRUE(RunUntil([&] { return sender_->sent.size() == 1; }));
  // Each failure is recorded with the retry's time as scheduleTime: 10, 20, 40 s after it.
  const std::vector<const char*> retries = {"2026-12-01T13:00:10Z", "2026-12-01T13:00:30Z", "2026-12-01T13:01:10Z"};
  const std::vector<Code> codes = {Code::kUnavailable, Code::kInternal, Code::kNotFound};
  for (size_t i = 0; i < retries.size(); ++i) {
    SCOPED_TRACE(retries[i]);
    const Micros at = At(retries[i]);
    ASSERT_TRUE(RunUntil([&] { return Recorded("hourly", at); }));
    auto run = store_.Runs(JobName("hourly")).back();
    EXPECT_EQ(run.status->code(), codes[i]);
    clock_.Set(at - 1000);
    RunAWhile();
    clock_.Set(at);
    ASSERT_TRUE(RunUntil([&] { return sender_->sent.size() == i + 2; }));
    EXPECT_EQ(sender_->sent[i + 1].at, at) << "a retry before its backoff passed";
    EXPECT_EQ(sender_->sent[i + 1].Header("X-CloudScheduler-ScheduleTime"), "2026-12-01T13:00:00Z")
        << "retries belong to the same tick";
  }
  ASSERT_TRUE(RunUntil([&] { return Recorded("hourly", At("2026-12-01T14:00:00Z")); }));
  auto last = store_.Runs(JobName("hourly")).back();
  EXPECT_TRUE(last.status->ok());
  EXPECT_EQ(last.last_attempt_time, At("2026-12-01T13:01:10Z"));
}

TEST_F(SchedulerExecutor, MaxRetryDurationEndsTheRetries) {
  Job& job = AddJob("hourly", "0 * * * *");
  job.retry_config.retry_count = 0;
  job.retry_config.max_retry_duration = 30 * kSec;
  job.retry_config.min_backoff = 10 * kSec;
  Save("hourly");
  Start();
  sender_->script = [](const Sent&) { return Reply(503); };
  ASSERT_TRUE(RunUntil([&] { return Recorded("hourly", At("2026-12-01T13:00:00Z")); }));
  clock_.Set(At("2026-12-01T13:00:00Z"));
  // 13:00:00, then 10 s later, then 20 s after that: 30 s have passed, no more.
  for (const char* at : {"2026-12-01T13:00:10Z", "2026-12-01T13:00:30Z"}) {
    ASSERT_TRUE(RunUntil([&] { return Recorded("hourly", At(at)); })) << at;
    clock_.Set(At(at));
  }
  ASSERT_TRUE(RunUntil([&] { return Recorded("hourly", At("2026-12-01T14:00:00Z")); }));
  EXPECT_EQ(sender_->sent.size(), 3u);
  EXPECT_EQ(store_.Runs(JobName("hourly")).back().status->code(), Code::kUnavailable);
  clock_.Set(At("2026-12-01T13:01:10Z"));  // where a fourth attempt would have been
  RunAWhile();
  EXPECT_EQ(sender_->sent.size(), 3u);
}

TEST_F(SchedulerExecutor, NoOverlapTheNewestTickWaitsForTheRunningExecution) {
  AddJob("minutely", "* * * * *");
  Start();
  sender_->hold = true;
  clock_.Set(At("2026-12-01T12:01:00Z"));
  ASSERT_TRUE(RunUntil([&] { return sender_->sent.size() == 1; }));
  // Two more ticks while the first execution is still running.
  clock_.Set(At("2026-12-01T12:02:00Z"));
  ASSERT_TRUE(RunUntil([&] { return exec_->ticks() == 2; }));
  clock_.Set(At("2026-12-01T12:03:00.250Z"));
  ASSERT_TRUE(RunUntil([&] { return exec_->ticks() == 3; }));
  EXPECT_EQ(sender_->sent.size(), 1u) << "a second execution started while one ran";
  sender_->hold = false;
  sender_->Release();
  // The newest delayed tick runs as soon as the first ends; 12:02 is skipped.
  ASSERT_TRUE(RunUntil([&] { return sender_->sent.size() == 2; }));
  EXPECT_EQ(sender_->sent[1].Header("X-CloudScheduler-ScheduleTime"), "2026-12-01T12:03:00Z");
  EXPECT_EQ(sender_->sent[1].at, At("2026-12-01T12:03:00.250Z"));
  EXPECT_EQ(sender_->max_active, 1);
  ASSERT_TRUE(RunUntil([&] { return exec_->in_flight() == 0; }));
  clock_.Set(At("2026-12-01T12:04:00Z"));
  ASSERT_TRUE(RunUntil([&] { return sender_->sent.size() == 3; }));
  EXPECT_EQ(sender_->sent[2].Header("X-CloudScheduler-ScheduleTime"), "2026-12-01T12:04:00Z");
}

TEST_F(SchedulerExecutor, RunNowExecutesAtOnceEvenWhileRunning) {
  AddJob("hourly", "0 * * * *");
  Start();
  ASSERT_TRUE(RunUntil([&] { return Recorded("hourly", At("2026-12-01T13:00:00Z")); }));
  sender_->hold = true;
  exec_->RunNow(jobs_["hourly"]);
  exec_->RunNow(jobs_["hourly"]);
  ASSERT_TRUE(RunUntil([&] { return sender_->sent.size() == 2; }));
  EXPECT_EQ(sender_->max_active, 2) << "RunJob dispatches even if the job is already running";
  EXPECT_EQ(sender_->sent[0].Header("X-CloudScheduler-ScheduleTime"), "2026-12-01T12:00:30Z");
  EXPECT_EQ(exec_->ticks(), 0) << "a run is not a tick";
  sender_->Release();
  ASSERT_TRUE(RunUntil([&] { return store_.Runs(JobName("hourly")).size() == 3; }));
  for (const auto& r : store_.Runs(JobName("hourly"))) EXPECT_EQ(r.schedule_time, At("2026-12-01T13:00:00Z"));
  EXPECT_EQ(store_.Runs(JobName("hourly")).back().last_attempt_time, At("2026-12-01T12:00:30Z"));
}

TEST_F(SchedulerExecutor, PausedJobsDoNotFireAndResumeFromNow) {
  AddJob("witness", "* * * * *");
  AddJob("paused", "* * * * *").state = JobState::kPaused;
  Save("paused");
  Start();
  clock_.Set(At("2026-12-01T12:01:00Z"));
  ASSERT_TRUE(RunUntil([&] { return SentBy("witness").size() == 1; }));
  clock_.Set(At("2026-12-01T12:02:00Z"));
  ASSERT_TRUE(RunUntil([&] { return SentBy("witness").size() == 2; }));
  RunAWhile();
  EXPECT_TRUE(SentBy("paused").empty());
  // Resumed at 12:02:30: the next tick is 12:03; 12:01 and 12:02 are not replayed.
  clock_.Set(At("2026-12-01T12:02:30Z"));
  jobs_["paused"].state = JobState::kEnabled;
  Save("paused");
  exec_->Changed(jobs_["paused"]);
  ASSERT_TRUE(RunUntil([&] { return Recorded("paused", At("2026-12-01T12:03:00Z")); }));
  EXPECT_TRUE(SentBy("paused").empty());
  clock_.Set(At("2026-12-01T12:03:00Z"));
  ASSERT_TRUE(RunUntil([&] { return SentBy("paused").size() == 1; }));
  EXPECT_EQ(SentBy("paused")[0].Header("X-CloudScheduler-ScheduleTime"), "2026-12-01T12:03:00Z");
  // Paused again: no more ticks.
  jobs_["paused"].state = JobState::kPaused;
  exec_->Changed(jobs_["paused"]);
  loop_.poll();  // applied before the clock moves (a tick already due would still fire)
  clock_.Set(At("2026-12-01T12:04:00Z"));
  ASSERT_TRUE(RunUntil([&] { return SentBy("witness").size() == 4; }));
  RunAWhile();
  EXPECT_EQ(SentBy("paused").size(), 1u);
}

TEST_F(SchedulerExecutor, DeletedJobsStopFiring) {
  AddJob("witness", "* * * * *");
  AddJob("doomed", "* * * * *");
  Start();
  clock_.Set(At("2026-12-01T12:01:00Z"));
  ASSERT_TRUE(RunUntil([&] { return SentBy("witness").size() == 1 && SentBy("doomed").size() == 1; }));
  ASSERT_TRUE(store_.Delete(JobName("doomed")).ok());
  exec_->Deleted(JobName("doomed"));
  loop_.poll();
  clock_.Set(At("2026-12-01T12:02:00Z"));
  ASSERT_TRUE(RunUntil([&] { return SentBy("witness").size() == 2; }));
  clock_.Set(At("2026-12-01T12:03:00Z"));
  ASSERT_TRUE(RunUntil([&] { return SentBy("witness").size() == 3; }));
  RunAWhile();
  EXPECT_EQ(SentBy("doomed").size(), 1u);
}

TEST_F(SchedulerExecutor, AScheduleChangeMovesTheNextTick) {
  Job& job = AddJob("j", "0 * * * *");
  Start();
  ASSERT_TRUE(RunUntil([&] { return Recorded("j", At("2026-12-01T13:00:00Z")); }));
  job.schedule = "*/5 * * * *";
  job.time_zone = "Asia/Kolkata";  // +05:30: still every 5 minutes
  Save("j");
  exec_->Changed(job);
  ASSERT_TRUE(RunUntil([&] { return Recorded("j", At("2026-12-01T12:05:00Z")); }));
  clock_.Set(At("2026-12-01T12:05:00Z"));
  ASSERT_TRUE(RunUntil([&] { return SentBy("j").size() == 1; }));
  EXPECT_EQ(SentBy("j")[0].Header("X-CloudScheduler-ScheduleTime"), "2026-12-01T12:05:00Z");
}

TEST_F(SchedulerExecutor, StopStartsNothingAndEndsRetryWaits) {
  Job& job = AddJob("hourly", "0 * * * *");
  job.retry_config.retry_count = 5;
  Save("hourly");
  AddJob("minutely", "* * * * *");
  Start();
  sender_->script = [](const Sent&) { return Reply(503); };
  clock_.Set(At("2026-12-01T13:00:00Z"));
  ASSERT_TRUE(RunUntil([&] { return Recorded("hourly", At("2026-12-01T13:00:05Z")); }));
  ASSERT_TRUE(RunUntil([&] { return SentBy("minutely").size() == 1; }));
  exec_->Stop();
  ASSERT_TRUE(RunUntil([&] { return exec_->in_flight() == 0; })) << "the retry wait did not end";
  const size_t sent = sender_->sent.size();
  clock_.Set(At("2026-12-01T13:02:00Z"));
  RunAWhile();
  EXPECT_EQ(sender_->sent.size(), sent) << "something started after Stop";
}

}  // namespace
}  // namespace stratus::scheduler
