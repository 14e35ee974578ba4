#include "kv/engine.h"
#include "common/thread_name.h"

#include <chrono>
#include <cstdio>
#include <future>

#include "kv/pubsub.h"
#include "kv/scripting.h"
#include "kv/util.h"

namespace stratus::kv {
namespace {

constexpr std::string_view kExecAbort = "EXECABORT Transaction discarded because of previous errors.";

std::string UnknownCommand(const Argv& argv) {
  std::string args;
  for (size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
    std::string_view a = argv[i];
    a = a.substr(0, std::min(a.size(), 128 - args.size()));
    a = a.substr(0, a.find('\0'));
    args += "'" + std::string(a) + "' ";
  }
  std::string_view name = argv[0];
  name = name.substr(0, std::min<size_t>(128, name.find('\0')));
  std::string msg = "ERR unknown command '" + std::string(name) + "', with args beginning with: " + args;
  for (char& c : msg) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return msg;
}

}  // namespace

Engine::Engine(const Clock& clock)
    : clock_(clock), scripts_(std::make_unique<ScriptRunner>()), pubsub_(std::make_shared<PubSubHub>()) {}

Engine::~Engine() {
  Close();
}

Status Engine::Open(EngineOptions options) {
  options_ = std::move(options);
  STRATUS_RETURN_IF_ERROR(RegisterAllFamilies(table_));
  scripts_->set_limits(options_.script);

  if (!options_.log_path.empty()) {
    STRATUS_ASSIGN_OR_RETURN(auto log, AppendLog::Open(options_.log_path, options_.fsync));
    std::lock_guard lock(mu_);
    log_ = std::move(log);
    STRATUS_RETURN_IF_ERROR(LoadLog());
    // Compaction at start: the log becomes the snapshot of what was just loaded.
    STRATUS_RETURN_IF_ERROR(log_->Rewrite(Snapshot()));
  }
  {
    std::lock_guard lock(jobs_mu_);
    jobs_stop_ = false;
  }
  script_thread_ = std::thread([this] {
    NameThisThread("kv-script");
    ScriptThreadLoop();
  });
  if (options_.active_expiry)
    expiry_thread_ = std::thread([this] {
      NameThisThread("kv-expiry");
      ExpiryLoop();
    });
  return Status::Ok();
}

Status Engine::LoadLog() {
  replaying_ = true;
  db_.set_loading(true);
  db_.set_now(NowMs());
  Status st = log_->Replay([this](const Argv& argv) -> std::string {
    if (auto refused = Check(argv, false, false)) return refused->str;
    (void)CallLocked(argv, false);
    return "";
  });
  db_.set_loading(false);
  replaying_ = false;
  pending_.clear();
  pending_records_ = 0;
  STRATUS_RETURN_IF_ERROR(st);
  db_.set_now(NowMs());
  db_.ExpireSome(SIZE_MAX);
  ExpireHashFields(db_, SIZE_MAX, [](const Argv&) {});  // as for keys: the log holds absolute times
  (void)db_.TakeExpired();
  return Status::Ok();
}

void Engine::RollBack() {
  // The batch's log write failed, so the batch never happened: the keyspace is rebuilt from
  // the log, which still ends with the last batch written whole (Append cut off the rest).
  // This costs a reload, once: after a failed write every later write is refused.
  Keyspace applied = std::move(db_);
  db_ = Keyspace();
  Status st = LoadLog();
  if (!st.ok()) {
    // The log cannot be read back either: keep what memory holds, but answer nothing from
    // it, since it holds a change that is not on disk.
    db_ = std::move(applied);
    log_unreadable_ = true;
    std::fprintf(stderr,
                 "stratus: the Redis log cannot be read back after a failed write (%s); every command is refused until "
                 "restart\n",
                 st.message().c_str());
  }
}

void Engine::Close() {
  {
    std::lock_guard lock(expiry_mu_);
    stop_ = true;
    expiry_cv_.notify_all();
  }
  if (expiry_thread_.joinable()) expiry_thread_.join();
  // A running script stops at its next check, writes or not; queued batches are answered.
  scripts_->Abort();
  {
    std::lock_guard lock(jobs_mu_);
    jobs_stop_ = true;
    jobs_cv_.notify_all();
  }
  if (script_thread_.joinable()) script_thread_.join();
  std::lock_guard lock(mu_);
  if (log_) log_->Close();
}

std::optional<Reply> Engine::Check(const Argv& argv, bool readonly, bool from_script) const {
  const CommandSpec* spec = nullptr;
  return Check(argv, readonly, from_script, &spec);
}

std::optional<Reply> Engine::Check(const Argv& argv, bool readonly, bool from_script, const CommandSpec** found) const {
  if (argv.empty()) return Reply::Error("ERR empty command");
  const CommandSpec* spec = table_.Find(argv[0]);
  *found = spec;
  if (!spec) return Reply::Error(UnknownCommand(argv));
  int argc = static_cast<int>(argv.size());
  if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
    return Reply::Error(ArityError(spec->name));
  }
  if (readonly && (spec->flags & (kWrite | kDenyReadOnlyToken))) {
    return Reply::Error("NOPERM this user has no permissions to run the '" + std::string(spec->name) + "' command");
  }
  if (from_script && (spec->flags & kNoScript))
    return Reply::Error("ERR This Redis command is not allowed from script");
  return std::nullopt;
}

