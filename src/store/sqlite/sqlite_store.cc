#include "store/sqlite/sqlite_store.h"

#include "tasks/codec.h"
#include "tasks/messages.h"

namespace stratus {
namespace {

constexpr int kQueueTombstone = 0;
constexpr int kTaskTombstone = 1;
constexpr size_t kMaxBatch = 2048;
constexpr Micros kGcInterval = 60LL * kMicrosPerSecond;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS queues(
  name TEXT PRIMARY KEY,
  state INTEGER NOT NULL,
  doc TEXT NOT NULL,
  ext TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS tasks(
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  schedule_us INTEGER NOT NULL,
  create_us INTEGER NOT NULL,
  doc TEXT NOT NULL,
  body BLOB,
  exec_count INTEGER NOT NULL DEFAULT 0,
  prev_response INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(queue, id));
CREATE INDEX IF NOT EXISTS tasks_by_queue ON tasks(queue);
CREATE TABLE IF NOT EXISTS dead_letters(
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  dead_us INTEGER NOT NULL,
  doc TEXT NOT NULL,
  body BLOB,
  reason TEXT NOT NULL,
  status INTEGER NOT NULL,
  headers TEXT NOT NULL,
  response BLOB,
  PRIMARY KEY(queue, id));
CREATE INDEX IF NOT EXISTS dead_letters_by_time ON dead_letters(queue, dead_us, id);
CREATE TABLE IF NOT EXISTS tombstones(
  kind INTEGER NOT NULL,
  name TEXT NOT NULL,
  deleted_us INTEGER NOT NULL,
  PRIMARY KEY(kind, name));
)sql";

std::pair<std::string, std::string> SplitTaskName(const std::string& name) {
  size_t pos = name.rfind("/tasks/");
  if (pos == std::string::npos) return {"", name};
  return {name.substr(0, pos), name.substr(pos + 7)};
}

StatusOr<Queue> DecodeQueue(const std::string& doc, const std::string& ext) {
  auto j = ParseJsonBody(doc);
  if (!j.ok()) return Internal("storage: corrupt queue record");
  auto obj = JsonObject::Of(*j, "queue");
  if (!obj.ok()) return Internal("storage: corrupt queue record");
  auto q = QueueFromJson(*obj);
  if (!q.ok()) return q.status();
  auto e = ParseJsonBody(ext);
  if (e.ok() && e->is_object() && e->contains("permanentFailureStatuses")) {
    for (const auto& v : (*e)["permanentFailureStatuses"]) {
      if (v.is_number_integer()) q->stratus.permanent_failure_statuses.push_back(v.get<int>());
    }
  }
  return q;
}

std::string EncodeQueue(const Queue& q) { return QueueToJson(q, JsonStyle{}).dump(); }
std::string EncodeQueueExt(const Queue& q) {
  return Json{{"permanentFailureStatuses", q.stratus.permanent_failure_statuses}}.dump();
}

std::string HeadersJson(const std::map<std::string, std::string>& h) {
  Json j = Json::object();
  for (const auto& [k, v] : h) j[k] = v;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<Task> DecodeTask(const std::string& doc, std::string body, int64_t exec_count = 0, int64_t prev_response = 0) {
  auto j = ParseJsonBody(doc);
  if (!j.ok()) return Internal("storage: corrupt task record");
  auto obj = JsonObject::Of(*j, "task");
  if (!obj.ok()) return Internal("storage: corrupt task record");
  auto t = TaskFromJson(*obj);
  if (!t.ok()) return t.status();
  if (t->http_request) t->http_request->body = std::move(body);
  else if (t->app_engine_http_request) t->app_engine_http_request->body = std::move(body);
  t->execution_count = static_cast<int32_t>(exec_count);
  t->previous_response = static_cast<int32_t>(prev_response);
  return t;
}

// The document without the body, which has a column of its own.
std::string EncodeTask(const Task& t, std::string* body) {
  Task copy = t;
  if (copy.http_request) body->swap(copy.http_request->body);
  if (copy.app_engine_http_request) body->swap(copy.app_engine_http_request->body);
  return TaskToJson(copy, TaskView::kFull, JsonStyle{}).dump();
}

// Reads rows into a page of at most `page_size` items; one extra row tells whether another
// page follows, and `cursor_of` names the last item taken as the next page's start.
template <typename T, typename Decode, typename CursorOf>
StatusOr<Page<T>> CollectPage(sqlite::Stmt& s, int page_size, Decode decode, CursorOf cursor_of) {
  Page<T> page;
  std::string last;
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return page;
    if (page.items.size() == static_cast<size_t>(page_size)) {
      page.next_cursor = last;
      return page;
    }
    StatusOr<T> item = decode(s);
    if (!item.ok()) return item.status();
    last = cursor_of(s, *item);
    page.items.push_back(std::move(*item));
  }
}

}  // namespace

// Applies mutations inside the open write transaction. Every precondition is checked before
// anything is written, so a failed mutation leaves nothing behind and needs no savepoint.
class SqliteStore::Writer {
 public:
  Writer(sqlite::Db& db, const StoreOptions& options) : db_(db), options_(options) {}

