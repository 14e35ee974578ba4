#include "store/postgres/pg_store.h"

#include <set>

#include "common/json.h"
#include "common/thread_name.h"
#include "store/postgres/pg_listener.h"
#include "store/postgres/rows.h"
#include "store/postgres/writer.h"

namespace stratus {
namespace {

constexpr size_t kMaxBatch = 2048;
constexpr Micros kGcInterval = 60LL * kMicrosPerSecond;
constexpr size_t kMaxNotifyPayload = 7000;  // PostgreSQL's limit is 8000 bytes

const std::string kTaskColumns = std::string("doc, body, ") + pg::kStateColumns;

// Rows into a page of at most `page_size` items; the query asked for one more, which tells
// whether another page follows, and `cursor_of` names the last item taken.
template <typename T, typename Decode, typename CursorOf>
StatusOr<Page<T>> CollectPage(const pg::Result& r, int page_size, Decode decode, CursorOf cursor_of) {
  Page<T> page;
  for (int i = 0; i < r.rows(); ++i) {
    if (page.items.size() == static_cast<size_t>(page_size)) {
      page.next_cursor = cursor_of(r, i - 1, page.items.back());
      return page;
    }
    STRATUS_ASSIGN_OR_RETURN(auto item, decode(r, i));
    page.items.push_back(std::move(item));
  }
  return page;
}

// What other nodes must hear of a committed mutation, if anything.
std::optional<cluster::Change> ChangeOf(const Mutation& m, const WriteResult& r) {
  using Kind = cluster::Change::Kind;
  auto due = [&r] { return r.task ? r.task->schedule_time : 0; };
  // The writer moved the created task into the result.
  if (std::holds_alternative<TaskCreate>(m) && r.task) return cluster::Change{Kind::kTaskCreated, r.task->name, due()};
  if (auto* op = std::get_if<TaskRun>(&m)) return cluster::Change{Kind::kTaskRun, op->name, due()};
  if (auto* op = std::get_if<TaskDelete>(&m)) return cluster::Change{Kind::kTaskRemoved, op->name, 0};
  if (auto* op = std::get_if<DeadLetterRetry>(&m)) return cluster::Change{Kind::kTaskCreated, op->name, due()};
  if (auto* op = std::get_if<QueueUpdate>(&m)) return cluster::Change{Kind::kQueueChanged, op->name, 0};
  if (auto* op = std::get_if<QueuePurge>(&m)) return cluster::Change{Kind::kQueuePurged, op->name, 0};
  if (auto* op = std::get_if<QueueDelete>(&m)) return cluster::Change{Kind::kQueueDeleted, op->name, 0};
  return std::nullopt;
}

// The queues whose lease rows the batch's fenced attempt writes share-lock, as a text array
// literal, sorted: locked in this order at the start of the transaction, as the heartbeat
// locks its rows (pg_leases.cc), so the two never deadlock.
template <typename Batch>
std::string FencedQueues(const Batch& batch) {
  std::set<std::string> queues;
  for (const auto& p : batch) {
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, AttemptStart> || std::is_same_v<T, AttemptFinish>) {
            if (op.epoch != 0) queues.insert(QueueOfTask(op.name));
          }
        },
        p.mutation);
  }
  if (queues.empty()) return "";
  std::string out = "{";
  for (const auto& q : queues) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : q) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

bool InFailedTransaction(const Status& st) {
  return st.code() == Code::kInternal && ReasonOf(st) == StoreReason::kNone;
}

}  // namespace

class PgStore::Reader {
 public:
  Reader(PgStore* store, std::unique_ptr<pg::Conn> c) : store_(store), c_(std::move(c)) {}
  Reader(Reader&&) = default;
  ~Reader() {
    if (!c_ || c_->broken()) return;
    std::lock_guard lock(store_->readers_mu_);
    store_->idle_readers_.push_back(std::move(c_));
  }
  pg::Conn* operator->() { return c_.get(); }

 private:
  PgStore* store_;
  std::unique_ptr<pg::Conn> c_;
};

StatusOr<std::unique_ptr<PgStore>> PgStore::Open(const std::string& conninfo, StoreOptions options) {
  STRATUS_ASSIGN_OR_RETURN(auto c, pg::Conn::Open(conninfo));
  STRATUS_RETURN_IF_ERROR(pg::Migrate(*c));
  return std::unique_ptr<PgStore>(new PgStore(conninfo, options, std::move(c)));
}

