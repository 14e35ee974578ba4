// Lua 5.1 scripting the way Redis embeds it: one interpreter, scripts compiled once per
// SHA-1 and kept in the registry (not as globals a script could overwrite), KEYS/ARGV,
// redis.call/pcall/error_reply/status_reply/sha1hex/log, Redis's reply<->Lua conversions,
// Redis 7's sandbox and stop rules (scripting.h).
//
// Lua errors are longjmps: C functions called from Lua destroy every C++ object before they
// raise (see LuaCall), and the memory cap is enforced only while Lua code runs, so the
// bridge's own pushes (KEYS, ARGV, a command's reply) never fail half-way.
#include "kv/scripting.h"

#include <openssl/sha.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

extern "C" {
#include <lua5.1/lauxlib.h>
#include <lua5.1/lua.h>
#include <lua5.1/lualib.h>
}

#include "kv/engine.h"
#include "kv/lua_patterns.h"
#include "kv/util.h"

namespace stratus::kv {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kHookInstructions = 1000;
constexpr const char* kEnvKey = "stratus.env";              // registry: the scripts' read-only globals
constexpr const char* kScriptsKey = "stratus.scripts";      // registry: f_<sha> -> compiled chunk
constexpr const char* kFunctionsKey = "stratus.functions";  // registry: function name -> callback
constexpr const char* kLoadingKey = "stratus.loading";      // registry: callbacks of the library being loaded
constexpr const char* kFnEnvKey = "stratus.fnenv";          // registry: the globals of FUNCTION libraries
constexpr const char* kReadonlyError = "Attempt to modify a readonly table";
char kReadonlyMarker;  // its address marks the metatable of a read-only proxy

enum State : int { kIdle, kRunning, kWrote, kStopped };
enum StopReason : int { kNone, kUserKill, kTimeLimit, kShutdown };

std::string Sha1Hex(std::string_view s) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// Lua numbers become integers as Redis on x86 converts them: out of range or NaN is INT64_MIN.
int64_t ToInteger(double d) {
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(d);
}

struct Memory {
  size_t used = 0;
  size_t limit = 0;
  bool enforce = false;  // only while Lua code runs
};

void* Allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* m = static_cast<Memory*>(ud);
  if (nsize == 0) {
    std::free(ptr);
    m->used -= osize;
    return nullptr;
  }
  // Lua 5.1 requires that shrinking never fails; only growth is refused.
  if (m->enforce && nsize > osize && m->used - osize + nsize > m->limit) return nullptr;
  void* p = std::realloc(ptr, nsize);
  if (p) m->used = m->used - osize + nsize;
  return p;
}

int Panic(lua_State* L) {
  std::fprintf(stderr, "stratus: unprotected error in the Lua interpreter: %s\n",
               lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
  std::abort();
}

// Redis's sdssplitargs: words split at spaces, "double quotes" with \n \r \t \b \a \xHH
// escapes, 'single quotes' with \' only; a closing quote must end its word. nullopt when
// quotes are unbalanced.
std::optional<std::vector<std::string>> SplitArgs(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  auto hexval = [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
  };
  for (;;) {
    while (i < line.size() && space(line[i])) ++i;
    if (i >= line.size()) return out;
    std::string word;
    bool dq = false, sq = false;
    for (;;) {
      if (dq) {
        if (i >= line.size()) return std::nullopt;
        if (line[i] == '\\' && i + 3 < line.size() && line[i + 1] == 'x' && hex(line[i + 2]) && hex(line[i + 3])) {
          word += static_cast<char>(hexval(line[i + 2]) * 16 + hexval(line[i + 3]));
          i += 3;
        } else if (line[i] == '\\' && i + 1 < line.size()) {
          char c = line[++i];
          switch (c) {
            case 'n':
              c = '\n';
              break;
            case 'r':
              c = '\r';
              break;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'a':
              c = '\a';
              break;
            default:
              break;
          }
          word += c;
        } else if (line[i] == '"') {
          if (i + 1 < line.size() && !space(line[i + 1])) return std::nullopt;
          dq = false;
          ++i;
          break;
        } else {
          word += line[i];
        }
      } else if (sq) {
        if (i >= line.size()) return std::nullopt;
        if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '\'') {
          word += '\'';
          ++i;
        } else if (line[i] == '\'') {
          if (i + 1 < line.size() && !space(line[i + 1])) return std::nullopt;
          sq = false;
          ++i;
          break;
        } else {
          word += line[i];
        }
      } else {
        if (i >= line.size() || space(line[i])) break;
        if (line[i] == '"') {
          dq = true;
        } else if (line[i] == '\'') {
          sq = true;
        } else {
          word += line[i];
        }
      }
      ++i;
    }
    out.push_back(std::move(word));
  }
}

}  // namespace

StatusOr<Shebang> ParseShebang(std::string_view body) {
  Shebang out;
  if (body.substr(0, 2) != "#!") return out;
  size_t end = body.find('\n');
  if (end == std::string_view::npos) return InvalidArgument("ERR Invalid script shebang");
  out.length = end;
  auto parts = SplitArgs(body.substr(0, end));
  if (!parts || parts->empty()) return InvalidArgument("ERR Invalid engine in script shebang");
  if ((*parts)[0] != "#!lua") return InvalidArgument("ERR Unexpected engine in script shebang: " + (*parts)[0]);
  static constexpr std::pair<std::string_view, uint32_t> kFlags[] = {
      {"no-writes", kScriptNoWrites},
      {"allow-oom", kScriptAllowOom},
      {"allow-stale", kScriptAllowStale},
      {"no-cluster", kScriptNoCluster},
      {"allow-cross-slot-keys", kScriptAllowCrossSlot},
      {"allow-key-locking", kScriptAllowKeyLocking},
  };
  out.flags = 0;
  for (size_t j = 1; j < parts->size(); ++j) {
    std::string_view part = (*parts)[j];
    if (part.substr(0, 6) != "flags=") return InvalidArgument("ERR Unknown lua shebang option: " + std::string(part));
    std::string_view list = part.substr(6);
    if (list.empty()) continue;
    for (size_t from = 0;;) {
      size_t comma = list.find(',', from);
      std::string_view flag =
          list.substr(from, comma == std::string_view::npos ? std::string_view::npos : comma - from);
      uint32_t bit = 0;
      for (const auto& [name, value] : kFlags) {
        if (flag == name) bit = value;
      }
      if (!bit) return InvalidArgument("ERR Unexpected flag in script shebang: " + std::string(flag));
      out.flags |= bit;
      if (comma == std::string_view::npos) break;
      from = comma + 1;
    }
  }
  return out;
}