  StatusOr<WriteResult> Apply(Mutation& m, Micros now) {
    return std::visit([&](auto& op) { return Do(op, now); }, m);
  }

  Status CollectGarbage(Micros now) {
    Micros keep = std::max(options_.task_dedup_window, options_.queue_reuse_window);
    auto s = db_.Prepare("DELETE FROM tombstones WHERE deleted_us < ?");
    if (!s.ok()) return s.status();
    STRATUS_RETURN_IF_ERROR(s->Bind(1, now - keep).Run());
    auto d = db_.Prepare("DELETE FROM dead_letters WHERE dead_us < ?");
    if (!d.ok()) return d.status();
    return d->Bind(1, now - options_.dead_letter_retention).Run();
  }

 private:
  StatusOr<std::optional<Queue>> LoadQueue(const std::string& name) {
    auto s = db_.Prepare("SELECT doc, ext FROM queues WHERE name = ?");
    if (!s.ok()) return s.status();
    s->Bind(1, name);
    auto row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<Queue>();
    auto q = DecodeQueue(s->Text(0), s->Text(1));
    if (!q.ok()) return q.status();
    return std::optional<Queue>(std::move(*q));
  }

  Status SaveQueue(const Queue& q) {
    auto s = db_.Prepare("INSERT OR REPLACE INTO queues(name, state, doc, ext) VALUES(?, ?, ?, ?)");
    if (!s.ok()) return s.status();
    return s->Bind(1, q.name).Bind(2, static_cast<int64_t>(q.state)).Bind(3, EncodeQueue(q)).Bind(4, EncodeQueueExt(q)).Run();
  }

  StatusOr<bool> Tombstoned(int kind, const std::string& name, Micros window, Micros now) {
    auto s = db_.Prepare("SELECT deleted_us FROM tombstones WHERE kind = ? AND name = ?");
    if (!s.ok()) return s.status();
    s->Bind(1, static_cast<int64_t>(kind)).Bind(2, name);
    auto row = s->Step();
    if (!row.ok()) return row.status();
    return *row && s->Int(0) + window > now;
  }

  Status Tombstone(int kind, const std::string& name, Micros now) {
    auto s = db_.Prepare("INSERT OR REPLACE INTO tombstones(kind, name, deleted_us) VALUES(?, ?, ?)");
    if (!s.ok()) return s.status();
    return s->Bind(1, static_cast<int64_t>(kind)).Bind(2, name).Bind(3, now).Run();
  }

