// The scheduling state of one queue, owned by one event loop (see dispatcher.h).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "http/client.h"
#include "stratus/model.h"

namespace stratus {

class Dispatcher;

class QueueRunner : public std::enable_shared_from_this<QueueRunner> {
 public:
  QueueRunner(Dispatcher& dispatcher, asio::io_context& loop, http::HttpClient& client, Queue queue);

  // Each runs the change on the runner's loop.
  void PostConfigure(Queue queue);
  void PostSchedule(std::string id, Micros due, bool run_now);
  void PostRemove(std::string id);
  void PostReload();  // re-read this queue's tasks from the store (after a purge)
  void PostShutdown();

  const std::string& name() const { return name_; }
  // Gauges, readable from any thread.
  int64_t depth() const { return depth_.load(); }
  int64_t in_flight() const { return in_flight_n_.load(); }
  Micros earliest_due() const { return earliest_due_.load(); }

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
  void OnThrottled(int status, Micros retry_after, Micros now);
  asio::awaitable<void> Attempt(std::string id, Micros due);

  Dispatcher& dispatcher_;
  asio::io_context& loop_;
  http::HttpClient& client_;
  std::string name_;
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
  double rate_ = 0;  // effective rate: the configured one, lowered after throttling answers
  Micros refilled_at_ = 0;
  Micros hold_until_ = 0;  // a Retry-After pause of the whole queue

  asio::steady_timer timer_;
  Micros timer_at_ = 0;  // 0: not armed

  std::atomic<int64_t> depth_{0};
  std::atomic<int64_t> in_flight_n_{0};
  std::atomic<Micros> earliest_due_{0};
};

}  // namespace stratus
