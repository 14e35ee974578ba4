#include "cli/migrate.h"

#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "auth/key_source.h"
#include "cli/data_dir_lock.h"
#include "cli/output.h"
#include "common/clock.h"
#include "scheduler/postgres/pg_job_store.h"
#include "scheduler/sqlite_job_store.h"
#include "store/postgres/import.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/db.h"
#include "store/sqlite/sqlite_store.h"

namespace stratus::cli {
namespace {

namespace fs = std::filesystem;

// Neither side may drop a tombstone or a dead letter while the copy runs: each store's
// garbage collection keeps everything for this long.
constexpr Micros kForever = Micros{1} << 60;
constexpr StoreOptions kKeepEverything{kForever, kForever, kForever};
constexpr int kPage = 500;
constexpr size_t kInFlight = 1024;  // task creates queued at once (the writer commits them in groups)

// Task creates queued on the target's writer, at most kInFlight at a time; the first error wins.
class Pipeline {
 public:
  explicit Pipeline(Store& store) : store_(store) {}

  void Create(Task task) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < kInFlight; });
    ++in_flight_;
    lock.unlock();
    // The create time as `now`: the row keeps it, so a later purge treats the task as the
    // source did.
    Micros now = task.create_time;
    store_.Write(TaskCreate{std::move(task)}, now, [this](const StatusOr<WriteResult>& r) {
      std::lock_guard l(mu_);
      --in_flight_;
      ++done_;
      if (!r.ok() && error_.ok()) error_ = r.status();
      cv_.notify_all();
    });
  }
  uint64_t done() {
    std::lock_guard lock(mu_);
    return done_;
  }
  Status Drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
    return error_;
  }

 private:
  Store& store_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t in_flight_ = 0;
  uint64_t done_ = 0;
  Status error_;
};

class Migration {
 public:
  Migration(const MigrateOptions& o, Store& from, sqlite::Db& raw, PgStore& to, pg::Importer& importer)
      : o_(o), from_(from), raw_(raw), to_(to), importer_(importer) {}

  Status Run() {
    STRATUS_ASSIGN_OR_RETURN(auto queues, from_.AllQueues());
    STRATUS_RETURN_IF_ERROR(CopyQueues(queues));
    STRATUS_RETURN_IF_ERROR(CopyTasks(queues));
    STRATUS_RETURN_IF_ERROR(CopyDeadLetters(queues));
    STRATUS_RETURN_IF_ERROR(CopyTombstones());
    STRATUS_RETURN_IF_ERROR(CopyOidcKeys());
    to_.Close();
    return Verify();
  }

 private:
  void Note(const std::string& what, int64_t n) { std::cout << "copied " << n << " " << what << "\n" << std::flush; }

  Status CopyQueues(const std::vector<Queue>& queues) {
    SystemClock clock;
    for (const Queue& q : queues) {
      QueueUpdate op{q.name, [q](const Queue*, bool) -> StatusOr<Queue> { return q; }};
      STRATUS_RETURN_IF_ERROR(to_.WriteSync(std::move(op), clock.Now()).status());
    }
    source_.queues = static_cast<int64_t>(queues.size());
    Note("queues", source_.queues);
    return Status::Ok();
  }

  Status CopyTasks(const std::vector<Queue>& queues) {
    uint64_t total = 0;
    for (const Queue& q : queues) {
      STRATUS_ASSIGN_OR_RETURN(auto n, from_.CountTasks(q.name));
      total += static_cast<uint64_t>(n);
    }
    Progress bar("copying tasks", total);
    Pipeline pipe(to_);
    for (const Queue& q : queues) {
      std::string cursor;
      do {
        STRATUS_ASSIGN_OR_RETURN(auto page, from_.ListTasks(q.name, kPage, cursor, true));
        for (Task& t : page.items) {
          pipe.Create(std::move(t));
          ++source_.tasks;
        }
        bar.Set(pipe.done());
        cursor = page.next_cursor;
      } while (!cursor.empty());
    }
    Status st = pipe.Drain();
    bar.Finish();
    if (!st.ok()) return Status(st.code(), "copying tasks: " + st.message());
    Note("tasks", source_.tasks);
    return Status::Ok();
  }

  Status CopyDeadLetters(const std::vector<Queue>& queues) {
    Progress bar("copying dead letters", 0);
    for (const Queue& q : queues) {
      std::string cursor;
      do {
        STRATUS_ASSIGN_OR_RETURN(auto page, from_.ListDeadLetters(q.name, kPage, cursor));
        STRATUS_RETURN_IF_ERROR(importer_.AddDeadLetters(page.items));
        source_.dead_letters += static_cast<int64_t>(page.items.size());
        bar.Set(static_cast<uint64_t>(source_.dead_letters));
        cursor = page.next_cursor;
      } while (!cursor.empty());
    }
    bar.Finish();
    Note("dead letters", source_.dead_letters);
    return Status::Ok();
  }