  // Tombstones and deletes the queue's tasks created at or before `until`.
  Status DropTasks(const std::string& queue, Micros until, Micros now) {
    auto t = db_.Prepare(
        "INSERT OR REPLACE INTO tombstones(kind, name, deleted_us) "
        "SELECT 1, queue || '/tasks/' || id, ? FROM tasks WHERE queue = ? AND create_us <= ?");
    if (!t.ok()) return t.status();
    STRATUS_RETURN_IF_ERROR(t->Bind(1, now).Bind(2, queue).Bind(3, until).Run());
    auto d = db_.Prepare("DELETE FROM tasks WHERE queue = ? AND create_us <= ?");
    if (!d.ok()) return d.status();
    return d->Bind(1, queue).Bind(2, until).Run();
  }

  StatusOr<WriteResult> Do(QueueUpdate& op, Micros now) {
    auto current = LoadQueue(op.name);
    if (!current.ok()) return current.status();
    auto recently = Tombstoned(kQueueTombstone, op.name, options_.queue_reuse_window, now);
    if (!recently.ok()) return recently.status();
    auto next = op.apply(*current ? &**current : nullptr, *recently);
    if (!next.ok()) return next.status();
    STRATUS_RETURN_IF_ERROR(SaveQueue(*next));
    return WriteResult{std::move(*next), std::nullopt};
  }

  StatusOr<WriteResult> Do(QueuePurge& op, Micros now) {
    auto current = LoadQueue(op.name);
    if (!current.ok()) return current.status();
    if (!*current) return NotFound(msg::kQueueMissing);
    STRATUS_RETURN_IF_ERROR(DropTasks(op.name, op.purge_time, now));
    Queue q = std::move(**current);
    q.purge_time = op.purge_time;
    STRATUS_RETURN_IF_ERROR(SaveQueue(q));
    return WriteResult{std::move(q), std::nullopt};
  }

  StatusOr<WriteResult> Do(QueueDelete& op, Micros now) {
    auto current = LoadQueue(op.name);
    if (!current.ok()) return current.status();
    if (!*current) return NotFound(msg::kEntityMissing);
    STRATUS_RETURN_IF_ERROR(DropTasks(op.name, INT64_MAX, now));
    auto dl = db_.Prepare("DELETE FROM dead_letters WHERE queue = ?");
    if (!dl.ok()) return dl.status();
    STRATUS_RETURN_IF_ERROR(dl->Bind(1, op.name).Run());
    auto s = db_.Prepare("DELETE FROM queues WHERE name = ?");
    if (!s.ok()) return s.status();
    STRATUS_RETURN_IF_ERROR(s->Bind(1, op.name).Run());
    STRATUS_RETURN_IF_ERROR(Tombstone(kQueueTombstone, op.name, now));
    return WriteResult{};
  }

  StatusOr<bool> TaskExists(const std::string& queue, const std::string& id) {
    auto s = db_.Prepare("SELECT 1 FROM tasks WHERE queue = ? AND id = ?");
    if (!s.ok()) return s.status();
    return s->Bind(1, queue).Bind(2, id).Step();
  }

  StatusOr<WriteResult> Do(TaskCreate& op, Micros now) {
    auto [queue, id] = SplitTaskName(op.task.name);
    auto q = LoadQueue(queue);
    if (!q.ok()) return q.status();
    if (!*q) return NotFound(msg::kQueueMissing);
    auto exists = TaskExists(queue, id);
    if (!exists.ok()) return exists.status();
    if (*exists) return AlreadyExists(msg::kEntityExists);
    auto recently = Tombstoned(kTaskTombstone, op.task.name, options_.task_dedup_window, now);
    if (!recently.ok()) return recently.status();
    if (*recently) return AlreadyExists(msg::kEntityExists);
    STRATUS_RETURN_IF_ERROR(InsertTask(op.task, now));
    return WriteResult{std::nullopt, std::move(op.task)};
  }

