#include "store/sqlite/sqlite_store.h"

#include <array>
#include <chrono>
#include <filesystem>

#include "common/thread_name.h"

#include "common/json.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/writer.h"

namespace stratus {
namespace {

using sqlite::DecodeQueue;

constexpr size_t kMaxBatch = 2048;
// Writes per group commit: powers of two up to kMaxBatch.
constexpr std::array<double, 12> kBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048};
constexpr Micros kGcInterval = 60LL * kMicrosPerSecond;
constexpr int kCheckpointPages = 1000;  // SQLite's own automatic threshold (4 MB of WAL)

// Reads rows into a page of at most `page_size` items; one extra row tells whether another
// page follows, and `cursor_of` names the last item taken as the next page's start.
template <typename T, typename Decode, typename CursorOf>
StatusOr<Page<T>> CollectPage(sqlite::Stmt& s, int page_size, Decode decode, CursorOf cursor_of) {
  Page<T> page;
  std::string last;
  for (;;) {
    STRATUS_ASSIGN_OR_RETURN(auto row, s.Step());
    if (!row) return page;
    if (page.items.size() == static_cast<size_t>(page_size)) {
      page.next_cursor = last;
      return page;
    }
    STRATUS_ASSIGN_OR_RETURN(auto item, decode(s));
    last = cursor_of(s, item);
    page.items.push_back(std::move(item));
  }
}

// Brings the file to kSchemaVersion in one transaction: a new file gets the schema, an older
// one is migrated; a newer one (from a later stratus) is refused rather than misread.
}  // namespace

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

namespace {

Status RefuseTruncatedFile(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size != 0) return Status::Ok();
  const std::filesystem::path file(path);
  const std::filesystem::path oidc = file.parent_path() / "oidc";
  std::string evidence;
  if (std::filesystem::exists(path + "-wal", ec)) {
    evidence = path + "-wal exists";
  } else if (std::filesystem::exists(oidc, ec)) {
    evidence = oidc.string() + " exists";
  }
  if (evidence.empty()) return Status::Ok();
  return FailedPrecondition(path + " is empty (0 bytes), but " + evidence +
                            ", so it held data: refusing to start on an empty database. Restore " + path +
                            " from a backup, or move the data dir aside to start afresh.");
}

// PRAGMA quick_check: every page and b-tree is well formed (without the index/table
// cross-check of integrity_check, so it stays linear in the file size).
Status QuickCheck(sqlite::Db& db, const std::string& path) {
  sqlite3_stmt* s = nullptr;
  std::string problems;
  int rc = sqlite3_prepare_v2(db.raw(), "PRAGMA quick_check(5)", -1, &s, nullptr);
  while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(s, 0);
    std::string line = text ? reinterpret_cast<const char*>(text) : "";
    if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    problems += (problems.empty() ? "" : "; ") + std::string(sqlite3_errmsg(db.raw()));
  sqlite3_finalize(s);
  if (problems.empty()) return Status::Ok();
  return FailedPrecondition(path + " failed its integrity check (PRAGMA quick_check: " + problems +
                            "): refusing to start. Restore it from a backup, or salvage what SQLite can read "
                            "with `sqlite3 " +
                            path + " .recover | sqlite3 recovered.db` and start on that.");
}

}  // namespace

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, StoreOptions options) {
  STRATUS_RETURN_IF_ERROR(RefuseTruncatedFile(path));
  STRATUS_ASSIGN_OR_RETURN(auto db, sqlite::Db::Open(path));
  STRATUS_RETURN_IF_ERROR(QuickCheck(*db, path));
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"}) {
    STRATUS_RETURN_IF_ERROR(db->Exec(sql));
  }
  STRATUS_RETURN_IF_ERROR(sqlite::MigrateSchema(*db));
  STRATUS_ASSIGN_OR_RETURN(auto checkpointer, sqlite::Checkpointer::Start(path, db->raw(), kCheckpointPages));
  return std::unique_ptr<SqliteStore>(new SqliteStore(path, options, std::move(db), std::move(checkpointer)));
}

