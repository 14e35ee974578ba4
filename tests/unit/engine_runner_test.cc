// The delivery shell (QueueRunner, Dispatcher) driven in-process: a fake clock, a fake Sender
// in place of the HTTP client and an in-memory Store, all on one event loop run by the test.
// Nothing waits on wall-clock time: the test moves the clock and runs the loop until the
// event it expects has happened.
#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <functional>
#include <stdexcept>

#include "common/clock.h"
#include "common/log.h"
#include "http/event_loops.h"
#include "tasks/engine/delivery.h"
#include "tasks/engine/dispatcher.h"
#include "tasks/engine/series.h"

namespace stratus {
namespace {

constexpr Micros kSec = kMicrosPerSecond;
constexpr Micros kT0 = 1'800'000'000LL * kSec;
constexpr char kQueue[] = "projects/p/locations/l/queues/q";

std::string TaskName(const std::string& id) {
  return std::string(kQueue) + "/tasks/" + id;
}

// Just enough of a Store for the engine: queues and tasks in maps; AttemptStart and
// AttemptFinish as the SQLite writer does them (RecordFailedAttempt is shared with it).
class FakeStore final : public Store {
 public:
  std::map<std::string, Queue> queues;
  std::map<std::string, Task> tasks;
  std::map<std::string, Task> dead;
  std::function<void(const Mutation&)> before_write;  // may throw, to inject a failure

  void Write(Mutation m, Micros now, WriteDone done) override {
    if (before_write) before_write(m);
    done(Apply(m, now));
  }
  StatusOr<Queue> GetQueue(const std::string& name) override {
    auto it = queues.find(name);
    if (it == queues.end()) return NotFound("no queue");
    return it->second;
  }
  StatusOr<Page<Queue>> ListQueues(const std::string&, std::optional<QueueState>, int, const std::string&) override {
    return Unimplemented("fake");
  }
  StatusOr<Task> GetTask(const std::string& name, Micros) override {
    auto it = tasks.find(name);
    if (it == tasks.end()) return NotFound("no task");
    return it->second;
  }
  StatusOr<Page<Task>> ListTasks(const std::string&, int, const std::string&, bool) override {
    return Unimplemented("fake");
  }
  StatusOr<int64_t> CountTasks(const std::string&) override { return static_cast<int64_t>(tasks.size()); }
  Status ScanTasks(const std::string& queue, const std::function<void(TaskKey)>& fn) override {
    for (const auto& [name, t] : tasks) {
      std::string q = QueueOfTask(name);
      if (queue.empty() || q == queue) fn(TaskKey{q, name.substr(q.size() + 7), t.schedule_time});
    }
    return Status::Ok();
  }
  StatusOr<std::vector<Queue>> AllQueues() override {
    std::vector<Queue> out;
    for (const auto& [n, q] : queues) out.push_back(q);
    return out;
  }
  StatusOr<Page<DeadLetter>> ListDeadLetters(const std::string&, int, const std::string&) override {
    return Unimplemented("fake");
  }
  StatusOr<DeadLetter> GetDeadLetter(const std::string&) override { return Unimplemented("fake"); }
  Status Health() override { return Status::Ok(); }
  void Close() override {}

