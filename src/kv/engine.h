// The embedded Redis engine: the keyspace, the command table, expiry and the append-only
// log. Thread model (docs/redis.md): one mutex serialises command execution, as Redis's
// single thread does; it is held only while commands run and their log records are
// written (write(2), never fsync). HTTP parsing, JSON and waiting for fsync happen outside.
//
// Scripts never run on the caller's thread: a batch with EVAL, EVALSHA or SCRIPT runs on the
// engine's script thread, which owns the keyspace for the batch's whole duration without
// holding the mutex ("script active"). Meanwhile other batches wait (without blocking their
// thread: TryExecute says when to try again) until the script ends or reaches the busy
// threshold (Redis's lua-time-limit); past it they are answered BUSY and SCRIPT KILL may stop
// the script.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
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
#include "kv/scripting.h"

namespace stratus::kv {

class PubSubHub;  // kv/pubsub.h

// Where Upstash and Redis answer the same command differently, which one the engine follows
// (docs/redis.md, "Upstash or Redis"): approximate stream trims (`~`) and consumers
// XREADGROUP NOACK would create. The differential tests against redis-server run kRedis.
enum class Dialect { kUpstash, kRedis };

struct EngineOptions {
  Dialect dialect = Dialect::kUpstash;
  std::string log_path;  // empty: in memory only
  FsyncPolicy fsync = FsyncPolicy::kEverySec;
  // Rewrite the log when it exceeds both this size and twice its size after the last rewrite.
  uint64_t rewrite_min_bytes = 64u * 1024 * 1024;
  bool active_expiry = true;  // a background thread deletes expired keys every 100 ms
  // Redis's lua-time-limit: once a script has run this long, other commands are answered
  // BUSY and SCRIPT KILL may stop it.
  std::chrono::milliseconds script_busy_after{5000};
  ScriptLimits script;  // a hard time limit (none by default) and the interpreter's memory cap
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
  // `readonly`: the caller holds the read-only token. Blocks while a script runs (tests,
  // tools; the REST front end uses TryExecute).
  BatchResult Execute(const std::vector<Argv>& commands, bool atomic, bool readonly);

  // Running a batch without blocking the calling thread:
  //   kDone: it ran (or was answered BUSY); *out holds the result.
  //   kScriptThread: it has a script; hand it to RunOnScriptThread.
  //   kWait: a script is running, below the busy threshold. `wake` is called (from any
  //   thread) when it ends; try again then, or at retry_at, whichever comes first.
  enum class Route { kDone, kScriptThread, kWait };
  struct Attempt {
    Route route = Route::kDone;
    std::chrono::steady_clock::time_point retry_at{};
  };
  Attempt TryExecute(const std::vector<Argv>& commands, bool atomic, bool readonly, BatchResult* out,
                     std::function<void()> wake);
  // Queues a batch for the script thread; `done` runs there with its result.
  void RunOnScriptThread(std::vector<Argv> commands, bool atomic, bool readonly, std::function<void(BatchResult)> done);
  // One command (tests, tools).
  Reply Run(const Argv& argv);

  // Checks a command against the table without running it: nullopt when it may run.
  std::optional<Reply> Check(const Argv& argv, bool readonly, bool from_script) const;
  // Runs one command with the lock held (the scripting family calls back through this).
  Reply CallLocked(const Argv& argv, bool from_script);

  const CommandTable& table() const { return table_; }
  Dialect dialect() const { return options_.dialect; }
  Micros now_micros() const { return clock_.Now(); }  // TIME
  AppendLog* log() { return log_.get(); }
  ScriptRunner& scripts() { return *scripts_; }
  // PUBLISH's hub, which REST subscribers register with. Subscribers hold it by shared_ptr,
  // so one that outlives the engine unsubscribes safely.
  const std::shared_ptr<PubSubHub>& pubsub() const { return pubsub_; }
  // Deletes expired keys (what the background thread does), for tests.
  size_t ExpireNow();
  size_t DbSize();
  // True once a log write has failed: writes are refused (MISCONF) until restart.
  bool log_failed() const { return log_failed_.load() || (log_ && log_->sync_errno() != 0); }

 private:
  // Check, also giving the command's row (null when unknown).
  std::optional<Reply> Check(const Argv& argv, bool readonly, bool from_script, const CommandSpec** spec) const;
  // CallLocked with the row already found.
  Reply CallSpec(const CommandSpec& spec, const Argv& argv, bool from_script);
  // The body of a batch; the caller holds mu_ or is the script thread with the script active.
  BatchResult ExecuteExclusive(const std::vector<Argv>& commands, bool atomic, bool readonly);
  bool NeedsScriptThread(const std::vector<Argv>& commands) const;
  BatchResult BusyResult(const std::vector<Argv>& commands, bool atomic, bool readonly);
  void ScriptThreadLoop();
  void AppendRecord(const Argv& argv);
  void AppendRecord(std::string_view name, const Argv& argv);  // argv logged under another name
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
  std::shared_ptr<PubSubHub> pubsub_;
  std::string pending_;  // log records of the running batch
  size_t pending_records_ = 0;
  bool replaying_ = false;
  std::atomic<bool> log_failed_{false};
  bool log_unreadable_ = false;  // a rollback could not read the log back

  // The script thread and what it owns. Guarded by mu_: script_active_ (the keyspace
  // belongs to the script thread), its busy time, epoch and waiters.
  bool script_active_ = false;
  uint64_t script_epoch_ = 0;
  std::chrono::steady_clock::time_point script_busy_at_{};
  std::vector<std::function<void()>> script_waiters_;
  std::condition_variable script_cv_;
  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<std::function<void()>> jobs_;
  bool jobs_stop_ = true;  // until Open starts the script thread
  std::thread script_thread_;

  std::mutex expiry_mu_;
  std::condition_variable expiry_cv_;
  bool stop_ = false;
  std::thread expiry_thread_;
};

}  // namespace stratus::kv
