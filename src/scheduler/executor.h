// The Cloud Scheduler executor: fires each enabled job at its ticks and runs its executions.
//
// Threads: all of its state lives on one event loop (the `loop` given); JobEvents calls come
// from any thread and are posted there. Timers are steady timers on that loop; store calls
// (JobStore::All at start, RecordRun after each attempt) run on the blocking pool, so the loop
// never blocks. Requests go through a Sender (the Cloud Tasks delivery client: same TLS
// settings, same target policy), and OIDC tokens come from the signer Cloud Tasks uses.
//
// Rules (docs/scheduler.md, "Execution"):
//  * never early: a tick fires at or after its time by `clock` (each timer looks at the clock
//    again when it wakes, and waits at most `max_sleep` at a time, so a wall-clock step is
//    noticed);
//  * at most one execution of a job at a time: a tick that comes while an execution (with its
//    retries) is still running is delayed until that execution ends; if several come, only
//    the newest runs, the others are skipped. jobs.run executes at once, even while one runs
//    (RunJob: "even if the job is already running"), and is not a tick;
//  * ticks missed while the server was down, or a job paused, are not replayed: the next tick
//    is computed from now;
//  * an execution retries failed attempts within itself per the job's retryConfig (tick.h),
//    and records each attempt with JobStore::RecordRun (scheduleTime: the retry's time while
//    retrying, else the next tick; lastAttemptTime: the attempt's start; status);
//  * a job with a stratus `queue` creates one Cloud Tasks task per execution through
//    TasksService::CreateTask; the execution succeeds when the task is created.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "auth/oidc.h"
#include "common/clock.h"
#include "cron/cron.h"
#include "scheduler/job.h"
#include "scheduler/job_request.h"
#include "tasks/engine/sender.h"
#include "tasks/service.h"

namespace stratus::scheduler {

struct ExecutorOptions {
  std::string ca_file;        // extra CA for HTTPS targets
  JobRequestOptions request;  // the OAuth token, the target policy
  // Where requests go; nullptr: http::HttpClient (tests pass a fake).
  SenderFactory make_sender;
  // The longest a timer sleeps before it looks at the clock again.
  Micros max_sleep = 10 * kMicrosPerSecond;
  // How long Stop waits for executions in flight to end before leaving them to the loop's end.
  Micros stop_wait = 2 * kMicrosPerSecond;
  // In a cluster (scheduler/executor_lease.h): the executor lease's fencing epoch, carried by
  // every RecordRun (0: one node, unfenced), and what to call when the store refused a record
  // for a stale epoch (another node executes now).
  int64_t epoch = 0;
  std::function<void()> on_fenced;
  // In a cluster: at Start, a job whose stored scheduleTime is due, at most this long ago,
  // fires that tick at once instead of waiting for the next one, so a tick the previous
  // holder had not recorded as done is not lost in a takeover. 0: missed ticks are skipped.
  Micros resume_window = 0;
};

class Executor final : public JobEvents {
 public:
  // `tasks` may be null when no job names a queue (such an execution then fails).
  Executor(JobStore& store, const Clock& clock, asio::io_context& loop, asio::thread_pool& blocking,
           auth::OidcSigner* signer, TasksService* tasks, ExecutorOptions options);
  ~Executor() override;

  // Loads every job (JobStore::All) and arms a timer for each enabled one. Call once, from
  // any thread, before or after the loop runs.
  Status Start();
  // Starts no execution from now on: cancels the timers and the retry waits, then waits up to
  // stop_wait for attempts in flight to end (not from the loop's own thread).
  void Stop();

  // JobEvents: called after the change is durable, from any thread.
  void Changed(const Job& job) override;
  void Deleted(const std::string& name) override;
  void RunNow(const Job& job) override;
  // Brings the jobs to `jobs` (every job, as the store holds them now): the ones missing are
  // dropped, the ones whose configuration changed are applied; unchanged ones keep their timers.
  void Sync(std::vector<Job> jobs);

  // Executions in flight (for tests and metrics), readable from any thread.
  int in_flight() const { return in_flight_.load(); }
  // Ticks that came due so far (each started an execution, or was delayed or skipped).
  int64_t ticks() const { return ticks_.load(); }

 private:
  struct Entry;
  void Apply(const Job& job, bool loaded = false);  // on the loop; `loaded`: by Start
  void Drop(const std::string& name);               // on the loop
  void Arm(const std::shared_ptr<Entry>& e);
  void OnTimer(const std::shared_ptr<Entry>& e, uint64_t generation);
  void Fire(const std::shared_ptr<Entry>& e);
  void Launch(const std::shared_ptr<Entry>& e, Job job, Micros schedule_time);
  asio::awaitable<void> Execute(std::shared_ptr<Entry> e, Job job, Micros schedule_time);
  asio::awaitable<Status> Attempt(const Job& job, Micros schedule_time);
  asio::awaitable<Status> Record(std::shared_ptr<Entry> e, Micros schedule_time, Micros attempt_time,
                                 std::optional<Status> status);
  // Waits on the loop until `clock` reaches `t` (false when stopped or cancelled first).
  asio::awaitable<bool> SleepUntil(Micros t);
  void Ended();

  JobStore& store_;
  const Clock& clock_;
  asio::io_context& loop_;
  asio::thread_pool& blocking_;
  auth::OidcSigner* signer_;
  TasksService* tasks_;
  ExecutorOptions options_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::unique_ptr<Sender> sender_;

  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
  std::atomic<int64_t> ticks_{0};
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;

  // Loop-only state.
  std::map<std::string, std::shared_ptr<Entry>> jobs_;
  std::set<asio::steady_timer*> sleeping_;  // retry waits, cancelled by Stop
};

}  // namespace stratus::scheduler
