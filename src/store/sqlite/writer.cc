#include "store/sqlite/writer.h"

#include "common/time.h"
#include "store/sqlite/rows.h"

namespace stratus::sqlite {
namespace {

constexpr int kQueueTombstone = 0;
constexpr int kTaskTombstone = 1;
// Tasks kept in memory after a write: enough for every task between its create and its
// attempt at full speed, few enough that far-future tasks cost little.
constexpr size_t kMaxRememberedTasks = 8192;
constexpr size_t kMaxRememberedBytes = 32u << 20;

size_t Footprint(const Task& t) {
  return t.name.size() + TaskBody(t).size() + 512;
}

}  // namespace

StatusOr<WriteResult> Writer::Apply(Mutation& m, Micros now, const std::string& doc) {
  if (auto* create = std::get_if<TaskCreate>(&m); create && !doc.empty()) return Create(*create, now, doc);
  return std::visit([&](auto& op) { return Do(op, now); }, m);
}

StatusOr<WriteResult> Writer::Create(TaskCreate& op, Micros now, const std::string& doc) {
  auto [queue, id] = SplitTaskName(op.task.name);
  STRATUS_RETURN_IF_ERROR(CheckRoomFor(queue, id));
  STRATUS_ASSIGN_OR_RETURN(auto recently, Tombstoned(kTaskTombstone, op.task.name, options_.task_dedup_window, now));
  if (recently) return StoreError(StoreReason::kTaskNameTombstoned);
  STRATUS_RETURN_IF_ERROR(InsertTask(op.task, now, &doc));
  return WriteResult{std::nullopt, std::move(op.task)};
}

void Writer::Forget() {
  queues_.clear();
  tasks_.clear();
  task_order_.clear();
  task_bytes_ = 0;
}

Status Writer::CollectGarbage(Micros now) {
  Micros keep = std::max(options_.task_dedup_window, options_.queue_reuse_window);
  STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare("DELETE FROM tombstones WHERE deleted_us < ?"));
  STRATUS_RETURN_IF_ERROR(s.Bind(1, now - keep).Run());
  STRATUS_ASSIGN_OR_RETURN(auto d, db_.Prepare("DELETE FROM dead_letters WHERE dead_us < ?"));
  return d.Bind(1, now - options_.dead_letter_retention).Run();
}

// ---------------------------------------------------------------- queues

StatusOr<std::optional<Queue>> Writer::LoadQueue(const std::string& name) {
  if (auto it = queues_.find(name); it != queues_.end()) return std::optional<Queue>(it->second);
  STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT doc, ext FROM queues WHERE name = ?"));
  s.Bind(1, name);
  STRATUS_ASSIGN_OR_RETURN(auto row, s.Step());
  if (!row) return std::optional<Queue>();
  STRATUS_ASSIGN_OR_RETURN(auto q, DecodeQueue(s.Text(0), s.Text(1)));
  queues_[name] = q;
  return std::optional<Queue>(std::move(q));
}

Status Writer::SaveQueue(const Queue& q) {
  STRATUS_ASSIGN_OR_RETURN(auto s,
                           db_.Prepare("INSERT OR REPLACE INTO queues(name, state, doc, ext) VALUES(?, ?, ?, ?)"));
  s.Bind(1, q.name).Bind(2, static_cast<int64_t>(q.state)).Bind(3, EncodeQueue(q)).Bind(4, EncodeQueueExt(q));
  STRATUS_RETURN_IF_ERROR(s.Run());
  queues_[q.name] = q;
  return Status::Ok();
}

StatusOr<bool> Writer::Tombstoned(int kind, const std::string& name, Micros window, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT deleted_us FROM tombstones WHERE kind = ? AND name = ?"));
  s.Bind(1, static_cast<int64_t>(kind)).Bind(2, name);
  STRATUS_ASSIGN_OR_RETURN(auto row, s.Step());
  return row && s.Int(0) + window > now;
}

