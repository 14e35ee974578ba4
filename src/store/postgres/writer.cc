#include "store/postgres/writer.h"

#include "common/time.h"
#include "model/storage_codec.h"
#include "store/postgres/rows.h"

namespace stratus::pg {
namespace {

constexpr int kQueueTombstone = 0;
constexpr int kTaskTombstone = 1;

const std::string kTaskColumns = std::string("doc, body, ") + kStateColumns;

std::vector<Param> Concat(std::vector<Param> a, std::vector<Param> b) {
  a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  return a;
}

}  // namespace

StatusOr<WriteResult> Writer::Apply(Mutation& m, Micros now) {
  return std::visit([&](auto& op) { return Do(op, now); }, m);
}

Status Writer::CollectGarbage(Micros now) {
  Micros keep = std::max(options_.task_dedup_window, options_.queue_reuse_window);
  STRATUS_RETURN_IF_ERROR(c_.Prepared("DELETE FROM tombstones WHERE deleted_us < $1", {Param(now - keep)}).status());
  return c_.Prepared("DELETE FROM dead_letters WHERE dead_us < $1", {Param(now - options_.dead_letter_retention)})
      .status();
}

// ---------------------------------------------------------------- queues

// `for_update` locks the row until the commit, so two nodes changing one queue take turns.
StatusOr<std::optional<Queue>> Writer::LoadQueue(const std::string& name, bool for_update) {
  STRATUS_ASSIGN_OR_RETURN(auto r, c_.Prepared(for_update ? "SELECT doc, ext FROM queues WHERE name = $1 FOR UPDATE"
                                                          : "SELECT doc, ext FROM queues WHERE name = $1",
                                               {Param(name)}));
  if (r.rows() == 0) return std::optional<Queue>();
  STRATUS_ASSIGN_OR_RETURN(auto q, DecodeQueueRow(r, 0, 0));
  return std::optional<Queue>(std::move(q));
}

Status Writer::SaveQueue(const Queue& q) {
  return c_
      .Prepared(
          "INSERT INTO queues(name, state, doc, ext) VALUES($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET state = "
          "EXCLUDED.state, doc = EXCLUDED.doc, ext = EXCLUDED.ext",
          {Param(q.name), Param(static_cast<int64_t>(q.state)), Param(storage::EncodeQueue(q)),
           Param(storage::EncodeQueueExtensions(q.stratus))})
      .status();
}

StatusOr<bool> Writer::Tombstoned(int kind, const std::string& name, Micros window, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(auto r, c_.Prepared("SELECT deleted_us FROM tombstones WHERE kind = $1 AND name = $2",
                                               {Param(int64_t{kind}), Param(name)}));
  return r.rows() > 0 && r.Int(0, 0) + window > now;
}

Status Writer::Tombstone(int kind, const std::string& name, Micros now) {
  return c_
      .Prepared(
          "INSERT INTO tombstones(kind, name, deleted_us) VALUES($1, $2, $3) ON CONFLICT (kind, name) DO UPDATE SET "
          "deleted_us = EXCLUDED.deleted_us",
          {Param(int64_t{kind}), Param(name), Param(now)})
      .status();
}

// Tombstones and deletes the queue's tasks created at or before `until`.
Status Writer::DropTasks(const std::string& queue, Micros until, Micros now) {
  STRATUS_RETURN_IF_ERROR(
      c_.Prepared("INSERT INTO tombstones(kind, name, deleted_us) SELECT 1, queue || '/tasks/' || id, "
                  "$1 FROM tasks WHERE queue = $2 AND create_us <= $3 ON CONFLICT (kind, name) DO "
                  "UPDATE SET deleted_us = EXCLUDED.deleted_us",
                  {Param(now), Param(queue), Param(until)})
          .status());
  return c_.Prepared("DELETE FROM tasks WHERE queue = $1 AND create_us <= $2", {Param(queue), Param(until)}).status();
}

// A missing queue has no row to lock, so two nodes may both find it missing: the one whose
// insert loses (it waits for the other's commit) applies the update again over the row the
// other committed, as if it had come second, instead of overwriting it.
StatusOr<WriteResult> Writer::Do(QueueUpdate& op, Micros now) {
  for (;;) {
    STRATUS_ASSIGN_OR_RETURN(auto current, LoadQueue(op.name, true));
    STRATUS_ASSIGN_OR_RETURN(auto recently, Tombstoned(kQueueTombstone, op.name, options_.queue_reuse_window, now));
    STRATUS_ASSIGN_OR_RETURN(auto next, op.apply(current ? &*current : nullptr, recently));
    if (current) {
      STRATUS_RETURN_IF_ERROR(SaveQueue(next));
      return WriteResult{std::move(next), std::nullopt};
    }
    STRATUS_ASSIGN_OR_RETURN(
        auto r,
        c_.Prepared("INSERT INTO queues(name, state, doc, ext) VALUES($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                    {Param(next.name), Param(static_cast<int64_t>(next.state)), Param(storage::EncodeQueue(next)),
                     Param(storage::EncodeQueueExtensions(next.stratus))}));
    if (r.Changes() > 0) return WriteResult{std::move(next), std::nullopt};
  }
}