struct ScriptRunner::Impl {
  lua_State* L = nullptr;
  Memory mem;
  PatternLimits patterns;
  ScriptLimits limits;
  std::unordered_map<std::string, uint32_t> defined;  // SHA-1s compiled into L, with their ScriptFlags

  // FUNCTION libraries: what was loaded (the code, as sent), and which library owns which
  // function. The callbacks live in the registry (kFunctionsKey); after SCRIPT FLUSH closed
  // the interpreter they are compiled again from `code` before the next FCALL.
  struct FunctionInfo {
    std::optional<std::string> description;
    uint32_t flags = 0;  // ScriptFlags
  };
  struct Library {
    std::string code;
    std::map<std::string, FunctionInfo> functions;
  };
  std::map<std::string, Library> libraries;
  std::unordered_map<std::string, std::string> function_library;
  bool functions_stale = false;
  std::map<std::string, FunctionInfo>* registering = nullptr;  // FUNCTION LOAD running its chunk

  std::atomic<int> state{kIdle};
  std::atomic<int> reason{kNone};
  std::atomic<bool> aborted{false};
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  CommandContext* ctx = nullptr;  // the EVAL running now
  bool read_only = false;         // it may not call write commands (EVAL_RO, or no-writes)

  ~Impl() {
    if (L) lua_close(L);
  }

  // Whether the running script must stop now; once it must, it stays so until it ends.
  bool ShouldStop() {
    if (state.load(std::memory_order_relaxed) == kStopped) return true;
    int why = kNone;
    if (aborted.load(std::memory_order_relaxed)) {
      why = kShutdown;
    } else if (deadline != SteadyClock::time_point::max() && SteadyClock::now() >= deadline) {
      why = kTimeLimit;
    }
    if (why == kNone) return false;
    reason = why;
    state = kStopped;
    return true;
  }

  // Before a write command: false when the script was killed (then it must not write).
  bool MarkWrite() {
    int s = kRunning;
    if (state.compare_exchange_strong(s, kWrote)) return true;
    return s == kWrote;
  }

  void Init();
  std::optional<std::string> Define(const std::string& sha, const std::string& body);
  // FUNCTION LOAD's work: the library's name, or Redis's error text.
  StatusOr<std::string> LoadLibrary(const std::string& code, bool replace);
  void DropLibrary(const std::string& name);
  void DropAllLibraries();
  void ReloadStaleFunctions();
  // Runs the function on top of the stack with `nargs` arguments above it, as the running
  // script of `ctx`; its reply or error goes to ctx. `name` names it in errors.
  void Run(CommandContext& ctx, int nargs, const std::string& name, bool function);
  void SetArray(const char* name, const Argv& argv, size_t from, size_t to);
};

namespace {

thread_local ScriptRunner::Impl* t_running = nullptr;  // the script running on this thread

// Raises the error that ends a stopped script. Call with no C++ object alive.
int RaiseStop(lua_State* L) {
  switch (t_running ? t_running->reason.load() : kNone) {
    case kTimeLimit:
      return luaL_error(L, "Script killed: it ran longer than the script time limit of %d ms",
                        static_cast<int>(t_running->limits.max_time.count()));
    case kShutdown:
      return luaL_error(L, "Script killed: the server is shutting down");
    default:
      return luaL_error(L, "Script killed by user with SCRIPT KILL...");
  }
}

void CheckStop(lua_State* L) {
  if (t_running && t_running->ShouldStop()) RaiseStop(L);
}

void Hook(lua_State* L, lua_Debug*) {
  CheckStop(L);
}

void PushReply(lua_State* L, const Reply& r) {
  luaL_checkstack(L, 4, "reply nested too deeply");
  switch (r.type) {
    case Reply::Type::kInteger:
      lua_pushnumber(L, static_cast<lua_Number>(r.integer));
      return;
    case Reply::Type::kBulk:
      lua_pushlstring(L, r.str.data(), r.str.size());
      return;
    case Reply::Type::kNil:
    case Reply::Type::kNilArray:
      lua_pushboolean(L, 0);
      return;
    case Reply::Type::kStatus:
      lua_newtable(L);
      lua_pushstring(L, "ok");
      lua_pushlstring(L, r.str.data(), r.str.size());
      lua_settable(L, -3);
      return;
    case Reply::Type::kError:
      lua_newtable(L);
      lua_pushstring(L, "err");
      lua_pushlstring(L, r.str.data(), r.str.size());
      lua_settable(L, -3);
      return;
    case Reply::Type::kArray:
      lua_createtable(L, static_cast<int>(r.elems.size()), 0);
      for (size_t i = 0; i < r.elems.size(); ++i) {
        PushReply(L, r.elems[i]);
        lua_rawseti(L, -2, static_cast<int>(i + 1));
      }
      return;
  }
}

// The script's result as a reply. `budget`: bytes the reply may still take (a table that
// contains itself would otherwise grow without end).
Reply ToReply(lua_State* L, int depth, size_t* budget) {
  constexpr size_t kNodeCost = sizeof(Reply);
  if (*budget < kNodeCost) return Reply::Error("ERR the script's reply is too large");
  *budget -= kNodeCost;
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      if (*budget < len) return Reply::Error("ERR the script's reply is too large");
      *budget -= len;
      return Reply::Bulk(std::string(s, len));
    }
    case LUA_TBOOLEAN:
      return lua_toboolean(L, -1) ? Reply::Integer(1) : Reply::Nil();
    case LUA_TNUMBER:
      return Reply::Integer(ToInteger(lua_tonumber(L, -1)));
    case LUA_TTABLE: {
      if (depth > 64 || !lua_checkstack(L, 4)) return Reply::Error("ERR reached lua stack limit");
      lua_pushstring(L, "err");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) {
        std::string e = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (!e.empty() && e[0] == '-') e.erase(0, 1);
        return Reply::Error(e);
      }
      lua_pop(L, 1);
      lua_pushstring(L, "ok");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) {
        std::string s = lua_tostring(L, -1);
        lua_pop(L, 1);
        return Reply::Status(s);
      }
      lua_pop(L, 1);
      std::vector<Reply> elems;
      for (int j = 1;; ++j) {
        lua_rawgeti(L, -1, j);
        if (lua_type(L, -1) == LUA_TNIL) {
          lua_pop(L, 1);
          break;
        }
        elems.push_back(ToReply(L, depth + 1, budget));
        lua_pop(L, 1);
        if (elems.back().is_error() && elems.back().str == "ERR the script's reply is too large") return elems.back();
      }
      return Reply::Array(std::move(elems));
    }
    default:
      return Reply::Nil();
  }
}

enum class CallOutcome { kPushed, kRaise, kStop };