  StatusOr<WriteResult> Do(TaskDelete& op, Micros now) {
    auto [queue, id] = SplitTaskName(op.name);
    auto s = db_.Prepare("DELETE FROM tasks WHERE queue = ? AND id = ?");
    if (!s.ok()) return s.status();
    STRATUS_RETURN_IF_ERROR(s->Bind(1, queue).Bind(2, id).Run());
    if (s->Changes() == 0) return NotFound(msg::kEntityMissing);
    STRATUS_RETURN_IF_ERROR(Tombstone(kTaskTombstone, op.name, now));
    return WriteResult{};
  }

  StatusOr<WriteResult> Do(TaskRun& op, Micros now) {
    auto task = LoadTask(op.name);
    if (!task.ok()) return task.status();
    if (!*task) return NotFound(msg::kEntityMissing);
    (*task)->schedule_time = now;
    STRATUS_RETURN_IF_ERROR(SaveTask(**task));
    return WriteResult{std::nullopt, std::move(**task)};
  }

  StatusOr<std::optional<Task>> LoadTask(const std::string& name) {
    auto [queue, id] = SplitTaskName(name);
    auto s = db_.Prepare("SELECT doc, body, exec_count, prev_response FROM tasks WHERE queue = ? AND id = ?");
    if (!s.ok()) return s.status();
    auto row = s->Bind(1, queue).Bind(2, id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<Task>();
    auto task = DecodeTask(s->Text(0), s->Text(1), s->Int(2), s->Int(3));
    if (!task.ok()) return task.status();
    return std::optional<Task>(std::move(*task));
  }

  // Updates an existing task's row from `t`.
  Status SaveTask(const Task& t) {
    auto [queue, id] = SplitTaskName(t.name);
    std::string body;
    std::string doc = EncodeTask(t, &body);
    auto u = db_.Prepare(
        "UPDATE tasks SET schedule_us = ?, doc = ?, exec_count = ?, prev_response = ? WHERE queue = ? AND id = ?");
    if (!u.ok()) return u.status();
    return u->Bind(1, t.schedule_time).Bind(2, doc).Bind(3, int64_t{t.execution_count}).Bind(4, int64_t{t.previous_response})
        .Bind(5, queue).Bind(6, id).Run();
  }

  Status InsertTask(const Task& t, Micros create_us) {
    auto [queue, id] = SplitTaskName(t.name);
    std::string body;
    std::string doc = EncodeTask(t, &body);
    auto s = db_.Prepare(
        "INSERT INTO tasks(queue, id, schedule_us, create_us, doc, body, exec_count, prev_response) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s.ok()) return s.status();
    return s->Bind(1, queue).Bind(2, id).Bind(3, t.schedule_time).Bind(4, create_us).Bind(5, doc).BindBlob(6, body)
        .Bind(7, int64_t{t.execution_count}).Bind(8, int64_t{t.previous_response}).Run();
  }

  Status DeleteTaskRow(const std::string& name) {
    auto [queue, id] = SplitTaskName(name);
    auto s = db_.Prepare("DELETE FROM tasks WHERE queue = ? AND id = ?");
    if (!s.ok()) return s.status();
    return s->Bind(1, queue).Bind(2, id).Run();
  }

  // A task that finished (success or dead letter): gone, its name held for the de-dup window.
  Status RetireTask(const std::string& name, Micros now) {
    STRATUS_RETURN_IF_ERROR(DeleteTaskRow(name));
    return Tombstone(kTaskTombstone, name, now);
  }

  StatusOr<WriteResult> Do(AttemptStart& op, Micros now) {
    auto task = LoadTask(op.name);
    if (!task.ok()) return task.status();
    if (!*task) return NotFound(msg::kEntityMissing);
    Task& t = **task;
    if (t.schedule_time != op.schedule_time) return FailedPrecondition("the task was rescheduled");
    t.dispatch_count += 1;
    if (!t.first_attempt) t.first_attempt = Attempt{0, now, 0, std::nullopt};
    t.last_attempt = Attempt{t.schedule_time, now, 0, std::nullopt};
    STRATUS_RETURN_IF_ERROR(SaveTask(t));
    return WriteResult{std::nullopt, std::move(t)};
  }

  StatusOr<WriteResult> Do(AttemptFinish& op, Micros now) {
    auto task = LoadTask(op.name);
    if (!task.ok()) return task.status();
    if (!*task) return NotFound(msg::kEntityMissing);  // deleted while in flight
    Task& t = **task;
    if (t.dispatch_count != op.dispatch_count || !t.last_attempt ||
        t.last_attempt->dispatch_time != op.attempt.dispatch_time) {
      return FailedPrecondition("the task was replaced during the attempt");
    }
    if (op.outcome == AttemptFinish::Outcome::kSucceeded) {
      STRATUS_RETURN_IF_ERROR(RetireTask(op.name, now));
      return WriteResult{};
    }
    if (op.got_response) {
      t.response_count += 1;
      if (op.http_status < 500) t.execution_count += 1;
    }
    t.previous_response = op.http_status;
    t.last_attempt = op.attempt;
    if (op.outcome == AttemptFinish::Outcome::kRetry) {
      t.schedule_time = op.next_schedule_time;
      STRATUS_RETURN_IF_ERROR(SaveTask(t));
      return WriteResult{std::nullopt, std::move(t)};
    }
    auto [queue, id] = SplitTaskName(op.name);
    std::string body;
    std::string doc = EncodeTask(t, &body);
    auto s = db_.Prepare(
        "INSERT OR REPLACE INTO dead_letters(queue, id, dead_us, doc, body, reason, status, headers, response) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s.ok()) return s.status();
    STRATUS_RETURN_IF_ERROR(s->Bind(1, queue).Bind(2, id).Bind(3, now).Bind(4, doc).BindBlob(5, body)
        .Bind(6, op.dead_reason).Bind(7, int64_t{op.http_status}).Bind(8, HeadersJson(op.response_headers))
        .BindBlob(9, op.response_body).Run());
    STRATUS_RETURN_IF_ERROR(RetireTask(op.name, now));
    return WriteResult{std::nullopt, std::move(t)};
  }

  StatusOr<WriteResult> Do(DeadLetterRetry& op, Micros now) {
    auto [queue, id] = SplitTaskName(op.name);
    auto s = db_.Prepare("SELECT doc, body FROM dead_letters WHERE queue = ? AND id = ?");
    if (!s.ok()) return s.status();
    auto row = s->Bind(1, queue).Bind(2, id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return NotFound(msg::kEntityMissing);
    auto task = DecodeTask(s->Text(0), s->Text(1));
    if (!task.ok()) return task.status();
    auto q = LoadQueue(queue);
    if (!q.ok()) return q.status();
    if (!*q) return NotFound(msg::kQueueMissing);
    auto exists = TaskExists(queue, id);
    if (!exists.ok()) return exists.status();
    if (*exists) return AlreadyExists(msg::kEntityExists);
    Task t = std::move(*task);
    t.schedule_time = now;
    t.create_time = now / kMicrosPerSecond * kMicrosPerSecond;
    t.dispatch_count = t.response_count = t.execution_count = t.previous_response = 0;
    t.first_attempt.reset();
    t.last_attempt.reset();
    STRATUS_RETURN_IF_ERROR(InsertTask(t, now));
    auto d = db_.Prepare("DELETE FROM dead_letters WHERE queue = ? AND id = ?");
    if (!d.ok()) return d.status();
    STRATUS_RETURN_IF_ERROR(d->Bind(1, queue).Bind(2, id).Run());
    auto tomb = db_.Prepare("DELETE FROM tombstones WHERE kind = 1 AND name = ?");
    if (!tomb.ok()) return tomb.status();
    STRATUS_RETURN_IF_ERROR(tomb->Bind(1, op.name).Run());
    return WriteResult{std::nullopt, std::move(t), 1};
  }

  StatusOr<WriteResult> Do(DeadLetterDelete& op, Micros) {
    auto [queue, id] = SplitTaskName(op.name);
    if (queue.empty()) {  // a queue name: all of its dead letters
      auto s = db_.Prepare("DELETE FROM dead_letters WHERE queue = ?");
      if (!s.ok()) return s.status();
      STRATUS_RETURN_IF_ERROR(s->Bind(1, op.name).Run());
      return WriteResult{std::nullopt, std::nullopt, s->Changes()};
    }
    auto s = db_.Prepare("DELETE FROM dead_letters WHERE queue = ? AND id = ?");
    if (!s.ok()) return s.status();
    STRATUS_RETURN_IF_ERROR(s->Bind(1, queue).Bind(2, id).Run());
    if (s->Changes() == 0) return NotFound(msg::kEntityMissing);
    return WriteResult{std::nullopt, std::nullopt, 1};
  }

  sqlite::Db& db_;
  const StoreOptions& options_;
};

class SqliteStore::Reader {
 public:
  Reader(SqliteStore* store, std::unique_ptr<sqlite::Db> db) : store_(store), db_(std::move(db)) {}
  Reader(Reader&&) = default;
  ~Reader() {
    if (!db_) return;
    std::lock_guard lock(store_->readers_mu_);
    store_->idle_readers_.push_back(std::move(db_));
  }
  sqlite::Db* operator->() { return db_.get(); }

 private:
  SqliteStore* store_;
  std::unique_ptr<sqlite::Db> db_;
};

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, StoreOptions options) {
  auto db = sqlite::Db::Open(path);
  if (!db.ok()) return db.status();
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", kSchema}) {
    STRATUS_RETURN_IF_ERROR((*db)->Exec(sql));
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(path, options, std::move(*db)));
}

SqliteStore::SqliteStore(std::string path, StoreOptions options, std::unique_ptr<sqlite::Db> writer)
    : path_(std::move(path)), options_(options), writer_db_(std::move(writer)) {
  writer_ = std::make_unique<Writer>(*writer_db_, options_);
  writer_thread_ = std::thread([this] { WriterLoop(); });
}

SqliteStore::~SqliteStore() { Close(); }

void SqliteStore::Close() {
  {
    std::lock_guard lock(mu_);
    if (closing_ && !writer_thread_.joinable()) return;
    closing_ = true;
  }
  cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
}

void SqliteStore::Write(Mutation mutation, Micros now, WriteDone done) {
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      pending_.push_back(Pending{std::move(mutation), now, std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(Unavailable("the store is shutting down"));
}

void SqliteStore::WriterLoop() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !pending_.empty(); });
      if (pending_.empty()) return;  // closing and drained
      while (!pending_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    RunBatch(batch);
    batch.clear();
  }
}

void SqliteStore::RunBatch(std::vector<Pending>& batch) {
  std::vector<StatusOr<WriteResult>> results;
  results.reserve(batch.size());
  Status st = writer_db_->Exec("BEGIN IMMEDIATE");
  if (st.ok()) {
    for (auto& p : batch) {
      results.push_back(writer_->Apply(p.mutation, p.now));
      // A storage failure (not a precondition) poisons the transaction: fail the batch.
      if (!results.back().ok() && results.back().status().code() == Code::kUnavailable) {
        st = results.back().status();
        break;
      }
    }
  }
  if (st.ok() && batch.back().now - last_gc_ > kGcInterval) {
    last_gc_ = batch.back().now;
    st = writer_->CollectGarbage(batch.back().now);
  }
  if (st.ok()) st = writer_db_->Exec("COMMIT");
  if (!st.ok()) {
    writer_db_->Exec("ROLLBACK").IgnoreError();
    for (auto& p : batch) p.done(st);
    return;
  }
  commits_.fetch_add(1);
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

StatusOr<SqliteStore::Reader> SqliteStore::AcquireReader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      auto db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return Reader(this, std::move(db));
    }
  }
  auto db = sqlite::Db::Open(path_);
  if (!db.ok()) return db.status();
  return Reader(this, std::move(*db));
}