StatusOr<WriteResult> Writer::Do(QueuePurge& op, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(auto current, LoadQueue(op.name, true));
  if (!current) return StoreError(StoreReason::kQueueMissing);
  STRATUS_RETURN_IF_ERROR(DropTasks(op.name, op.purge_time, now));
  Queue q = std::move(*current);
  q.purge_time = op.purge_time;
  STRATUS_RETURN_IF_ERROR(SaveQueue(q));
  return WriteResult{std::move(q), std::nullopt};
}

StatusOr<WriteResult> Writer::Do(QueueDelete& op, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(auto current, LoadQueue(op.name, true));
  if (!current) return StoreError(StoreReason::kQueueMissing);
  STRATUS_RETURN_IF_ERROR(DropTasks(op.name, INT64_MAX, now));
  STRATUS_RETURN_IF_ERROR(c_.Prepared("DELETE FROM dead_letters WHERE queue = $1", {Param(op.name)}).status());
  STRATUS_RETURN_IF_ERROR(c_.Prepared("DELETE FROM queues WHERE name = $1", {Param(op.name)}).status());
  STRATUS_RETURN_IF_ERROR(Tombstone(kQueueTombstone, op.name, now));
  return WriteResult{};
}

// ---------------------------------------------------------------- task rows

// A new task `id` may go into `queue`: the queue exists and no task there has the id.
Status Writer::CheckRoomFor(const std::string& queue, const std::string& id) {
  STRATUS_ASSIGN_OR_RETURN(auto q, LoadQueue(queue, false));
  if (!q) return StoreError(StoreReason::kQueueMissing);
  STRATUS_ASSIGN_OR_RETURN(auto r,
                           c_.Prepared("SELECT 1 FROM tasks WHERE queue = $1 AND id = $2", {Param(queue), Param(id)}));
  return r.rows() > 0 ? StoreError(StoreReason::kTaskExists) : Status::Ok();
}

StatusOr<std::optional<Task>> Writer::LoadTask(const std::string& name) {
  auto [queue, id] = SplitTaskName(name);
  STRATUS_ASSIGN_OR_RETURN(auto r,
                           c_.Prepared("SELECT " + kTaskColumns + " FROM tasks WHERE queue = $1 AND id = $2 FOR UPDATE",
                                       {Param(queue), Param(id)}));
  if (r.rows() == 0) return std::optional<Task>();
  STRATUS_ASSIGN_OR_RETURN(auto task, DecodeTaskRow(r, 0, 0));
  return std::optional<Task>(std::move(task));
}

Status Writer::InsertTask(const Task& t, Micros create_us) {
  auto [queue, id] = SplitTaskName(t.name);
  // Another node may insert the same name between CheckRoomFor and here: its row wins (this
  // insert waits for its commit) and this create answers ALREADY_EXISTS, not a key violation.
  static const std::string sql = std::string("INSERT INTO tasks(queue, id, create_us, doc, body, ") + kStateColumns +
                                 ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
                                 "ON CONFLICT (queue, id) DO NOTHING";
  STRATUS_ASSIGN_OR_RETURN(
      auto r, c_.Prepared(sql, Concat({Param(queue), Param(id), Param(create_us), Param(storage::EncodeTask(t, false)),
                                       Param::Bytes(TaskBody(t))},
                                      StateParams(t))));
  return r.Changes() > 0 ? Status::Ok() : StoreError(StoreReason::kTaskExists);
}

Status Writer::SaveState(const Task& t) {
  auto [queue, id] = SplitTaskName(t.name);
  return c_
      .Prepared(
          "UPDATE tasks SET schedule_us = $1, exec_count = $2, prev_response = $3, dispatch_count = $4, "
          "response_count = $5, first_dispatch_us = $6, last_schedule_us = $7, last_dispatch_us = $8, "
          "last_response_us = $9, last_code = $10, last_message = $11 WHERE queue = $12 AND id = $13",
          Concat(StateParams(t), {Param(queue), Param(id)}))
      .status();
}

