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
constexpr size_t kDeadLetterBodyBytes = 1024;

std::string FailureClass(const http::ClientResult& r) {
  if (r.failure == http::ClientResult::Failure::kTimeout) return "timeout";
  if (r.failure != http::ClientResult::Failure::kNone) return "connection";
  return std::to_string(r.status / 100) + "xx";
}

// Retry-After as delta-seconds; HTTP-dates are not honoured (stratus documents this).
Micros RetryAfter(const http::ClientResult& r) {
  for (const auto& [k, v] : r.headers) {
    if (!beast::iequals(beast::string_view(k.data(), k.size()), "retry-after")) continue;
    int64_t secs = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec == std::errc() && secs >= 0) return secs * kMicrosPerSecond;
  }
  return 0;
}

}  // namespace

QueueRunner::QueueRunner(Dispatcher& dispatcher, asio::io_context& loop, http::HttpClient& client, Queue queue)
    : dispatcher_(dispatcher), loop_(loop), client_(client), name_(queue.name), queue_(std::move(queue)), timer_(loop) {
  rate_ = queue_.rate_limits.max_dispatches_per_second;
  tokens_ = queue_.rate_limits.max_burst_size;
}

void QueueRunner::PostConfigure(Queue queue) {
  asio::post(loop_, [self = shared_from_this(), q = std::move(queue)]() mutable {
    const double old_rate = self->queue_.rate_limits.max_dispatches_per_second;
    self->queue_ = std::move(q);
    const double new_rate = self->queue_.rate_limits.max_dispatches_per_second;
    if (new_rate != old_rate || self->rate_ > new_rate) self->rate_ = new_rate;
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
    Status st =
        self->dispatcher_.store().ScanTasks(self->name_, [&](TaskKey k) { self->Schedule(k.id, k.schedule_time); });
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
  tokens_ = std::min(burst, tokens_ + rate_ * static_cast<double>(now - refilled_at_) / kMicrosPerSecond);
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
    in_flight_.insert(id);
    asio::co_spawn(loop_, Attempt(id, due), asio::detached);
  }

  const bool running = queue_.state == QueueState::kRunning && now >= hold_until_;
  Micros wake = 0;
  while (running && !due_.empty() && in_flight_.size() < max_in_flight) {
    auto [due, id] = *due_.begin();
    if (due > now) {
      wake = due;
      break;
    }
    if (tokens_ < 1.0) {
      wake = now + static_cast<Micros>((1.0 - tokens_) / std::max(rate_, 1e-6) * kMicrosPerSecond) + 1;
      break;
    }
    tokens_ -= 1.0;
    due_.erase(due_.begin());
    pending_.erase(id);
    forced_.erase(id);
    in_flight_.insert(id);
    asio::co_spawn(loop_, Attempt(id, due), asio::detached);
  }
  if (queue_.state == QueueState::kRunning && now < hold_until_ && !due_.empty()) wake = hold_until_;
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
}

// 429, 503 and other 5xx slow the queue: a Retry-After holds it (at most max_queue_hold),
// otherwise the effective rate halves (down to 1/64 of the configured rate). Successes
// restore the rate step by step (see Attempt).
void QueueRunner::OnThrottled(int status, Micros retry_after, Micros now) {
  const double configured = queue_.rate_limits.max_dispatches_per_second;
  if (retry_after > 0 && (status == 429 || status == 503)) {
    hold_until_ = std::max(hold_until_, now + std::min(retry_after, dispatcher_.options().max_queue_hold));
  } else {
    rate_ = std::max(configured / 64.0, rate_ / 2.0);
  }
}

asio::awaitable<void> QueueRunner::Attempt(std::string id, Micros due) {
  auto self = shared_from_this();  // the runner outlives its attempts
  const std::string task_name = name_ + "/tasks/" + id;
  Store& store = dispatcher_.store();
  Metrics& metrics = dispatcher_.metrics();
  const Clock& clock = dispatcher_.clock();

  Micros start = clock.Now();
  Mutation begin = AttemptStart{task_name, due};
  auto started = co_await WriteAsync(store, std::move(begin), start);
  if (!started.ok()) {
    // NOT_FOUND: deleted or purged; FAILED_PRECONDITION: rescheduled, and the new time was
    // posted (EndAttempt applies it). Anything else is the store failing: keep the task at
    // the time the store has for it and hold the queue a moment.
    Code c = started.status().code();
    EndAttempt(id);
    if (c != Code::kNotFound && c != Code::kFailedPrecondition) {
      LogJson({{"event", "task.start_failed"}, {"queue", name_}, {"task", id}, {"error", started.status().message()}});
      if (!pending_.count(id)) Schedule(id, due);
      hold_until_ = std::max(hold_until_, clock.Now() + kStoreRetryDelay);
    }
    Pump();
    co_return;
  }
  Task task = std::move(*started->task);
  metrics.Count("stratus_tasks_dispatched_total", name_);
  metrics.Observe("stratus_dispatch_lateness_seconds", name_, static_cast<double>(start - due) / kMicrosPerSecond);

  http::ClientResult result;
  auto delivery = BuildDelivery(queue_, task, dispatcher_.signer(), dispatcher_.options().delivery);
  if (!delivery.ok()) {
    result.failure = http::ClientResult::Failure::kRefused;
    result.error = delivery.status().message();
  } else {
    auto timeout = std::chrono::milliseconds(std::max<Micros>(1, delivery->deadline / 1000));
    result = co_await client_.Send(delivery->url, std::move(delivery->request), timeout, delivery->send);
  }
  const Micros end = clock.Now();
  metrics.Observe("stratus_attempt_duration_seconds", name_, static_cast<double>(end - start) / kMicrosPerSecond);

  const bool responded = result.failure == http::ClientResult::Failure::kNone;
  const bool timed_out = result.failure == http::ClientResult::Failure::kTimeout;
  const int status = responded ? result.status : (timed_out ? 504 : 0);
  const bool success = responded && status >= 200 && status < 300;

  AttemptFinish finish;
  finish.name = task_name;
  finish.attempt = *task.last_attempt;
  finish.attempt.response_time = end;
  finish.http_status = status;
  finish.got_response = responded;
  if (responded) {
    finish.attempt.response_status =
        Status(RpcCodeForHttpStatus(status), success ? "" : "HTTP status code " + std::to_string(status));
  } else {
    // Refused: nothing was sent (a malformed request, or a target the policy denies).
    const bool refused = result.failure == http::ClientResult::Failure::kRefused;
    finish.attempt.response_status =
        Status(timed_out ? Code::kDeadlineExceeded : (refused ? Code::kPermissionDenied : Code::kUnavailable),
               result.error.empty() ? "no response" : result.error);
  }
  if (success) finish.attempt.response_status = Status();

  const auto& permanent = queue_.stratus.permanent_failure_statuses;
  const Micros first = task.first_attempt ? task.first_attempt->dispatch_time : start;
  if (success) {
    finish.outcome = AttemptFinish::Outcome::kSucceeded;
  } else if (responded && std::find(permanent.begin(), permanent.end(), status) != permanent.end()) {
    finish.outcome = AttemptFinish::Outcome::kDeadLetter;
    finish.dead_reason = "permanent failure status " + std::to_string(status);
  } else if (!MayRetry(queue_.retry_config, task.dispatch_count, first, end)) {
    finish.outcome = AttemptFinish::Outcome::kDeadLetter;
    finish.dead_reason = "retries exhausted after " + std::to_string(task.dispatch_count) + " attempts";
  } else {
    finish.outcome = AttemptFinish::Outcome::kRetry;
    Micros delay = RetryDelay(queue_.retry_config, task.dispatch_count - 1);
    finish.next_schedule_time = end + std::max(delay, RetryAfter(result));
  }
  if (finish.outcome == AttemptFinish::Outcome::kDeadLetter) {
    finish.response_headers = result.headers;
    finish.response_body = result.body.substr(0, kDeadLetterBodyBytes);
  }

  finish.dispatch_count = task.dispatch_count;
  Mutation done = finish;
  auto recorded = co_await WriteAsync(store, std::move(done), end);
  EndAttempt(id);
  if (!success) {
    metrics.Count("stratus_task_attempts_failed_total", name_, FailureClass(result));
    if (responded && IsThrottlingStatus(status)) OnThrottled(status, RetryAfter(result), end);
  } else if (rate_ < queue_.rate_limits.max_dispatches_per_second) {
    rate_ = std::min(queue_.rate_limits.max_dispatches_per_second,
                     rate_ + queue_.rate_limits.max_dispatches_per_second / 32.0);
  }
  Json log = {
      {"event", "task.attempt"}, {"queue", name_}, {"task", id}, {"attempt", task.dispatch_count}, {"status", status}};
  if (!result.error.empty()) log["error"] = result.error;
  if (!recorded.ok()) {
    Code c = recorded.status().code();
    if (c != Code::kNotFound && c != Code::kFailedPrecondition) {
      // The outcome is not durable: the task stays as AttemptStart left it (due at `due`)
      // and goes again once the store answers.
      log["record_error"] = recorded.status().message();
      if (!pending_.count(id)) Schedule(id, due);
      hold_until_ = std::max(hold_until_, end + kStoreRetryDelay);
    }
  } else {
    switch (finish.outcome) {
      case AttemptFinish::Outcome::kSucceeded:
        metrics.Count("stratus_tasks_succeeded_total", name_);
        log["outcome"] = "succeeded";
        break;
      case AttemptFinish::Outcome::kRetry:
        metrics.Count("stratus_tasks_retried_total", name_);
        log["outcome"] = "retry";
        log["next"] = FormatTimestamp(finish.next_schedule_time);
        // This commit is the newest word on the task: it overrides anything deferred.
        Schedule(id, finish.next_schedule_time);
        forced_.erase(id);
        break;
      case AttemptFinish::Outcome::kDeadLetter:
        metrics.Count("stratus_tasks_dead_lettered_total", name_);
        log["outcome"] = "dead_letter";
        log["reason"] = finish.dead_reason;
        break;
    }
  }
  LogJson(std::move(log));
  Pump();
}

}  // namespace stratus
