#include "scheduler/executor_lease.h"

#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"

namespace stratus::scheduler {

ExecutorLease::ExecutorLease(cluster::LeaseTable& table, JobStore& store, const Clock& clock, Factory make,
                             Publish publish, ExecutorLeaseOptions options)
    : table_(table),
      store_(store),
      clock_(clock),
      make_(std::move(make)),
      publish_(std::move(publish)),
      options_(std::move(options)) {}

ExecutorLease::~ExecutorLease() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  EndTerm("destroyed");
}

Executor* ExecutorLease::Current() const {
  std::lock_guard lock(mu_);
  return current_.get();
}

std::optional<int64_t> ExecutorLease::epoch() const {
  std::lock_guard lock(mu_);
  if (!current_) return std::nullopt;
  return epoch_;
}

void ExecutorLease::AppendMetrics(std::string* out) const {
  const std::optional<int64_t> held = epoch();
  metrics::AppendFamily(out, "stratus_scheduler_executor_held", "gauge",
                        "1 while this node holds the Cloud Scheduler executor lease and runs the jobs, else 0 "
                        "(cluster only)");
  metrics::AppendSample(out, "stratus_scheduler_executor_held", "", held ? 1 : 0);
  if (!held) return;
  metrics::AppendFamily(out, "stratus_scheduler_executor_epoch", "gauge",
                        "Fencing epoch of the executor lease this node holds (cluster only; absent: not held)");
  metrics::AppendSample(out, "stratus_scheduler_executor_epoch", "", static_cast<double>(*held));
}

void ExecutorLease::EndTerm(const char* why) {
  Executor* ending = nullptr;
  int64_t epoch = 0;
  {
    std::lock_guard lock(mu_);
    if (!current_) return;
    ending = current_.get();
    epoch = epoch_;
    ended_.push_back(std::move(current_));
  }
  LogJson({{"event", "scheduler.lease_lost"}, {"epoch", epoch}, {"node", options_.node}, {"why", why}});
  ending->Stop();
}

void ExecutorLease::Tick() {
  int64_t epoch = 0;
  bool held = false;
  bool fenced = false;
  Micros valid_until = 0;
  {
    std::lock_guard lock(mu_);
    held = current_ != nullptr;
    epoch = epoch_;
    fenced = held && fenced_epoch_ == epoch_;
    valid_until = valid_until_;
  }
  if (fenced) {
    EndTerm("a record was refused: another node executes now");
    return;
  }
  const Micros sent = clock_.Now();
  if (!held) {
    // A term that ended while the row still names this node (its renewal failed, or the
    // executor did not start) is freed first: the heartbeat would otherwise keep renewing a
    // lease no executor here uses, and Acquire never takes a lease that is not free.
    int64_t stale = 0;
    {
      std::lock_guard lock(mu_);
      stale = release_epoch_;
    }
    if (stale != 0) {
      if (!table_.Release(kExecutorLease, options_.node, stale).ok()) return;
      std::lock_guard lock(mu_);
      if (release_epoch_ == stale) release_epoch_ = 0;
    }
  }
  if (held) {
    auto renewed = table_.Renew(kExecutorLease, options_.node, epoch, options_.lease);
    if (renewed.ok() && *renewed) {
      std::lock_guard lock(mu_);
      valid_until_ = sent + options_.lease;
    } else if (renewed.ok()) {
      EndTerm("the lease is another node's now");
    } else if (clock_.Now() >= valid_until) {
      EndTerm("the lease could not be renewed");
      std::lock_guard lock(mu_);
      release_epoch_ = epoch;
    }
    return;
  }
  auto got = table_.Acquire(kExecutorLease, options_.node, options_.lease);
  if (!got.ok() || !*got) {
    if (!got.ok()) LogJson({{"event", "scheduler.acquire_failed"}, {"error", got.status().message()}});
    return;  // another node holds it
  }
  const int64_t taken = **got;
  std::unique_ptr<Executor> exec = make_(taken, [this, taken] {
    {
      std::lock_guard lock(mu_);
      fenced_epoch_ = taken;
    }
    Wake();
  });
  // Started before anything else can reach it (a run notified now must find its sender).
  Status st = exec->Start();
  if (!st.ok()) {
    LogJson({{"event", "scheduler.start_failed"}, {"error", st.message()}});
    exec->Stop();
    std::lock_guard lock(mu_);
    ended_.push_back(std::move(exec));
    release_epoch_ = taken;
    return;
  }
  Executor* raw = exec.get();
  {
    std::lock_guard lock(mu_);
    current_ = std::move(exec);
    epoch_ = taken;
    valid_until_ = sent + options_.lease;
  }
  // Changes notified from now on reach this executor; one committed between Start's read and
  // now was notified to none: read once more. The runs asked while no node executed (or
  // before this term's notifications reached it) are in the rows: take them now.
  auto all = store_.All();
  if (all.ok()) {
    std::vector<std::string> asked;
    for (const Job& job : *all) {
      if (job.pending_runs > 0) asked.push_back(job.name);
    }
    raw->Sync(std::move(*all));
    for (const std::string& name : asked) RunPending(raw, taken, name);
  }
  LogJson({{"event", "scheduler.lease_acquired"}, {"epoch", taken}, {"node", options_.node}});
}