 private:
  StatusOr<WriteResult> Apply(const Mutation& m, Micros now) {
    if (auto* s = std::get_if<AttemptStart>(&m)) {
      auto it = tasks.find(s->name);
      if (it == tasks.end()) return NotFound("deleted");
      Task& t = it->second;
      if (t.schedule_time != s->schedule_time) return FailedPrecondition("rescheduled");
      t.dispatch_count += 1;
      if (!t.first_attempt) t.first_attempt = Attempt{0, now, 0, std::nullopt};
      t.last_attempt = Attempt{t.schedule_time, now, 0, std::nullopt};
      return WriteResult{std::nullopt, t};
    }
    if (auto* f = std::get_if<AttemptFinish>(&m)) {
      auto it = tasks.find(f->name);
      if (it == tasks.end()) return NotFound("deleted");
      Task& t = it->second;
      if (t.dispatch_count != f->dispatch_count) return FailedPrecondition("replaced");
      if (f->outcome == AttemptFinish::Outcome::kSucceeded) {
        tasks.erase(it);
        return WriteResult{};
      }
      RecordFailedAttempt(*f, t);
      if (f->outcome == AttemptFinish::Outcome::kRetry) {
        t.schedule_time = f->next_schedule_time;
        return WriteResult{std::nullopt, t};
      }
      dead[f->name] = t;
      tasks.erase(it);
      return WriteResult{};
    }
    return Unimplemented("fake store: mutation not needed by the engine");
  }
};

// What the engine sent, and the answers it gets: `script` answers each request in turn.
struct Sent {
  std::string url;
  std::map<std::string, std::string> headers;
  std::string body;
  std::chrono::milliseconds timeout{0};
  std::string Header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? "<absent>" : it->second;
  }
};

class FakeSender final : public Sender {
 public:
  std::vector<Sent> sent;
  // Returns the answer; may throw to inject an exception into the attempt.
  std::function<http::ClientResult(const Sent&)> script = [](const Sent&) {
    http::ClientResult r;
    r.status = 200;
    return r;
  };

  asio::awaitable<http::ClientResult> Send(const http::Url& url, http::Request req, std::chrono::milliseconds timeout,
                                           http::SendOptions) override {
    Sent s;
    s.url = url.Origin() + url.target;
    for (const auto& f : req) s.headers[std::string(f.name_string())] = std::string(f.value());
    s.body = req.body();
    s.timeout = timeout;
    sent.push_back(s);
    co_return script(s);
  }
};

http::ClientResult Reply(int status, std::map<std::string, std::string> headers = {}) {
  http::ClientResult r;
  r.status = status;
  r.headers = std::move(headers);
  return r;
}

class EngineRunner : public ::testing::Test {
 protected:
  void SetUp() override { SetLogEnabled(false); }
  void TearDown() override {
    if (dispatcher_) dispatcher_->Stop();
    SetLogEnabled(true);
  }