// Runs redis.call/pcall's command and pushes its result (kRaise: the pushed value is the
// error table to raise). No C++ object outlives this function.
CallOutcome DoCall(lua_State* L, bool raise) {
  ScriptRunner::Impl* run = t_running;
  if (!run || !run->ctx) return CallOutcome::kStop;
  if (run->ShouldStop()) return CallOutcome::kStop;
  int argc = lua_gettop(L);
  Reply reply;
  if (argc == 0) {
    reply = Reply::Error("ERR Please specify at least one argument for this redis lib call");
  } else {
    Argv argv;
    argv.reserve(static_cast<size_t>(argc));
    for (int j = 1; j <= argc; ++j) {
      int t = lua_type(L, j);
      if (t == LUA_TNUMBER) {
        char buf[64];
        double d = lua_tonumber(L, j);
        int n = std::snprintf(buf, sizeof buf, "%.17g", d);
        argv.emplace_back(buf, static_cast<size_t>(n));
      } else if (t == LUA_TSTRING) {
        size_t len;
        const char* s = lua_tolstring(L, j, &len);
        argv.emplace_back(s, len);
      } else {
        argv.clear();
        break;
      }
    }
    Engine& engine = run->ctx->engine;
    if (argv.empty()) {
      reply = Reply::Error("ERR Lua redis lib command arguments must be strings or integers");
    } else if (auto refused = engine.Check(argv, false, /*from_script=*/true)) {
      reply = std::move(*refused);
    } else {
      const CommandSpec* spec = engine.table().Find(argv[0]);
      if ((spec->flags & kWrite) && run->read_only) {
        reply = Reply::Error("ERR Write commands are not allowed from read-only scripts.");
      } else if ((spec->flags & kWrite) && !run->MarkWrite()) {
        return CallOutcome::kStop;
      } else {
        reply = engine.CallLocked(argv, /*from_script=*/true);
      }
    }
  }
  bool enforce = run->mem.enforce;
  run->mem.enforce = false;  // a reply the engine already built is handed over whole
  PushReply(L, reply);
  run->mem.enforce = enforce;
  return raise && reply.is_error() ? CallOutcome::kRaise : CallOutcome::kPushed;
}

// While FUNCTION LOAD runs a library's chunk, its `redis` has no call or pcall (Redis 7.0).
int NoCallWhileLoading(lua_State* L, const char* name) {
  return luaL_error(L, "attempt to call field '%s' (a nil value)", name);
}

int LuaCall(lua_State* L) {
  if (t_running && t_running->registering) return NoCallWhileLoading(L, "call");
  switch (DoCall(L, true)) {
    case CallOutcome::kStop:
      return RaiseStop(L);
    case CallOutcome::kRaise:
      return lua_error(L);
    case CallOutcome::kPushed:
      break;
  }
  return 1;
}
int LuaPCall(lua_State* L) {
  if (t_running && t_running->registering) return NoCallWhileLoading(L, "pcall");
  if (DoCall(L, false) == CallOutcome::kStop) return RaiseStop(L);
  return 1;
}

int LuaErrorReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) return luaL_error(L, "wrong number or type of arguments");
  lua_newtable(L);
  lua_pushstring(L, "err");
  lua_pushvalue(L, 1);
  lua_settable(L, -3);
  return 1;
}

int LuaStatusReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) return luaL_error(L, "wrong number or type of arguments");
  lua_newtable(L);
  lua_pushstring(L, "ok");
  lua_pushvalue(L, 1);
  lua_settable(L, -3);
  return 1;
}

int LuaSha1Hex(lua_State* L) {
  if (lua_gettop(L) != 1) return luaL_error(L, "wrong number of arguments");
  size_t len;
  const char* s = lua_tolstring(L, 1, &len);
  char hex[41];
  {
    std::string h = Sha1Hex(std::string_view(s ? s : "", s ? len : 0));
    std::copy(h.begin(), h.end(), hex);
  }
  lua_pushlstring(L, hex, 40);
  return 1;
}

int LuaLog(lua_State*) {
  return 0;
}

// redis.register_function(name, callback) or redis.register_function{function_name=...,
// callback=..., flags={...}, description=...}, while FUNCTION LOAD runs a library's chunk.
thread_local std::string t_register_error;  // outlives the longjmp of luaL_error

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

constexpr std::pair<std::string_view, uint32_t> kFunctionFlags[] = {
    {"no-writes", kScriptNoWrites},
    {"allow-oom", kScriptAllowOom},
    {"allow-stale", kScriptAllowStale},
    {"no-cluster", kScriptNoCluster},
    {"allow-cross-slot-keys", kScriptAllowCrossSlot},
};

// Reads the arguments; leaves the callback on top of the stack. An error text, or nullopt.
std::optional<std::string> ReadRegisterArgs(lua_State* L, std::string* name, ScriptRunner::Impl::FunctionInfo* info) {
  int argc = lua_gettop(L);
  if (argc == 2) {
    if (!lua_isstring(L, 1)) return "first argument to redis.register_function must be a string";
    if (lua_type(L, 2) != LUA_TFUNCTION) return "second argument to redis.register_function must be a function";
    size_t len;
    const char* s = lua_tolstring(L, 1, &len);
    name->assign(s, len);
    return std::nullopt;
  }
  if (argc != 1) return "wrong number of arguments to redis.register_function";
  if (lua_type(L, 1) != LUA_TTABLE) {
    return "calling redis.register_function with a single argument is only applicable to Lua table (representing "
           "named arguments).";
  }
  bool have_callback = false;
  bool have_name = false;
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      return "named argument key given to redis.register_function is not a string";
    }
    std::string key = lua_tostring(L, -2);
    if (key == "function_name") {
      if (!lua_isstring(L, -1)) {
        lua_pop(L, 2);
        return "function_name argument given to redis.register_function must be a string";
      }
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      name->assign(s, len);
      have_name = true;
    } else if (key == "description") {
      if (!lua_isstring(L, -1)) {
        lua_pop(L, 2);
        return "description argument given to redis.register_function must be a string";
      }
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      info->description = std::string(s, len);
    } else if (key == "callback") {
      if (lua_type(L, -1) != LUA_TFUNCTION) {
        lua_pop(L, 2);
        return "callback argument given to redis.register_function must be a function";
      }
      have_callback = true;
    } else if (key == "flags") {
      if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 2);
        return "flags argument to redis.register_function must be a table representing function flags";
      }
      for (int j = 1;; ++j) {
        lua_rawgeti(L, -1, j);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          break;
        }
        uint32_t bit = 0;
        if (lua_type(L, -1) == LUA_TSTRING) {
          std::string_view flag = lua_tostring(L, -1);
          for (const auto& [n, v] : kFunctionFlags) {
            if (flag == n) bit = v;
          }
        }
        lua_pop(L, 1);
        if (!bit) {
          lua_pop(L, 2);
          return "unknown flag given";
        }
        info->flags |= bit;
      }
    } else {
      lua_pop(L, 2);
      return "unknown argument given to redis.register_function";
    }
    lua_pop(L, 1);
  }
  if (!have_name) return "redis.register_function must get a function name argument";
  if (!have_callback) return "redis.register_function must get a callback argument";
  lua_getfield(L, 1, "callback");
  return std::nullopt;
}