PgStore::PgStore(std::string conninfo, StoreOptions options, std::unique_ptr<pg::Conn> writer)
    : conninfo_(std::move(conninfo)), options_(options), writer_conn_(std::move(writer)) {
  writer_pid_ = writer_conn_->backend_pid();
  writer_thread_ = std::thread([this] {
    NameThisThread("pg-writer");
    WriterLoop();
  });
}

PgStore::~PgStore() {
  Close();
}

void PgStore::Close() {
  {
    std::lock_guard lock(mu_);
    if (closing_ && !writer_thread_.joinable()) return;
    closing_ = true;
  }
  cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
}

void PgStore::Write(Mutation mutation, Micros now, WriteDone done) {
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

void PgStore::WriterLoop() {
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

void PgStore::RunBatch(std::vector<Pending>& batch) {
  Results results(batch.size());
  auto fail_all = [&](const Status& st) {
    {
      std::lock_guard lock(health_mu_);
      last_commit_error_ = st;
    }
    // A pipeline left half read cannot be used again: a new connection (dropping this one
    // rolls its transaction back).
    if (writer_conn_ && writer_conn_->in_pipeline()) writer_conn_.reset();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (results[i] && !results[i]->ok()) {
        batch[i].done(std::move(*results[i]));  // refused on its own
      } else {
        batch[i].done(st);
      }
    }
  };
  if (!writer_conn_ || writer_conn_->broken()) {
    auto c = pg::Conn::Open(conninfo_);
    if (!c.ok()) return fail_all(c.status());
    writer_conn_ = std::move(*c);
    writer_pid_ = writer_conn_->backend_pid();
  }
  pg::Writer writer(*writer_conn_, options_);
  if (Status st = writer.Prepare(); !st.ok()) return fail_all(st);
  const std::string fenced = FencedQueues(batch);
  // A mutation the server refused aborts the transaction: roll back, keep its error, and
  // apply the rest again, until a pass runs clean.
  for (;;) {
    bool again = false;
    Status st = ApplyBatch(writer, batch, results, fenced, again);
    if (!st.ok() || again) {
      if (writer_conn_->in_pipeline()) return fail_all(st.ok() ? Internal("postgres: a pipeline left open") : st);
      writer_conn_->Exec("ROLLBACK").IgnoreError();
    }
    if (!st.ok()) return fail_all(st);
    if (!again) break;
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& r = results[i];
      if (!r || !r->ok()) continue;
      // Rolled back: apply it again. A create moved its task into the result: put it back.
      if (auto* create = std::get_if<TaskCreate>(&batch[i].mutation); create && (*r)->task) {
        create->task = std::move(*(*r)->task);
      }
      r.reset();
    }
  }
  {
    std::lock_guard lock(health_mu_);
    last_commit_error_ = Status::Ok();
  }
  commits_.fetch_add(1);
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(*results[i]));
}