StatusOr<Queue> SqliteStore::GetQueue(const std::string& name) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  auto s = (*r)->Prepare("SELECT doc, ext FROM queues WHERE name = ?");
  if (!s.ok()) return s.status();
  auto row = s->Bind(1, name).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound(msg::kQueueMissing);
  return DecodeQueue(s->Text(0), s->Text(1));
}

StatusOr<Page<Queue>> SqliteStore::ListQueues(const std::string& parent, std::optional<QueueState> state,
                                              int page_size, const std::string& cursor) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  // Names under parent lie in [parent + "/queues/", parent + "/queues0") since '0' follows '/'.
  std::string lo = parent + "/queues/";
  std::string hi = parent + "/queues0";
  if (!cursor.empty()) {
    if (cursor.compare(0, lo.size(), lo) != 0) return InvalidArgument("Invalid page token.");
    lo = cursor;
  }
  auto s = (*r)->Prepare(
      "SELECT name, doc, ext FROM queues WHERE name > ? AND name < ? AND (? < 0 OR state = ?) ORDER BY name LIMIT ?");
  if (!s.ok()) return s.status();
  int64_t st = state ? static_cast<int64_t>(*state) : -1;
  s->Bind(1, lo).Bind(2, hi).Bind(3, st).Bind(4, st).Bind(5, static_cast<int64_t>(page_size) + 1);
  return CollectPage<Queue>(
      *s, page_size, [](sqlite::Stmt& row) { return DecodeQueue(row.Text(1), row.Text(2)); },
      [](sqlite::Stmt&, const Queue& q) { return q.name; });
}

