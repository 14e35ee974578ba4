// The scheduling state of one queue, owned by one event loop (see dispatcher.h).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "stratus/model.h"
#include "stratus/store.h"
#include "tasks/engine/outcome.h"
#include "tasks/engine/sender.h"
#include "tasks/engine/series.h"

namespace stratus {

class Dispatcher;

class QueueRunner : public std::enable_shared_from_this<QueueRunner> {
 public:
  // `keep_series`: record this queue's QueueSeries (the Dispatcher caps how many queues do).
  // `epoch`: the queue lease's fencing epoch every attempt write carries (0: one node alone).
  QueueRunner(Dispatcher& dispatcher, asio::io_context& loop, Sender& sender, Queue queue, bool keep_series = true,
              int64_t epoch = 0);

  // Each runs the change on the runner's loop.
  void PostConfigure(Queue queue);
  void PostSchedule(std::string id, Micros due, bool run_now);
  void PostCreated(std::string id, Micros due);  // PostSchedule, counted as created in the series
  // tasks.run for a task loaded with scheduleTime `due`: runs it now if it is still pending
  // with that time (a later attempt moved it on; then the request was served).
  void PostRunIfScheduled(std::string id, Micros due);
  void PostRemove(std::string id);
  void PostReload();  // re-read this queue's tasks from the store (after a purge)
  void PostShutdown();

  const std::string& name() const { return name_; }
  int64_t epoch() const { return epoch_; }
  // Gauges, readable from any thread.
  int64_t depth() const { return depth_.load(); }
  int64_t in_flight() const { return in_flight_n_.load(); }
  Micros earliest_due() const { return earliest_due_.load(); }
  // The last hour of this queue, readable from any thread; nullptr past the Dispatcher's cap.
  const QueueSeries* series() const { return series_.get(); }

 private:
  // Adds or moves a pending task. For a task in flight the change waits in deferred_ until
  // the attempt ends, then applies before the attempt's own outcome (which is newer).
  void Schedule(const std::string& id, Micros due, bool run_now = false);
  // Ends an attempt's in-flight state and applies what arrived meanwhile.
  void EndAttempt(const std::string& id);
  void Pump();
  void ArmTimer(Micros when);
  void Refill(Micros now);
  void UpdateGauges();

  // One attempt, shared by its coroutine and the coroutine's completion handler.
  struct InFlight {
    std::string id;
    Micros due = 0;                       // the scheduleTime it was started for
    std::optional<Task> task;             // once AttemptStart is durable
    std::optional<AttemptFinish> finish;  // once AttemptFinish was written
    bool ended = false;                   // its slot was freed (EndAttempt)
  };
  // Takes a slot and spawns the attempt; its completion handler catches what it throws.
  void Launch(std::string id, Micros due);
  // The I/O of one attempt: the start write, the request, the finish write.
  asio::awaitable<void> Attempt(std::shared_ptr<InFlight> attempt);
  // After AttemptStart failed (`status`): ends the attempt and keeps the task at `due`.
  void StartFailed(InFlight& attempt, const Status& status);
  // After AttemptFinish was written (`recorded`): ends the attempt, counts it, adapts the
  // throttle, schedules a retry and logs.
  void Finished(InFlight& attempt, const AttemptFinish& finish, const http::ClientResult& result,
                const StatusOr<WriteResult>& recorded, Micros end);
  // A write was refused for a stale lease epoch: another node dispatches this queue now.
  // Stops at once (no new attempt) and tells the dispatcher.
  void LeaseLost();
  // The completion handler's path for an exception out of Attempt.
  void Threw(const std::shared_ptr<InFlight>& attempt, const std::exception_ptr& error);

  Dispatcher& dispatcher_;
  asio::io_context& loop_;
  Sender& sender_;
  std::string name_;
  const int64_t epoch_;
  Queue queue_;
  bool shut_down_ = false;

  std::set<std::pair<Micros, std::string>> due_;     // (scheduleTime, id)
  std::unordered_map<std::string, Micros> pending_;  // id -> scheduleTime in due_
  std::unordered_set<std::string> forced_;           // tasks.run: ignore pause and rate
  std::unordered_set<std::string> in_flight_;
  struct Deferred {
    Micros due;
    bool run_now;
  };
  std::unordered_map<std::string, Deferred> deferred_;  // notifications for tasks in flight

  double tokens_ = 0;
  Throttle throttle_;  // the effective rate (lowered after throttling answers) and any hold
  Micros refilled_at_ = 0;

  asio::steady_timer timer_;
  Micros timer_at_ = 0;  // 0: not armed

  std::atomic<int64_t> depth_{0};
  std::atomic<int64_t> in_flight_n_{0};
  std::atomic<Micros> earliest_due_{0};
  std::unique_ptr<QueueSeries> series_;  // written on loop_ only
};

}  // namespace stratus
