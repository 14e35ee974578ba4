#include "scheduler/executor.h"

#include <algorithm>
#include <optional>

#include "common/await.h"
#include "common/log.h"
#include "common/time.h"
#include "scheduler/tick.h"
#include "stratus/store.h"

namespace stratus::scheduler {
namespace {

std::string Describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

// One job's timer and execution state, owned by the loop.
struct Executor::Entry {
  explicit Entry(asio::io_context& loop) : timer(loop) {}
  Job job;  // the newest configuration
  std::optional<cron::Schedule> schedule;
  const date::time_zone* zone = nullptr;
  Micros next_tick = 0;     // 0: none armed (paused, or a schedule that never fires)
  Micros delayed_tick = 0;  // a tick that came while an execution ran (0: none)
  int running = 0;          // executions in flight
  uint64_t generation = 0;  // bumped by every change; a stale timer wake-up sees it
  bool deleted = false;
  // The newest record this executor made (it is the only writer of these fields).
  Micros last_attempt_time = 0;
  std::optional<Status> status;
  asio::steady_timer timer;
};

Executor::Executor(JobStore& store, const Clock& clock, asio::io_context& loop, asio::thread_pool& blocking,
                   auth::OidcSigner* signer, TasksService* tasks, ExecutorOptions options)
    : store_(store),
      clock_(clock),
      loop_(loop),
      blocking_(blocking),
      signer_(signer),
      tasks_(tasks),
      options_(std::move(options)) {}

Executor::~Executor() {
  Stop();
}

Status Executor::Start() {
  if (options_.make_sender) {
    sender_ = options_.make_sender(loop_);
  } else {
    Status tls_status;
    tls_ = http::MakeTlsContext(options_.ca_file, &tls_status);
    if (!tls_) return tls_status;
    sender_ = std::make_unique<HttpSender>(loop_, *tls_);
  }
  STRATUS_ASSIGN_OR_RETURN(std::vector<Job> jobs, store_.All());
  for (Job& job : jobs) asio::post(loop_, [this, job = std::move(job)] { Apply(job, /*loaded=*/true); });
  return Status::Ok();
}

void Executor::Stop() {
  if (stopping_.exchange(true)) return;
  asio::post(loop_, [this] {
    for (auto& [name, e] : jobs_) e->timer.cancel();
    for (asio::steady_timer* t : sleeping_) t->cancel();
  });
  std::unique_lock lock(idle_mu_);
  idle_cv_.wait_for(lock, std::chrono::microseconds(options_.stop_wait), [this] { return in_flight_.load() == 0; });
}

void Executor::Changed(const Job& job) {
  asio::post(loop_, [this, job] { Apply(job); });
}

void Executor::Deleted(const std::string& name) {
  asio::post(loop_, [this, name] { Drop(name); });
}

void Executor::Drop(const std::string& name) {
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return;
  it->second->deleted = true;
  it->second->generation++;
  it->second->timer.cancel();
  jobs_.erase(it);
}

void Executor::Sync(std::vector<Job> jobs) {
  asio::post(loop_, [this, jobs = std::move(jobs)] {
    std::set<std::string> present;
    for (const Job& job : jobs) {
      present.insert(job.name);
      auto it = jobs_.find(job.name);
      // Every user change moves user_update_time or the state; the executor's own records
      // (scheduleTime, the last attempt) are no reason to re-arm.
      if (it != jobs_.end() && it->second->job.user_update_time == job.user_update_time &&
          it->second->job.state == job.state) {
        continue;
      }
      Apply(job);
    }
    std::vector<std::string> gone;
    for (const auto& [name, e] : jobs_) {
      if (!present.count(name)) gone.push_back(name);
    }
    for (const std::string& name : gone) Drop(name);
  });
}

void Executor::RunNow(const Job& job) {
  asio::post(loop_, [this, job] {
    if (stopping_) return;
    if (!jobs_.count(job.name)) Apply(job);
    auto it = jobs_.find(job.name);
    if (it == jobs_.end()) return;
    Launch(it->second, job, clock_.Now());
  });
}

void Executor::Apply(const Job& job, bool loaded) {
  if (stopping_) return;
  auto& slot = jobs_[job.name];
  if (!slot) {
    slot = std::make_shared<Entry>(loop_);
    slot->last_attempt_time = job.last_attempt_time;
    slot->status = job.status;
  }
  std::shared_ptr<Entry> e = slot;
  e->job = job;
  e->generation++;
  e->timer.cancel();
  e->next_tick = 0;
  e->schedule.reset();
  auto schedule = cron::Schedule::Parse(job.schedule);
  auto zone = cron::FindZone(job.time_zone.empty() ? "UTC" : job.time_zone);
  if (!schedule.ok() || !zone.ok()) {
    // The service validates both; a row that fails here (a tzdata update removed a zone)
    // stays stored and does not fire.
    LogJson({{"event", "job.unschedulable"},
             {"job", job.name},
             {"error", (!schedule.ok() ? schedule.status() : zone.status()).message()}});
    return;
  }
  e->schedule = std::move(*schedule);
  e->zone = *zone;
  if (job.state != JobState::kEnabled) {
    e->delayed_tick = 0;
    return;
  }
  // Computed from now: ticks missed while the server was down or the job paused are not replayed.
  const Micros now = clock_.Now();
  e->next_tick = NextTickAfter(*e->schedule, *e->zone, now);
  if (loaded && options_.resume_window > 0 && job.schedule_time > 0 && job.schedule_time <= now &&
      now - job.schedule_time <= options_.resume_window) {
    // A takeover: the previous executor had not recorded this tick as done (it died or
    // stalled before or during it), so it fires now, once (at-least-once for a tick in flight).
    e->next_tick = job.schedule_time;
  }
  if (e->next_tick != job.schedule_time && e->running == 0) {
    // scheduleTime shows the next tick; nothing else writes it while no execution runs.
    asio::co_spawn(loop_, Record(e, e->next_tick, e->last_attempt_time, e->status),
                   [](const std::exception_ptr& ex, const Status&) {
                     if (ex) LogJson({{"event", "job.record_error"}, {"error", Describe(ex)}});
                   });
  }
  Arm(e);
}

void Executor::Arm(const std::shared_ptr<Entry>& e) {
  if (stopping_ || e->next_tick == 0) return;
  const Micros delay = std::clamp<Micros>(e->next_tick - clock_.Now(), 0, options_.max_sleep);
  e->timer.expires_after(std::chrono::microseconds(delay));
  e->timer.async_wait([this, e, generation = e->generation](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    OnTimer(e, generation);
  });
}

void Executor::OnTimer(const std::shared_ptr<Entry>& e, uint64_t generation) {
  if (stopping_ || e->deleted || generation != e->generation || e->next_tick == 0) return;
  if (clock_.Now() < e->next_tick) {
    Arm(e);  // never early: woke before the tick (a long wait in steps, or the clock moved back)
    return;
  }
  Fire(e);
}

void Executor::Fire(const std::shared_ptr<Entry>& e) {
  const Micros tick = e->next_tick;
  ticks_++;
  e->next_tick = FollowingTick(*e->schedule, *e->zone, tick, clock_.Now());
  if (e->running > 0) {
    // At most one execution at a time: this tick waits for the running one to end; an older
    // waiting tick is skipped.
    if (e->delayed_tick) {
      LogJson({{"event", "job.tick_skipped"}, {"job", e->job.name}, {"tick", FormatTimestamp(e->delayed_tick)}});
    }
    e->delayed_tick = tick;
  } else {
    Launch(e, e->job, tick);
  }
  Arm(e);
}

void Executor::Launch(const std::shared_ptr<Entry>& e, Job job, Micros schedule_time) {
  e->running++;
  in_flight_++;
  asio::co_spawn(loop_, Execute(e, std::move(job), schedule_time), [this, e](const std::exception_ptr& ex) {
    if (ex) LogJson({{"event", "job.execution_error"}, {"job", e->job.name}, {"error", Describe(ex)}});
    e->running--;
    Ended();
    if (!stopping_ && !e->deleted && e->running == 0 && e->delayed_tick && e->job.state == JobState::kEnabled) {
      const Micros tick = e->delayed_tick;
      e->delayed_tick = 0;
      Launch(e, e->job, tick);
    }
  });
}

void Executor::Ended() {
  std::lock_guard lock(idle_mu_);
  in_flight_--;
  idle_cv_.notify_all();
}

asio::awaitable<void> Executor::Execute(std::shared_ptr<Entry> e, Job job, Micros schedule_time) {
  const Micros first = clock_.Now();
  for (int attempts = 1;; ++attempts) {
    const Micros start = clock_.Now();
    Status status = co_await Attempt(job, schedule_time);
    const Micros end = clock_.Now();
    const bool retry = !status.ok() && JobMayRetry(job.retry_config, attempts, first, end);
    const Micros retry_at = retry ? end + JobRetryDelay(job.retry_config, attempts - 1) : 0;
    Json log = {{"event", "job.attempt"},
                {"job", job.name},
                {"tick", FormatTimestamp(schedule_time)},
                {"attempt", attempts},
                {"code", std::string(CodeName(status.code()))}};
    if (!status.ok()) log["error"] = status.message();
    if (retry) log["retry_at"] = FormatTimestamp(retry_at);
    LogJson(std::move(log));
    // scheduleTime: the retry while retrying (job.proto: "may be a retry of a previously
    // failed attempt"), else the next tick.
    const Micros shown = retry ? retry_at : (e->next_tick ? e->next_tick : e->job.schedule_time);
    std::optional<Status> recorded = status;
    Status written = co_await Record(e, shown, start, recorded);
    if (written.code() == Code::kNotFound) co_return;  // deleted meanwhile
    if (IsExecutorLeaseLost(written)) co_return;       // another node executes now
    if (!retry) co_return;
    const bool woke = co_await SleepUntil(retry_at);
    if (!woke || stopping_ || e->deleted || e->job.state != JobState::kEnabled) co_return;
  }
}

asio::awaitable<Status> Executor::Attempt(const Job& job, Micros schedule_time) {
  if (!job.queue.empty()) {
    if (!tasks_) co_return FailedPrecondition("this server has no Cloud Tasks service for the job's queue");
    std::string parent = job.queue;
    Task task = TaskForJob(job, schedule_time);
    std::function<Status(const std::string&)> act_as;  // named: no temporary in the co_await (GCC 12)
    StatusOr<Task> created = co_await tasks_->CreateTask(parent, std::move(task), act_as);
    co_return created.ok() ? Status::Ok() : created.status();
  }
  auto request = BuildJobRequest(job, schedule_time, signer_, options_.request);
  if (!request.ok()) co_return request.status();
  http::ClientResult result =
      co_await sender_->Send(request->url, std::move(request->request), request->timeout, request->send);
  co_return StatusOfResult(result);
}

asio::awaitable<Status> Executor::Record(std::shared_ptr<Entry> e, Micros schedule_time, Micros attempt_time,
                                         std::optional<Status> status) {
  if (e->deleted) co_return NotFound("deleted");
  e->last_attempt_time = attempt_time;
  e->status = status;
  std::string name = e->job.name;
  // A named local, not a temporary in the co_await (GCC 12 destroys those twice).
  std::function<Status()> work = [this, name, schedule_time, attempt_time, status] {
    try {
      return store_.RecordRun(name, schedule_time, attempt_time, status, options_.epoch);
    } catch (const std::exception& ex) {
      return Internal(std::string("RecordRun threw: ") + ex.what());
    }
  };
  Status st = co_await RunBlocking(blocking_, std::move(work));
  if (!st.ok() && st.code() != Code::kNotFound) {
    LogJson({{"event", "job.record_failed"}, {"job", name}, {"epoch", options_.epoch}, {"error", st.message()}});
  }
  if (IsExecutorLeaseLost(st) && options_.on_fenced) options_.on_fenced();
  co_return st;
}

asio::awaitable<bool> Executor::SleepUntil(Micros t) {
  asio::steady_timer timer(loop_);
  sleeping_.insert(&timer);
  bool reached = false;
  while (!stopping_) {
    const Micros now = clock_.Now();
    if (now >= t) {
      reached = true;
      break;
    }
    timer.expires_after(std::chrono::microseconds(std::min(t - now, options_.max_sleep)));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) break;
  }
  sleeping_.erase(&timer);
  co_return reached;
}

}  // namespace stratus::scheduler
