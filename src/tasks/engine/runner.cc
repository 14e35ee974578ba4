#include "tasks/engine/runner.h"

#include <algorithm>
#include <charconv>

#include "common/log.h"
#include "store/async.h"
#include "tasks/engine/dispatcher.h"
#include "tasks/engine/retry.h"

namespace stratus {
namespace {

constexpr Micros kStoreRetryDelay = 1 * kMicrosPerSecond;

std::string Describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

// WriteAsync, with a Store::Write that throws turned into an INTERNAL status (a throw from
// inside the await's initiation would not reach the attempt's completion handler).
asio::awaitable<StatusOr<WriteResult>> WriteCaught(Store& store, Mutation m, Micros now) {
  return AwaitCallback<StatusOr<WriteResult>>(
      [&store, m = std::move(m), now](const std::function<void(StatusOr<WriteResult>)>& done) mutable {
        try {
          store.Write(std::move(m), now, done);
        } catch (const std::exception& e) {
          done(Internal(std::string("store write threw: ") + e.what()));
        }
      });
}

}  // namespace

QueueRunner::QueueRunner(Dispatcher& dispatcher, asio::io_context& loop, Sender& sender, Queue queue, bool keep_series,
                         int64_t epoch)
    : dispatcher_(dispatcher),
      loop_(loop),
      sender_(sender),
      name_(queue.name),
      epoch_(epoch),
      queue_(std::move(queue)),
      timer_(loop),
      series_(keep_series ? std::make_unique<QueueSeries>() : nullptr) {
  throttle_.rate = queue_.rate_limits.max_dispatches_per_second;
  tokens_ = queue_.rate_limits.max_burst_size;
}

void QueueRunner::PostConfigure(Queue queue) {
  asio::post(loop_, [self = shared_from_this(), q = std::move(queue)]() mutable {
    const double old_rate = self->queue_.rate_limits.max_dispatches_per_second;
    self->queue_ = std::move(q);
    const double new_rate = self->queue_.rate_limits.max_dispatches_per_second;
    if (new_rate != old_rate || self->throttle_.rate > new_rate) self->throttle_.rate = new_rate;
    self->tokens_ = std::min<double>(self->tokens_, self->queue_.rate_limits.max_burst_size);
    self->Pump();
  });
}

void QueueRunner::PostSchedule(std::string id, Micros due, bool run_now) {
  asio::post(loop_, [self = shared_from_this(), id = std::move(id), due, run_now] {
    self->Schedule(id, due, run_now);
    self->Pump();
  });
}

void QueueRunner::PostRunIfScheduled(std::string id, Micros due) {
  asio::post(loop_, [self = shared_from_this(), id = std::move(id), due] {
    auto it = self->pending_.find(id);
    if (it == self->pending_.end() || it->second != due) return;
    self->forced_.insert(id);
    self->Pump();
  });
}

void QueueRunner::PostCreated(std::string id, Micros due) {
  asio::post(loop_, [self = shared_from_this(), id = std::move(id), due] {
    if (self->series_) self->series_->Count(self->dispatcher_.clock().Now(), QueueSeries::kCreated);
    self->Schedule(id, due);
    self->Pump();
  });
}

void QueueRunner::PostRemove(std::string id) {
  asio::post(loop_, [self = shared_from_this(), id = std::move(id)] {
    auto it = self->pending_.find(id);
    if (it != self->pending_.end()) {
      self->due_.erase({it->second, id});
      self->pending_.erase(it);
    }
    self->forced_.erase(id);
    self->deferred_.erase(id);
    self->UpdateGauges();
  });
}

void QueueRunner::PostReload() {
  asio::post(loop_, [self = shared_from_this()] {
    self->due_.clear();
    self->pending_.clear();
    self->forced_.clear();
    // The scan runs here, on the loop: a purge is rare and the scan reads ids only.
    Status st = self->dispatcher_.store().ScanTasks(self->name_,
                                                    [&](const TaskKey& k) { self->Schedule(k.id, k.schedule_time); });
    if (!st.ok()) LogJson({{"event", "queue.reload_failed"}, {"queue", self->name_}, {"error", st.message()}});
    self->Pump();
  });
}

void QueueRunner::PostShutdown() {
  asio::post(loop_, [self = shared_from_this()] {
    self->shut_down_ = true;
    self->timer_.cancel();
    self->due_.clear();
    self->pending_.clear();
    self->forced_.clear();
    self->deferred_.clear();
    self->UpdateGauges();
  });
}

void QueueRunner::Schedule(const std::string& id, Micros due, bool run_now) {
  if (in_flight_.count(id)) {
    auto& d = deferred_[id];
    d.due = due;
    d.run_now = d.run_now || run_now;
    return;
  }
  if (run_now) forced_.insert(id);
  auto it = pending_.find(id);
  if (it != pending_.end()) {
    due_.erase({it->second, id});
    it->second = due;
  } else {
    pending_.emplace(id, due);
  }
  due_.insert({due, id});
}

void QueueRunner::EndAttempt(const std::string& id) {
  in_flight_.erase(id);
  forced_.erase(id);  // the attempt consumed any run request made before it started
  auto d = deferred_.find(id);
  if (d != deferred_.end()) {
    Deferred later = d->second;
    deferred_.erase(d);
    // Stale entries are harmless: AttemptStart refuses a task whose scheduleTime moved on.
    Schedule(id, later.due, later.run_now);
  }
}

void QueueRunner::Refill(Micros now) {
  const double burst = queue_.rate_limits.max_burst_size;
  if (refilled_at_ == 0) refilled_at_ = now;
  tokens_ = std::min(burst, tokens_ + throttle_.rate * static_cast<double>(now - refilled_at_) / kMicrosPerSecond);
  refilled_at_ = now;
}

void QueueRunner::Pump() {
  if (shut_down_ || dispatcher_.stopping()) return;
  const Micros now = dispatcher_.clock().Now();
  Refill(now);
  const auto max_in_flight = static_cast<size_t>(std::max(1, queue_.rate_limits.max_concurrent_dispatches));

  // tasks.run: now, whatever the state, the hold or the token bucket.
  for (auto it = forced_.begin(); it != forced_.end() && in_flight_.size() < max_in_flight;) {
    auto p = pending_.find(*it);
    if (p == pending_.end()) {
      ++it;
      continue;
    }
    std::string id = *it;
    Micros due = p->second;
    it = forced_.erase(it);
    due_.erase({due, id});
    pending_.erase(p);
    Launch(std::move(id), due);
  }

  const bool running = queue_.state == QueueState::kRunning && now >= throttle_.hold_until;
  Micros wake = 0;
  while (running && !due_.empty() && in_flight_.size() < max_in_flight) {
    auto [due, id] = *due_.begin();
    if (due > now) {
      wake = due;
      break;
    }
    if (tokens_ < 1.0) {
      wake = now + static_cast<Micros>((1.0 - tokens_) / std::max(throttle_.rate, 1e-6) * kMicrosPerSecond) + 1;
      break;
    }
    tokens_ -= 1.0;
    due_.erase(due_.begin());
    pending_.erase(id);
    forced_.erase(id);
    Launch(std::move(id), due);
  }
  if (queue_.state == QueueState::kRunning && now < throttle_.hold_until && !due_.empty()) wake = throttle_.hold_until;
  UpdateGauges();
  if (wake) ArmTimer(wake);
}

void QueueRunner::ArmTimer(Micros when) {
  if (timer_at_ != 0 && timer_at_ <= when) return;  // an earlier wake-up is already set
  timer_at_ = when;
  const Micros delay = std::max<Micros>(0, when - dispatcher_.clock().Now());
  timer_.expires_after(std::chrono::microseconds(delay));
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    self->timer_at_ = 0;
    self->Pump();
  });
}