Status Writer::Tombstone(int kind, const std::string& name, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(auto s,
                           db_.Prepare("INSERT OR REPLACE INTO tombstones(kind, name, deleted_us) VALUES(?, ?, ?)"));
  return s.Bind(1, static_cast<int64_t>(kind)).Bind(2, name).Bind(3, now).Run();
}

// Tombstones and deletes the queue's tasks created at or before `until`.
Status Writer::DropTasks(const std::string& queue, Micros until, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(
      auto t, db_.Prepare("INSERT OR REPLACE INTO tombstones(kind, name, deleted_us) "
                          "SELECT 1, queue || '/tasks/' || id, ? FROM tasks WHERE queue = ? AND create_us <= ?"));
  STRATUS_RETURN_IF_ERROR(t.Bind(1, now).Bind(2, queue).Bind(3, until).Run());
  STRATUS_ASSIGN_OR_RETURN(auto d, db_.Prepare("DELETE FROM tasks WHERE queue = ? AND create_us <= ?"));
  STRATUS_RETURN_IF_ERROR(d.Bind(1, queue).Bind(2, until).Run());
  tasks_.clear();  // rare: forgetting every task is simpler than finding the queue's
  task_order_.clear();
  task_bytes_ = 0;
  return Status::Ok();
}

StatusOr<WriteResult> Writer::Do(QueueUpdate& op, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(auto current, LoadQueue(op.name));
  STRATUS_ASSIGN_OR_RETURN(auto recently, Tombstoned(kQueueTombstone, op.name, options_.queue_reuse_window, now));
  STRATUS_ASSIGN_OR_RETURN(auto next, op.apply(current ? &*current : nullptr, recently));
  STRATUS_RETURN_IF_ERROR(SaveQueue(next));
  return WriteResult{std::move(next), std::nullopt};
}

StatusOr<WriteResult> Writer::Do(QueuePurge& op, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(auto current, LoadQueue(op.name));
  if (!current) return StoreError(StoreReason::kQueueMissing);
  STRATUS_RETURN_IF_ERROR(DropTasks(op.name, op.purge_time, now));
  Queue q = std::move(*current);
  q.purge_time = op.purge_time;
  STRATUS_RETURN_IF_ERROR(SaveQueue(q));
  return WriteResult{std::move(q), std::nullopt};
}

StatusOr<WriteResult> Writer::Do(QueueDelete& op, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(auto current, LoadQueue(op.name));
  if (!current) return StoreError(StoreReason::kQueueMissing);
  STRATUS_RETURN_IF_ERROR(DropTasks(op.name, INT64_MAX, now));
  STRATUS_ASSIGN_OR_RETURN(auto dl, db_.Prepare("DELETE FROM dead_letters WHERE queue = ?"));
  STRATUS_RETURN_IF_ERROR(dl.Bind(1, op.name).Run());
  STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare("DELETE FROM queues WHERE name = ?"));
  STRATUS_RETURN_IF_ERROR(s.Bind(1, op.name).Run());
  queues_.erase(op.name);
  STRATUS_RETURN_IF_ERROR(Tombstone(kQueueTombstone, op.name, now));
  return WriteResult{};
}

// ---------------------------------------------------------------- task rows

void Writer::Remember(const Task& t) {
  if (auto it = tasks_.find(t.name); it != tasks_.end()) {
    task_bytes_ -= Footprint(it->second);
    it->second = t;
  } else {
    tasks_.emplace(t.name, t);
    task_order_.push_back(t.name);
  }
  task_bytes_ += Footprint(t);
  // The order also holds names already forgotten (finished tasks), so it is bounded on its own.
  while (task_order_.size() > 2 * kMaxRememberedTasks || tasks_.size() > kMaxRememberedTasks ||
         task_bytes_ > kMaxRememberedBytes) {
    Forget(task_order_.front());
    task_order_.pop_front();
  }
}