// A task that finished (success or dead letter): gone, its name held for the de-dup window.
// One statement (a data-modifying WITH runs whether or not it is read): one round trip.
Status Writer::RetireTask(const std::string& name, Micros now) {
  auto [queue, id] = SplitTaskName(name);
  return c_
      .Prepared(
          "WITH gone AS (DELETE FROM tasks WHERE queue = $1 AND id = $2) INSERT INTO tombstones(kind, name, "
          "deleted_us) VALUES(1, $3, $4) ON CONFLICT (kind, name) DO UPDATE SET deleted_us = EXCLUDED.deleted_us",
          {Param(queue), Param(id), Param(name), Param(now)})
      .status();
}

// ---------------------------------------------------------------- task mutations

StatusOr<WriteResult> Writer::Do(TaskCreate& op, Micros now) {
  auto [queue, id] = SplitTaskName(op.task.name);
  // The three preconditions in one round trip, refused in the same order as CheckRoomFor and
  // Tombstoned would.
  STRATUS_ASSIGN_OR_RETURN(auto r, c_.Prepared("SELECT EXISTS(SELECT 1 FROM queues WHERE name = $1), EXISTS(SELECT 1 "
                                               "FROM tasks WHERE queue = $1 AND id = $2), (SELECT deleted_us FROM "
                                               "tombstones WHERE kind = 1 AND name = $3)",
                                               {Param(queue), Param(id), Param(op.task.name)}));
  if (r.Text(0, 0) != "t") return StoreError(StoreReason::kQueueMissing);
  if (r.Text(0, 1) == "t") return StoreError(StoreReason::kTaskExists);
  if (!r.IsNull(0, 2) && r.Int(0, 2) + options_.task_dedup_window > now) {
    return StoreError(StoreReason::kTaskNameTombstoned);
  }
  STRATUS_RETURN_IF_ERROR(InsertTask(op.task, now));
  return WriteResult{std::nullopt, std::move(op.task)};
}

StatusOr<WriteResult> Writer::Do(TaskDelete& op, Micros now) {
  auto [queue, id] = SplitTaskName(op.name);
  STRATUS_ASSIGN_OR_RETURN(auto r,
                           c_.Prepared("DELETE FROM tasks WHERE queue = $1 AND id = $2", {Param(queue), Param(id)}));
  if (r.Changes() == 0) return StoreError(StoreReason::kTaskMissing);
  STRATUS_RETURN_IF_ERROR(Tombstone(kTaskTombstone, op.name, now));
  return WriteResult{};
}

StatusOr<WriteResult> Writer::Do(TaskRun& op, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(auto task, LoadTask(op.name));
  if (!task) return StoreError(StoreReason::kTaskMissing);
  task->schedule_time = now;
  STRATUS_RETURN_IF_ERROR(SaveState(*task));
  return WriteResult{std::nullopt, std::move(*task)};
}

// A fenced attempt write goes through only while its queue's lease still has `epoch`. The
// lease row stays share-locked until the commit, so a takeover (which bumps the epoch) waits
// for this transaction or this one sees the new epoch: never both owners' writes.
Status Writer::CheckEpoch(const std::string& task_name, int64_t epoch) {
  if (epoch == 0) return Status::Ok();
  auto [queue, id] = SplitTaskName(task_name);
  STRATUS_ASSIGN_OR_RETURN(auto r,
                           c_.Prepared("SELECT epoch FROM queue_leases WHERE queue = $1 FOR SHARE", {Param(queue)}));
  if (r.rows() == 0 || r.Int(0, 0) != epoch) return StoreError(StoreReason::kLeaseLost);
  return Status::Ok();
}

StatusOr<WriteResult> Writer::Do(AttemptStart& op, Micros now) {
  STRATUS_RETURN_IF_ERROR(CheckEpoch(op.name, op.epoch));
  STRATUS_ASSIGN_OR_RETURN(auto task, LoadTask(op.name));
  if (!task) return StoreError(StoreReason::kTaskMissing);
  Task& t = *task;
  if (t.schedule_time != op.schedule_time) return StoreError(StoreReason::kTaskRescheduled);
  t.dispatch_count += 1;
  if (!t.first_attempt) t.first_attempt = Attempt{0, now, 0, std::nullopt};
  t.last_attempt = Attempt{t.schedule_time, now, 0, std::nullopt};
  STRATUS_RETURN_IF_ERROR(SaveState(t));
  return WriteResult{std::nullopt, std::move(t)};
}