SqliteStore::SqliteStore(std::string path, StoreOptions options, std::unique_ptr<sqlite::Db> writer,
                         std::unique_ptr<sqlite::Checkpointer> checkpointer)
    : path_(std::move(path)),
      options_(options),
      writer_db_(std::move(writer)),
      checkpointer_(std::move(checkpointer)),
      commit_writes_(kBatchBuckets) {
  writer_ = std::make_unique<sqlite::Writer>(*writer_db_, options_);
  writer_thread_ = std::thread([this] {
    NameThisThread("sqlite-writer");
    WriterLoop();
  });
}

SqliteStore::~SqliteStore() {
  Close();
}

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
  // A create's document is encoded here, on the caller's loop, not on the one writer thread.
  std::string doc;
  if (auto* create = std::get_if<TaskCreate>(&mutation)) doc = sqlite::EncodeTaskDoc(create->task, false);
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      pending_.push_back(Pending{std::move(mutation), now, std::move(done), std::move(doc)});
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
  const auto began = std::chrono::steady_clock::now();
  Status st = writer_db_->Exec("BEGIN IMMEDIATE");
  if (st.ok()) {
    for (auto& p : batch) {
      results.push_back(writer_->Apply(p.mutation, p.now, p.doc));
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
    writer_->Forget();
    commit_failures_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(health_mu_);
      last_commit_error_ = st;
    }
    for (auto& p : batch) p.done(st);
    return;
  }
  {
    std::lock_guard lock(health_mu_);
    last_commit_error_ = Status::Ok();
  }
  commits_.fetch_add(1);
  commit_seconds_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  commit_writes_.Observe(static_cast<double>(batch.size()));
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

Status SqliteStore::Health() {
  Status failed;
  {
    std::lock_guard lock(health_mu_);
    failed = last_commit_error_;
  }
  if (!failed.ok()) {
    // Nothing else may write until traffic returns, and traffic waits for ready: probe with a
    // commit of our own (rewriting the schema version touches page 1 and syncs the WAL).
    auto probe = sqlite::Db::Open(path_);
    Status st = probe.ok() ? (*probe)->Exec("BEGIN IMMEDIATE") : probe.status();
    if (st.ok()) st = (*probe)->Exec(("PRAGMA user_version = " + std::to_string(sqlite::kSchemaVersion)).c_str());
    if (st.ok()) st = (*probe)->Exec("COMMIT");
    if (!st.ok()) return Unavailable("the last commit failed: " + failed.message());
    std::lock_guard lock(health_mu_);
    last_commit_error_ = Status::Ok();
  }
  // A read that reaches the roots of the two main tables, not a scan.
  STRATUS_ASSIGN_OR_RETURN(auto r, AcquireReader());
  STRATUS_ASSIGN_OR_RETURN(auto s,
                           r->Prepare("SELECT (SELECT name FROM queues LIMIT 1), (SELECT id FROM tasks LIMIT 1)"));
  return s.Step().status();
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
  STRATUS_ASSIGN_OR_RETURN(auto db, sqlite::Db::Open(path_));
  return Reader(this, std::move(db));
}

StatusOr<Queue> SqliteStore::GetQueue(const std::string& name) {
  STRATUS_ASSIGN_OR_RETURN(auto r, AcquireReader());
  STRATUS_ASSIGN_OR_RETURN(auto s, r->Prepare("SELECT doc, ext FROM queues WHERE name = ?"));
  STRATUS_ASSIGN_OR_RETURN(auto row, s.Bind(1, name).Step());
  if (!row) return StoreError(StoreReason::kQueueMissing);
  return DecodeQueue(s.Text(0), s.Text(1));
}

