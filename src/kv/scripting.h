// Lua scripting (EVAL, EVALSHA, SCRIPT LOAD/EXISTS/FLUSH) as Redis does it: Lua 5.1, one
// interpreter, scripts cached by SHA-1, redis.call/pcall running commands atomically under
// the engine's lock.
#pragma once

#include <memory>
#include <string>

#include "kv/command.h"

namespace stratus::kv {

class ScriptRunner {
 public:
  ScriptRunner();
  ~ScriptRunner();
  // EVAL/EVALSHA body: argv[1] is the script (or its SHA-1), argv[2] numkeys.
  void Eval(CommandContext& ctx, bool by_sha);
  void Script(CommandContext& ctx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stratus::kv
