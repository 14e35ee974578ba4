// Lua 5.1 scripting the way Redis embeds it: one interpreter, scripts defined as global
// functions f_<sha1>, KEYS/ARGV globals, redis.call/pcall/error_reply/status_reply/sha1hex,
// Redis's reply<->Lua conversions, and a time limit. Lua errors are longjmps: every C++
// object is destroyed before lua_error runs (see Call/DoCall).
#include "kv/scripting.h"

#include <openssl/sha.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <unordered_set>

extern "C" {
#include <lua5.1/lauxlib.h>
#include <lua5.1/lua.h>
#include <lua5.1/lualib.h>
}

#include "kv/engine.h"
#include "kv/util.h"

namespace stratus::kv {
namespace {

constexpr std::chrono::seconds kScriptTimeLimit{5};

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

// The engine context of the running script (one script runs at a time, under the engine lock).
struct Running {
  CommandContext* ctx = nullptr;
  std::chrono::steady_clock::time_point deadline;
};
Running* g_running = nullptr;  // set only while the engine lock is held

void PushReply(lua_State* L, const Reply& r) {
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

Reply ToReply(lua_State* L, int depth = 0) {
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      return Reply::Bulk(std::string(s, len));
    }
    case LUA_TBOOLEAN:
      return lua_toboolean(L, -1) ? Reply::Integer(1) : Reply::Nil();
    case LUA_TNUMBER:
      return Reply::Integer(static_cast<int64_t>(lua_tonumber(L, -1)));
    case LUA_TTABLE: {
      if (depth > 64) return Reply::Error("ERR reached lua stack limit");
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
        elems.push_back(ToReply(L, depth + 1));
        lua_pop(L, 1);
      }
      return Reply::Array(std::move(elems));
    }
    default:
      return Reply::Nil();
  }
}

// Runs redis.call/pcall's command and pushes its result; returns true when the caller must
// raise (the pushed value is then the error table). No C++ object outlives this function.
bool DoCall(lua_State* L, bool raise) {
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
    if (argv.empty()) {
      reply = Reply::Error("ERR Lua redis lib command arguments must be strings or integers");
    } else if (auto refused = g_running->ctx->engine.Check(argv, false, /*from_script=*/true)) {
      reply = std::move(*refused);
    } else {
      reply = g_running->ctx->engine.CallLocked(argv, /*from_script=*/true);
    }
  }
  PushReply(L, reply);
  return raise && reply.is_error();
}

int LuaCall(lua_State* L) {
  if (DoCall(L, true)) return lua_error(L);
  return 1;
}
int LuaPCall(lua_State* L) {
  DoCall(L, false);
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

void TimeLimitHook(lua_State* L, lua_Debug*) {
  if (g_running && std::chrono::steady_clock::now() > g_running->deadline) {
    luaL_error(L, "script killed: it ran longer than %d seconds", static_cast<int>(kScriptTimeLimit.count()));
  }
}

}  // namespace

struct ScriptRunner::Impl {
  lua_State* L = nullptr;
  std::unordered_set<std::string> defined;  // SHA-1s with a function in L
  std::unordered_map<std::string, std::string> bodies;

  ~Impl() {
    if (L) lua_close(L);
  }

  void Init() {
    if (L) return;
    L = luaL_newstate();
    // Base, table, string and math, as Redis loads them; no io, os or package.
    const std::pair<const char*, lua_CFunction> libs[] = {{"", luaopen_base},
                                                          {LUA_TABLIBNAME, luaopen_table},
                                                          {LUA_STRLIBNAME, luaopen_string},
                                                          {LUA_MATHLIBNAME, luaopen_math}};
    for (auto [name, fn] : libs) {
      lua_pushcfunction(L, fn);
      lua_pushstring(L, name);
      lua_call(L, 1, 0);
    }
    for (const char* unsafe : {"loadfile", "dofile"}) {
      lua_pushnil(L);
      lua_setglobal(L, unsafe);
    }
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
  }

  // Defines f_<sha> from `body`; an error message on a compile error.
  std::optional<std::string> Define(const std::string& sha, const std::string& body) {
    Init();
    if (defined.count(sha)) return std::nullopt;
    std::string code = "function f_" + sha + "() " + body + "\nend";
    if (luaL_loadbuffer(L, code.data(), code.size(), "@user_script") || lua_pcall(L, 0, 0, 0)) {
      std::string msg = lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown error";
      lua_pop(L, 1);
      return "ERR Error compiling script (new function): " + msg;
    }
    defined.insert(sha);
    bodies[sha] = body;
    return std::nullopt;
  }

  void SetArray(const char* name, const Argv& argv, size_t from, size_t to) {
    lua_createtable(L, static_cast<int>(to - from), 0);
    for (size_t i = from; i < to; ++i) {
      lua_pushlstring(L, argv[i].data(), argv[i].size());
      lua_rawseti(L, -2, static_cast<int>(i - from + 1));
    }
    lua_setglobal(L, name);
  }
};

ScriptRunner::ScriptRunner() : impl_(std::make_unique<Impl>()) {}
ScriptRunner::~ScriptRunner() = default;

void ScriptRunner::Eval(CommandContext& ctx, bool by_sha) {
  ctx.NoPropagate();  // the commands the script runs log their own effects
  const Argv& a = ctx.argv;
  int64_t numkeys;
  auto nk = ParseInt(a[2]);
  if (!nk) return ctx.Error(err::kNotInteger);
  numkeys = *nk;
  if (numkeys > static_cast<int64_t>(a.size()) - 3)
    return ctx.Error("ERR Number of keys can't be greater than number of args");
  if (numkeys < 0) return ctx.Error("ERR Number of keys can't be negative");
  std::string sha = by_sha ? ToLower(a[1]) : Sha1Hex(a[1]);
  if (by_sha) {
    if (!impl_->defined.count(sha)) return ctx.Error("NOSCRIPT No matching script. Please use EVAL.");
  } else if (auto e = impl_->Define(sha, a[1])) {
    return ctx.Error(*e);
  }
  lua_State* L = impl_->L;
  size_t first_arg = 3 + static_cast<size_t>(numkeys);
  impl_->SetArray("KEYS", a, 3, first_arg);
  impl_->SetArray("ARGV", a, first_arg, a.size());
  std::string fname = "f_" + sha;
  lua_getglobal(L, fname.c_str());
  Running running{&ctx, std::chrono::steady_clock::now() + kScriptTimeLimit};
  g_running = &running;
  lua_sethook(L, TimeLimitHook, LUA_MASKCOUNT, 100000);
  int rc = lua_pcall(L, 0, 1, 0);
  lua_sethook(L, nullptr, 0, 0);
  g_running = nullptr;
  if (rc != 0) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      // An error raised by redis.call: Redis's own text, with where it came from.
      Reply r = ToReply(L);
      lua_pop(L, 1);
      return ctx.Error(r.str + " script: " + sha + ", on @user_script.");
    }
    std::string msg = lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown error";
    lua_pop(L, 1);
    return ctx.Error("ERR Error running script (call to f_" + sha + "): " + msg);
  }
  ctx.reply = ToReply(L);
  lua_pop(L, 1);
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
    impl_->bodies.clear();
    ctx.reply = Reply::Ok();
  } else if (sub == "load" || sub == "exists" || sub == "flush") {
    ctx.Error("ERR wrong number of arguments for 'script|" + sub + "' command");
  } else {
    ctx.Error("ERR unknown subcommand '" + a[1].substr(0, 128) + "'. Try SCRIPT HELP.");
  }
}

}  // namespace stratus::kv