StatusOr<Page<Queue>> SqliteStore::ListQueues(const std::string& parent, std::optional<QueueState> state, int page_size,
                                              const std::string& cursor) {
  STRATUS_ASSIGN_OR_RETURN(auto r, AcquireReader());
  // Names under parent lie in [parent + "/queues/", parent + "/queues0") since '0' follows '/'.
  std::string lo = parent + "/queues/";
  std::string hi = parent + "/queues0";
  if (!cursor.empty()) {
    if (cursor.compare(0, lo.size(), lo) != 0) return StoreError(StoreReason::kBadCursor);
    lo = cursor;
  }
  STRATUS_ASSIGN_OR_RETURN(auto s, r->Prepare("SELECT name, doc, ext FROM queues WHERE name > ? AND name < ? AND (? < "
                                              "0 OR state = ?) ORDER BY name LIMIT ?"));
  int64_t st = state ? static_cast<int64_t>(*state) : -1;
  s.Bind(1, lo).Bind(2, hi).Bind(3, st).Bind(4, st).Bind(5, static_cast<int64_t>(page_size) + 1);
  return CollectPage<Queue>(
      s, page_size, [](sqlite::Stmt& row) { return DecodeQueue(row.Text(1), row.Text(2)); },
      [](sqlite::Stmt&, const Queue& q) { return q.name; });
}

StatusOr<Task> SqliteStore::GetTask(const std::string& name, Micros now) {
  STRATUS_ASSIGN_OR_RETURN(auto r, AcquireReader());
  auto [queue, id] = SplitTaskName(name);
  static const std::string sql =
      std::string("SELECT doc, body, ") + sqlite::kStateColumns + " FROM tasks WHERE queue = ? AND id = ?";
  STRATUS_ASSIGN_OR_RETURN(auto s, r->Prepare(sql.c_str()));
  STRATUS_ASSIGN_OR_RETURN(auto row, s.Bind(1, queue).Bind(2, id).Step());
  if (row) return sqlite::DecodeTaskRow(s, 0);
  STRATUS_ASSIGN_OR_RETURN(auto t, r->Prepare("SELECT deleted_us FROM tombstones WHERE kind = 1 AND name = ?"));
  STRATUS_ASSIGN_OR_RETURN(auto trow, t.Bind(1, name).Step());
  if (trow && t.Int(0) + options_.task_dedup_window > now) return StoreError(StoreReason::kTaskRecentlyDeleted);
  return StoreError(StoreReason::kTaskMissing);
}

StatusOr<Page<Task>> SqliteStore::ListTasks(const std::string& queue, int page_size, const std::string& cursor,
                                            bool with_body) {
  STRATUS_ASSIGN_OR_RETURN(auto r, AcquireReader());
  // Key order (the task id): the one thing a task never changes, so pages stay exact while
  // tasks are rescheduled, retried or run during a listing. Generated ids grow with time, so
  // this is creation order for them; Cloud Tasks promises no order at all.
  std::string after;
  if (!cursor.empty()) {
    if (cursor[0] != 'k') return StoreError(StoreReason::kBadCursor);
    after = cursor.substr(1);
  }
  static const std::string sql = std::string("SELECT doc, CASE WHEN ? THEN body ELSE NULL END, ") +
                                 sqlite::kStateColumns +
                                 ", id FROM tasks WHERE queue = ? AND id > ? ORDER BY id LIMIT ?";
  STRATUS_ASSIGN_OR_RETURN(auto s, r->Prepare(sql.c_str()));
  s.Bind(1, static_cast<int64_t>(with_body)).Bind(2, queue).Bind(3, after);
  s.Bind(4, static_cast<int64_t>(page_size) + 1);
  constexpr int kIdColumn = 2 + sqlite::kStateColumnCount;
  return CollectPage<Task>(
      s, page_size, [](sqlite::Stmt& row) { return sqlite::DecodeTaskRow(row, 0); },
      [](sqlite::Stmt& row, const Task&) { return "k" + row.Text(kIdColumn); });
}

StatusOr<int64_t> SqliteStore::CountTasks(const std::string& queue) {
  STRATUS_ASSIGN_OR_RETURN(auto r, AcquireReader());
  STRATUS_ASSIGN_OR_RETURN(auto s, r->Prepare("SELECT COUNT(*) FROM tasks WHERE queue = ?"));
  STRATUS_RETURN_IF_ERROR(s.Bind(1, queue).Step().status());
  return s.Int(0);
}

