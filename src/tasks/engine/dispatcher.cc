#include "tasks/engine/dispatcher.h"

#include "tasks/engine/runner.h"

#include "common/log.h"

namespace stratus {

Dispatcher::Dispatcher(Store& store, const Clock& clock, http::EventLoops& loops, auth::OidcSigner* signer,
                       Metrics& metrics, DispatchOptions options)
    : store_(store), clock_(clock), loops_(loops), signer_(signer), metrics_(metrics), options_(std::move(options)) {}

Dispatcher::~Dispatcher() {
  Stop();
}

Status Dispatcher::Start() {
  SenderFactory make_sender = options_.make_sender;
  if (!make_sender) {
    Status tls_status;
    tls_ = http::MakeTlsContext(options_.ca_file, &tls_status);
    if (!tls_) return tls_status;
    make_sender = [this](asio::io_context& loop) { return std::make_unique<HttpSender>(loop, *tls_); };
  }
  for (size_t i = 0; i < loops_.size(); ++i) senders_.push_back(make_sender(loops_.Loop(i)));
  metrics_.SetGaugeSource([this](std::vector<Metrics::Gauge>* out) { Gauges(out); });
  if (coordinator_) return Status::Ok();  // queues come with their leases (Acquired)
  STRATUS_ASSIGN_OR_RETURN(std::vector<Queue> queues, store_.AllQueues());
  for (const Queue& q : queues) QueueChanged(q);
  STRATUS_RETURN_IF_ERROR(store_.ScanTasks("", [&](TaskKey k) {
    auto runner = Find(k.queue);
    if (runner) runner->PostSchedule(std::move(k.id), k.schedule_time, false);
  }));
  return Status::Ok();
}

void Dispatcher::Stop() {
  stopping_ = true;
  metrics_.SetGaugeSource(nullptr);
}

std::shared_ptr<QueueRunner> Dispatcher::Find(const std::string& queue) {
  std::lock_guard lock(mu_);
  auto it = runners_.find(queue);
  return it == runners_.end() ? nullptr : it->second;
}

std::shared_ptr<QueueRunner> Dispatcher::Ensure(const Queue& queue, int64_t epoch) {
  std::shared_ptr<QueueRunner> runner;
  {
    std::lock_guard lock(mu_);
    auto& slot = runners_[queue.name];
    if (slot) return slot;
    // Queues are spread over the loops; each queue stays on the loop it was given.
    size_t i = next_loop_++ % loops_.size();
    const bool keep_series = series_count_ < options_.series_max_queues;
    if (keep_series) ++series_count_;
    slot = std::make_shared<QueueRunner>(*this, loops_.Loop(i), *senders_[i], queue, keep_series, epoch);
    runner = slot;
  }
  metrics_.AddQueue(queue.name);
  return runner;
}

void Dispatcher::QueueChanged(const Queue& queue) {
  std::shared_ptr<QueueRunner> runner = coordinator_ ? Find(queue.name) : Ensure(queue, 0);
  if (!runner) {
    coordinator_->Wake();  // perhaps a new queue: its owner takes it now, not at the next tick
    return;
  }
  if (coordinator_) return Reconfigure(runner);
  runner->PostConfigure(queue);
}

void Dispatcher::Reconfigure(const std::shared_ptr<QueueRunner>& runner) {
  std::lock_guard lock(configure_mu_);
  auto q = store_.GetQueue(runner->name());
  if (q.ok()) runner->PostConfigure(*q);
}

void Dispatcher::QueuePurged(const Queue& queue) {
  QueueChanged(queue);
  if (auto runner = Find(queue.name)) runner->PostReload();
}

bool Dispatcher::Remove(const std::string& name) {
  std::shared_ptr<QueueRunner> runner;
  {
    std::lock_guard lock(mu_);
    auto it = runners_.find(name);
    if (it == runners_.end()) return false;
    runner = std::move(it->second);
    runners_.erase(it);
    if (runner->series()) --series_count_;  // its series goes with the runner
    std::erase_if(stopped_, [](const auto& r) { return r->in_flight() == 0; });
    stopped_.push_back(runner);
  }
  runner->PostShutdown();
  return true;
}

void Dispatcher::QueueDeleted(const std::string& name) {
  if (Remove(name) && coordinator_) coordinator_->Wake();  // its lease is freed at once
}

void Dispatcher::Load(const std::shared_ptr<QueueRunner>& runner) {
  Status st = store_.ScanTasks(runner->name(),
                               [&](TaskKey k) { runner->PostSchedule(std::move(k.id), k.schedule_time, false); });
  if (!st.ok()) LogJson({{"event", "queue.reload_failed"}, {"queue", runner->name()}, {"error", st.message()}});
}

void Dispatcher::Acquired(const std::string& queue, int64_t epoch) {
  auto q = store_.GetQueue(queue);
  if (!q.ok()) return;  // deleted meanwhile: the coordinator frees the lease at its next tick
  if (auto old = Find(queue); old && old->epoch() != epoch) Remove(queue);
  auto runner = Ensure(*q, epoch);
  // After the runner is in the map: a change committed from now on reaches it by event, and
  // anything committed before is in this second read and the scan. (A change committed
  // between the first read and Ensure, a pause through another node say, notified no runner.)
  Reconfigure(runner);
  Load(runner);
  // Run requests made while another node held the queue, or none did: those whose task still
  // has the scheduleTime the request gave it (not attempted since) run now.
  std::vector<NotedRun> runs;
  {
    std::lock_guard lock(mu_);
    for (auto it = noted_runs_.begin(); it != noted_runs_.end();) {
      if (it->queue == queue) {
        runs.push_back(std::move(*it));
        it = noted_runs_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& r : runs) runner->PostRunIfScheduled(std::move(r.id), r.due);
}

void Dispatcher::Lost(const std::string& queue) {
  Remove(queue);
}

int64_t Dispatcher::InFlight(const std::string& queue) {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  auto it = runners_.find(queue);
  if (it != runners_.end()) n += it->second->in_flight();
  for (const auto& r : stopped_) {
    if (r->name() == queue) n += r->in_flight();
  }
  return n;
}

void Dispatcher::LeaseRefused(const std::string& queue, int64_t epoch) {
  LogJson({{"event", "cluster.write_refused"}, {"queue", queue}, {"epoch", epoch}});
  metrics_.Count("stratus_lease_writes_refused_total", queue);
  if (auto runner = Find(queue); runner && runner->epoch() == epoch) Remove(queue);
  if (coordinator_) coordinator_->Refused(queue, epoch);
}

void Dispatcher::ApplyRemote(const cluster::Change& change) {
  using Kind = cluster::Change::Kind;
  switch (change.kind) {
    case Kind::kTaskRun:
      RunRequested(change.name, change.due);
      return;
    case Kind::kTaskCreated: {
      std::string queue = QueueOfTask(change.name);
      if (auto runner = Find(queue)) runner->PostCreated(change.name.substr(queue.size() + 7), change.due);
      return;
    }
    case Kind::kTaskRemoved:
      TaskRemoved(change.name);
      return;
    case Kind::kQueueChanged:
    case Kind::kQueuePurged: {
      auto runner = Find(change.name);
      if (!runner) {
        if (coordinator_) coordinator_->Wake();
        return;
      }
      Reconfigure(runner);
      if (change.kind == Kind::kQueuePurged) runner->PostReload();
      return;
    }
    case Kind::kQueueDeleted:
      QueueDeleted(change.name);
      return;
    case Kind::kNodeLeft:
      if (coordinator_) coordinator_->Wake();
      return;
    case Kind::kJobChanged:  // the scheduler's (scheduler/executor_lease.h)
    case Kind::kJobRun:
    case Kind::kLeaseFreed:
      return;
  }
}

void Dispatcher::ResyncRemote() {
  std::vector<std::shared_ptr<QueueRunner>> runners;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, r] : runners_) runners.push_back(r);
  }
  for (const auto& r : runners) {
    Reconfigure(r);
    Load(r);
  }
  if (coordinator_) coordinator_->Wake();
}