std::optional<std::string> RegisterFunction(lua_State* L) {
  ScriptRunner::Impl* run = t_running;
  auto* target = run ? run->registering : nullptr;
  if (!target) return "redis.register_function can only be called on FUNCTION LOAD command";
  std::string name;
  ScriptRunner::Impl::FunctionInfo info;
  if (auto e = ReadRegisterArgs(L, &name, &info)) return e;
  if (!ValidName(name)) {  // Redis 7.0's text for a bad function name names libraries
    return "Library names can only contain letters, numbers, or underscores(_) and must be at least one character "
           "long";
  }
  for (const auto& [other, i] : *target) {
    if (IEquals(other, name)) return "Function already exists in the library";
  }
  lua_getfield(L, LUA_REGISTRYINDEX, kLoadingKey);
  lua_pushlstring(L, name.data(), name.size());
  lua_pushvalue(L, -3);  // the callback
  lua_rawset(L, -3);
  lua_pop(L, 2);
  target->emplace(std::move(name), std::move(info));
  return std::nullopt;
}

int LuaRegisterFunction(lua_State* L) {
  {
    auto e = RegisterFunction(L);
    if (!e) return 0;
    t_register_error = "ERR " + *e;
  }
  lua_settop(L, 0);
  lua_pushlstring(L, t_register_error.data(), t_register_error.size());
  return lua_error(L);  // Redis's text, without a position
}

// pcall, xpcall and coroutine.resume: the wrapped function (upvalue 1), then a stopped
// script's error is raised again, so a script cannot catch SCRIPT KILL and carry on.
int Uncatchable(lua_State* L) {
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  CheckStop(L);
  return lua_gettop(L);
}

bool IsReadonly(lua_State* L, int index) {
  if (!lua_getmetatable(L, index)) return false;
  lua_pushlightuserdata(L, &kReadonlyMarker);
  lua_rawget(L, -2);
  bool ro = lua_toboolean(L, -1);
  lua_pop(L, 2);
  return ro;
}

int ReadonlyError(lua_State* L) {
  return luaL_error(L, kReadonlyError);
}

int SafeRawset(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (IsReadonly(L, 1)) return luaL_error(L, kReadonlyError);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

// __index of the globals: the real table (upvalue 1), and Redis 7's error for a name it lacks.
int GlobalIndex(lua_State* L) {
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  if (lua_isnil(L, -1)) {
    const char* name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name ? name : "?");
  }
  return 1;
}

// __index of a FUNCTION library's globals: while FUNCTION LOAD runs its chunk only the
// library API (upvalue 1: `redis` with register_function and log), as in Redis 7.0; when its
// functions run, the scripts' globals (upvalue 2).
int FunctionGlobalIndex(lua_State* L) {
  bool loading = t_running && t_running->registering;
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(loading ? 1 : 2));
  if (lua_isnil(L, -1)) {
    const char* name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name ? name : "?");
  }
  return 1;
}

// Compiles text only (CVE-2015-4335: crafted bytecode escapes the VM). Lua takes a chunk
// whose first byte is ESC as bytecode; a space before it makes the parser read it as text
// and refuse it as Redis's Lua does ("unexpected symbol near 'char(27)'"), line numbers intact.
struct TextChunk {
  const char* s;
  size_t len;
  int part;
};

const char* ReadText(lua_State*, void* ud, size_t* size) {
  auto* c = static_cast<TextChunk*>(ud);
  if (c->part == 0) {
    c->part = 1;
    if (c->len > 0 && c->s[0] == LUA_SIGNATURE[0]) {
      *size = 1;
      return " ";
    }
  }
  if (c->part == 1) {
    c->part = 2;
    *size = c->len;
    return c->s;
  }
  *size = 0;
  return nullptr;
}

int LoadText(lua_State* L, const char* s, size_t len, const char* name) {
  TextChunk chunk{s, len, 0};
  return lua_load(L, ReadText, &chunk, name);
}

// loadstring: text only, compiled into the scripts' read-only environment rather than the
// real globals.
int SafeLoadstring(lua_State* L) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  const char* name = luaL_optstring(L, 2, s);
  if (LoadText(L, s, len, name) != 0) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, kEnvKey);
  lua_setfenv(L, -2);
  return 1;
}

// collectgarbage without the options that would let a script switch the collector off.
int SafeCollectGarbage(lua_State* L) {
  const char* opt = luaL_optstring(L, 1, "collect");
  for (const char* ok : {"collect", "count", "step"}) {
    if (std::strcmp(opt, ok) == 0) {
      lua_pushvalue(L, lua_upvalueindex(1));
      lua_insert(L, 1);
      lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
      return lua_gettop(L);
    }
  }
  return luaL_error(L, "collectgarbage('%s') is not allowed in scripts", opt);
}

// Replaces table[name] (at `table`) by `fn` with the old value as its upvalue.
void Wrap(lua_State* L, int table, const char* name, lua_CFunction fn) {
  lua_getfield(L, table, name);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, table, name);
}

// Pushes a read-only proxy of the table at `index`: reads pass through, writes raise.
void PushReadonlyProxy(lua_State* L, int index, bool globals) {
  if (index < 0 && index > LUA_REGISTRYINDEX) index = lua_gettop(L) + index + 1;  // not a pseudo-index
  lua_newtable(L);                                                                // the proxy, empty forever
  lua_newtable(L);                                                                // its metatable
  lua_pushvalue(L, index);
  if (globals) lua_pushcclosure(L, GlobalIndex, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ReadonlyError);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");  // setmetatable refuses to replace it
  lua_pushlightuserdata(L, &kReadonlyMarker);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_setmetatable(L, -2);
}

}  // namespace