void QueueRunner::UpdateGauges() {
  depth_ = static_cast<int64_t>(pending_.size() + in_flight_.size());
  in_flight_n_ = static_cast<int64_t>(in_flight_.size());
  earliest_due_ = due_.empty() ? 0 : due_.begin()->first;
  if (series_) series_->SetGauges(dispatcher_.clock().Now(), depth_.load(), in_flight_n_.load(), earliest_due_.load());
}

void QueueRunner::Launch(std::string id, Micros due) {
  in_flight_.insert(id);
  auto attempt = std::make_shared<InFlight>();
  attempt->id = std::move(id);
  attempt->due = due;
  asio::co_spawn(loop_, Attempt(attempt), [self = shared_from_this(), attempt](const std::exception_ptr& e) {
    if (e) self->Threw(attempt, e);
  });
}

asio::awaitable<void> QueueRunner::Attempt(std::shared_ptr<InFlight> attempt) {
  auto self = shared_from_this();  // the runner outlives its attempts
  const std::string task_name = name_ + "/tasks/" + attempt->id;
  Store& store = dispatcher_.store();
  Metrics& metrics = dispatcher_.metrics();
  const Clock& clock = dispatcher_.clock();

  const Micros start = clock.Now();
  Mutation begin = AttemptStart{task_name, attempt->due, epoch_};
  auto started = co_await WriteCaught(store, std::move(begin), start);
  if (!started.ok()) {
    StartFailed(*attempt, started.status());
    co_return;
  }
  attempt->task = std::move(*started->task);
  const Task& task = *attempt->task;
  metrics.Count("stratus_tasks_dispatched_total", name_);
  metrics.Observe("stratus_dispatch_lateness_seconds", name_,
                  static_cast<double>(start - attempt->due) / kMicrosPerSecond);
  if (series_) {
    series_->Count(start, QueueSeries::kDispatched);
    series_->ObserveLateness(start, static_cast<double>(start - attempt->due) / kMicrosPerSecond);
  }

  http::ClientResult result;
  auto delivery = BuildDelivery(queue_, task, dispatcher_.signer(), dispatcher_.options().delivery);
  if (!delivery.ok()) {
    result.failure = http::ClientResult::Failure::kRefused;
    result.error = delivery.status().message();
  } else {
    auto timeout = std::chrono::milliseconds(std::max<Micros>(1, delivery->deadline / 1000));
    result = co_await sender_.Send(delivery->url, std::move(delivery->request), timeout, delivery->send);
  }
  const Micros end = clock.Now();
  metrics.Observe("stratus_attempt_duration_seconds", name_, static_cast<double>(end - start) / kMicrosPerSecond);
  if (series_) series_->ObserveLatency(end, static_cast<double>(end - start) / kMicrosPerSecond);

  AttemptFinish finish = DecideOutcome(queue_, task, result, end);
  finish.name = task_name;
  finish.epoch = epoch_;
  Mutation done = finish;
  auto recorded = co_await WriteCaught(store, std::move(done), end);
  attempt->finish = std::move(finish);
  Finished(*attempt, *attempt->finish, result, recorded, end);
}