  // Tombstones are not part of the Store interface: read from the file itself.
  Status CopyTombstones() {
    Progress bar("copying tombstones", 0);
    std::vector<pg::TombstoneRow> batch;
    STRATUS_ASSIGN_OR_RETURN(auto s, raw_.Prepare("SELECT kind, name, deleted_us FROM tombstones ORDER BY kind, name"));
    while (true) {
      STRATUS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) batch.push_back({static_cast<int>(s.Int(0)), s.Text(1), s.Int(2)});
      if (batch.size() == kPage || (!row && !batch.empty())) {
        STRATUS_RETURN_IF_ERROR(importer_.AddTombstones(batch));
        source_.tombstones += static_cast<int64_t>(batch.size());
        bar.Set(static_cast<uint64_t>(source_.tombstones));
        batch.clear();
      }
      if (!row) break;
    }
    bar.Finish();
    Note("tombstones (names held for the de-dup and queue-reuse windows)", source_.tombstones);
    return Status::Ok();
  }

  // Every key the node published, so tokens it signed before the move still verify against
  // the cluster's JWKS; the newest stays the signing key until the next rotation.
  Status CopyOidcKeys() {
    auto source = auth::MakeFileKeySource((fs::path(o_.from) / "oidc").string());
    STRATUS_ASSIGN_OR_RETURN(auto keys, source->Load());
    STRATUS_RETURN_IF_ERROR(importer_.AddOidcKeys(keys));
    source_.oidc_keys = static_cast<int64_t>(keys.size());
    Note("OIDC signing keys", source_.oidc_keys);
    return Status::Ok();
  }

  Status Verify() {
    STRATUS_ASSIGN_OR_RETURN(auto got, importer_.Count());
    std::string diff;
    auto check = [&](const char* what, int64_t want, int64_t have) {
      if (want != have) {
        diff += std::string(diff.empty() ? "" : "; ") + what + ": " + std::to_string(want) + " in " + o_.from + ", " +
                std::to_string(have) + " in the database";
      }
    };
    check("queues", source_.queues, got.queues);
    check("tasks", source_.tasks, got.tasks);
    check("dead letters", source_.dead_letters, got.dead_letters);
    check("tombstones", source_.tombstones, got.tombstones);
    check("OIDC keys", source_.oidc_keys, got.oidc_keys);
    if (!diff.empty()) return Internal("verification failed, the counts differ: " + diff);
    std::cout << "verified: " << got.queues << " queues, " << got.tasks << " tasks, " << got.dead_letters
              << " dead letters, " << got.tombstones << " tombstones, " << got.oidc_keys << " OIDC keys in "
              << pg::Redacted(o_.to) << "\n";
    return Status::Ok();
  }

  const MigrateOptions& o_;
  Store& from_;
  sqlite::Db& raw_;
  PgStore& to_;
  pg::Importer& importer_;
  pg::RowCounts source_;
};

int Fail(const std::string& message) {
  std::cerr << "stratus migrate: " << message << "\n";
  return 1;
}

// What stays in the data dir: the node that takes over keeps using it (same --data-dir).
void NoteLeftBehind(const std::string& dir) {
  std::error_code ec;
  for (const auto& [file, what] :
       std::vector<std::pair<std::string, std::string>>{{"redis", "the embedded Redis data"}}) {
    if (fs::exists(fs::path(dir) / file, ec)) {
      std::cout << "note: " << what << " (" << (fs::path(dir) / file).string()
                << ") stay in the data dir: start the PostgreSQL node with --data-dir " << dir << " to keep them\n";
    }
  }
}

// Copies DATA_DIR/scheduler.db's Cloud Scheduler jobs (when there is one) into `to` as they
// are (state, schedule and last run included) and checks the count.
Status CopySchedulerJobs(const std::string& dir, scheduler::PgJobStore& to) {
  const std::string path = (fs::path(dir) / "scheduler.db").string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return Status::Ok();
  STRATUS_ASSIGN_OR_RETURN(auto from, scheduler::SqliteJobStore::Open(path));
  STRATUS_ASSIGN_OR_RETURN(auto jobs, from->All());
  for (const scheduler::Job& job : jobs) {
    auto created = to.Create(job);
    if (!created.ok()) return Status(created.status().code(), job.name + ": " + created.status().message());
  }
  std::cout << "copied " << jobs.size() << " Cloud Scheduler jobs\n";
  STRATUS_ASSIGN_OR_RETURN(int64_t have, to.Count());
  if (have != static_cast<int64_t>(jobs.size())) {
    return Internal("verification failed, the counts differ: Cloud Scheduler jobs: " + std::to_string(jobs.size()) +
                    " in " + path + ", " + std::to_string(have) + " in the database");
  }
  std::cout << "verified: " << have << " Cloud Scheduler jobs\n";
  return Status::Ok();
}

}  // namespace