StatusOr<Task> SqliteStore::GetTask(const std::string& name, Micros now) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  auto [queue, id] = SplitTaskName(name);
  auto s = (*r)->Prepare("SELECT doc, body, exec_count, prev_response FROM tasks WHERE queue = ? AND id = ?");
  if (!s.ok()) return s.status();
  auto row = s->Bind(1, queue).Bind(2, id).Step();
  if (!row.ok()) return row.status();
  if (*row) return DecodeTask(s->Text(0), s->Text(1), s->Int(2), s->Int(3));
  auto t = (*r)->Prepare("SELECT deleted_us FROM tombstones WHERE kind = 1 AND name = ?");
  if (!t.ok()) return t.status();
  auto trow = t->Bind(1, name).Step();
  if (!trow.ok()) return trow.status();
  if (*trow && t->Int(0) + options_.task_dedup_window > now) return NotFound(msg::kTaskRecentlyDeleted);
  return NotFound(msg::kEntityMissing);
}

StatusOr<Page<Task>> SqliteStore::ListTasks(const std::string& queue, int page_size, const std::string& cursor,
                                            bool with_body) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  // Creation order (rowid): the one key a task never changes, so pages stay exact while
  // tasks are rescheduled, retried or run during a listing.
  int64_t after = 0;
  if (!cursor.empty()) {
    try {
      size_t used = 0;
      after = std::stoll(cursor, &used);
      if (used != cursor.size()) return InvalidArgument("Invalid page token.");
    } catch (...) {
      return InvalidArgument("Invalid page token.");
    }
  }
  auto s = (*r)->Prepare(
      "SELECT doc, CASE WHEN ? THEN body ELSE NULL END, rowid, exec_count, prev_response FROM tasks "
      "WHERE queue = ? AND rowid > ? ORDER BY rowid LIMIT ?");
  if (!s.ok()) return s.status();
  s->Bind(1, static_cast<int64_t>(with_body)).Bind(2, queue).Bind(3, after);
  s->Bind(4, static_cast<int64_t>(page_size) + 1);
  return CollectPage<Task>(
      *s, page_size, [](sqlite::Stmt& row) { return DecodeTask(row.Text(0), row.Text(1), row.Int(3), row.Int(4)); },
      [](sqlite::Stmt& row, const Task&) { return std::to_string(row.Int(2)); });
}

