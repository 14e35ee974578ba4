// The mutations of the PostgreSQL store, applied on its writer thread inside the open
// transaction. Every precondition is read before anything is written. Unlike the embedded
// writer it keeps nothing in memory between transactions: another node may change any row.
#pragma once

#include <string>

#include "store/postgres/pg.h"
#include "stratus/store.h"

namespace stratus::pg {

class Writer {
 public:
  Writer(Conn& c, const StoreOptions& options) : c_(c), options_(options) {}

  StatusOr<WriteResult> Apply(Mutation& m, Micros now);
  Status CollectGarbage(Micros now);

 private:
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

  StatusOr<std::optional<Queue>> LoadQueue(const std::string& name, bool for_update);
  Status SaveQueue(const Queue& q);
  StatusOr<bool> Tombstoned(int kind, const std::string& name, Micros window, Micros now);
  Status Tombstone(int kind, const std::string& name, Micros now);
  Status DropTasks(const std::string& queue, Micros until, Micros now);
  Status CheckRoomFor(const std::string& queue, const std::string& id);
  StatusOr<std::optional<Task>> LoadTask(const std::string& name);
  Status InsertTask(const Task& t, Micros create_us);
  Status SaveState(const Task& t);
  Status RetireTask(const std::string& name, Micros now);
  Status CheckEpoch(const std::string& task_name, int64_t epoch);

  Conn& c_;
  const StoreOptions& options_;
};

}  // namespace stratus::pg
