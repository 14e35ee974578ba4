// string.find, string.match, string.gmatch, string.gsub and string.rep for the script sandbox.
// Lua 5.1's own versions run in C, where the instruction-count hook never fires: a pattern
// such as string.rep('a-', 3) .. 'b' backtracks for hours and nothing can stop it. These
// implement the patterns the Lua 5.1 manual documents (same syntax, same results) with a step
// counter that calls back every few thousand steps, so a script is stopped by SCRIPT KILL or
// its time limit inside a match too; recursion is bounded ("pattern too complex", as Lua 5.2
// does); plain finds use memmem (linear time); and string.rep refuses a result larger than the
// script memory limit before building any of it.
#pragma once

#include <cstddef>

extern "C" {
#include <lua5.1/lua.h>
}

namespace stratus::kv {

struct PatternLimits {
  // Called every few thousand matcher steps; raises a Lua error (does not return) when the
  // script must stop.
  void (*check)(lua_State* L) = nullptr;
  size_t max_string_bytes = 0;  // string.rep refuses longer results
};

// Replaces find/match/gmatch/gsub/rep in the string library table at stack index `lib`.
// `limits` must outlive the Lua state.
void InstallSafeStringFunctions(lua_State* L, int lib, PatternLimits* limits);

}  // namespace stratus::kv
