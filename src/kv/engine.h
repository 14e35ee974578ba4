// The embedded Redis engine: the keyspace, the command table, expiry and the append-only
// log. Thread model (docs/redis.md): one mutex serialises command execution, as Redis's
// single thread does; it is held only while commands run and their log records are
// written (write(2), never fsync). HTTP parsing, JSON and waiting for fsync happen outside.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "kv/append_log.h"
#include "kv/command.h"
#include "kv/keyspace.h"
#include "kv/reply.h"

namespace stratus::kv {

class ScriptRunner;

struct EngineOptions {
  std::string log_path;  // empty: in memory only
  FsyncPolicy fsync = FsyncPolicy::kEverySec;
  // Rewrite the log when it exceeds both this size and twice its size after the last rewrite.
  uint64_t rewrite_min_bytes = 64u * 1024 * 1024;
  bool active_expiry = true;  // a background thread deletes expired keys every 100 ms
};

struct BatchResult {
  std::vector<Reply> replies;  // one per command
  std::optional<Reply> abort;  // a transaction refused as a whole (EXECABORT)
  uint64_t log_seq = 0;        // wait for this to be durable before answering (0: nothing)
};

class Engine {
 public:
  explicit Engine(const Clock& clock);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Registers the families, opens and replays the log, starts active expiry.
  Status Open(EngineOptions options);
  void Close();

  // Runs commands in order. `atomic`: checked up front and applied as one unit (MULTI/EXEC).
  // `readonly`: the caller holds the read-only token.
  BatchResult Execute(const std::vector<Argv>& commands, bool atomic, bool readonly);
  // One command (tests, tools).
  Reply Run(const Argv& argv);

  // Checks a command against the table without running it: nullopt when it may run.
  std::optional<Reply> Check(const Argv& argv, bool readonly, bool from_script) const;
  // Runs one command with the lock held (the scripting family calls back through this).
  Reply CallLocked(const Argv& argv, bool from_script);

  const CommandTable& table() const { return table_; }
  AppendLog* log() { return log_.get(); }
  ScriptRunner& scripts() { return *scripts_; }
  // Deletes expired keys (what the background thread does), for tests.
  size_t ExpireNow();
  size_t DbSize();

 private:
  void AppendRecord(const Argv& argv);
  Status FlushLog(bool atomic, uint64_t* seq);
  Status LoadLog();  // replays the log into the (empty) keyspace
  void RollBack();   // after a failed log write: the keyspace as the log has it
  Status MaybeRewrite();
  std::string Snapshot();
  void ExpiryLoop();
  int64_t NowMs() const { return clock_.Now() / 1000; }

  const Clock& clock_;
  EngineOptions options_;
  CommandTable table_;
  std::mutex mu_;
  Keyspace db_;
  std::unique_ptr<AppendLog> log_;
  std::unique_ptr<ScriptRunner> scripts_;
  std::string pending_;  // log records of the running batch
  size_t pending_records_ = 0;
  bool replaying_ = false;
  std::atomic<bool> log_failed_{false};
  bool log_unreadable_ = false;  // a rollback could not read the log back

  std::mutex expiry_mu_;
  std::condition_variable expiry_cv_;
  bool stop_ = false;
  std::thread expiry_thread_;
};

}  // namespace stratus::kv