StatusOr<int64_t> SqliteStore::CountTasks(const std::string& queue) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  auto s = (*r)->Prepare("SELECT COUNT(*) FROM tasks WHERE queue = ?");
  if (!s.ok()) return s.status();
  auto row = s->Bind(1, queue).Step();
  if (!row.ok()) return row.status();
  return s->Int(0);
}

Status SqliteStore::ScanTasks(const std::string& queue, const std::function<void(TaskKey)>& fn) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  auto s = (*r)->Prepare("SELECT queue, id, schedule_us FROM tasks WHERE ? = '' OR queue = ?");
  if (!s.ok()) return s.status();
  s->Bind(1, queue).Bind(2, queue);
  for (;;) {
    auto row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    fn(TaskKey{s->Text(0), s->Text(1), s->Int(2)});
  }
}

StatusOr<std::vector<Queue>> SqliteStore::AllQueues() {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  auto s = (*r)->Prepare("SELECT doc, ext FROM queues ORDER BY name");
  if (!s.ok()) return s.status();
  std::vector<Queue> out;
  for (;;) {
    auto row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    auto q = DecodeQueue(s->Text(0), s->Text(1));
    if (!q.ok()) return q.status();
    out.push_back(std::move(*q));
  }
}

namespace {

StatusOr<DeadLetter> DeadLetterFromRow(sqlite::Stmt& s) {
  // Columns: doc, body, dead_us, reason, status, headers, response
  auto t = DecodeTask(s.Text(0), s.Text(1));
  if (!t.ok()) return t.status();
  DeadLetter d;
  d.task = std::move(*t);
  d.dead_time = s.Int(2);
  d.reason = s.Text(3);
  d.response_status = static_cast<int>(s.Int(4));
  auto h = ParseJsonBody(s.Text(5));
  if (h.ok() && h->is_object()) {
    for (const auto& [k, v] : h->items()) {
      if (v.is_string()) d.response_headers[k] = v.get<std::string>();
    }
  }
  d.response_body = s.Text(6);
  return d;
}

}  // namespace