// One pass in one transaction, pipelined: BEGIN, the lease lock and every run of one-statement
// mutations (pg::Writer::OneStatement) go out together and are read back in one round trip;
// any other mutation runs alone between runs (it reads before it writes); then the
// notifications and COMMIT in one more round trip. Sets `again` when the server refused a
// mutation's statement (kept in its result), leaving the transaction to roll back.
Status PgStore::ApplyBatch(pg::Writer& writer, std::vector<Pending>& batch, Results& results, const std::string& fenced,
                           bool& again) {
  pg::Conn& c = *writer_conn_;
  static const std::string kBegin = "BEGIN";
  static const std::string kCommit = "COMMIT";
  static const std::string kLockLeases =
      "SELECT 1 FROM queue_leases WHERE queue = ANY($1::text[]) ORDER BY queue FOR SHARE";
  static const std::string kNotify = "SELECT pg_notify($1, $2)";
  // What went out and is not read yet: a batch index, or -1 for the transaction's own.
  std::vector<std::pair<int, const std::string*>> sent;
  // A mutation's own answer: kept, or the end of the pass.
  auto take = [&](size_t i, StatusOr<WriteResult> r) -> Status {
    if (!r.ok() && r.status().code() == Code::kUnavailable) return r.status();
    if (!r.ok() && InFailedTransaction(r.status())) again = true;
    results[i] = std::move(r);
    return Status::Ok();
  };
  auto read_back = [&]() -> Status {
    STRATUS_RETURN_IF_ERROR(c.Sync());
    for (auto [i, sql] : sent) {
      auto r = c.Next(*sql);
      if (!r.ok() && r.status().code() == Code::kAborted) continue;  // did not run: applied again
      // The transaction's own statement failed, or the connection did: the pass ends here
      // (the store drops a connection left inside a pipeline).
      if (!r.ok() && (i < 0 || r.status().code() == Code::kUnavailable || c.broken())) return r.status();
      // Nothing is acknowledged unless its transaction committed.
      if (sql == &kCommit && r->Command() != "COMMIT") return Internal("postgres: the batch was rolled back");
      if (i < 0) continue;
      auto idx = static_cast<size_t>(i);
      if (!r.ok()) {
        STRATUS_RETURN_IF_ERROR(take(idx, r.status()));
      } else {
        STRATUS_RETURN_IF_ERROR(take(idx, writer.Answer(batch[idx].mutation, *r)));
      }
    }
    sent.clear();
    return c.EndSync();
  };

  STRATUS_RETURN_IF_ERROR(c.EnterPipeline());
  STRATUS_RETURN_IF_ERROR(c.Send(kBegin));
  sent.emplace_back(-1, &kBegin);
  if (!fenced.empty()) {
    STRATUS_RETURN_IF_ERROR(c.Send(kLockLeases, {pg::Param(fenced)}));
    sent.emplace_back(-1, &kLockLeases);
  }
  for (size_t i = 0; i < batch.size() && !again; ++i) {
    if (results[i] && !results[i]->ok()) continue;
    if (auto s = writer.OneStatement(batch[i].mutation, batch[i].now)) {
      STRATUS_RETURN_IF_ERROR(c.Send(*s->sql, s->params));
      sent.emplace_back(static_cast<int>(i), s->sql);
      continue;
    }
    STRATUS_RETURN_IF_ERROR(read_back());
    if (again) break;
    STRATUS_RETURN_IF_ERROR(c.ExitPipeline());
    STRATUS_RETURN_IF_ERROR(take(i, writer.Apply(batch[i].mutation, batch[i].now)));
    STRATUS_RETURN_IF_ERROR(c.EnterPipeline());
  }
  STRATUS_RETURN_IF_ERROR(read_back());
  STRATUS_RETURN_IF_ERROR(c.ExitPipeline());
  if (again) return Status::Ok();
  if (batch.back().now - last_gc_ > kGcInterval) {
    last_gc_ = batch.back().now;
    STRATUS_RETURN_IF_ERROR(writer.CollectGarbage(batch.back().now));
  }
  STRATUS_RETURN_IF_ERROR(c.EnterPipeline());
  for (const auto& payload : Notifications(batch, results)) {
    STRATUS_RETURN_IF_ERROR(c.Send(kNotify, {pg::Param(kChangesChannel), pg::Param(payload)}));
    sent.emplace_back(-1, &kNotify);
  }
  STRATUS_RETURN_IF_ERROR(c.Send(kCommit));
  sent.emplace_back(-1, &kCommit);
  STRATUS_RETURN_IF_ERROR(read_back());
  return c.ExitPipeline();
}

std::vector<std::string> PgStore::Notifications(const std::vector<Pending>& batch, const Results& results) {
  std::vector<std::string> out;
  std::string payload;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!results[i] || !results[i]->ok()) continue;
    auto change = ChangeOf(batch[i].mutation, **results[i]);
    if (!change) continue;
    std::string line = cluster::EncodeChange(*change);
    if (!payload.empty() && payload.size() + 1 + line.size() > kMaxNotifyPayload) {
      out.push_back(payload);
      payload.clear();
    }
    if (!payload.empty()) payload += '\n';
    payload += line;
  }
  if (!payload.empty()) out.push_back(std::move(payload));
  return out;
}

StatusOr<PgStore::Reader> PgStore::AcquireReader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      auto c = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return Reader(this, std::move(c));
    }
  }
  STRATUS_ASSIGN_OR_RETURN(auto c, pg::Conn::Open(conninfo_));
  return Reader(this, std::move(c));
}

Status PgStore::Health() {
  Status failed;
  {
    std::lock_guard lock(health_mu_);
    failed = last_commit_error_;
  }
  STRATUS_ASSIGN_OR_RETURN(auto r, AcquireReader());
  if (!failed.ok()) {
    // Traffic waits for ready: probe with a write transaction of our own.
    Status st = r->Exec("BEGIN");
    if (st.ok()) st = r->Exec("UPDATE stratus_schema SET version = version");
    if (st.ok()) st = r->Exec("COMMIT");
    if (!st.ok()) {
      r->Exec("ROLLBACK").IgnoreError();
      return Unavailable("the last commit failed: " + failed.message());
    }
    std::lock_guard lock(health_mu_);
    last_commit_error_ = Status::Ok();
  }
  return r->Query("SELECT (SELECT name FROM queues LIMIT 1), (SELECT id FROM tasks LIMIT 1)").status();
}

