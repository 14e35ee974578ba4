// stratus/store.h — where queues and tasks live.
//
// The engine and the API reach storage only through this interface; it builds on the model
// (stratus/model.h) alone and knows nothing of the REST API. Implementations: SQLite
// (src/store/sqlite), embedded, for a single node. Every implementation must pass
// tests/integration/store_test.cc unchanged (add it to kStores there).
//
// Contract:
//  * Write() applies one Mutation atomically and calls `done` only after the change is
//    durable (committed and synced). Concurrent writes may share a commit (group commit);
//    nothing may rely on it. `done` runs on a store thread: post back to your own executor,
//    do not block in it.
//  * A failed precondition (exists, missing, recently deleted) fails only that mutation, with
//    StoreError(reason): a fixed code and a stable StoreReason, never text meant for an API
//    client (the service words reasons for its API). Errors of storage itself are UNAVAILABLE
//    (or INTERNAL for a record that cannot be read); QueueUpdate::apply's own error is
//    returned as it is.
//  * Reads see every write whose `done` has run (read-your-writes across threads).
//  * Reads block; call them off event loops.
//  * Names are full resource names; the store does not validate them.
//  * Health() is what /readyz reports: cheap (no full scan), callable from any thread, and
//    blocking like a read. Not ready while the last commit failed for a storage reason (disk
//    full, I/O error, a corrupt file) until a commit or a probe write succeeds again, or while
//    a read of the database fails.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "stratus/model.h"
#include "stratus/status.h"

namespace stratus {

// Why a store refused a mutation or a read. Each reason has one code (below); the Status
// message is the reason's stable text ("store: queue missing"), which ReasonOf() reads back.
enum class StoreReason : int {
  kNone = 0,             // not a store precondition: storage failed, or QueueUpdate::apply refused
  kQueueMissing,         // NOT_FOUND: no queue of that name
  kTaskMissing,          // NOT_FOUND: no task of that name
  kTaskRecentlyDeleted,  // NOT_FOUND (GetTask): no task, but one had the name within the de-dup window
  kTaskExists,           // ALREADY_EXISTS: a task of that name exists
  kTaskNameTombstoned,   // ALREADY_EXISTS: a task of that name was deleted within the de-dup window
  kTaskRescheduled,      // FAILED_PRECONDITION (AttemptStart): scheduleTime changed meanwhile
  kTaskReplaced,         // FAILED_PRECONDITION (AttemptFinish): not the attempt AttemptStart began
  kDeadLetterMissing,    // NOT_FOUND: no dead letter of that name
  kBadCursor,            // INVALID_ARGUMENT: a page cursor this store did not hand out
  kLeaseLost,            // FAILED_PRECONDITION (AttemptStart/Finish): `epoch` is not the queue's lease now
};

Code StoreReasonCode(StoreReason reason);
std::string_view StoreReasonText(StoreReason reason);
// The Status a store returns for `reason`.
Status StoreError(StoreReason reason);
// The reason a store's Status carries; kNone for any other Status (OK included).
StoreReason ReasonOf(const Status& status);

// "…/queues/q/tasks/t" -> {"…/queues/q", "t"}; a name without "/tasks/" -> {"", name}.
std::pair<std::string, std::string> SplitTaskName(const std::string& name);

// Creates or changes a queue. `apply` gets the stored queue (nullptr when there is none) and
// whether a queue of that name was deleted within the queue-reuse window; it returns the queue
// to store or the error to answer. It runs inside the write transaction: keep it pure.
struct QueueUpdate {
  std::string name;
  std::function<StatusOr<Queue>(const Queue* current, bool recently_deleted)> apply;
};

// Deletes the queue's tasks created at or before `purge_time` and records purge_time;
// kQueueMissing when there is no queue.
struct QueuePurge {
  std::string name;
  Micros purge_time = 0;
};

// Deletes a queue and its tasks; the names are remembered for the reuse/de-dup windows.
// kQueueMissing when there is no queue.
struct QueueDelete {
  std::string name;
};

// Inserts a task. kTaskExists when the name exists, kTaskNameTombstoned when it existed
// within the de-dup window, kQueueMissing when its queue does not exist.
struct TaskCreate {
  Task task;
};

struct TaskDelete {
  std::string name;
};

// Makes a task due now (tasks.run); kTaskMissing when it does not exist.
struct TaskRun {
  std::string name;
};

// Starts an attempt: dispatchCount + 1, lastAttempt {scheduleTime, dispatchTime = now},
// firstAttempt on the first one. kTaskMissing when the task is gone; kTaskRescheduled when
// its scheduleTime is no longer `schedule_time` (it was run or rescheduled meanwhile).
//
// `epoch` (AttemptStart and AttemptFinish): the fencing epoch of the queue lease the
// dispatching node holds (docs/cluster.md). A store shared by several nodes refuses the write
// with kLeaseLost, inside the same transaction, when the queue's lease has another epoch now;
// 0 is unfenced (one node on its own store: the SQLite store ignores the field).
struct AttemptStart {
  std::string name;
  Micros schedule_time = 0;
  int64_t epoch = 0;
};

// Records how an attempt ended.
struct AttemptFinish {
  enum class Outcome { kSucceeded, kRetry, kDeadLetter };
  std::string name;
  Outcome outcome = Outcome::kSucceeded;
  Attempt attempt;                                      // the finished lastAttempt (responseTime, responseStatus)
  int http_status = 0;                                  // 0: no response (connection error); 504 after a deadline
  bool got_response = false;                            // counts toward responseCount
  Micros next_schedule_time = 0;                        // kRetry
  std::string dead_reason;                              // kDeadLetter
  std::map<std::string, std::string> response_headers;  // kDeadLetter
  std::string response_body;                            // kDeadLetter, first KB
  // The attempt being finished, as AttemptStart recorded it: a task deleted and re-created
  // under the same name during the attempt does not match (kTaskReplaced) and is left alone.
  int32_t dispatch_count = 0;
  int64_t epoch = 0;  // as AttemptStart's
};

// What a finished attempt that did not succeed records on its task, the same in every Store:
// responseCount counts responses; executionCount the responses other than 5xx (Google's
// X-CloudTasks-TaskExecutionCount: a 5xx, a timeout or no response at all does not count);
// previousResponse keeps the HTTP status (504 after a timeout, 0 without a response).
inline void RecordFailedAttempt(const AttemptFinish& op, Task& t) {
  if (op.got_response) {
    t.response_count += 1;
    if (op.http_status < 500) t.execution_count += 1;
  }
  t.previous_response = op.http_status;
  t.last_attempt = op.attempt;
}

// Moves a dead letter back into its queue with fresh counts, due now; kTaskExists when a
// live task has its name, kDeadLetterMissing when there is none. `name` is the task name.
struct DeadLetterRetry {
  std::string name;
};

// Deletes one dead letter (`name` is a task name; kDeadLetterMissing when there is none) or
// all of a queue's (`name` is a queue name).
struct DeadLetterDelete {
  std::string name;
};

using Mutation = std::variant<QueueUpdate, QueuePurge, QueueDelete, TaskCreate, TaskDelete, TaskRun, AttemptStart,
                              AttemptFinish, DeadLetterRetry, DeadLetterDelete>;

struct WriteResult {
  std::optional<Queue> queue;  // the queue after QueueUpdate and QueuePurge
  std::optional<Task> task;    // the task after TaskCreate, TaskRun, AttemptStart, DeadLetterRetry
  int64_t count = 0;           // DeadLetterRetry/Delete: how many
};

// A pending task as the scheduler indexes it.
struct TaskKey {
  std::string queue;
  std::string id;
  Micros schedule_time = 0;
};

// Cursors are the store's own; a cursor it did not hand out is kBadCursor.
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // empty: no more
};