StatusOr<Page<DeadLetter>> SqliteStore::ListDeadLetters(const std::string& queue, int page_size,
                                                        const std::string& cursor) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  int64_t before_us = INT64_MAX;
  std::string before_id = "\x7f";
  if (!cursor.empty()) {
    size_t slash = cursor.find('/');
    if (slash == std::string::npos) return InvalidArgument("Invalid page token.");
    try {
      before_us = std::stoll(cursor.substr(0, slash));
    } catch (...) {
      return InvalidArgument("Invalid page token.");
    }
    before_id = cursor.substr(slash + 1);
  }
  auto s = (*r)->Prepare(
      "SELECT doc, body, dead_us, reason, status, headers, response, id FROM dead_letters "
      "WHERE queue = ? AND (dead_us, id) < (?, ?) ORDER BY dead_us DESC, id DESC LIMIT ?");
  if (!s.ok()) return s.status();
  s->Bind(1, queue).Bind(2, before_us).Bind(3, before_id).Bind(4, static_cast<int64_t>(page_size) + 1);
  return CollectPage<DeadLetter>(*s, page_size, DeadLetterFromRow, [](sqlite::Stmt& row, const DeadLetter& d) {
    return std::to_string(d.dead_time) + "/" + row.Text(7);
  });
}

StatusOr<DeadLetter> SqliteStore::GetDeadLetter(const std::string& name) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  auto [queue, id] = SplitTaskName(name);
  auto s = (*r)->Prepare(
      "SELECT doc, body, dead_us, reason, status, headers, response FROM dead_letters WHERE queue = ? AND id = ?");
  if (!s.ok()) return s.status();
  auto row = s->Bind(1, queue).Bind(2, id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound(msg::kEntityMissing);
  return DeadLetterFromRow(*s);
}

}  // namespace stratus
