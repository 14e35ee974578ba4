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

// Whether a fenced write's lease still has its epoch ($3; 0: not fenced), share-locking the
// lease row until the commit as CheckEpoch does, as column `ok` of CTE `lease`. The store
// locked the batch's lease rows in one order when the transaction began (pg_store.cc).
constexpr const char* kLeaseCte =
    "lease AS (SELECT CASE WHEN $3::bigint = 0 THEN true ELSE COALESCE((SELECT epoch = $3::bigint FROM queue_leases "
    "WHERE queue = $1 FOR SHARE), false) END AS ok)";

// A create: whether the queue is there, whether it inserted, whether the task was there
// before (read only when it did not insert) and whether the name is tombstoned within the
// de-dup window. $1 queue, $2 id, $3 name, $4 create_us, $5 doc, $6 body, $7..$17 the state
// columns, $18 the latest deleted_us outside the window.
const std::string kCreateSql =
    std::string(
        "WITH pre AS (SELECT EXISTS(SELECT 1 FROM queues WHERE name = $1) AS q, (SELECT deleted_us FROM tombstones "
        "WHERE kind = 1 AND name = $3) AS d), ins AS (INSERT INTO tasks(queue, id, create_us, doc, body, ") +
    kStateColumns +
    ") SELECT $1, $2, $4::bigint, $5::text, $6::bytea, $7::bigint, $8::integer, $9::integer, $10::integer, "
    "$11::integer, $12::bigint, $13::bigint, $14::bigint, $15::bigint, $16::integer, $17::text FROM pre WHERE pre.q "
    "AND (pre.d IS NULL OR pre.d <= $18::bigint) ON CONFLICT (queue, id) DO NOTHING RETURNING 1) SELECT pre.q, "
    "EXISTS(SELECT 1 FROM ins), CASE WHEN EXISTS(SELECT 1 FROM ins) THEN false ELSE EXISTS(SELECT 1 FROM tasks WHERE "
    "queue = $1 AND id = $2) END, COALESCE(pre.d > $18::bigint, false) FROM pre";

// An attempt's start: the lease's answer, whether the task is there (read only when it did
// not start), and the task as started (no row's columns when it did not start). $1 queue,
// $2 id, $3 epoch, $4 the schedule_us it was due at, $5 now.
const std::string kStartSql = std::string("WITH ") + kLeaseCte +
                              ", up AS (UPDATE tasks SET dispatch_count = dispatch_count + 1, first_dispatch_us = CASE "
                              "WHEN first_dispatch_us = 0 THEN $5::bigint ELSE first_dispatch_us END, last_schedule_us "
                              "= schedule_us, last_dispatch_us = $5::bigint, last_response_us = 0, last_code = -1, "
                              "last_message = '' WHERE queue = $1 AND id = $2 AND schedule_us = $4::bigint AND (SELECT "
                              "ok FROM lease) RETURNING doc, body, " +
                              kStateColumns +
                              ") SELECT lease.ok, CASE WHEN up.doc IS NULL THEN EXISTS(SELECT 1 FROM tasks WHERE queue "
                              "= $1 AND id = $2) ELSE true END, up.* FROM lease LEFT JOIN up ON true";

// An attempt's success: the task gone, its name tombstoned. Answers the lease's answer,
// whether the task was there (read only when it did not go) and whether it went. $1 queue,
// $2 id, $3 epoch, $4 the dispatch_count and $5 the last_dispatch_us of the attempt, $6
// name, $7 now.
const std::string kSuccessSql =
    std::string("WITH ") + kLeaseCte +
    ", gone AS (DELETE FROM tasks WHERE queue = $1 AND id = $2 AND (SELECT ok FROM lease) "
    "AND dispatch_count = $4::integer AND last_dispatch_us <> 0 AND last_dispatch_us = "
    "$5::bigint RETURNING 1), tomb AS (INSERT INTO tombstones(kind, name, deleted_us) SELECT "
    "1, $6::text, $7::bigint FROM gone ON CONFLICT (kind, name) DO UPDATE SET deleted_us = "
    "EXCLUDED.deleted_us) SELECT lease.ok, CASE WHEN EXISTS(SELECT 1 FROM gone) THEN true "
    "ELSE EXISTS(SELECT 1 FROM tasks WHERE queue = $1 AND id = $2) END, EXISTS(SELECT 1 FROM "
    "gone) FROM lease";

constexpr int kCreateParams = 18;
constexpr int kStartParams = 5;
constexpr int kSuccessParams = 7;