void Writer::Forget(const std::string& task) {
  if (auto it = tasks_.find(task); it != tasks_.end()) {
    task_bytes_ -= Footprint(it->second);
    tasks_.erase(it);
  }
}

// A new task `id` may go into `queue`: the queue exists and no task there has the id.
Status Writer::CheckRoomFor(const std::string& queue, const std::string& id) {
  STRATUS_ASSIGN_OR_RETURN(auto q, LoadQueue(queue));
  if (!q) return StoreError(StoreReason::kQueueMissing);
  STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT 1 FROM tasks WHERE queue = ? AND id = ?"));
  STRATUS_ASSIGN_OR_RETURN(auto exists, s.Bind(1, queue).Bind(2, id).Step());
  return exists ? StoreError(StoreReason::kTaskExists) : Status::Ok();
}

StatusOr<std::optional<Task>> Writer::LoadTask(const std::string& name) {
  if (auto it = tasks_.find(name); it != tasks_.end()) return std::optional<Task>(it->second);
  auto [queue, id] = SplitTaskName(name);
  static const std::string sql =
      std::string("SELECT doc, body, ") + kStateColumns + " FROM tasks WHERE queue = ? AND id = ?";
  STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare(sql.c_str()));
  STRATUS_ASSIGN_OR_RETURN(auto row, s.Bind(1, queue).Bind(2, id).Step());
  if (!row) return std::optional<Task>();
  STRATUS_ASSIGN_OR_RETURN(auto task, DecodeTaskRow(s, 0));
  return std::optional<Task>(std::move(task));
}

Status Writer::InsertTask(Task& t, Micros create_us, const std::string* doc) {
  auto [queue, id] = SplitTaskName(t.name);
  static const std::string sql = std::string("INSERT INTO tasks(queue, id, create_us, doc, body, ") + kStateColumns +
                                 ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare(sql.c_str()));
  s.Bind(1, queue).Bind(2, id).Bind(3, create_us);
  s.Bind(4, doc ? *doc : EncodeTaskDoc(t, false)).BindBlob(5, TaskBody(t));
  BindStateColumns(s, 6, t);
  STRATUS_RETURN_IF_ERROR(s.Run());
  Remember(t);
  return Status::Ok();
}

Status Writer::SaveState(const Task& t) {
  auto [queue, id] = SplitTaskName(t.name);
  STRATUS_ASSIGN_OR_RETURN(
      auto u,
      db_.Prepare(
          "UPDATE tasks SET schedule_us = ?, exec_count = ?, prev_response = ?, dispatch_count = ?, response_count = "
          "?, "
          "first_dispatch_us = ?, last_schedule_us = ?, last_dispatch_us = ?, last_response_us = ?, last_code = ?, "
          "last_message = ? WHERE queue = ? AND id = ?"));
  BindStateColumns(u, 1, t);
  STRATUS_RETURN_IF_ERROR(u.Bind(12, queue).Bind(13, id).Run());
  Remember(t);
  return Status::Ok();
}

Status Writer::DeleteTaskRow(const std::string& name) {
  auto [queue, id] = SplitTaskName(name);
  STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare("DELETE FROM tasks WHERE queue = ? AND id = ?"));
  STRATUS_RETURN_IF_ERROR(s.Bind(1, queue).Bind(2, id).Run());
  Forget(name);
  return Status::Ok();
}

// A task that finished (success or dead letter): gone, its name held for the de-dup window.
Status Writer::RetireTask(const std::string& name, Micros now) {
  STRATUS_RETURN_IF_ERROR(DeleteTaskRow(name));
  return Tombstone(kTaskTombstone, name, now);
}

// ---------------------------------------------------------------- task mutations

StatusOr<WriteResult> Writer::Do(TaskCreate& op, Micros now) {
  return Create(op, now, EncodeTaskDoc(op.task, false));
}