struct StoreOptions {
  Micros task_dedup_window = 3600LL * 1'000'000;           // a deleted task's name stays taken this long
  Micros queue_reuse_window = 0;                           // a deleted queue's name stays taken this long
  Micros dead_letter_retention = 7LL * 86400 * 1'000'000;  // dead letters older than this are dropped
};

class Store {
 public:
  using WriteDone = std::function<void(StatusOr<WriteResult>)>;

  virtual ~Store() = default;

  // `now` stamps tombstones and is compared with the de-dup windows.
  virtual void Write(Mutation mutation, Micros now, WriteDone done) = 0;
  // Blocking convenience over Write() for tools and tests.
  StatusOr<WriteResult> WriteSync(Mutation mutation, Micros now);

  // kQueueMissing when there is none.
  virtual StatusOr<Queue> GetQueue(const std::string& name) = 0;
  // Queues under "projects/p/locations/l" in name order; `state` filters when set.
  virtual StatusOr<Page<Queue>> ListQueues(const std::string& parent, std::optional<QueueState> state, int page_size,
                                           const std::string& cursor) = 0;
  // kTaskRecentlyDeleted when the name is in the de-dup window, else kTaskMissing.
  virtual StatusOr<Task> GetTask(const std::string& name, Micros now) = 0;
  // Tasks of a queue in creation order (stable while tasks are rescheduled). Without
  // `with_body`, bodies are left empty.
  virtual StatusOr<Page<Task>> ListTasks(const std::string& queue, int page_size, const std::string& cursor,
                                         bool with_body) = 0;
  // Number of tasks in a queue.
  virtual StatusOr<int64_t> CountTasks(const std::string& queue) = 0;
  // Every pending task of `queue` ("" for every queue), for the scheduler's index.
  virtual Status ScanTasks(const std::string& queue, const std::function<void(TaskKey)>& fn) = 0;
  // Every queue, for the scheduler at start.
  virtual StatusOr<std::vector<Queue>> AllQueues() = 0;

  // Dead letters of a queue, newest first; `name` in GetDeadLetter is the task name.
  virtual StatusOr<Page<DeadLetter>> ListDeadLetters(const std::string& queue, int page_size,
                                                     const std::string& cursor) = 0;
  virtual StatusOr<DeadLetter> GetDeadLetter(const std::string& name) = 0;  // kDeadLetterMissing

  // OK when the store can read and write now; UNAVAILABLE with the reason otherwise.
  virtual Status Health() = 0;

  // Commits what is queued and stops the writer; later writes fail with UNAVAILABLE.
  virtual void Close() = 0;
};

}  // namespace stratus
