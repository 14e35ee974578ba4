#include "tasks/engine/dispatcher.h"

#include "tasks/engine/runner.h"

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
  STRATUS_ASSIGN_OR_RETURN(std::vector<Queue> queues, store_.AllQueues());
  for (const Queue& q : queues) QueueChanged(q);
  STRATUS_RETURN_IF_ERROR(store_.ScanTasks("", [&](TaskKey k) {
    auto runner = Find(k.queue);
    if (runner) runner->PostSchedule(std::move(k.id), k.schedule_time, false);
  }));
  metrics_.SetGaugeSource([this](std::vector<Metrics::Gauge>* out) { Gauges(out); });
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

void Dispatcher::QueueChanged(const Queue& queue) {
  std::shared_ptr<QueueRunner> runner;
  bool added = false;
  {
    std::lock_guard lock(mu_);
    auto& slot = runners_[queue.name];
    if (!slot) {
      added = true;
      // Queues are spread over the loops; each queue stays on the loop it was given.
      size_t i = next_loop_++ % loops_.size();
      const bool keep_series = series_count_ < options_.series_max_queues;
      if (keep_series) ++series_count_;
      slot = std::make_shared<QueueRunner>(*this, loops_.Loop(i), *senders_[i], queue, keep_series);
    }
    runner = slot;
  }
  if (added) metrics_.AddQueue(queue.name);
  runner->PostConfigure(queue);
}

void Dispatcher::QueuePurged(const Queue& queue) {
  QueueChanged(queue);
  if (auto runner = Find(queue.name)) runner->PostReload();
}

void Dispatcher::QueueDeleted(const std::string& name) {
  std::shared_ptr<QueueRunner> runner;
  {
    std::lock_guard lock(mu_);
    auto it = runners_.find(name);
    if (it == runners_.end()) return;
    runner = std::move(it->second);
    runners_.erase(it);
    if (runner->series()) --series_count_;  // its series goes with the runner
  }
  runner->PostShutdown();
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
  std::string queue = QueueOfTask(task_name);
  if (auto runner = Find(queue)) runner->PostSchedule(task_name.substr(queue.size() + 7), due, run_now);
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
  }
}

}  // namespace stratus
