// The mutations of the embedded store, applied on its writer thread inside the open
// transaction. Every precondition is checked before anything is written, so a failed
// mutation leaves nothing behind and needs no savepoint.
//
// The writer is the only thing that changes the file, so it keeps what it last wrote in
// memory: queues by name, and recently written tasks (bounded), which is how an attempt's
// start and finish find their task without reading and parsing its row. After a rollback
// Forget() drops both, since they may hold what was never committed.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/sqlite/db.h"
#include "stratus/store.h"

namespace stratus::sqlite {

class Writer {
 public:
  Writer(Db& db, const StoreOptions& options) : db_(db), options_(options) {}

  // `doc` is the task document of a TaskCreate, encoded before it reached the writer thread
  // (empty for other mutations).
  StatusOr<WriteResult> Apply(Mutation& m, Micros now, const std::string& doc);
  Status CollectGarbage(Micros now);
  void Forget();

 private:
  StatusOr<WriteResult> Create(TaskCreate& op, Micros now, const std::string& doc);
  StatusOr<WriteResult> Do(QueueUpdate& op, Micros now);
  StatusOr<WriteResult> Do(QueuePurge& op, Micros now);
  StatusOr<WriteResult> Do(QueueDelete& op, Micros now);
  StatusOr<WriteResult> Do(TaskCreate& op, Micros now);
  StatusOr<WriteResult> Do(TaskDelete& op, Micros now);
  StatusOr<WriteResult> Do(TaskRun& op, Micros now);
  StatusOr<WriteResult> Do(AttemptStart& op, Micros now);
  StatusOr<WriteResult> Do(AttemptFinish& op, Micros now);
  StatusOr<WriteResult> Do(DeadLetterRetry& op, Micros now);
  StatusOr<WriteResult> Do(DeadLetterDelete& op, Micros now);

  StatusOr<std::optional<Queue>> LoadQueue(const std::string& name);
  Status SaveQueue(const Queue& q);
  StatusOr<bool> Tombstoned(int kind, const std::string& name, Micros window, Micros now);
  Status Tombstone(int kind, const std::string& name, Micros now);
  Status DropTasks(const std::string& queue, Micros until, Micros now);

  Status CheckRoomFor(const std::string& queue, const std::string& id);
  StatusOr<std::optional<Task>> LoadTask(const std::string& name);
  Status InsertTask(Task& t, Micros create_us, const std::string* doc);  // doc: encoded already, or null
  Status SaveState(const Task& t);  // the state columns: the document never changes after the create
  Status DeleteTaskRow(const std::string& name);
  Status RetireTask(const std::string& name, Micros now);
  void Remember(const Task& t);
  void Forget(const std::string& task);

  Db& db_;
  const StoreOptions& options_;
  std::unordered_map<std::string, Queue> queues_;
  std::unordered_map<std::string, Task> tasks_;
  std::deque<std::string> task_order_;  // oldest first, for eviction; may name forgotten tasks
  size_t task_bytes_ = 0;
};

}  // namespace stratus::sqlite