void ExecutorLease::Start() {
  Tick();
  thread_ = std::thread([this] {
    NameThisThread("sched-lease");
    Loop();
  });
}

void ExecutorLease::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::microseconds(options_.lease / 5), [&] { return stopping_ || wake_; });
      if (stopping_) return;
      wake_ = false;
    }
    Tick();
  }
}

void ExecutorLease::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void ExecutorLease::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  const std::optional<int64_t> held = epoch();
  if (!held) return;
  EndTerm("shutting down");
  Status st = table_.Release(kExecutorLease, options_.node, *held);
  if (st.ok()) st = publish_(cluster::Change{cluster::Change::Kind::kLeaseFreed, kExecutorLease, 0});
  if (!st.ok()) LogJson({{"event", "scheduler.release_failed"}, {"error", st.message()}});
}

void ExecutorLease::OnChange(const cluster::Change& change) {
  using Kind = cluster::Change::Kind;
  switch (change.kind) {
    case Kind::kLeaseFreed:
    case Kind::kNodeLeft:
      if (!epoch()) Wake();
      return;
    case Kind::kJobRun: {
      // Not executing here: the request stays in the row for the next term (Tick) to take.
      Executor* exec = nullptr;
      int64_t epoch = 0;
      {
        std::lock_guard lock(mu_);
        exec = current_.get();
        epoch = epoch_;
      }
      if (exec) RunPending(exec, epoch, change.name);
      return;
    }
    case Kind::kJobChanged: {
      Executor* exec = Current();
      if (!exec) return;
      auto job = store_.Get(change.name);
      if (job.ok()) {
        exec->Changed(*job);
      } else if (job.status().code() == Code::kNotFound) {
        exec->Deleted(change.name);
      } else {
        LogJson({{"event", "scheduler.reload_failed"}, {"job", change.name}, {"error", job.status().message()}});
      }
      return;
    }
    default:
      return;
  }
}

void ExecutorLease::RunPending(Executor* exec, int64_t epoch, const std::string& name) {
  auto taken = store_.TakeRuns(name, epoch);
  if (!taken.ok()) {
    if (IsExecutorLeaseLost(taken.status())) {
      {
        std::lock_guard lock(mu_);
        fenced_epoch_ = epoch;
      }
      Wake();
    } else {
      LogJson({{"event", "scheduler.run_not_taken"}, {"job", name}, {"error", taken.status().message()}});
    }
    return;
  }
  if (*taken == 0) return;  // taken already (by the notification or by a term's start)
  auto job = store_.Get(name);
  if (!job.ok()) {
    LogJson({{"event", "scheduler.reload_failed"}, {"job", name}, {"error", job.status().message()}});
    return;
  }
  for (int64_t i = 0; i < *taken; ++i) exec->RunNow(*job);
}

void ExecutorLease::Resync() {
  Executor* exec = nullptr;
  int64_t epoch = 0;
  {
    std::lock_guard lock(mu_);
    exec = current_.get();
    epoch = epoch_;
  }
  if (!exec) return;
  auto all = store_.All();
  if (all.ok()) {
    std::vector<std::string> asked;
    for (const Job& job : *all) {
      if (job.pending_runs > 0) asked.push_back(job.name);
    }
    exec->Sync(std::move(*all));
    for (const std::string& name : asked) RunPending(exec, epoch, name);
  } else {
    LogJson({{"event", "scheduler.reload_failed"}, {"error", all.status().message()}});
  }
}

void ExecutorLease::Changed(const Job& /*job*/) {}

void ExecutorLease::Deleted(const std::string& /*name*/) {}

void ExecutorLease::RunNow(const Job& /*job*/) {}

}  // namespace stratus::scheduler
