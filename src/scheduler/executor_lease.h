// The Cloud Scheduler executor in a cluster (docs/cluster.md, "Cloud Scheduler jobs"): every
// node answers the jobs API from the shared store, and exactly one node at a time runs the
// executor, the one holding the executor lease.
//
// The lease is the queue_leases row named kExecutorLease (no queue name can be "scheduler":
// queue names hold "/queues/"), taken, renewed and freed like a queue's, with its own fencing
// epoch. Every tick (a fifth of the lease) a node that holds it renews it, and a node that
// does not tries to take it when it is free or expired (first come; the table decides). A
// term starts an Executor of its own whose RecordRun carries the term's epoch, so a node that
// stalled past its lease cannot record a run over the new holder's; a refused record ends the
// term at once. A node that cannot renew ends its term when its last renewal runs out by its
// own clock. Stop (graceful shutdown) ends the term, frees the lease and publishes
// kLeaseFreed, so another node takes the executor at once instead of after a lease.
//
// Changes made through any node arrive as cluster changes (OnChange, from the listener): the
// holder reloads the job from the store and applies it. jobs.run is recorded in the job's row
// before the call answers (JobStore::RequestRun): the holder takes the recorded runs when the
// notification comes, and a term takes every run left in the rows when it starts, so a run
// asked while no node held the executor (a takeover after a crash) is executed once by the
// next holder. After the listener reconnects, Resync reads every job (and its runs) again.
//
// Threads: Tick runs on the lease's own thread (Start) or the caller's (tests); OnChange and
// Resync on the listener's; JobEvents from the API's loops. Executors of ended terms stay
// alive (stopped) until this object goes, as their last coroutines may still be on the loop.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/changes.h"
#include "cluster/lease_table.h"
#include "common/asio.h"
#include "common/clock.h"
#include "scheduler/executor.h"
#include "scheduler/job.h"

namespace stratus::scheduler {

inline constexpr const char* kExecutorLease = "scheduler";

struct ExecutorLeaseOptions {
  std::string node;                     // this node's id, the coordinator's (Leave frees this lease too)
  Micros lease = 5 * kMicrosPerSecond;  // --lease
};

class ExecutorLease final : public JobEvents {
 public:
  // Builds the executor of a term: its options.epoch = `epoch` and options.on_fenced = `fenced`.
  using Factory = std::function<std::unique_ptr<Executor>(int64_t epoch, std::function<void()> fenced)>;
  // Sends a change to every node, this one included (PgJobStore::Publish).
  using Publish = std::function<Status(const cluster::Change&)>;

  ExecutorLease(cluster::LeaseTable& table, JobStore& store, const Clock& clock, Factory make, Publish publish,
                ExecutorLeaseOptions options);
  ~ExecutorLease() override;

  // One round: renew the lease held, or take it when free or expired and start a term.
  void Tick();
  // Tick now, then every lease/5 on a thread of its own.
  void Start();
  // Graceful: ends the term (executions in flight get the executor's stop_wait), frees the
  // lease and tells the other nodes.
  void Stop();
  void Wake();

  // A change committed by any node (the listener's thread).
  void OnChange(const cluster::Change& change);
  // Reads every job again into the running executor (after the listener reconnected).
  void Resync();

  // JobEvents for this node's SchedulerService: a create, update, pause, resume, delete or
  // run reaches the executing node through the store's own notification (sent in the
  // mutation's transaction; RequestRun for a run), so nothing is done here.
  void Changed(const Job& job) override;
  void Deleted(const std::string& name) override;
  void RunNow(const Job& job) override;

  // The epoch of the term running here, if any.
  std::optional<int64_t> epoch() const;
  // Its /metrics families: stratus_scheduler_executor_held (0/1) and, while held,
  // stratus_scheduler_executor_epoch.
  void AppendMetrics(std::string* out) const;

 private:
  void Loop();
  // Ends the running term (stops its executor). With mu_ not held.
  void EndTerm(const char* why);
  Executor* Current() const;
  // Takes the runs recorded for `name` (JobStore::TakeRuns under `epoch`) and starts them on
  // `exec`; a refusal for a stale epoch ends the term at the next tick.
  void RunPending(Executor* exec, int64_t epoch, const std::string& name);

  cluster::LeaseTable& table_;
  JobStore& store_;
  const Clock& clock_;
  const Factory make_;
  const Publish publish_;
  const ExecutorLeaseOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  bool stopping_ = false;
  std::unique_ptr<Executor> current_;
  int64_t epoch_ = 0;          // of current_
  Micros valid_until_ = 0;     // our clock: the start of the last renewal that succeeded + lease
  int64_t fenced_epoch_ = 0;   // a record of this epoch was refused
  int64_t release_epoch_ = 0;  // a term that ended here while the row may still name this node
  std::vector<std::unique_ptr<Executor>> ended_;
  std::thread thread_;
};

}  // namespace stratus::scheduler
