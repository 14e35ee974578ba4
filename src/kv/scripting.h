// Lua scripting (EVAL, EVALSHA, SCRIPT LOAD/EXISTS/FLUSH/KILL, FUNCTION, FCALL) as Redis does it: Lua 5.1,
// one interpreter, scripts cached by SHA-1, redis.call/pcall running commands atomically.
//
// The sandbox is Redis 7's: base (without dofile, loadfile, load, print, setfenv, getfenv,
// getmetatable, newproxy, module, require), table, string, math and coroutine; text chunks
// only (no bytecode, for scripts and loadstring alike); a read-only global table and
// read-only libraries; a memory cap on the interpreter. A script stops when SCRIPT KILL
// asks (until it has written), at its time limit if one is set, or at shutdown; checks run
// every 1,000 Lua instructions and every few thousand pattern-matching steps.
//
// Threads: Eval and Script run on the engine's script thread only (the interpreter is
// not shared); Kill and Abort may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "kv/command.h"
#include "stratus/status.h"

namespace stratus::kv {

// The flags a script declares in its first line, `#!lua flags=no-writes,allow-oom` (Redis 7).
// A script without that line runs in Redis's compatibility mode: writes allowed, no flags.
enum ScriptFlag : uint32_t {
  kScriptNoWrites = 1u << 0,
  kScriptAllowOom = 1u << 1,
  kScriptAllowStale = 1u << 2,
  kScriptNoCluster = 1u << 3,
  kScriptAllowCrossSlot = 1u << 4,
  kScriptAllowKeyLocking = 1u << 5,  // Upstash's; nothing to do here, every script owns the keyspace
  kScriptCompatMode = 1u << 8,       // no shebang line
};

struct Shebang {
  uint32_t flags = kScriptCompatMode;
  size_t length = 0;  // bytes of the first line, not counting its '\n' (kept: line numbers stay right)
};
// Reads a script's shebang line as Redis 7.0 does; the error text (with its "ERR " prefix)
// for an engine other than lua, an unknown option or flag, or a first line without an end.
// Accepts Upstash's allow-key-locking, which redis-server refuses.
StatusOr<Shebang> ParseShebang(std::string_view body);

struct ScriptLimits {
  // A script running longer is stopped with an error, writes or not. 0: never (Redis: only
  // SCRIPT KILL stops a script, and only one that has not written).
  std::chrono::milliseconds max_time{0};
  // The interpreter's heap; an allocation past it fails the script with "not enough memory".
  size_t memory_bytes = 64u * 1024 * 1024;
};

class ScriptRunner {
 public:
  explicit ScriptRunner(ScriptLimits limits = {});
  ~ScriptRunner();
  // Takes effect for the next script (call before the first).
  void set_limits(ScriptLimits limits);

  // EVAL/EVALSHA body: argv[1] is the script (or its SHA-1), argv[2] numkeys. `read_only`:
  // EVAL_RO/EVALSHA_RO (write commands fail; a shebang script must declare no-writes).
  void Eval(CommandContext& ctx, bool by_sha, bool read_only = false);
  void Script(CommandContext& ctx);
  // FUNCTION LOAD/DELETE/FLUSH/LIST/STATS/DUMP/RESTORE/KILL, and FCALL/FCALL_RO (argv[1] the
  // function, argv[2] numkeys): Redis 7.0's `#!lua name=<lib>` libraries.
  void Function(CommandContext& ctx);
  void FCall(CommandContext& ctx, bool read_only);
  // FUNCTION LOAD REPLACE records that rebuild every library (the log rewrite).
  void AppendFunctionSnapshot(std::string* out) const;

  enum class KillResult { kKilled, kUnkillable, kNotBusy };
  // SCRIPT KILL: stops the running script unless it has already called a write command.
  KillResult Kill();
  // Stops the running script and every later one, writes or not (shutdown).
  void Abort();
  // Bytes the interpreter holds now (tests).
  size_t memory_used() const;

  struct Impl;  // the interpreter (scripting.cc); public so its C callbacks can name it

 private:
  std::unique_ptr<Impl> impl_;
};

inline constexpr std::string_view kBusyError =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
inline constexpr std::string_view kNotBusyError = "NOTBUSY No scripts in execution right now.";
inline constexpr std::string_view kUnkillableError =
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the "
    "script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";

}  // namespace stratus::kv