void AddMigrateOptions(CLI::App& cmd, MigrateOptions& o) {
  cmd.add_option("--from", o.from, "The data dir of a stopped embedded (SQLite) node")->required();
  cmd.add_option("--to", o.to,
                 "The PostgreSQL database: postgres://USER@HOST:PORT/DB, postgresql://..., or libpq's "
                 "'host=... dbname=...' (the password from PGPASSWORD or ~/.pgpass)")
      ->required();
  cmd.add_flag("--force", o.force, "Empty a database that already holds queues, tasks, tombstones or OIDC keys first");
}

int RunMigrate(const MigrateOptions& o) {
  const std::string db_path = (fs::path(o.from) / "stratus.db").string();
  std::error_code ec;
  if (!fs::is_regular_file(db_path, ec)) return Fail("no stratus database at " + db_path);
  // A running server would keep writing behind the copy.
  auto lock = DataDirLock::Acquire(o.from);
  if (!lock.ok()) return Fail(lock.status().message());
  auto from = SqliteStore::Open(db_path, kKeepEverything);
  if (!from.ok()) return Fail(db_path + ": " + from.status().message());
  auto raw = sqlite::Db::Open(db_path);
  if (!raw.ok()) return Fail(db_path + ": " + raw.status().message());

  auto importer = pg::Importer::Open(o.to);
  if (!importer.ok()) return Fail(importer.status().message());
  // A node heartbeats every lease/5 (at most 2 minutes); a live one would write behind the copy.
  constexpr int kLiveWindowSeconds = 150;
  auto live = (*importer)->LiveNodes(kLiveWindowSeconds);
  if (!live.ok()) return Fail(live.status().message());
  if (*live > 0) {
    return Fail("another stratus server is using this PostgreSQL database (" + std::to_string(*live) +
                " node(s) heartbeating in the last " + std::to_string(kLiveWindowSeconds) +
                " s); stop every node first");
  }
  auto to = PgStore::Open(o.to, kKeepEverything);
  if (!to.ok()) return Fail(to.status().message());
  auto existing = (*importer)->Count();
  if (!existing.ok()) return Fail(existing.status().message());
  if (!(*existing == pg::RowCounts{})) {
    if (!o.force) {
      return Fail("the database " + pg::Redacted(o.to) + " is not empty (" + std::to_string(existing->queues) +
                  " queues, " + std::to_string(existing->tasks) + " tasks, " + std::to_string(existing->dead_letters) +
                  " dead letters, " + std::to_string(existing->tombstones) + " tombstones, " +
                  std::to_string(existing->oidc_keys) + " OIDC keys); give --force to delete them and copy anyway");
    }
    if (Status st = (*importer)->Clear(); !st.ok()) return Fail(st.message());
    std::cout << "emptied " << pg::Redacted(o.to) << " (--force)\n";
  }
  auto jobs = scheduler::PgJobStore::Open(o.to);
  if (!jobs.ok()) return Fail(jobs.status().message());
  auto job_count = (*jobs)->Count();
  if (!job_count.ok()) return Fail(job_count.status().message());
  if (*job_count > 0) {
    if (!o.force) {
      return Fail("the database " + pg::Redacted(o.to) + " already holds " + std::to_string(*job_count) +
                  " Cloud Scheduler jobs; give --force to delete them and copy anyway");
    }
    if (Status st = (*jobs)->Clear(); !st.ok()) return Fail(st.message());
    std::cout << "emptied the Cloud Scheduler jobs of " << pg::Redacted(o.to) << " (--force)\n";
  }

  std::cout << "copying " << db_path << " to " << pg::Redacted(o.to) << "\n";
  Migration m(o, **from, **raw, **to, **importer);
  Status st = m.Run();
  (*from)->Close();
  if (!st.ok()) return Fail(st.message());
  if (Status copied = CopySchedulerJobs(o.from, **jobs); !copied.ok()) return Fail(copied.message());
  NoteLeftBehind(o.from);
  return 0;
}

}  // namespace stratus::cli