StatusOr<Queue> PgStore::GetQueue(const std::string& name) {
  STRATUS_ASSIGN_OR_RETURN(auto c, AcquireReader());
  STRATUS_ASSIGN_OR_RETURN(auto r, c->Query("SELECT doc, ext FROM queues WHERE name = $1", {pg::Param(name)}));
  if (r.rows() == 0) return StoreError(StoreReason::kQueueMissing);
  return pg::DecodeQueueRow(r, 0, 0);
}

StatusOr<Page<Queue>> PgStore::ListQueues(const std::string& parent, std::optional<QueueState> state, int page_size,
                                          const std::string& cursor) {
  STRATUS_ASSIGN_OR_RETURN(auto c, AcquireReader());
  // Names under parent lie in [parent + "/queues/", parent + "/queues0") since '0' follows '/'.
  std::string lo = parent + "/queues/";
  std::string hi = parent + "/queues0";
  if (!cursor.empty()) {
    if (cursor.compare(0, lo.size(), lo) != 0) return StoreError(StoreReason::kBadCursor);
    lo = cursor;
  }
  int64_t st = state ? static_cast<int64_t>(*state) : -1;
  STRATUS_ASSIGN_OR_RETURN(
      auto r, c->Query("SELECT name, doc, ext FROM queues WHERE name > $1 AND name < $2 AND ($3 < 0 OR state = $3) "
                       "ORDER BY name LIMIT $4",
                       {pg::Param(lo), pg::Param(hi), pg::Param(st), pg::Param(static_cast<int64_t>(page_size) + 1)}));
  return CollectPage<Queue>(
      r, page_size, [](const pg::Result& res, int i) { return pg::DecodeQueueRow(res, i, 1); },
      [](const pg::Result&, int, const Queue& q) { return q.name; });
}

StatusOr<Task> PgStore::GetTask(const std::string& name, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(auto c, AcquireReader());
  auto [queue, id] = SplitTaskName(name);
  STRATUS_ASSIGN_OR_RETURN(auto r, c->Query("SELECT " + kTaskColumns + " FROM tasks WHERE queue = $1 AND id = $2",
                                            {pg::Param(queue), pg::Param(id)}));
  if (r.rows() > 0) return pg::DecodeTaskRow(r, 0, 0);
  STRATUS_ASSIGN_OR_RETURN(
      auto t, c->Query("SELECT deleted_us FROM tombstones WHERE kind = 1 AND name = $1", {pg::Param(name)}));
  if (t.rows() > 0 && t.Int(0, 0) + options_.task_dedup_window > now) {
    return StoreError(StoreReason::kTaskRecentlyDeleted);
  }
  return StoreError(StoreReason::kTaskMissing);
}

StatusOr<Page<Task>> PgStore::ListTasks(const std::string& queue, int page_size, const std::string& cursor,
                                        bool with_body) {
  STRATUS_ASSIGN_OR_RETURN(auto c, AcquireReader());
  // Key order (the task id), as the embedded store pages: stable while tasks change.
  std::string after;
  if (!cursor.empty()) {
    if (cursor[0] != 'k') return StoreError(StoreReason::kBadCursor);
    after = cursor.substr(1);
  }
  static const std::string sql = std::string("SELECT doc, CASE WHEN $1 THEN body ELSE NULL END, ") + pg::kStateColumns +
                                 ", id FROM tasks WHERE queue = $2 AND id > $3 ORDER BY id LIMIT $4";
  STRATUS_ASSIGN_OR_RETURN(auto r, c->Query(sql, {pg::Param(with_body ? "true" : "false"), pg::Param(queue),
                                                  pg::Param(after), pg::Param(static_cast<int64_t>(page_size) + 1)}));
  constexpr int kIdColumn = 2 + pg::kStateColumnCount;
  return CollectPage<Task>(
      r, page_size, [](const pg::Result& res, int i) { return pg::DecodeTaskRow(res, i, 0); },
      [](const pg::Result& res, int i, const Task&) { return "k" + res.Text(i, kIdColumn); });
}