  Queue& AddQueue() {
    Queue q;
    q.name = kQueue;
    q.retry_config.min_backoff = 1 * kSec;
    q.retry_config.max_backoff = 60 * kSec;
    q.retry_config.max_doublings = 16;
    q.retry_config.max_attempts = 100;
    return store_.queues[kQueue] = q;
  }
  Task& AddTask(const std::string& id, Micros due) {
    Task t;
    t.name = TaskName(id);
    t.http_request = HttpRequest{};
    t.http_request->url = "http://worker.test/" + id;
    t.http_request->body = "body-" + id;
    t.schedule_time = due;
    t.create_time = kT0;
    return store_.tasks[t.name] = t;
  }
  void Start(DispatchOptions o = {}) {
    o.make_sender = [this](asio::io_context&) {
      auto s = std::make_unique<FakeSender>();
      sender_ = s.get();
      return s;
    };
    o.abort_on_attempt_error = false;  // the release behaviour is what these tests check
    dispatcher_ = std::make_unique<Dispatcher>(store_, clock_, loops_, nullptr, metrics_, o);
    Status st = dispatcher_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  // Moves the fake clock and has the runner look at its queue again (a timer armed on the
  // real clock would fire later; the configure pass pumps the queue at once).
  void Advance(Micros d) {
    clock_.Advance(d);
    dispatcher_->QueueChanged(store_.queues[kQueue]);
  }
  // Runs the loop until `done` holds (false after a generous real-time limit).
  bool RunUntil(const std::function<bool()>& done) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done()) {
      if (std::chrono::steady_clock::now() > limit) return false;
      loops_.Loop(0).run_one_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  // Runs every handler that is ready now: after it, whatever the engine decided has happened.
  void RunIdle() {
    while (loops_.Loop(0).poll() > 0) {
    }
  }
  size_t SentCount() const { return sender_ ? sender_->sent.size() : 0; }
  double MetricValue(const std::string& series) {
    std::string text = metrics_.Render();
    auto at = text.find(series + " ");
    if (at == std::string::npos) return 0;
    return std::stod(text.substr(at + series.size() + 1));
  }
  std::string Series(const std::string& name) { return name + "{queue=\"" + kQueue + "\"}"; }

  FakeClock clock_{kT0};
  FakeStore store_;
  Metrics metrics_;
  http::EventLoops loops_{1};
  FakeSender* sender_ = nullptr;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(EngineRunner, HeadersAcrossGooglesRecordedSequence) {
  // Production recorded 503, 404, 429, 500, 302, then 200: TaskExecutionCount counts every
  // response but 5xx (0, 0, 1, 2, 2, 3); TaskRetryCount is dispatchCount − 1; the previous
  // status and an empty retry reason come on retries only; TaskETA is each attempt's time.
  AddQueue();
  AddTask("t1", kT0);
  const std::vector<int> answers = {503, 404, 429, 500, 302, 200};
  Start();  // posts the work; nothing runs before RunUntil
  sender_->script = [&](const Sent&) { return Reply(answers[sender_->sent.size() - 1]); };
  Advance(1);

  std::vector<Micros> etas = {kT0};
  for (size_t i = 0; i < answers.size(); ++i) {
    ASSERT_TRUE(RunUntil([&] { return SentCount() == i + 1; })) << "attempt " << i + 1;
    if (i + 1 == answers.size()) break;
    ASSERT_TRUE(RunUntil([&] {
      auto it = store_.tasks.find(TaskName("t1"));
      return it != store_.tasks.end() && it->second.dispatch_count == static_cast<int>(i + 1) &&
             it->second.previous_response == answers[i];
    }));
    const Micros next = store_.tasks[TaskName("t1")].schedule_time;
    // 1 s, 2 s, 4 s, 8 s after each attempt's end (the fake clock does not move meanwhile).
    EXPECT_EQ(next - clock_.Now(), (Micros{1} << i) * kSec) << "retry " << i;
    etas.push_back(next);
    Advance(next - clock_.Now());
  }
  ASSERT_TRUE(RunUntil([&] { return store_.tasks.empty(); }));
  RunIdle();  // the bookkeeping after the last commit

  const std::vector<std::string> exec = {"0", "0", "1", "2", "2", "3"};
  for (size_t i = 0; i < answers.size(); ++i) {
    const Sent& s = sender_->sent[i];
    SCOPED_TRACE("attempt " + std::to_string(i + 1));
    EXPECT_EQ(s.url, "http://worker.test:80/t1");
    EXPECT_EQ(s.body, "body-t1");
    EXPECT_EQ(s.Header("User-Agent"), "Google-Cloud-Tasks");
    EXPECT_EQ(s.Header("X-CloudTasks-QueueName"), "q");
    EXPECT_EQ(s.Header("X-CloudTasks-TaskName"), "t1");
    EXPECT_EQ(s.Header("X-CloudTasks-TaskRetryCount"), std::to_string(i));
    EXPECT_EQ(s.Header("X-CloudTasks-TaskExecutionCount"), exec[i]);
    EXPECT_EQ(s.Header("X-CloudTasks-TaskETA"), EtaSeconds(etas[i]));
    if (i == 0) {
      EXPECT_EQ(s.Header("X-CloudTasks-TaskPreviousResponse"), "<absent>");
      EXPECT_EQ(s.Header("X-CloudTasks-TaskRetryReason"), "<absent>");
    } else {
      EXPECT_EQ(s.Header("X-CloudTasks-TaskPreviousResponse"), std::to_string(answers[i - 1]));
      EXPECT_EQ(s.Header("X-CloudTasks-TaskRetryReason"), "");
    }
  }
  EXPECT_EQ(MetricValue(Series("stratus_tasks_retried_total")), 5);
  EXPECT_EQ(MetricValue(Series("stratus_tasks_succeeded_total")), 1);
}

TEST_F(EngineRunner, TimeoutsAndConnectionErrorsAreNotExecutions) {
  AddQueue();
  AddTask("t", kT0);
  Start();
  int n = 0;
  sender_->script = [&](const Sent&) {
    http::ClientResult r;
    if (n == 0) r.failure = http::ClientResult::Failure::kTimeout;
    if (n == 1) r.failure = http::ClientResult::Failure::kConnect;
    if (n >= 2) r.status = 200;
    ++n;
    return r;
  };
  ASSERT_TRUE(RunUntil([&] {
    return store_.tasks[TaskName("t")].dispatch_count == 1 && store_.tasks[TaskName("t")].previous_response == 504;
  }));
  Advance(1 * kSec);
  ASSERT_TRUE(RunUntil([&] { return SentCount() == 2; }));
  EXPECT_EQ(sender_->sent[1].Header("X-CloudTasks-TaskPreviousResponse"), "504");
  EXPECT_EQ(sender_->sent[1].Header("X-CloudTasks-TaskExecutionCount"), "0");
  ASSERT_TRUE(RunUntil([&] {
    return store_.tasks[TaskName("t")].dispatch_count == 2 && store_.tasks[TaskName("t")].schedule_time > clock_.Now();
  }));
  Advance(2 * kSec);
  ASSERT_TRUE(RunUntil([&] { return SentCount() == 3; }));
  EXPECT_EQ(sender_->sent[2].Header("X-CloudTasks-TaskPreviousResponse"), "<absent>") << "no response: no status";
  EXPECT_EQ(sender_->sent[2].Header("X-CloudTasks-TaskExecutionCount"), "0");
  EXPECT_EQ(sender_->sent[2].Header("X-CloudTasks-TaskRetryCount"), "2");
  EXPECT_EQ(store_.tasks[TaskName("t")].response_count, 0);
}

TEST_F(EngineRunner, DispatchDeadlineIsTheRequestTimeout) {
  AddQueue();
  AddTask("default", kT0);
  AddTask("short", kT0).dispatch_deadline = 15 * kSec;
  AddTask("long", kT0).dispatch_deadline = 1800 * kSec;
  Start();
  ASSERT_TRUE(RunUntil([&] { return SentCount() == 3; }));
  std::map<std::string, int64_t> timeouts;
  for (const auto& s : sender_->sent) timeouts[s.Header("X-CloudTasks-TaskName")] = s.timeout.count();
  EXPECT_EQ(timeouts["default"], 600'000);
  EXPECT_EQ(timeouts["short"], 15'000);
  EXPECT_EQ(timeouts["long"], 1'800'000);
}

TEST_F(EngineRunner, RetryAfterHoldsTheWholeQueue) {
  AddQueue().rate_limits.max_concurrent_dispatches = 1;
  AddTask("a", kT0);
  AddTask("b", kT0 + 1);
  Start();
  sender_->script = [&](const Sent& s) {
    return s.Header("X-CloudTasks-TaskName") == "a" && sender_->sent.size() == 1 ? Reply(429, {{"Retry-After", "5"}})
                                                                                 : Reply(200);
  };
  Advance(1);
  ASSERT_TRUE(RunUntil([&] { return store_.tasks[TaskName("a")].previous_response == 429; }));
  RunIdle();
  EXPECT_EQ(SentCount(), 1u) << "b is due but the queue is held";
  EXPECT_EQ(store_.tasks[TaskName("a")].schedule_time, clock_.Now() + 5 * kSec) << "Retry-After over the 1 s backoff";
  Advance(5 * kSec - 1);
  RunIdle();
  EXPECT_EQ(SentCount(), 1u) << "still held";
  Advance(1);
  ASSERT_TRUE(RunUntil([&] { return store_.tasks.empty(); }));
  EXPECT_EQ(SentCount(), 3u);
}

TEST_F(EngineRunner, AThrowInsideAnAttemptIsAFailedAttemptAndTheQueueGoesOn) {
  // One slot: if the thrown attempt kept it, nothing would be sent again.
  AddQueue().rate_limits.max_concurrent_dispatches = 1;
  AddTask("a", kT0);
  AddTask("b", kT0 + 1);
  Start();
  sender_->script = [&](const Sent& s) -> http::ClientResult {
    if (s.Header("X-CloudTasks-TaskName") == "a" && s.Header("X-CloudTasks-TaskRetryCount") == "0") {
      throw std::runtime_error("injected");
    }
    return Reply(200);
  };
  Advance(1);
  // b goes once a's slot is free, and succeeds.
  ASSERT_TRUE(RunUntil([&] { return !store_.tasks.count(TaskName("b")); })) << SentCount();
  // a was recorded as a failed attempt without a response, retried on the queue's schedule.
  const Task& a = store_.tasks.at(TaskName("a"));
  EXPECT_EQ(a.dispatch_count, 1);
  EXPECT_EQ(a.response_count, 0);
  EXPECT_EQ(a.previous_response, 0);
  ASSERT_TRUE(a.last_attempt && a.last_attempt->response_status);
  EXPECT_EQ(a.last_attempt->response_status->code(), Code::kUnavailable);
  EXPECT_NE(a.last_attempt->response_status->message().find("injected"), std::string::npos);
  EXPECT_EQ(a.schedule_time, clock_.Now() + 1 * kSec) << "minBackoff after the failed attempt";
  EXPECT_EQ(MetricValue(Series("stratus_task_attempt_errors_total")), 1);
  EXPECT_EQ(MetricValue(Series("stratus_tasks_retried_total")), 1);
  Advance(1 * kSec);
  ASSERT_TRUE(RunUntil([&] { return store_.tasks.empty(); }));
  ASSERT_EQ(SentCount(), 3u);
  EXPECT_EQ(sender_->sent[2].Header("X-CloudTasks-TaskName"), "a");
  EXPECT_EQ(sender_->sent[2].Header("X-CloudTasks-TaskRetryCount"), "1");
  EXPECT_EQ(dispatcher_->store().CountTasks(kQueue).value(), 0);
}

TEST_F(EngineRunner, AStoreThatThrowsOnStartKeepsTheTaskAndHoldsBriefly) {
  AddQueue().rate_limits.max_concurrent_dispatches = 1;
  AddTask("a", kT0);
  int starts = 0;
  store_.before_write = [&](const Mutation& m) {
    if (std::holds_alternative<AttemptStart>(m) && starts++ == 0) throw std::runtime_error("store exploded");
  };
  Start();
  ASSERT_TRUE(RunUntil([&] { return starts == 1; }));
  RunIdle();
  EXPECT_EQ(SentCount(), 0u);
  EXPECT_EQ(store_.tasks[TaskName("a")].dispatch_count, 0) << "nothing was started";
  Advance(1 * kSec - 1);  // the queue holds for a second after a failed start
  RunIdle();
  EXPECT_EQ(starts, 1);
  Advance(1);
  ASSERT_TRUE(RunUntil([&] { return store_.tasks.empty(); }));
  EXPECT_EQ(SentCount(), 1u);
  EXPECT_EQ(sender_->sent[0].Header("X-CloudTasks-TaskRetryCount"), "0");
}

TEST_F(EngineRunner, UnlimitedAttemptsKeepRetrying) {
  AddQueue().retry_config.max_attempts = -1;
  store_.queues[kQueue].rate_limits.max_burst_size = 1000;  // the 5xx slow-down is not under test here
  store_.queues[kQueue].retry_config.min_backoff = 10'000;  // 10 ms
  store_.queues[kQueue].retry_config.max_backoff = 40'000;
  AddTask("t", kT0);
  Start();
  sender_->script = [](const Sent&) { return Reply(500); };
  for (int i = 1; i <= 150; ++i) {
    ASSERT_TRUE(RunUntil([&] {
      return store_.tasks[TaskName("t")].dispatch_count == i &&
             store_.tasks[TaskName("t")].schedule_time > clock_.Now();
    }));
    Advance(store_.tasks[TaskName("t")].schedule_time - clock_.Now());
  }
  EXPECT_TRUE(store_.dead.empty()) << "past the default 100 attempts";
  EXPECT_EQ(sender_->sent.back().Header("X-CloudTasks-TaskRetryCount"), "149");
}

TEST_F(EngineRunner, MaxAttemptsEndsInADeadLetter) {
  AddQueue().retry_config.max_attempts = 3;
  AddTask("t", kT0);
  Start();
  sender_->script = [](const Sent&) { return Reply(503); };
  for (int i = 1; i < 3; ++i) {
    ASSERT_TRUE(RunUntil([&] {
      return store_.tasks[TaskName("t")].dispatch_count == i &&
             store_.tasks[TaskName("t")].schedule_time > clock_.Now();
    }));
    Advance(store_.tasks[TaskName("t")].schedule_time - clock_.Now());
  }
  ASSERT_TRUE(RunUntil([&] { return store_.dead.count(TaskName("t")) == 1; }));
  RunIdle();
  EXPECT_EQ(store_.dead[TaskName("t")].dispatch_count, 3);
  EXPECT_EQ(SentCount(), 3u);
  EXPECT_EQ(MetricValue(Series("stratus_tasks_dead_lettered_total")), 1);
}

TEST_F(EngineRunner, TheQueueSeriesCountsEachAttemptInItsSecond) {
  AddQueue().retry_config.max_attempts = 2;
  AddTask("fails", kT0);
  AddTask("works", kT0);
  Start();
  sender_->script = [](const Sent& s) { return Reply(s.url.find("fails") != std::string::npos ? 503 : 200); };
  Advance(1);  // second kT0: both start, "fails" retries a second later
  ASSERT_TRUE(RunUntil([&] { return store_.tasks.size() == 1 && store_.tasks.begin()->second.dispatch_count == 1; }));
  RunIdle();  // the bookkeeping after the commits, still in second kT0
  Advance(store_.tasks[TaskName("fails")].schedule_time - clock_.Now());  // second kT0 + 1
  ASSERT_TRUE(RunUntil([&] { return store_.dead.size() == 1; }));
  dispatcher_->TaskCreated(TaskName("later"), kT0 + 3600 * kSec);
  RunIdle();

  auto series = dispatcher_->Series(kQueue);
  ASSERT_NE(series, nullptr);
  auto points = series->Read(clock_.Now(), 2, 1);
  ASSERT_EQ(points.size(), 2u);
  const auto& [first, second] = std::tie(points[0], points[1]);
  EXPECT_EQ(first.second, kT0 / kSec);
  EXPECT_EQ(first.counts[QueueSeries::kDispatched], 2u);
  EXPECT_EQ(first.counts[QueueSeries::kSucceeded], 1u);
  EXPECT_EQ(first.counts[QueueSeries::kFailed], 1u);
  EXPECT_EQ(first.counts[QueueSeries::kRetried], 1u);
  EXPECT_EQ(first.counts[QueueSeries::kDeadLettered], 0u);
  EXPECT_DOUBLE_EQ(*first.lateness_p95, 0.001 * 0.95);  // both started 1 us late: the first bucket
  EXPECT_EQ(first.depth, 1);                            // "fails" waits for its retry
  EXPECT_EQ(second.counts[QueueSeries::kDispatched], 1u);
  EXPECT_EQ(second.counts[QueueSeries::kFailed], 1u);
  EXPECT_EQ(second.counts[QueueSeries::kDeadLettered], 1u);
  EXPECT_EQ(second.counts[QueueSeries::kCreated], 1u);
  EXPECT_EQ(second.depth, 1);  // "later"
  EXPECT_EQ(second.in_flight, 0);
  EXPECT_DOUBLE_EQ(second.oldest_age_seconds, 0);  // not due yet

  // A deleted queue drops its series (readers holding it keep it until they let go).
  dispatcher_->QueueDeleted(kQueue);
  RunIdle();
  EXPECT_EQ(dispatcher_->Series(kQueue), nullptr);
  EXPECT_EQ(series->Read(clock_.Now(), 2, 1)[1].counts[QueueSeries::kDeadLettered], 1u);
}

TEST_F(EngineRunner, OnlySeriesMaxQueuesKeepASeries) {
  AddQueue();
  DispatchOptions o;
  o.series_max_queues = 1;
  Start(o);
  Queue other = store_.queues[kQueue];
  other.name = std::string(kQueue) + "-other";
  dispatcher_->QueueChanged(other);
  Queue third = other;
  third.name = std::string(kQueue) + "-third";
  dispatcher_->QueueChanged(third);
  EXPECT_NE(dispatcher_->Series(kQueue), nullptr);
  EXPECT_EQ(dispatcher_->Series(other.name), nullptr);
  dispatcher_->QueueDeleted(kQueue);
  Queue fourth = other;
  fourth.name = std::string(kQueue) + "-fourth";
  dispatcher_->QueueChanged(fourth);  // the freed place goes to the next queue seen
  EXPECT_NE(dispatcher_->Series(fourth.name), nullptr);
  EXPECT_EQ(dispatcher_->Series(third.name), nullptr);
  RunIdle();
}

}  // namespace
}  // namespace stratus