void Dispatcher::TaskCreated(const std::string& task_name, Micros due) {
  std::string queue = QueueOfTask(task_name);
  metrics_.Count("stratus_tasks_created_total", queue);
  if (auto runner = Find(queue)) runner->PostCreated(task_name.substr(queue.size() + 7), due);
}

std::shared_ptr<const QueueSeries> Dispatcher::Series(const std::string& queue) {
  auto runner = Find(queue);
  if (!runner || !runner->series()) return nullptr;
  return std::shared_ptr<const QueueSeries>(runner, runner->series());
}

void Dispatcher::TaskScheduled(const std::string& task_name, Micros due, bool run_now) {
  if (run_now) return RunRequested(task_name, due);
  std::string queue = QueueOfTask(task_name);
  if (auto runner = Find(queue)) runner->PostSchedule(task_name.substr(queue.size() + 7), due, false);
}

void Dispatcher::RunRequested(const std::string& task_name, Micros due) {
  // Kept for a quarter hour (past the longest --lease) and at most this many at once.
  constexpr Micros kKeep = 15LL * 60 * kMicrosPerSecond;
  constexpr size_t kMaxNoted = 10000;
  std::string queue = QueueOfTask(task_name);
  std::string id = task_name.substr(queue.size() + 7);
  std::shared_ptr<QueueRunner> runner;
  {
    // One lock for the lookup and the note: Acquired registers the runner before it takes
    // the notes, so a request either finds the runner or is among the notes it takes.
    std::lock_guard lock(mu_);
    auto it = runners_.find(queue);
    if (it != runners_.end()) {
      runner = it->second;
    } else if (coordinator_) {
      const Micros now = clock_.Now();
      while (!noted_runs_.empty() && (noted_runs_.size() >= kMaxNoted || noted_runs_.front().noted < now - kKeep)) {
        noted_runs_.pop_front();
      }
      noted_runs_.push_back({std::move(queue), std::move(id), due, now});
      return;
    }
  }
  if (runner) runner->PostSchedule(std::move(id), due, true);
}

void Dispatcher::TaskRemoved(const std::string& task_name) {
  std::string queue = QueueOfTask(task_name);
  if (auto runner = Find(queue)) runner->PostRemove(task_name.substr(queue.size() + 7));
}

void Dispatcher::Gauges(std::vector<Metrics::Gauge>* out) {
  const Micros now = clock_.Now();
  std::lock_guard lock(mu_);
  for (const auto& [name, r] : runners_) {
    out->push_back({"stratus_queue_depth", name, static_cast<double>(r->depth())});
    out->push_back({"stratus_queue_in_flight", name, static_cast<double>(r->in_flight())});
    Micros due = r->earliest_due();
    double age = due && due < now ? static_cast<double>(now - due) / kMicrosPerSecond : 0;
    out->push_back({"stratus_queue_oldest_task_age_seconds", name, age});
    if (coordinator_) out->push_back({"stratus_queue_lease_epoch", name, static_cast<double>(r->epoch())});
  }
}

}  // namespace stratus