void ScriptRunner::Impl::Init() {
  if (L) return;
  mem.used = 0;
  mem.limit = limits.memory_bytes;
  mem.enforce = false;
  patterns.check = CheckStop;
  patterns.max_string_bytes = limits.memory_bytes;
  L = lua_newstate(Allocate, &mem);
  if (!L) std::abort();
  lua_atpanic(L, Panic);
  // Base, table, string and math, as Redis loads them (base brings coroutine); no io, os,
  // package or debug.
  const std::pair<const char*, lua_CFunction> libs[] = {{"", luaopen_base},
                                                        {LUA_TABLIBNAME, luaopen_table},
                                                        {LUA_STRLIBNAME, luaopen_string},
                                                        {LUA_MATHLIBNAME, luaopen_math}};
  for (auto [name, fn] : libs) {
    lua_pushcfunction(L, fn);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
  }
  for (const char* unsafe : {"loadfile", "dofile", "load", "print", "setfenv", "getfenv", "getmetatable", "newproxy",
                             "module", "require", "gcinfo"}) {
    lua_pushnil(L);
    lua_setglobal(L, unsafe);
  }
  Wrap(L, LUA_GLOBALSINDEX, "pcall", Uncatchable);
  Wrap(L, LUA_GLOBALSINDEX, "xpcall", Uncatchable);
  Wrap(L, LUA_GLOBALSINDEX, "rawset", SafeRawset);
  Wrap(L, LUA_GLOBALSINDEX, "collectgarbage", SafeCollectGarbage);
  lua_pushcfunction(L, SafeLoadstring);
  lua_setglobal(L, "loadstring");
  lua_getglobal(L, "coroutine");
  Wrap(L, lua_gettop(L), "resume", Uncatchable);
  lua_pop(L, 1);
  lua_getglobal(L, LUA_STRLIBNAME);
  InstallSafeStringFunctions(L, -1, &patterns);
  lua_pop(L, 1);

  lua_newtable(L);
  const std::pair<const char*, lua_CFunction> fns[] = {
      {"call", LuaCall},       {"pcall", LuaPCall}, {"error_reply", LuaErrorReply}, {"status_reply", LuaStatusReply},
      {"sha1hex", LuaSha1Hex}, {"log", LuaLog}};
  for (auto [name, fn] : fns) {
    lua_pushstring(L, name);
    lua_pushcfunction(L, fn);
    lua_settable(L, -3);
  }
  int level = 0;
  for (const char* lvl : {"LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"}) {
    lua_pushstring(L, lvl);
    lua_pushnumber(L, level++);
    lua_settable(L, -3);
  }
  lua_setglobal(L, "redis");

  // Every library a script can name becomes a read-only proxy, and so do the globals.
  for (const char* lib : {"string", "table", "math", "coroutine", "redis"}) {
    lua_getglobal(L, lib);
    PushReadonlyProxy(L, -1, false);
    lua_setglobal(L, lib);
    lua_pop(L, 1);
  }
  PushReadonlyProxy(L, LUA_GLOBALSINDEX, true);
  lua_pushvalue(L, -1);
  lua_setglobal(L, "_G");
  lua_setfield(L, LUA_REGISTRYINDEX, kEnvKey);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kScriptsKey);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kFunctionsKey);

  // FUNCTION libraries: their load-time API, and globals that switch between it and the
  // scripts' globals (FunctionGlobalIndex).
  lua_newtable(L);  // the API's globals
  lua_newtable(L);  // its redis
  lua_pushcfunction(L, LuaRegisterFunction);
  lua_setfield(L, -2, "register_function");
  lua_pushcfunction(L, LuaLog);
  lua_setfield(L, -2, "log");
  level = 0;
  for (const char* lvl : {"LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"}) {
    lua_pushnumber(L, level++);
    lua_setfield(L, -2, lvl);
  }
  PushReadonlyProxy(L, -1, true);
  lua_setfield(L, -3, "redis");
  lua_pop(L, 1);
  lua_newtable(L);  // the library's globals, empty forever
  lua_newtable(L);  // their metatable
  lua_pushvalue(L, -3);
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  lua_pushcclosure(L, FunctionGlobalIndex, 2);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ReadonlyError);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pushlightuserdata(L, &kReadonlyMarker);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, kFnEnvKey);
  lua_pop(L, 1);
  lua_sethook(L, Hook, LUA_MASKCOUNT, kHookInstructions);  // threads inherit it
}

// Compiles `body` as f_<sha>; an error message on a bad shebang or a compile error. The
// shebang line is left out of the chunk but its newline is kept, so line numbers stay right.
std::optional<std::string> ScriptRunner::Impl::Define(const std::string& sha, const std::string& body) {
  Init();
  if (defined.count(sha)) return std::nullopt;
  auto shebang = ParseShebang(body);
  if (!shebang.ok()) return shebang.status().message();
  const size_t skip = shebang->length;
  if (LoadText(L, body.data() + skip, body.size() - skip, "@user_script")) {
    std::string msg = lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown error";
    lua_pop(L, 1);
    return "ERR Error compiling script (new function): " + msg;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, kEnvKey);
  lua_setfenv(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, kScriptsKey);
  lua_insert(L, -2);
  lua_setfield(L, -2, ("f_" + sha).c_str());
  lua_pop(L, 1);
  defined.emplace(sha, shebang->flags);
  return std::nullopt;
}

void ScriptRunner::Impl::SetArray(const char* name, const Argv& argv, size_t from, size_t to) {
  lua_createtable(L, static_cast<int>(to - from), 0);
  for (size_t i = from; i < to; ++i) {
    lua_pushlstring(L, argv[i].data(), argv[i].size());
    lua_rawseti(L, -2, static_cast<int>(i - from + 1));
  }
  lua_setglobal(L, name);  // the real globals: scripts read them through their proxy
}

ScriptRunner::ScriptRunner(ScriptLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
}
ScriptRunner::~ScriptRunner() = default;

void ScriptRunner::set_limits(ScriptLimits limits) {
  impl_->limits = limits;
  impl_->mem.limit = limits.memory_bytes;
  impl_->patterns.max_string_bytes = limits.memory_bytes;
}

size_t ScriptRunner::memory_used() const {
  return impl_->mem.used;
}

ScriptRunner::KillResult ScriptRunner::Kill() {
  int s = kRunning;
  if (impl_->state.compare_exchange_strong(s, kStopped)) {
    impl_->reason = kUserKill;
    return KillResult::kKilled;
  }
  if (s == kWrote) return KillResult::kUnkillable;
  if (s == kStopped) return KillResult::kKilled;  // already stopping
  return KillResult::kNotBusy;
}

void ScriptRunner::Abort() {
  impl_->aborted = true;
}

