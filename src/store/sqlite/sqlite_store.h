// The embedded store: one SQLite file in WAL mode with synchronous=FULL.
//
// Writes go to one writer thread that drains every queued mutation into a single
// transaction and commits once (group commit): N concurrent creates cost one fsync. Each
// mutation's `done` runs after that commit. Reads use a small pool of read-only connections,
// which WAL lets run beside the writer, and WAL checkpoints run on a thread of their own
// (checkpointer.h) so a commit never waits for one.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "store/sqlite/checkpointer.h"
#include "store/sqlite/db.h"
#include "store/sqlite/writer.h"
#include "stratus/store.h"

namespace stratus {

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database file at `path`. Refuses, with the reason and
  // what to do:
  //  * a file that fails `PRAGMA quick_check` (a corrupt page, a truncated file): serving it
  //    would answer "database disk image is malformed" and keep accepting writes beside it;
  //  * a zero-length file where data was expected: SQLite writes the header as soon as WAL
  //    mode is set, so a zero-length file beside a `-wal` file, or in a data dir that holds
  //    `oidc/` (made by `stratus serve` right after the database's first commit), was
  //    truncated. A zero-length file alone (a crash before the first write) is a new database.
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path, StoreOptions options);
  ~SqliteStore() override;

  void Write(Mutation mutation, Micros now, WriteDone done) override;
  StatusOr<Queue> GetQueue(const std::string& name) override;
  StatusOr<Page<Queue>> ListQueues(const std::string& parent, std::optional<QueueState> state, int page_size,
                                   const std::string& cursor) override;
  StatusOr<Task> GetTask(const std::string& name, Micros now) override;
  StatusOr<Page<Task>> ListTasks(const std::string& queue, int page_size, const std::string& cursor,
                                 bool with_body) override;
  StatusOr<int64_t> CountTasks(const std::string& queue) override;
  Status ScanTasks(const std::string& queue, const std::function<void(TaskKey)>& fn) override;
  StatusOr<std::vector<Queue>> AllQueues() override;
  StatusOr<Page<DeadLetter>> ListDeadLetters(const std::string& queue, int page_size,
                                             const std::string& cursor) override;
  StatusOr<DeadLetter> GetDeadLetter(const std::string& name) override;
  Status Health() override;
  void Close() override;

  // Commits performed so far (for tests and metrics: fewer commits than writes = group commit).
  uint64_t commits() const { return commits_.load(); }
  // The writer's families for /metrics: each group commit's time (BEGIN to COMMIT) and
  // writes, and the batches that failed.
  void AppendMetrics(std::string* out) const;

 private:
  struct Pending {
    Mutation mutation;
    Micros now;
    WriteDone done;
    std::string doc;  // a TaskCreate's task document, encoded by Write()
  };

  SqliteStore(std::string path, StoreOptions options, std::unique_ptr<sqlite::Db> writer,
              std::unique_ptr<sqlite::Checkpointer> checkpointer);
  void WriterLoop();
  void RunBatch(std::vector<Pending>& batch);

  // Borrowed reader connection, returned to the pool on destruction.
  class Reader;
  StatusOr<Reader> AcquireReader();

  std::string path_;
  StoreOptions options_;
  std::unique_ptr<sqlite::Db> writer_db_;
  std::unique_ptr<sqlite::Checkpointer> checkpointer_;  // after writer_db_: stops before it closes
  std::unique_ptr<sqlite::Writer> writer_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> pending_;
  bool closing_ = false;
  std::thread writer_thread_;
  std::atomic<uint64_t> commits_{0};
  metrics::Histogram commit_seconds_;
  metrics::Histogram commit_writes_;
  std::atomic<uint64_t> commit_failures_{0};
  Micros last_gc_ = 0;

  std::mutex health_mu_;
  Status last_commit_error_;  // the last batch's storage failure; OK after a commit succeeds

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<sqlite::Db>> idle_readers_;
};

}  // namespace stratus
