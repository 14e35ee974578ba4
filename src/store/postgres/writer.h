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

  // The common mutations (a task's create, an attempt's start and its success) are each ONE
  // statement that checks its preconditions and writes, answering what it found, so the store
  // can pipeline a batch of them: OneStatement gives that statement for `m` (nullopt for the
  // others), Answer turns the statement's result into the mutation's. Prepare readies them on
  // the connection (outside a pipeline; once per connection).
  struct Statement {
    const std::string* sql;
    std::vector<Param> params;
  };
  std::optional<Statement> OneStatement(const Mutation& m, Micros now) const;
  StatusOr<WriteResult> Answer(Mutation& m, const Result& r);
  Status Prepare();

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