void ScriptRunner::Eval(CommandContext& ctx, bool by_sha, bool read_only) {
  ctx.NoPropagate();  // the commands the script runs log their own effects
  const Argv& a = ctx.argv;
  auto nk = ParseInt(a[2]);
  if (!nk) return ctx.Error(err::kNotInteger);
  int64_t numkeys = *nk;
  if (numkeys > static_cast<int64_t>(a.size()) - 3)
    return ctx.Error("ERR Number of keys can't be greater than number of args");
  if (numkeys < 0) return ctx.Error("ERR Number of keys can't be negative");
  std::string sha = by_sha ? ToLower(a[1]) : Sha1Hex(a[1]);
  if (by_sha) {
    if (!impl_->defined.count(sha)) return ctx.Error("NOSCRIPT No matching script. Please use EVAL.");
  } else if (auto e = impl_->Define(sha, a[1])) {
    return ctx.Error(*e);
  }
  Impl& im = *impl_;
  const uint32_t flags = im.defined.at(sha);
  const bool declared = !(flags & kScriptCompatMode);
  if (declared && !(flags & kScriptNoWrites) && read_only) {
    return ctx.Error("ERR Can not execute a script with write flag using *_ro command.");
  }
  im.read_only = read_only || (declared && (flags & kScriptNoWrites));
  lua_State* L = im.L;
  size_t first_arg = 3 + static_cast<size_t>(numkeys);
  im.SetArray("KEYS", a, 3, first_arg);
  im.SetArray("ARGV", a, first_arg, a.size());
  std::string fname = "f_" + sha;
  lua_getfield(L, LUA_REGISTRYINDEX, kScriptsKey);
  lua_getfield(L, -1, fname.c_str());
  lua_remove(L, -2);
  im.Run(ctx, 0, sha, false);
}

void ScriptRunner::Impl::Run(CommandContext& ctx, int nargs, const std::string& name, bool function) {
  Impl& im = *this;
  auto sha_or = [](const std::string& sha) { return sha + ", on @user_script."; };
  im.ctx = &ctx;
  im.deadline =
      im.limits.max_time.count() > 0 ? SteadyClock::now() + im.limits.max_time : SteadyClock::time_point::max();
  im.reason = kNone;
  im.state = kRunning;
  t_running = &im;
  im.mem.enforce = true;
  int rc = lua_pcall(L, nargs, 1, 0);
  im.mem.enforce = false;
  t_running = nullptr;
  im.state = kIdle;
  im.ctx = nullptr;

  if (rc != 0) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      // An error raised by redis.call: Redis's own text, with where it came from.
      size_t budget = 1 << 20;
      Reply r = ToReply(L, 0, &budget);
      ctx.Error(r.str + " script: " + name + (function ? ", on @user_function." : ", on @user_script."));
    } else {
      std::string msg = lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown error";
      // Redis 7.0's form: the Lua message, then which script (the engine does not name the line).
      ctx.Error("ERR " + msg + " script: " + (function ? name + ", on @user_function." : sha_or(name)));
    }
  } else {
    size_t budget = 4 * im.limits.memory_bytes;
    ctx.reply = ToReply(L, 0, &budget);
  }
  lua_settop(L, 0);
  // What the script left behind is garbage now; a large heap is collected at once.
  if (im.mem.used > im.limits.memory_bytes / 4) {
    lua_gc(L, LUA_GCCOLLECT, 0);
  } else {
    lua_gc(L, LUA_GCSTEP, 1);
  }
}

void ScriptRunner::Script(CommandContext& ctx) {
  ctx.NoPropagate();
  const Argv& a = ctx.argv;
  std::string sub = ToLower(a[1]);
  if (sub == "load" && a.size() == 3) {
    std::string sha = Sha1Hex(a[2]);
    if (auto e = impl_->Define(sha, a[2])) return ctx.Error(*e);
    ctx.reply = Reply::Bulk(sha);
  } else if (sub == "exists" && a.size() >= 3) {
    std::vector<Reply> out;
    for (size_t i = 2; i < a.size(); ++i) out.push_back(Reply::Integer(impl_->defined.count(ToLower(a[i])) ? 1 : 0));
    ctx.reply = Reply::Array(std::move(out));
  } else if (sub == "flush" && a.size() <= 3) {
    if (impl_->L) lua_close(impl_->L);
    impl_->L = nullptr;
    impl_->defined.clear();
    impl_->functions_stale = !impl_->libraries.empty();  // FUNCTION libraries survive SCRIPT FLUSH
    ctx.reply = Reply::Ok();
  } else if (sub == "kill" && a.size() == 2) {
    // Reached only when no script runs (the engine answers SCRIPT KILL during one itself).
    switch (Kill()) {
      case KillResult::kKilled:
        ctx.reply = Reply::Ok();
        break;
      case KillResult::kUnkillable:
        ctx.Error(kUnkillableError);
        break;
      case KillResult::kNotBusy:
        ctx.Error(kNotBusyError);
        break;
    }
  } else if (sub == "load" || sub == "exists" || sub == "flush" || sub == "kill") {
    ctx.Error("ERR wrong number of arguments for 'script|" + sub + "' command");
  } else {
    ctx.Error("ERR unknown subcommand '" + a[1].substr(0, 128) + "'. Try SCRIPT HELP.");
  }
}

// ---- FUNCTION libraries ----

namespace {

struct LibraryMeta {
  std::string name;
  size_t shebang = 0;  // bytes of the first line, without its '\n'
};

// `#!lua name=<lib>` as Redis 7.0 reads it; the error text without "ERR ".
StatusOr<LibraryMeta> ParseLibraryMeta(std::string_view code) {
  if (code.substr(0, 2) != "#!") return InvalidArgument("Missing library metadata");
  size_t end = code.find('\n');
  if (end == std::string_view::npos) return InvalidArgument("Invalid library metadata");
  auto parts = SplitArgs(code.substr(0, end));
  if (!parts || parts->empty()) return InvalidArgument("Invalid library metadata");
  std::string engine = (*parts)[0].substr(2);
  LibraryMeta out;
  out.shebang = end;
  bool have_name = false;
  for (size_t i = 1; i < parts->size(); ++i) {
    const std::string& part = (*parts)[i];
    if (part.size() >= 5 && IEquals(std::string_view(part).substr(0, 5), "name=")) {
      if (have_name) return InvalidArgument("Invalid metadata value, name argument was given multiple times");
      out.name = part.substr(5);
      have_name = true;
      continue;
    }
    return InvalidArgument("Invalid metadata value given: " + part);
  }
  if (!have_name) return InvalidArgument("Library name was not given");
  if (!ValidName(out.name)) {
    return InvalidArgument(
        "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
  }
  if (!IEquals(engine, "lua")) return InvalidArgument("Engine '" + engine + "' not found");
  return out;
}

constexpr std::string_view kDumpMagic = "STRATUSFN";
constexpr char kDumpVersion = 1;

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void PutU64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetU64(std::string_view s) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[static_cast<size_t>(i)]);
  return v;
}