bool True(const Result& r, int col) {
  return !r.IsNull(0, col) && r.Text(0, col) == "t";
}

}  // namespace

Status Writer::Prepare() {
  STRATUS_RETURN_IF_ERROR(c_.Prepare(kCreateSql, kCreateParams));
  STRATUS_RETURN_IF_ERROR(c_.Prepare(kStartSql, kStartParams));
  return c_.Prepare(kSuccessSql, kSuccessParams);
}

std::optional<Writer::Statement> Writer::OneStatement(const Mutation& m, Micros now) const {
  if (const auto* op = std::get_if<TaskCreate>(&m)) {
    const Task& t = op->task;
    auto [queue, id] = SplitTaskName(t.name);
    return Statement{&kCreateSql, Concat(Concat({Param(queue), Param(id), Param(t.name), Param(now),
                                                 Param(storage::EncodeTask(t, false)), Param::Bytes(TaskBody(t))},
                                                StateParams(t)),
                                         {Param(now - options_.task_dedup_window)})};
  }
  if (const auto* op = std::get_if<AttemptStart>(&m)) {
    auto [queue, id] = SplitTaskName(op->name);
    return Statement{&kStartSql, {Param(queue), Param(id), Param(op->epoch), Param(op->schedule_time), Param(now)}};
  }
  if (const auto* op = std::get_if<AttemptFinish>(&m); op && op->outcome == AttemptFinish::Outcome::kSucceeded) {
    auto [queue, id] = SplitTaskName(op->name);
    return Statement{&kSuccessSql,
                     {Param(queue), Param(id), Param(op->epoch), Param(int64_t{op->dispatch_count}),
                      Param(op->attempt.dispatch_time), Param(op->name), Param(now)}};
  }
  return std::nullopt;
}

// Refusals in the order the reads of the embedded writer make them.
StatusOr<WriteResult> Writer::Answer(Mutation& m, const Result& r) {
  if (r.rows() != 1) return Internal("postgres: a write answered " + std::to_string(r.rows()) + " rows");
  if (auto* op = std::get_if<TaskCreate>(&m)) {
    if (!True(r, 0)) return StoreError(StoreReason::kQueueMissing);
    if (True(r, 1)) return WriteResult{std::nullopt, std::move(op->task)};
    if (True(r, 2)) return StoreError(StoreReason::kTaskExists);
    if (True(r, 3)) return StoreError(StoreReason::kTaskNameTombstoned);
    // Not inserted though nothing was in the way: another node's insert of it committed first.
    return StoreError(StoreReason::kTaskExists);
  }
  if (!True(r, 0)) return StoreError(StoreReason::kLeaseLost);
  if (!True(r, 1)) return StoreError(StoreReason::kTaskMissing);
  if (std::holds_alternative<AttemptStart>(m)) {
    if (r.IsNull(0, 2)) return StoreError(StoreReason::kTaskRescheduled);
    STRATUS_ASSIGN_OR_RETURN(auto task, DecodeTaskRow(r, 0, 2));
    return WriteResult{std::nullopt, std::move(task)};
  }
  if (!True(r, 2)) return StoreError(StoreReason::kTaskReplaced);
  return WriteResult{};
}

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
  Mutation m = std::move(op);
  Statement s = *OneStatement(m, now);
  STRATUS_ASSIGN_OR_RETURN(auto r, c_.Prepared(*s.sql, s.params));
  return Answer(m, r);
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
  Mutation m = op;
  Statement s = *OneStatement(m, now);
  STRATUS_ASSIGN_OR_RETURN(auto r, c_.Prepared(*s.sql, s.params));
  return Answer(m, r);
}

StatusOr<WriteResult> Writer::Do(AttemptFinish& op, Micros now) {
  if (op.outcome == AttemptFinish::Outcome::kSucceeded) {
    Mutation m = op;
    Statement s = *OneStatement(m, now);
    STRATUS_ASSIGN_OR_RETURN(auto r, c_.Prepared(*s.sql, s.params));
    return Answer(m, r);
  }
  STRATUS_RETURN_IF_ERROR(CheckEpoch(op.name, op.epoch));
  STRATUS_ASSIGN_OR_RETURN(auto task, LoadTask(op.name));
  if (!task) return StoreError(StoreReason::kTaskMissing);  // deleted while in flight
  Task& t = *task;
  if (t.dispatch_count != op.dispatch_count || !t.last_attempt ||
      t.last_attempt->dispatch_time != op.attempt.dispatch_time) {
    return StoreError(StoreReason::kTaskReplaced);
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