StatusOr<WriteResult> Writer::Do(AttemptFinish& op, Micros now) {
  STRATUS_RETURN_IF_ERROR(CheckEpoch(op.name, op.epoch));
  STRATUS_ASSIGN_OR_RETURN(auto task, LoadTask(op.name));
  if (!task) return StoreError(StoreReason::kTaskMissing);  // deleted while in flight
  Task& t = *task;
  if (t.dispatch_count != op.dispatch_count || !t.last_attempt ||
      t.last_attempt->dispatch_time != op.attempt.dispatch_time) {
    return StoreError(StoreReason::kTaskReplaced);
  }
  if (op.outcome == AttemptFinish::Outcome::kSucceeded) {
    STRATUS_RETURN_IF_ERROR(RetireTask(op.name, now));
    return WriteResult{};
  }
  RecordFailedAttempt(op, t);
  if (op.outcome == AttemptFinish::Outcome::kRetry) {
    t.schedule_time = op.next_schedule_time;
    STRATUS_RETURN_IF_ERROR(SaveState(t));
    return WriteResult{std::nullopt, std::move(t)};
  }
  auto [queue, id] = SplitTaskName(op.name);
  STRATUS_RETURN_IF_ERROR(
      c_.Prepared("INSERT INTO dead_letters(queue, id, dead_us, doc, body, reason, status, headers, response) "
                  "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (queue, id) DO UPDATE SET dead_us = "
                  "EXCLUDED.dead_us, doc = EXCLUDED.doc, body = EXCLUDED.body, reason = EXCLUDED.reason, status = "
                  "EXCLUDED.status, headers = EXCLUDED.headers, response = EXCLUDED.response",
                  {Param(queue), Param(id), Param(now), Param(storage::EncodeTask(t, true)), Param::Bytes(TaskBody(t)),
                   Param(op.dead_reason), Param(int64_t{op.http_status}), Param(HeadersJson(op.response_headers)),
                   Param::Bytes(op.response_body)})
          .status());
  STRATUS_RETURN_IF_ERROR(RetireTask(op.name, now));
  return WriteResult{std::nullopt, std::move(t)};
}

StatusOr<WriteResult> Writer::Do(DeadLetterRetry& op, Micros now) {
  auto [queue, id] = SplitTaskName(op.name);
  STRATUS_ASSIGN_OR_RETURN(auto r,
                           c_.Prepared("SELECT doc, body FROM dead_letters WHERE queue = $1 AND id = $2 FOR UPDATE",
                                       {Param(queue), Param(id)}));
  if (r.rows() == 0) return StoreError(StoreReason::kDeadLetterMissing);
  STRATUS_ASSIGN_OR_RETURN(auto task, DecodeTaskDoc(r.Text(0, 0), r.Bytes(0, 1)));
  STRATUS_RETURN_IF_ERROR(CheckRoomFor(queue, id));
  Task t = std::move(task);
  t.schedule_time = now;
  t.create_time = now / kMicrosPerSecond * kMicrosPerSecond;
  t.dispatch_count = t.response_count = t.execution_count = t.previous_response = 0;
  t.first_attempt.reset();
  t.last_attempt.reset();
  STRATUS_RETURN_IF_ERROR(InsertTask(t, now));
  STRATUS_RETURN_IF_ERROR(
      c_.Prepared("DELETE FROM dead_letters WHERE queue = $1 AND id = $2", {Param(queue), Param(id)}).status());
  STRATUS_RETURN_IF_ERROR(
      c_.Prepared("DELETE FROM tombstones WHERE kind = 1 AND name = $1", {Param(op.name)}).status());
  return WriteResult{std::nullopt, std::move(t), 1};
}

StatusOr<WriteResult> Writer::Do(DeadLetterDelete& op, Micros) {
  auto [queue, id] = SplitTaskName(op.name);
  if (queue.empty()) {  // a queue name: all of its dead letters
    STRATUS_ASSIGN_OR_RETURN(auto r, c_.Prepared("DELETE FROM dead_letters WHERE queue = $1", {Param(op.name)}));
    return WriteResult{std::nullopt, std::nullopt, r.Changes()};
  }
  STRATUS_ASSIGN_OR_RETURN(
      auto r, c_.Prepared("DELETE FROM dead_letters WHERE queue = $1 AND id = $2", {Param(queue), Param(id)}));
  if (r.Changes() == 0) return StoreError(StoreReason::kDeadLetterMissing);
  return WriteResult{std::nullopt, std::nullopt, 1};
}

}  // namespace stratus::pg