StatusOr<int64_t> PgStore::CountTasks(const std::string& queue) {
  STRATUS_ASSIGN_OR_RETURN(auto c, AcquireReader());
  STRATUS_ASSIGN_OR_RETURN(auto r, c->Query("SELECT COUNT(*) FROM tasks WHERE queue = $1", {pg::Param(queue)}));
  return r.Int(0, 0);
}

Status PgStore::ScanTasks(const std::string& queue, const std::function<void(TaskKey)>& fn) {
  STRATUS_ASSIGN_OR_RETURN(auto c, AcquireReader());
  STRATUS_ASSIGN_OR_RETURN(
      auto r, c->Query("SELECT queue, id, schedule_us FROM tasks WHERE $1 = '' OR queue = $1", {pg::Param(queue)}));
  for (int i = 0; i < r.rows(); ++i) fn(TaskKey{r.Text(i, 0), r.Text(i, 1), r.Int(i, 2)});
  return Status::Ok();
}

StatusOr<std::vector<Queue>> PgStore::AllQueues() {
  STRATUS_ASSIGN_OR_RETURN(auto c, AcquireReader());
  STRATUS_ASSIGN_OR_RETURN(auto r, c->Query("SELECT doc, ext FROM queues ORDER BY name"));
  std::vector<Queue> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    STRATUS_ASSIGN_OR_RETURN(auto q, pg::DecodeQueueRow(r, i, 0));
    out.push_back(std::move(q));
  }
  return out;
}

namespace {

// Columns: doc, body, dead_us, reason, status, headers, response
StatusOr<DeadLetter> DeadLetterFromRow(const pg::Result& r, int i) {
  STRATUS_ASSIGN_OR_RETURN(auto t, pg::DecodeTaskDoc(r.Text(i, 0), r.Bytes(i, 1)));
  DeadLetter d;
  d.task = std::move(t);
  d.dead_time = r.Int(i, 2);
  d.reason = r.Text(i, 3);
  d.response_status = static_cast<int>(r.Int(i, 4));
  auto h = ParseJsonBody(r.Text(i, 5));
  if (h.ok() && h->is_object()) {
    for (const auto& [k, v] : h->items()) {
      if (v.is_string()) d.response_headers[k] = v.get<std::string>();
    }
  }
  d.response_body = r.Bytes(i, 6);
  return d;
}

}  // namespace

StatusOr<Page<DeadLetter>> PgStore::ListDeadLetters(const std::string& queue, int page_size,
                                                    const std::string& cursor) {
  STRATUS_ASSIGN_OR_RETURN(auto c, AcquireReader());
  int64_t before_us = INT64_MAX;
  std::string before_id = "\x7f";
  if (!cursor.empty()) {
    size_t slash = cursor.find('/');
    if (slash == std::string::npos) return StoreError(StoreReason::kBadCursor);
    try {
      before_us = std::stoll(cursor.substr(0, slash));
    } catch (...) {
      return StoreError(StoreReason::kBadCursor);
    }
    before_id = cursor.substr(slash + 1);
  }
  STRATUS_ASSIGN_OR_RETURN(
      auto r, c->Query("SELECT doc, body, dead_us, reason, status, headers, response, id FROM dead_letters "
                       "WHERE queue = $1 AND (dead_us, id) < ($2, $3) ORDER BY dead_us DESC, id DESC LIMIT $4",
                       {pg::Param(queue), pg::Param(before_us), pg::Param(before_id),
                        pg::Param(static_cast<int64_t>(page_size) + 1)}));
  return CollectPage<DeadLetter>(r, page_size, DeadLetterFromRow,
                                 [](const pg::Result& res, int i, const DeadLetter& d) {
                                   return std::to_string(d.dead_time) + "/" + res.Text(i, 7);
                                 });
}

StatusOr<DeadLetter> PgStore::GetDeadLetter(const std::string& name) {
  STRATUS_ASSIGN_OR_RETURN(auto c, AcquireReader());
  auto [queue, id] = SplitTaskName(name);
  STRATUS_ASSIGN_OR_RETURN(
      auto r, c->Query("SELECT doc, body, dead_us, reason, status, headers, response FROM dead_letters WHERE queue = "
                       "$1 AND id = $2",
                       {pg::Param(queue), pg::Param(id)}));
  if (r.rows() == 0) return StoreError(StoreReason::kDeadLetterMissing);
  return DeadLetterFromRow(r, 0);
}

}  // namespace stratus