StatusOr<WriteResult> Writer::Do(TaskDelete& op, Micros now) {
  auto [queue, id] = SplitTaskName(op.name);
  STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare("DELETE FROM tasks WHERE queue = ? AND id = ?"));
  STRATUS_RETURN_IF_ERROR(s.Bind(1, queue).Bind(2, id).Run());
  if (s.Changes() == 0) return StoreError(StoreReason::kTaskMissing);
  Forget(op.name);
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

StatusOr<WriteResult> Writer::Do(AttemptStart& op, Micros now) {
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
  STRATUS_ASSIGN_OR_RETURN(
      auto s,
      db_.Prepare(
          "INSERT OR REPLACE INTO dead_letters(queue, id, dead_us, doc, body, reason, status, headers, response) "
          "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  s.Bind(1, queue).Bind(2, id).Bind(3, now).Bind(4, EncodeTaskDoc(t, true)).BindBlob(5, TaskBody(t));
  s.Bind(6, op.dead_reason).Bind(7, int64_t{op.http_status}).Bind(8, HeadersJson(op.response_headers));
  STRATUS_RETURN_IF_ERROR(s.BindBlob(9, op.response_body).Run());
  STRATUS_RETURN_IF_ERROR(RetireTask(op.name, now));
  return WriteResult{std::nullopt, std::move(t)};
}

StatusOr<WriteResult> Writer::Do(DeadLetterRetry& op, Micros now) {
  auto [queue, id] = SplitTaskName(op.name);
  STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT doc, body FROM dead_letters WHERE queue = ? AND id = ?"));
  STRATUS_ASSIGN_OR_RETURN(auto row, s.Bind(1, queue).Bind(2, id).Step());
  if (!row) return StoreError(StoreReason::kDeadLetterMissing);
  STRATUS_ASSIGN_OR_RETURN(auto task, DecodeTaskDoc(s.Text(0), s.Text(1)));
  STRATUS_RETURN_IF_ERROR(CheckRoomFor(queue, id));
  Task t = std::move(task);
  t.schedule_time = now;
  t.create_time = now / kMicrosPerSecond * kMicrosPerSecond;
  t.dispatch_count = t.response_count = t.execution_count = t.previous_response = 0;
  t.first_attempt.reset();
  t.last_attempt.reset();
  STRATUS_RETURN_IF_ERROR(InsertTask(t, now, nullptr));
  STRATUS_ASSIGN_OR_RETURN(auto d, db_.Prepare("DELETE FROM dead_letters WHERE queue = ? AND id = ?"));
  STRATUS_RETURN_IF_ERROR(d.Bind(1, queue).Bind(2, id).Run());
  STRATUS_ASSIGN_OR_RETURN(auto tomb, db_.Prepare("DELETE FROM tombstones WHERE kind = 1 AND name = ?"));
  STRATUS_RETURN_IF_ERROR(tomb.Bind(1, op.name).Run());
  return WriteResult{std::nullopt, std::move(t), 1};
}

StatusOr<WriteResult> Writer::Do(DeadLetterDelete& op, Micros) {
  auto [queue, id] = SplitTaskName(op.name);
  if (queue.empty()) {  // a queue name: all of its dead letters
    STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare("DELETE FROM dead_letters WHERE queue = ?"));
    STRATUS_RETURN_IF_ERROR(s.Bind(1, op.name).Run());
    return WriteResult{std::nullopt, std::nullopt, s.Changes()};
  }
  STRATUS_ASSIGN_OR_RETURN(auto s, db_.Prepare("DELETE FROM dead_letters WHERE queue = ? AND id = ?"));
  STRATUS_RETURN_IF_ERROR(s.Bind(1, queue).Bind(2, id).Run());
  if (s.Changes() == 0) return StoreError(StoreReason::kDeadLetterMissing);
  return WriteResult{std::nullopt, std::nullopt, 1};
}

}  // namespace stratus::sqlite