// FUNCTION DUMP's payload: magic, version, each library's code (length-prefixed), checksum.
std::string DumpPayload(const std::vector<std::string>& codes) {
  std::string out(kDumpMagic);
  out.push_back(kDumpVersion);
  for (const auto& c : codes) {
    PutU64(c.size(), &out);
    out += c;
  }
  PutU64(Fnv1a(out), &out);
  return out;
}

std::optional<std::vector<std::string>> ParsePayload(std::string_view p) {
  if (p.size() < kDumpMagic.size() + 1 + 8 || p.substr(0, kDumpMagic.size()) != kDumpMagic ||
      p[kDumpMagic.size()] != kDumpVersion) {
    return std::nullopt;
  }
  std::string_view body = p.substr(0, p.size() - 8);
  if (Fnv1a(body) != GetU64(p.substr(p.size() - 8))) return std::nullopt;
  std::vector<std::string> codes;
  size_t pos = kDumpMagic.size() + 1;
  while (pos < body.size()) {
    if (body.size() - pos < 8) return std::nullopt;
    uint64_t n = GetU64(body.substr(pos, 8));
    pos += 8;
    if (n > body.size() - pos) return std::nullopt;
    codes.emplace_back(body.substr(pos, n));
    pos += n;
  }
  return codes;
}

Reply FlagsReply(uint32_t flags) {
  std::vector<Reply> out;
  for (const auto& [name, bit] : kFunctionFlags) {
    if (flags & bit) out.push_back(Reply::Status(std::string(name)));
  }
  return Reply::Array(std::move(out));
}

}  // namespace

StatusOr<std::string> ScriptRunner::Impl::LoadLibrary(const std::string& code, bool replace) {
  STRATUS_ASSIGN_OR_RETURN(LibraryMeta meta, ParseLibraryMeta(code));
  if (libraries.count(meta.name) && !replace) return InvalidArgument("Library '" + meta.name + "' already exists");
  Init();
  ReloadStaleFunctions();
  if (LoadText(L, code.data() + meta.shebang, code.size() - meta.shebang, "@user_function")) {
    std::string msg = lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown error";
    lua_settop(L, 0);
    return InvalidArgument("Error compiling function: " + msg);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, kFnEnvKey);
  lua_setfenv(L, -2);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kLoadingKey);
  std::map<std::string, FunctionInfo> functions;
  registering = &functions;
  ctx = nullptr;
  // A library's chunk only registers functions: half a second is plenty (Redis's limit too).
  deadline = SteadyClock::now() + std::chrono::milliseconds(500);
  reason = kNone;
  state = kRunning;
  t_running = this;
  mem.enforce = true;
  int rc = lua_pcall(L, 0, 0, 0);
  mem.enforce = false;
  t_running = nullptr;
  state = kIdle;
  registering = nullptr;
  std::string error;
  if (rc != 0) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      size_t budget = 1 << 20;
      error = ToReply(L, 0, &budget).str;
    } else {
      error = lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown error";
      if (error.rfind("ERR ", 0) != 0) error = "ERR " + error;
    }
    error = "Error registering functions: " + error;
  } else if (functions.empty()) {
    error = "No functions registered";
  } else {
    for (const auto& [fname, info] : functions) {
      auto it = function_library.find(ToLower(fname));
      if (it != function_library.end() && !(replace && it->second == meta.name)) {
        error = "Function " + fname + " already exists";
        break;
      }
    }
  }
  lua_settop(L, 0);
  if (!error.empty()) {
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, kLoadingKey);
    return InvalidArgument(error);
  }
  DropLibrary(meta.name);
  lua_getfield(L, LUA_REGISTRYINDEX, kFunctionsKey);
  lua_getfield(L, LUA_REGISTRYINDEX, kLoadingKey);
  for (const auto& [fname, info] : functions) {
    std::string key = ToLower(fname);  // function names are case-insensitive, as in Redis
    lua_pushlstring(L, key.data(), key.size());
    lua_pushlstring(L, fname.data(), fname.size());
    lua_rawget(L, -3);
    lua_rawset(L, -4);
    function_library[key] = meta.name;
  }
  lua_settop(L, 0);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kLoadingKey);
  libraries[meta.name] = Library{code, std::move(functions)};
  return meta.name;
}

void ScriptRunner::Impl::DropLibrary(const std::string& name) {
  auto it = libraries.find(name);
  if (it == libraries.end()) return;
  for (const auto& [fname, info] : it->second.functions) {
    std::string key = ToLower(fname);
    function_library.erase(key);
    if (L) {
      lua_getfield(L, LUA_REGISTRYINDEX, kFunctionsKey);
      lua_pushlstring(L, key.data(), key.size());
      lua_pushnil(L);
      lua_rawset(L, -3);
      lua_pop(L, 1);
    }
  }
  libraries.erase(it);
}

void ScriptRunner::Impl::DropAllLibraries() {
  libraries.clear();
  function_library.clear();
  functions_stale = false;
  if (L) {
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, kFunctionsKey);
  }
}

// After SCRIPT FLUSH closed the interpreter: the libraries are compiled again from their code.
void ScriptRunner::Impl::ReloadStaleFunctions() {
  if (!functions_stale) return;
  functions_stale = false;
  std::vector<std::string> codes;
  for (const auto& [name, lib] : libraries) codes.push_back(lib.code);
  libraries.clear();
  function_library.clear();
  for (const auto& code : codes) (void)LoadLibrary(code, true);
}

void ScriptRunner::FCall(CommandContext& ctx, bool read_only) {
  ctx.NoPropagate();  // the commands the function runs log their own effects
  const Argv& a = ctx.argv;
  Impl& im = *impl_;
  im.Init();
  im.ReloadStaleFunctions();
  const std::string key = ToLower(a[1]);
  auto lib = im.function_library.find(key);
  if (lib == im.function_library.end()) return ctx.Error("ERR Function not found");
  std::string fname;
  uint32_t fflags = 0;
  for (const auto& [n, i] : im.libraries.at(lib->second).functions) {
    if (IEquals(n, key)) {
      fname = n;
      fflags = i.flags;
    }
  }
  auto nk = ParseInt(a[2]);
  if (!nk) return ctx.Error("ERR Bad number of keys provided");
  if (*nk > static_cast<int64_t>(a.size()) - 3)
    return ctx.Error("ERR Number of keys can't be greater than number of args");
  if (*nk < 0) return ctx.Error("ERR Number of keys can't be negative");
  // FCALL_RO runs a function not declared no-writes too, as Upstash does (Redis 7 refuses
  // it up front); either way a write inside fails.
  im.read_only = read_only || (fflags & kScriptNoWrites);
  lua_State* L = im.L;
  size_t first_arg = 3 + static_cast<size_t>(*nk);
  lua_getfield(L, LUA_REGISTRYINDEX, kFunctionsKey);
  lua_pushlstring(L, key.data(), key.size());
  lua_rawget(L, -2);
  lua_remove(L, -2);
  for (auto [from, to] : {std::pair{size_t{3}, first_arg}, std::pair{first_arg, a.size()}}) {
    lua_createtable(L, static_cast<int>(to - from), 0);
    for (size_t i = from; i < to; ++i) {
      lua_pushlstring(L, a[i].data(), a[i].size());
      lua_rawseti(L, -2, static_cast<int>(i - from + 1));
    }
  }
  im.Run(ctx, 2, fname, true);
}

