// The PostgreSQL store (`stratus serve --store postgres://...`): the same rows as the
// embedded store (schema.cc), in a database several nodes can share.
//
// Writes go to one writer thread per process that drains every queued mutation into one
// transaction and commits once (group commit, as the SQLite store does); each mutation's
// `done` runs after that COMMIT returned, which with PostgreSQL's default
// synchronous_commit=on means the WAL record is on disk. Reads use a small pool of
// connections of their own. A lost connection fails what was in flight with UNAVAILABLE and
// is opened again on the next write or read, so the store recovers without a restart when
// the server returns.
//
// A task's create, an attempt's start and its success are ONE statement each that checks
// its preconditions and writes in one go (pg::Writer::OneStatement); a batch's statements go
// to the server in a libpq pipeline, so a batch of them costs two round trips (its
// statements, then its NOTIFY and COMMIT), not several per mutation. Every other mutation
// reads its preconditions before it writes, alone between the pipelined runs. A statement the
// server refuses aborts the transaction: the batch is rolled back, that one mutation answers
// the error, and the others are applied again in a fresh transaction, so one bad write never
// fails its neighbours.
//
// Each committed change another node must know of (a create, run, delete, or a queue's
// change, purge or deletion) is sent with NOTIFY on the stratus_changes channel inside the
// same transaction (pg_listener.h receives them).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/postgres/pg.h"
#include "store/postgres/writer.h"
#include "stratus/store.h"

namespace stratus {

class PgStore final : public Store {
 public:
  // Connects, brings the schema to the current version under an advisory lock (so nodes
  // starting at once migrate once) and refuses a database from a newer stratus. Any number
  // of processes may open one database; which of them dispatches a queue is decided by the
  // queue leases (pg_leases.h, docs/cluster.md).
  static StatusOr<std::unique_ptr<PgStore>> Open(const std::string& conninfo, StoreOptions options);
  ~PgStore() override;

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

  uint64_t commits() const { return commits_.load(); }
  // The backend of the writer's connection: the sender of this process's notifications.
  int writer_backend_pid() const { return writer_pid_.load(); }
  const std::string& conninfo() const { return conninfo_; }

 private:
  struct Pending {
    Mutation mutation;
    Micros now;
    WriteDone done;
  };
  class Reader;

  PgStore(std::string conninfo, StoreOptions options, std::unique_ptr<pg::Conn> writer);
  void WriterLoop();
  using Results = std::vector<std::optional<StatusOr<WriteResult>>>;
  void RunBatch(std::vector<Pending>& batch);
  Status ApplyBatch(pg::Writer& writer, std::vector<Pending>& batch, Results& results, const std::string& fenced,
                    bool& again);
  // The batch's changes as NOTIFY payloads (sent inside its transaction: delivered at COMMIT).
  static std::vector<std::string> Notifications(const std::vector<Pending>& batch, const Results& results);
  StatusOr<Reader> AcquireReader();

  const std::string conninfo_;
  const StoreOptions options_;
  std::unique_ptr<pg::Conn> writer_conn_;  // the writer thread's; reopened after a failure
  std::atomic<int> writer_pid_{0};
  Micros last_gc_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> pending_;
  bool closing_ = false;
  std::thread writer_thread_;

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<pg::Conn>> idle_readers_;

  std::mutex health_mu_;
  Status last_commit_error_;
  std::atomic<uint64_t> commits_{0};
};

}  // namespace stratus