void QueueRunner::StartFailed(InFlight& attempt, const Status& status) {
  // NOT_FOUND: deleted or purged; FAILED_PRECONDITION: rescheduled, and the new time was
  // posted (EndAttempt applies it). Anything else is the store failing: keep the task at
  // the time the store has for it and hold the queue a moment.
  const Code c = status.code();
  attempt.ended = true;
  EndAttempt(attempt.id);
  if (ReasonOf(status) == StoreReason::kLeaseLost) {
    LogJson({{"event", "task.start_refused"}, {"queue", name_}, {"task", attempt.id}, {"error", status.message()}});
    return LeaseLost();
  }
  if (c != Code::kNotFound && c != Code::kFailedPrecondition) {
    LogJson({{"event", "task.start_failed"}, {"queue", name_}, {"task", attempt.id}, {"error", status.message()}});
    if (!pending_.count(attempt.id)) Schedule(attempt.id, attempt.due);
    throttle_.hold_until = std::max(throttle_.hold_until, dispatcher_.clock().Now() + kStoreRetryDelay);
  }
  Pump();
}

void QueueRunner::Finished(InFlight& attempt, const AttemptFinish& finish, const http::ClientResult& result,
                           const StatusOr<WriteResult>& recorded, Micros end) {
  const std::string& id = attempt.id;
  Metrics& metrics = dispatcher_.metrics();
  attempt.ended = true;
  EndAttempt(id);
  const bool success = finish.outcome == AttemptFinish::Outcome::kSucceeded;
  if (!success) {
    metrics.Count("stratus_task_attempts_failed_total", name_, FailureClass(result));
    if (series_) series_->Count(end, QueueSeries::kFailed);
  }
  throttle_ = AdaptThrottle(throttle_, queue_.rate_limits, result, end, dispatcher_.options().max_queue_hold);
  Json log = {{"event", "task.attempt"},
              {"queue", name_},
              {"task", id},
              {"attempt", finish.dispatch_count},
              {"status", finish.http_status}};
  if (!result.error.empty()) log["error"] = result.error;
  if (!recorded.ok()) {
    const Status st = recorded.status();
    const Code c = st.code();
    if (ReasonOf(st) == StoreReason::kLeaseLost) {
      // Not ours to record: the new owner retries the task (at-least-once).
      log["record_error"] = st.message();
      LogJson(std::move(log));
      return LeaseLost();
    }
    if (c != Code::kNotFound && c != Code::kFailedPrecondition) {
      // The outcome is not durable: the task stays as AttemptStart left it (due at `due`)
      // and goes again once the store answers.
      log["record_error"] = st.message();
      if (!pending_.count(id)) Schedule(id, attempt.due);
      throttle_.hold_until = std::max(throttle_.hold_until, end + kStoreRetryDelay);
    }
  } else {
    switch (finish.outcome) {
      case AttemptFinish::Outcome::kSucceeded:
        metrics.Count("stratus_tasks_succeeded_total", name_);
        if (series_) series_->Count(end, QueueSeries::kSucceeded);
        log["outcome"] = "succeeded";
        break;
      case AttemptFinish::Outcome::kRetry:
        metrics.Count("stratus_tasks_retried_total", name_);
        if (series_) series_->Count(end, QueueSeries::kRetried);
        log["outcome"] = "retry";
        log["next"] = FormatTimestamp(finish.next_schedule_time);
        // This commit is the newest word on the task: it overrides anything deferred.
        Schedule(id, finish.next_schedule_time);
        forced_.erase(id);
        break;
      case AttemptFinish::Outcome::kDeadLetter:
        metrics.Count("stratus_tasks_dead_lettered_total", name_);
        if (series_) series_->Count(end, QueueSeries::kDeadLettered);
        log["outcome"] = "dead_letter";
        log["reason"] = finish.dead_reason;
        break;
    }
  }
  LogJson(std::move(log));
  Pump();
}