void Engine::AppendRecord(const Argv& argv) {
  if (replaying_ || !log_) return;
  AppendRespCommand(argv, &pending_);
  ++pending_records_;
}

void Engine::AppendRecord(std::string_view name, const Argv& argv) {
  if (replaying_ || !log_) return;
  AppendRespCommand(name, argv, &pending_);
  ++pending_records_;
}

Reply Engine::CallLocked(const Argv& argv, bool from_script) {
  return CallSpec(*table_.Find(argv[0]), argv, from_script);
}

Reply Engine::CallSpec(const CommandSpec& command, const Argv& argv, bool from_script) {
  const CommandSpec* spec = &command;
  CommandContext ctx{*this,          db_, argv, Reply{}, /*dirty=*/false, /*custom_records=*/{}, /*custom=*/false,
                     /*log_name=*/{}};
  spec->handler(ctx);
  if (db_.HasExpired()) {
    for (auto& key : db_.TakeExpired()) AppendRecord({"DEL", std::move(key)});
  }
  if ((spec->flags & kWrite) && ctx.dirty) {
    if (ctx.custom) {
      for (const auto& rec : ctx.custom_records) AppendRecord(rec);
    } else if (!ctx.log_name.empty()) {
      AppendRecord(ctx.log_name, argv);
    } else {
      AppendRecord(argv);
    }
  }
  return std::move(ctx.reply);
}

Status Engine::FlushLog(bool atomic, uint64_t* seq) {
  if (pending_records_ == 0) return Status::Ok();
  std::string bytes;
  if (pending_records_ > 1) {
    bytes.reserve(pending_.size() + 32);
    AppendRespCommand({"MULTI"}, &bytes);
    bytes += pending_;
    AppendRespCommand({"EXEC"}, &bytes);
  } else {
    bytes.swap(pending_);
  }
  pending_.clear();
  pending_records_ = 0;
  // After a failed write nothing more is appended: writes are refused, and what reads and
  // expiry delete is gone by time anyway (the log holds absolute expiry times).
  if (log_failed_) return Status::Ok();
  auto s = log_->Append(bytes);
  if (!s.ok()) {
    // Said once: from here on every write is refused (MISCONF), so the failure cannot repeat.
    // A command learns it from its reply; an expiry flush (nobody waiting) only from this line.
    log_failed_ = true;
    std::fprintf(stderr, "stratus: writing the Redis log failed, Redis writes are refused until restart: %s\n",
                 s.status().message().c_str());
    return s.status();
  }
  *seq = *s;
  // A failed rewrite leaves the current log in use and complete: the batch is durable.
  if (Status rw = MaybeRewrite(); !rw.ok()) {
    std::fprintf(stderr, "stratus: rewriting the Redis log failed, the current log is kept: %s\n",
                 rw.message().c_str());
  }
  return Status::Ok();
}

Status Engine::MaybeRewrite() {
  uint64_t size = log_->file_bytes();
  if (size < options_.rewrite_min_bytes || size < 2 * log_->base_bytes()) return Status::Ok();
  return log_->Rewrite(Snapshot());
}

BatchResult Engine::ExecuteExclusive(const std::vector<Argv>& commands, bool atomic, bool readonly) {
  BatchResult out;
  if (log_unreadable_) {
    for (size_t i = 0; i < commands.size(); ++i) {
      out.replies.push_back(Reply::Error("MISCONF Errors writing to and reading the append-only log; restart"));
    }
    return out;
  }
  if (log_ && log_->sync_errno() != 0) log_failed_ = true;  // an fsync failed: the same as a failed write
  if (log_failed_) {
    // After a failed log write nothing more is acknowledged as durable; reads still work.
    readonly = true;
  }
  if (atomic) {
    for (const auto& cmd : commands) {
      if (Check(cmd, readonly, false)) {
        out.abort = Reply::Error(std::string(kExecAbort));
        return out;
      }
    }
  }
  db_.set_now(NowMs());
  out.replies.reserve(commands.size());
  for (const auto& cmd : commands) {
    if (!atomic) db_.set_now(NowMs());
    const CommandSpec* spec = nullptr;
    if (auto refused = Check(cmd, readonly, false, &spec)) {
      if (log_failed_ && refused->str.rfind("NOPERM", 0) == 0) {
        refused = Reply::Error("MISCONF Errors writing to the append-only log; writes are refused until restart");
      }
      out.replies.push_back(std::move(*refused));
      continue;
    }
    out.replies.push_back(CallSpec(*spec, cmd, false));
  }
  if (log_) {
    Status st = FlushLog(atomic, &out.log_seq);
    if (!st.ok()) {
      RollBack();
      for (auto& r : out.replies) r = Reply::Error("MISCONF Errors writing to the append-only log: " + st.message());
    }
  }
  return out;
}

