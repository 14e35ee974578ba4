// Fuzzes the Lua pattern matcher directly (src/kv/lua_patterns.cc), without the script engine
// around it, so every input reaches the matcher. Input: one byte choosing the function, then the
// pattern, a 0x01 byte, the subject, and optionally a second 0x01 byte and a gsub replacement
// text (default "<%0|%1>%%"). The limit check stops a match after about a million steps, as the
// script time limit would, and the Lua heap is capped at 64 MiB. Any result or Lua error is
// fine; a crash, a sanitizer report or a hang is not.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kv/lua_patterns.h"

extern "C" {
#include <lua5.1/lauxlib.h>
#include <lua5.1/lualib.h>
}

namespace {

constexpr int kChecksPerInput = 64;  // x 16,384 steps
constexpr size_t kHeapLimit = 64u << 20;

int checks_left = 0;
size_t heap_used = 0;

void Check(lua_State* L) {
  if (--checks_left < 0) luaL_error(L, "step budget spent");
}

void* Allocate(void*, void* p, size_t old_size, size_t new_size) {
  if (new_size == 0) {
    heap_used -= p ? old_size : 0;
    std::free(p);
    return nullptr;
  }
  size_t before = p ? old_size : 0;
  if (new_size > before && heap_used + (new_size - before) > kHeapLimit) return nullptr;
  void* q = std::realloc(p, new_size);
  if (q) heap_used = heap_used - before + new_size;
  return q;
}

struct Input {
  int mode;
  std::string_view pattern, subject, replacement;
};

// Runs the chosen function inside lua_pcall; argument 1 is the Input.
int Run(lua_State* L) {
  const auto* in = static_cast<const Input*>(lua_touserdata(L, 1));
  lua_getglobal(L, "string");
  int top = lua_gettop(L);
  auto push = [L](std::string_view s) { lua_pushlstring(L, s.data(), s.size()); };
  switch (in->mode % 8) {
    case 0:
    case 1:
      lua_getfield(L, top, in->mode % 8 == 0 ? "find" : "match");
      push(in->subject);
      push(in->pattern);
      lua_pushinteger(L, static_cast<lua_Integer>(in->replacement.size() % 7) - 3);  // init
      lua_call(L, 3, LUA_MULTRET);
      break;
    case 2: {  // gmatch, every result
      lua_getfield(L, top, "gmatch");
      push(in->subject);
      push(in->pattern);
      lua_call(L, 2, 1);
      int iterator = lua_gettop(L);
      for (int i = 0; i < 10000; ++i) {
        lua_pushvalue(L, iterator);
        lua_call(L, 0, 1);
        bool more = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (!more) break;
      }
      break;
    }
    case 3:
      lua_getfield(L, top, "gsub");
      push(in->subject);
      push(in->pattern);
      push(in->replacement.empty() ? std::string_view("<%0|%1>%%") : in->replacement);
      lua_call(L, 3, 2);
      break;
    case 4:  // gsub with a function that returns its captures joined
      lua_getfield(L, top, "gsub");
      push(in->subject);
      push(in->pattern);
      luaL_loadstring(L, "return function(...) return table.concat({...}, ',') end");
      lua_call(L, 0, 1);
      lua_call(L, 3, 2);
      break;
    case 5:  // gsub with a table, at most 3 replacements
      lua_getfield(L, top, "gsub");
      push(in->subject);
      push(in->pattern);
      lua_newtable(L);
      push(in->subject.substr(0, 1));
      lua_pushliteral(L, "X");
      lua_settable(L, -3);
      lua_pushinteger(L, 3);
      lua_call(L, 4, 2);
      break;
    default:  // find with the pattern as plain text, from a negative start
      lua_getfield(L, top, "find");
      push(in->subject);
      push(in->pattern);
      lua_pushinteger(L, -static_cast<lua_Integer>(in->replacement.size()));
      lua_pushboolean(L, in->mode % 8 == 6);
      lua_call(L, 4, LUA_MULTRET);
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static stratus::kv::PatternLimits limits = [] {
    stratus::kv::PatternLimits l;
    l.check = Check;
    l.max_string_bytes = 16u << 20;
    return l;
  }();
  static lua_State* L = [] {
    lua_State* s = lua_newstate(Allocate, nullptr);
    luaL_openlibs(s);
    lua_getglobal(s, "string");
    stratus::kv::InstallSafeStringFunctions(s, -1, &limits);
    lua_pop(s, 1);
    return s;
  }();
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  Input in{data[0], rest, {}, {}};
  size_t cut = rest.find('\x01');
  if (cut != std::string_view::npos) {
    in.pattern = rest.substr(0, cut);
    in.subject = rest.substr(cut + 1);
    size_t cut2 = in.subject.find('\x01');
    if (cut2 != std::string_view::npos) {
      in.replacement = in.subject.substr(cut2 + 1);
      in.subject = in.subject.substr(0, cut2);
    }
  }
  checks_left = kChecksPerInput;
  lua_settop(L, 0);
  lua_pushcfunction(L, Run);
  lua_pushlightuserdata(L, &in);
  (void)lua_pcall(L, 1, 0, 0);
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
