#include "kv/scripting.h"

namespace stratus::kv {

struct ScriptRunner::Impl {};

ScriptRunner::ScriptRunner() : impl_(std::make_unique<Impl>()) {}
ScriptRunner::~ScriptRunner() = default;

void ScriptRunner::Eval(CommandContext& ctx, bool) {
  ctx.NoPropagate();
  ctx.Error("ERR scripting is not supported by this server");
}

void ScriptRunner::Script(CommandContext& ctx) {
  ctx.NoPropagate();
  ctx.Error("ERR scripting is not supported by this server");
}

}  // namespace stratus::kv