bool Engine::NeedsScriptThread(const std::vector<Argv>& commands) const {
  for (const auto& cmd : commands) {
    if (cmd.empty()) continue;
    // Every name below starts with e, f or s and has 4 to 10 letters: the rest need no lookup.
    char first = cmd[0].empty() ? '\0' : static_cast<char>(cmd[0][0] | 0x20);
    if (first != 'e' && first != 'f' && first != 's') continue;
    if (cmd[0].size() < 4 || cmd[0].size() > 10) continue;
    const CommandSpec* spec = table_.Find(cmd[0]);
    if (!spec) continue;
    if (spec->name == "eval" || spec->name == "evalsha" || spec->name == "eval_ro" || spec->name == "evalsha_ro")
      return true;
    if (spec->name == "script" && !(cmd.size() == 2 && IEquals(cmd[1], "kill"))) return true;
    if (spec->name == "fcall" || spec->name == "fcall_ro") return true;
    if (spec->name == "function" && !(cmd.size() == 2 && IEquals(cmd[1], "kill"))) return true;
  }
  return false;
}

// What a batch gets while a script is past the busy threshold: Redis's BUSY, except for
// SCRIPT KILL, and the usual refusals (unknown command, arity, read-only token) first.
BatchResult Engine::BusyResult(const std::vector<Argv>& commands, bool atomic, bool readonly) {
  BatchResult out;
  if (atomic) {
    out.abort = Reply::Error(std::string(kBusyError));
    return out;
  }
  for (const auto& cmd : commands) {
    if (auto refused = Check(cmd, readonly, false)) {
      out.replies.push_back(std::move(*refused));
    } else if (cmd.size() == 2 && (IEquals(cmd[0], "script") || IEquals(cmd[0], "function")) &&
               IEquals(cmd[1], "kill")) {
      switch (scripts_->Kill()) {
        case ScriptRunner::KillResult::kKilled:
          out.replies.push_back(Reply::Ok());
          break;
        case ScriptRunner::KillResult::kUnkillable:
          out.replies.push_back(Reply::Error(std::string(kUnkillableError)));
          break;
        case ScriptRunner::KillResult::kNotBusy:
          out.replies.push_back(Reply::Error(std::string(kNotBusyError)));
          break;
      }
    } else {
      out.replies.push_back(Reply::Error(std::string(kBusyError)));
    }
  }
  return out;
}

Engine::Attempt Engine::TryExecute(const std::vector<Argv>& commands, bool atomic, bool readonly, BatchResult* out,
                                   std::function<void()> wake) {
  std::lock_guard lock(mu_);
  if (script_active_) {
    if (std::chrono::steady_clock::now() >= script_busy_at_) {
      *out = BusyResult(commands, atomic, readonly);
      return {};
    }
    if (wake) script_waiters_.push_back(std::move(wake));
    return {Route::kWait, script_busy_at_};
  }
  if (NeedsScriptThread(commands)) return {Route::kScriptThread, {}};
  *out = ExecuteExclusive(commands, atomic, readonly);
  return {};
}

// `done` by value: the job keeps a copy, and it is called here when no job will run.
void Engine::RunOnScriptThread(std::vector<Argv> commands, bool atomic, bool readonly,
                               std::function<void(BatchResult)> done) {  // NOLINT(performance-unnecessary-value-param)
  size_t n = commands.size();
  auto job = [this, commands = std::move(commands), atomic, readonly, done] {
    {
      std::lock_guard lock(mu_);
      script_active_ = true;
      ++script_epoch_;
      script_busy_at_ = std::chrono::steady_clock::now() + options_.script_busy_after;
    }
    BatchResult out = ExecuteExclusive(commands, atomic, readonly);
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lock(mu_);
      script_active_ = false;
      waiters.swap(script_waiters_);
    }
    script_cv_.notify_all();
    for (auto& w : waiters) w();
    done(std::move(out));
  };
  {
    std::lock_guard lock(jobs_mu_);
    if (!jobs_stop_) {
      jobs_.push_back(std::move(job));
      jobs_cv_.notify_one();
      return;
    }
  }
  BatchResult out;  // closed (or never opened): nothing will run it
  if (atomic) {
    out.abort = Reply::Error("ERR the server is shutting down");
  } else {
    out.replies.assign(n, Reply::Error("ERR the server is shutting down"));
  }
  done(std::move(out));
}