Status SqliteStore::ScanTasks(const std::string& queue, const std::function<void(TaskKey)>& fn) {
  STRATUS_ASSIGN_OR_RETURN(auto r, AcquireReader());
  STRATUS_ASSIGN_OR_RETURN(auto s, r->Prepare("SELECT queue, id, schedule_us FROM tasks WHERE ? = '' OR queue = ?"));
  s.Bind(1, queue).Bind(2, queue);
  for (;;) {
    STRATUS_ASSIGN_OR_RETURN(auto row, s.Step());
    if (!row) return Status::Ok();
    fn(TaskKey{s.Text(0), s.Text(1), s.Int(2)});
  }
}

StatusOr<std::vector<Queue>> SqliteStore::AllQueues() {
  STRATUS_ASSIGN_OR_RETURN(auto r, AcquireReader());
  STRATUS_ASSIGN_OR_RETURN(auto s, r->Prepare("SELECT doc, ext FROM queues ORDER BY name"));
  std::vector<Queue> out;
  for (;;) {
    STRATUS_ASSIGN_OR_RETURN(auto row, s.Step());
    if (!row) return out;
    STRATUS_ASSIGN_OR_RETURN(auto q, DecodeQueue(s.Text(0), s.Text(1)));
    out.push_back(std::move(q));
  }
}

namespace {

StatusOr<DeadLetter> DeadLetterFromRow(sqlite::Stmt& s) {
  // Columns: doc, body, dead_us, reason, status, headers, response
  STRATUS_ASSIGN_OR_RETURN(auto t, sqlite::DecodeTaskDoc(s.Text(0), s.Text(1)));
  DeadLetter d;
  d.task = std::move(t);
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
  STRATUS_ASSIGN_OR_RETURN(auto r, AcquireReader());
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
      auto s, r->Prepare("SELECT doc, body, dead_us, reason, status, headers, response, id FROM dead_letters "
                         "WHERE queue = ? AND (dead_us, id) < (?, ?) ORDER BY dead_us DESC, id DESC LIMIT ?"));
  s.Bind(1, queue).Bind(2, before_us).Bind(3, before_id).Bind(4, static_cast<int64_t>(page_size) + 1);
  return CollectPage<DeadLetter>(s, page_size, DeadLetterFromRow, [](sqlite::Stmt& row, const DeadLetter& d) {
    return std::to_string(d.dead_time) + "/" + row.Text(7);
  });
}

StatusOr<DeadLetter> SqliteStore::GetDeadLetter(const std::string& name) {
  STRATUS_ASSIGN_OR_RETURN(auto r, AcquireReader());
  auto [queue, id] = SplitTaskName(name);
  STRATUS_ASSIGN_OR_RETURN(
      auto s,
      r->Prepare(
          "SELECT doc, body, dead_us, reason, status, headers, response FROM dead_letters WHERE queue = ? AND id = ?"));
  STRATUS_ASSIGN_OR_RETURN(auto row, s.Bind(1, queue).Bind(2, id).Step());
  if (!row) return StoreError(StoreReason::kDeadLetterMissing);
  return DeadLetterFromRow(s);
}

void SqliteStore::AppendMetrics(std::string* out) const {
  metrics::AppendFamily(out, "stratus_store_commit_duration_seconds", "histogram",
                        "SQLite group commits: BEGIN to COMMIT (the fsync included) of one batch of writes");
  metrics::AppendHistogram(out, "stratus_store_commit_duration_seconds", "", commit_seconds_);
  metrics::AppendFamily(out, "stratus_store_commit_writes", "histogram", "Writes per SQLite group commit");
  metrics::AppendHistogram(out, "stratus_store_commit_writes", "", commit_writes_);
  metrics::AppendFamily(out, "stratus_store_commit_failures_total", "counter",
                        "Group commits that failed and were rolled back (every write in them answered an error)");
  metrics::AppendSample(out, "stratus_store_commit_failures_total", "",
                        static_cast<double>(commit_failures_.load(std::memory_order_relaxed)));
}

}  // namespace stratus