void ScriptRunner::Function(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  Impl& im = *impl_;
  std::string sub = ToLower(a[1]);
  auto arity = [&](size_t min, size_t max) {
    if (a.size() >= min && a.size() <= max) return true;
    ctx.Error("ERR wrong number of arguments for 'function|" + sub + "' command");
    return false;
  };
  if (sub == "load") {
    if (!arity(3, SIZE_MAX)) return;
    bool replace = false;
    size_t pos = 2;
    while (pos < a.size() - 1) {
      const std::string& opt = a[pos++];
      if (IEquals(opt, "replace")) {
        replace = true;
        continue;
      }
      return ctx.Error("ERR Unknown option given: " + opt);
    }
    auto name = im.LoadLibrary(a.back(), replace);
    if (!name.ok()) return ctx.Error("ERR " + name.status().message());
    ctx.Dirty();
    ctx.reply = Reply::Bulk(*name);
  } else if (sub == "delete") {
    if (!arity(3, 3)) return;
    if (!im.libraries.count(a[2])) return ctx.Error("ERR Library not found");
    im.DropLibrary(a[2]);
    ctx.Dirty();
    ctx.reply = Reply::Ok();
  } else if (sub == "flush") {
    if (!arity(2, 3)) return;
    if (a.size() == 3 && !IEquals(a[2], "sync") && !IEquals(a[2], "async")) {
      return ctx.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    im.DropAllLibraries();
    ctx.Dirty();
    ctx.reply = Reply::Ok();
  } else if (sub == "list") {
    bool with_code = false;
    std::optional<std::string> pattern;
    for (size_t i = 2; i < a.size(); ++i) {
      if (!with_code && IEquals(a[i], "withcode")) {
        with_code = true;
      } else if (!pattern && IEquals(a[i], "libraryname")) {
        if (i + 1 >= a.size()) return ctx.Error("ERR library name argument was not given");
        pattern = a[++i];
      } else {
        return ctx.Error("ERR Unknown argument " + a[i]);
      }
    }
    std::vector<Reply> out;
    for (const auto& [name, lib] : im.libraries) {
      if (pattern && !GlobMatch(*pattern, name, /*nocase=*/true)) continue;
      std::vector<Reply> fns;
      for (const auto& [fname, info] : lib.functions) {
        fns.push_back(Reply::Array({Reply::Bulk("name"), Reply::Bulk(fname), Reply::Bulk("description"),
                                    info.description ? Reply::Bulk(*info.description) : Reply::Nil(),
                                    Reply::Bulk("flags"), FlagsReply(info.flags)}));
      }
      std::vector<Reply> entry = {Reply::Bulk("library_name"), Reply::Bulk(name),        Reply::Bulk("engine"),
                                  Reply::Bulk("LUA"),          Reply::Bulk("functions"), Reply::Array(std::move(fns))};
      if (with_code) {
        entry.push_back(Reply::Bulk("library_code"));
        entry.push_back(Reply::Bulk(lib.code));
      }
      out.push_back(Reply::Array(std::move(entry)));
    }
    ctx.reply = Reply::Array(std::move(out));
  } else if (sub == "stats") {
    if (!arity(2, 2)) return;
    ctx.reply = Reply::Array(
        {Reply::Bulk("running_script"), Reply::Nil(), Reply::Bulk("engines"),
         Reply::Array(
             {Reply::Bulk("LUA"),
              Reply::Array({Reply::Bulk("libraries_count"), Reply::Integer(static_cast<int64_t>(im.libraries.size())),
                            Reply::Bulk("functions_count"),
                            Reply::Integer(static_cast<int64_t>(im.function_library.size()))})})});
  } else if (sub == "dump") {
    if (!arity(2, 2)) return;
    std::vector<std::string> codes;
    for (const auto& [name, lib] : im.libraries) codes.push_back(lib.code);
    ctx.reply = Reply::Bulk(DumpPayload(codes));
  } else if (sub == "restore") {
    if (!arity(3, 4)) return;
    std::string policy = a.size() == 4 ? ToLower(a[3]) : "append";
    if (policy != "append" && policy != "replace" && policy != "flush") {
      return ctx.Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
    }
    auto codes = ParsePayload(a[2]);
    if (!codes) return ctx.Error("ERR DUMP payload version or checksum are wrong");
    std::vector<std::string> before;
    for (const auto& [name, lib] : im.libraries) before.push_back(lib.code);
    if (policy == "flush") im.DropAllLibraries();
    std::string error;
    for (const auto& code : *codes) {
      auto meta = ParseLibraryMeta(code);
      if (meta.ok() && policy == "append" && im.libraries.count(meta->name)) {
        error = "ERR Library " + meta->name + " already exists";
        break;
      }
      auto loaded = im.LoadLibrary(code, policy != "append");
      if (!loaded.ok()) {
        error = "ERR " + loaded.status().message();
        break;
      }
    }
    if (!error.empty()) {  // all or nothing: the libraries as they were
      im.DropAllLibraries();
      for (const auto& code : before) (void)im.LoadLibrary(code, true);
      return ctx.Error(error);
    }
    ctx.Dirty();
    ctx.reply = Reply::Ok();
  } else if (sub == "kill") {
    if (!arity(2, 2)) return;
    // Reached only when no function runs (the engine answers FUNCTION KILL during one itself).
    ctx.Error(kNotBusyError);
  } else {
    ctx.Error("ERR unknown subcommand '" + a[1].substr(0, 128) + "'. Try FUNCTION HELP.");
  }
}

void ScriptRunner::AppendFunctionSnapshot(std::string* out) const {
  for (const auto& [name, lib] : impl_->libraries) AppendRespCommand({"FUNCTION", "LOAD", "REPLACE", lib.code}, out);
}

}  // namespace stratus::kv