void Engine::ScriptThreadLoop() {
  std::unique_lock lock(jobs_mu_);
  for (;;) {
    jobs_cv_.wait(lock, [this] { return jobs_stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, nothing left to answer
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

BatchResult Engine::Execute(const std::vector<Argv>& commands, bool atomic, bool readonly) {
  for (;;) {
    BatchResult out;
    Attempt a = TryExecute(commands, atomic, readonly, &out, nullptr);
    if (a.route == Route::kDone) return out;
    if (a.route == Route::kScriptThread) {
      std::promise<BatchResult> promise;
      auto result = promise.get_future();
      RunOnScriptThread(commands, atomic, readonly, [&promise](BatchResult r) { promise.set_value(std::move(r)); });
      return result.get();
    }
    std::unique_lock lock(mu_);
    uint64_t epoch = script_epoch_;
    script_cv_.wait_until(lock, a.retry_at, [&] { return !script_active_ || script_epoch_ != epoch; });
  }
}

Reply Engine::Run(const Argv& argv) {
  std::vector<Argv> one{argv};
  BatchResult r = Execute(one, false, false);
  return std::move(r.replies[0]);
}

size_t Engine::ExpireNow() {
  std::lock_guard lock(mu_);
  if (script_active_) return 0;  // the script thread owns the keyspace
  db_.set_now(NowMs());
  size_t n = db_.ExpireSome(SIZE_MAX);
  n += ExpireHashFields(db_, SIZE_MAX, [this](const Argv& rec) { AppendRecord(rec); });
  for (auto& key : db_.TakeExpired()) AppendRecord({"DEL", std::move(key)});
  if (log_) {
    uint64_t seq = 0;
    FlushLog(false, &seq).IgnoreError();  // a failure is logged by FlushLog
  }
  return n;
}

size_t Engine::DbSize() {
  std::lock_guard lock(mu_);
  return db_.size();
}

void Engine::ExpiryLoop() {
  using namespace std::chrono_literals;
  std::unique_lock lock(expiry_mu_);
  while (!stop_) {
    expiry_cv_.wait_for(lock, 100ms, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    {
      std::lock_guard engine_lock(mu_);
      if (script_active_) {  // the script thread owns the keyspace; expire next tick
        lock.lock();
        continue;
      }
      db_.set_now(NowMs());
      // Bounded per tick, as Redis's active cycle is, so a mass expiry never stalls commands.
      db_.ExpireSome(2000);
      ExpireHashFields(db_, 2000, [this](const Argv& rec) { AppendRecord(rec); });
      for (auto& key : db_.TakeExpired()) AppendRecord({"DEL", std::move(key)});
      if (log_) {
        uint64_t seq = 0;
        FlushLog(false, &seq).IgnoreError();  // a failure is logged by FlushLog
      }
    }
    lock.lock();
  }
}

std::string Engine::Snapshot() {
  std::string out;
  scripts_->AppendFunctionSnapshot(&out);  // FUNCTION libraries first: nothing else refers to them
  int64_t now = NowMs();
  for (const auto& [key, entry] : db_.map()) {
    if (entry.expire_ms != kNoExpiry && entry.expire_ms <= now) continue;
    const std::string& k = key.name;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, StringValue>) {
            AppendRespCommand({"SET", k, v}, &out);
          } else if constexpr (std::is_same_v<T, ListValue>) {
            AppendChunked(
                "RPUSH", k, v, [](const auto& e, Argv& a) { a.push_back(e); }, &out);
          } else if constexpr (std::is_same_v<T, SetValue>) {
            AppendChunked(
                "SADD", k, v, [](const auto& e, Argv& a) { a.push_back(e); }, &out);
          } else if constexpr (std::is_same_v<T, HashValue>) {
            if (v.ttl) {
              AppendHashWithTtls(k, v, now, &out);
            } else {
              AppendChunked(
                  "HSET", k, v,
                  [](const auto& fv, Argv& a) {
                    a.push_back(fv.first);
                    a.push_back(fv.second);
                  },
                  &out);
            }
          } else if constexpr (std::is_same_v<T, ZSet>) {
            AppendChunked(
                "ZADD", k, v.order,
                [](const auto& sm, Argv& a) {
                  a.push_back(FormatDouble(sm.first));
                  a.push_back(sm.second);
                },
                &out);
          } else {
            AppendSnapshot(k, v, &out);  // a type declared beside its family (keyspace.h)
          }
        },
        entry.value);
    if (entry.expire_ms != kNoExpiry) AppendRespCommand({"PEXPIREAT", k, std::to_string(entry.expire_ms)}, &out);
  }
  return out;
}

}  // namespace stratus::kv
