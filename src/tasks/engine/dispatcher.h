// Push delivery. One QueueRunner per queue, bound to one event loop, owns that queue's
// scheduling state: the due-ordered index of pending task ids, the token bucket
// (maxDispatchesPerSecond, maxBurstSize), the in-flight cap (maxConcurrentDispatches) and the
// slow-down state. Nothing is shared between runners; the Dispatcher only maps names to
// runners and forwards the service's notifications to the owning loop.
//
// Each attempt: AttemptStart is made durable (dispatchCount + 1) before the request leaves,
// and AttemptFinish (success, retry at the next backoff, or dead letter) after the answer.
// A crash between the two repeats that delivery after restart: at-least-once.
//
// Which queues get a runner is the ownership's call (docs/cluster.md): alone on its store
// (SQLite), a node owns every queue at epoch 0; in a cluster (SetCoordinator) it runs only
// the queues whose lease it holds, from Acquired until Lost, and every attempt write carries
// the lease's epoch. A write refused for a stale epoch stops that queue's runner at once.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/oidc.h"
#include "cluster/changes.h"
#include "cluster/coordinator.h"
#include "common/clock.h"
#include "http/client.h"
#include "http/event_loops.h"
#include "stratus/store.h"
#include "tasks/engine/delivery.h"
#include "tasks/engine/metrics.h"
#include "tasks/engine/sender.h"
#include "tasks/service.h"

namespace stratus {

struct DispatchOptions {
  std::string ca_file;  // extra CA for HTTPS targets (tests use a private CA)
  DeliveryOptions delivery;
  Micros max_queue_hold = 60LL * kMicrosPerSecond;  // longest a Retry-After pauses a queue
  // How many queues keep a QueueSeries (QueueSeries::kBytes each, about 0.85 MiB); queues
  // seen after that have none until a tracked queue is deleted.
  size_t series_max_queues = 256;
  // Where requests go; nullptr: http::HttpClient (tests pass a fake).
  SenderFactory make_sender;
  // An exception escaping an attempt is logged, the attempt finished as failed (retried on the
  // queue's schedule) and its slot freed; debug builds also abort, so the bug is seen. Tests of
  // that release behaviour turn the abort off.
#ifdef NDEBUG
  bool abort_on_attempt_error = false;
#else
  bool abort_on_attempt_error = true;
#endif
};

class QueueRunner;
class QueueSeries;

class Dispatcher final : public TaskEvents, public cluster::OwnershipListener {
 public:
  Dispatcher(Store& store, const Clock& clock, http::EventLoops& loops, auth::OidcSigner* signer, Metrics& metrics,
             DispatchOptions options);
  ~Dispatcher() override;

  // Before Start: dispatch only the queues `coordinator` gives this node (and tell it of
  // queues created here, and of writes refused for a stale epoch).
  void SetCoordinator(cluster::Coordinator* coordinator) { coordinator_ = coordinator; }

  // Loads every queue and pending task from the store and starts dispatching (in a
  // cluster: only the queues acquired later).
  Status Start();
  // Starts no new attempts; attempts in flight end with the loops.
  void Stop();

  // TaskEvents: called after the change is durable, from any thread.
  void QueueChanged(const Queue& queue) override;
  void QueuePurged(const Queue& queue) override;
  void QueueDeleted(const std::string& name) override;
  void TaskCreated(const std::string& task_name, Micros due) override;
  void TaskScheduled(const std::string& task_name, Micros due, bool run_now) override;
  void TaskRemoved(const std::string& task_name) override;

  // cluster::OwnershipListener, on the coordinator's thread (blocking reads are fine there).
  void Acquired(const std::string& queue, int64_t epoch) override;
  void Lost(const std::string& queue) override;
  int64_t InFlight(const std::string& queue) override;

  // A change another node committed (the store's notifications), from any thread but a loop.
  void ApplyRemote(const cluster::Change& change);
  // The notifications may have missed changes (their connection was lost): read every queue
  // this node runs again.
  void ResyncRemote();
  // A runner's write at `epoch` was refused for a stale lease: stop dispatching `queue`.
  void LeaseRefused(const std::string& queue, int64_t epoch);

  // The last hour of a queue this dispatcher runs; the pointer keeps it alive. nullptr for
  // a queue it does not know (missing, deleted) or one past series_max_queues.
  std::shared_ptr<const QueueSeries> Series(const std::string& queue);

  Store& store() { return store_; }
  const Clock& clock() const { return clock_; }
  Metrics& metrics() { return metrics_; }
  auth::OidcSigner* signer() { return signer_; }
  const DispatchOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(); }

 private:
  std::shared_ptr<QueueRunner> Find(const std::string& queue);
  // The runner of `queue`, made at `epoch` when there is none.
  std::shared_ptr<QueueRunner> Ensure(const Queue& queue, int64_t epoch);
  // Removes the runner of `queue` and stops it; true when there was one.
  bool Remove(const std::string& queue);
  // Reads the queue's pending tasks into its runner.
  void Load(const std::shared_ptr<QueueRunner>& runner);
  // Reads the queue and posts it to its runner, under configure_mu_: in a cluster configs
  // come from several threads (API writes, notifications, acquisitions), and a read posted
  // late would undo a newer one (a pause through another node, say).
  void Reconfigure(const std::shared_ptr<QueueRunner>& runner);
  // tasks.run of a task whose queue this node does not dispatch: posted to its runner, or,
  // in a cluster with no runner here, kept for the node's next acquisition of the queue (the
  // run mark lives in the owner's memory only, so a request made while the queue had no owner
  // or a stalled one would otherwise be lost).
  void RunRequested(const std::string& task_name, Micros due);
  void Gauges(std::vector<Metrics::Gauge>* out);

  Store& store_;
  const Clock& clock_;
  http::EventLoops& loops_;
  auth::OidcSigner* signer_;
  Metrics& metrics_;
  DispatchOptions options_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::vector<std::unique_ptr<Sender>> senders_;  // one per loop
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::mutex configure_mu_;
  std::map<std::string, std::shared_ptr<QueueRunner>> runners_;
  std::vector<std::shared_ptr<QueueRunner>> stopped_;  // removed, attempts maybe still in flight
  cluster::Coordinator* coordinator_ = nullptr;
  // Run requests noted for queues without a runner here (under mu_), oldest first.
  struct NotedRun {
    std::string queue, id;
    Micros due = 0;  // the scheduleTime tasks.run gave the task: it must still have it
    Micros noted = 0;
  };
  std::deque<NotedRun> noted_runs_;
  size_t next_loop_ = 0;
  size_t series_count_ = 0;  // runners with a series
};

}  // namespace stratus