void QueueRunner::LeaseLost() {
  // Counted even when the runner was stopped already (the coordinator noticed first).
  dispatcher_.LeaseRefused(name_, epoch_);
  if (shut_down_) return;
  shut_down_ = true;
  timer_.cancel();
  due_.clear();
  pending_.clear();
  forced_.clear();
  deferred_.clear();
  UpdateGauges();
}

void QueueRunner::Threw(const std::shared_ptr<InFlight>& attempt, const std::exception_ptr& error) {
  const std::string what = Describe(error);
  const std::string& id = attempt->id;
  const Micros now = dispatcher_.clock().Now();
  try {
    LogJson({{"event", "task.attempt_error"}, {"queue", name_}, {"task", id}, {"error", what}});
    dispatcher_.metrics().Count("stratus_task_attempt_errors_total", name_);
    if (dispatcher_.options().abort_on_attempt_error) std::abort();  // debug builds: a bug to see
    if (attempt->ended || attempt->finish) {
      // The outcome was written: free the slot if that did not happen yet, and make sure a
      // retry the store holds is in the index.
      if (!attempt->ended) {
        attempt->ended = true;
        EndAttempt(id);
      }
      if (attempt->finish && attempt->finish->outcome == AttemptFinish::Outcome::kRetry && !pending_.count(id) &&
          !in_flight_.count(id)) {
        Schedule(id, attempt->finish->next_schedule_time);
      }
      Pump();
      return;
    }
    if (!attempt->task) {
      // Nothing was started durably: the task is still due at `due`; go again after a moment.
      StartFailed(*attempt, Internal("attempt failed: " + what));
      return;
    }
    // Started, not finished: record it as a failed attempt (no response), so it is retried on
    // the queue's schedule like any other failure.
    http::ClientResult failed;
    failed.failure = http::ClientResult::Failure::kProtocol;
    failed.error = "internal error: " + what;
    AttemptFinish finish = DecideOutcome(queue_, *attempt->task, failed, now);
    finish.name = name_ + "/tasks/" + id;
    finish.epoch = epoch_;
    attempt->finish = finish;
    Mutation done = finish;
    dispatcher_.store().Write(std::move(done), now,
                              [self = shared_from_this(), attempt, failed, now](StatusOr<WriteResult> r) {
                                auto recorded = std::make_shared<StatusOr<WriteResult>>(std::move(r));
                                asio::post(self->loop_, [self, attempt, failed, recorded, now] {
                                  self->Finished(*attempt, *attempt->finish, failed, *recorded, now);
                                });
                              });
  } catch (const std::exception& e) {
    // Even the recovery failed: free the slot and keep the task at its time.
    LogJson({{"event", "task.attempt_error"}, {"queue", name_}, {"task", id}, {"error", e.what()}});
    if (!attempt->ended) {
      attempt->ended = true;
      EndAttempt(id);
    }
    if (!pending_.count(id) && !in_flight_.count(id)) Schedule(id, attempt->due);
    throttle_.hold_until = std::max(throttle_.hold_until, now + kStoreRetryDelay);
    Pump();
  }
}

}  // namespace stratus
