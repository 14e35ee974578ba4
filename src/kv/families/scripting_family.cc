// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL, FCALL_RO: rows here, the interpreter in kv/scripting.cc.
#include "kv/engine.h"
#include "kv/families/family.h"
#include "kv/scripting.h"

namespace stratus::kv {
namespace {

void Eval(CommandContext& ctx) {
  ctx.engine.scripts().Eval(ctx, false);
}
void EvalSha(CommandContext& ctx) {
  ctx.engine.scripts().Eval(ctx, true);
}
void EvalRo(CommandContext& ctx) {
  ctx.engine.scripts().Eval(ctx, false, /*read_only=*/true);
}
void EvalShaRo(CommandContext& ctx) {
  ctx.engine.scripts().Eval(ctx, true, /*read_only=*/true);
}
void Script(CommandContext& ctx) {
  ctx.engine.scripts().Script(ctx);
}
void Function(CommandContext& ctx) {
  ctx.engine.scripts().Function(ctx);
}
void FCall(CommandContext& ctx) {
  ctx.engine.scripts().FCall(ctx, false);
}
void FCallRo(CommandContext& ctx) {
  ctx.engine.scripts().FCall(ctx, /*read_only=*/true);
}

}  // namespace

Status RegisterScriptingFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "eval", .arity = -3, .flags = kWrite | kNoScript, .handler = Eval},
           CommandSpec{.name = "evalsha", .arity = -3, .flags = kWrite | kNoScript, .handler = EvalSha},
           // Read-only as Redis flags them, so the read-only token may run them; a write inside fails.
           CommandSpec{.name = "eval_ro", .arity = -3, .flags = kReadOnly | kNoScript, .handler = EvalRo},
           CommandSpec{.name = "evalsha_ro", .arity = -3, .flags = kReadOnly | kNoScript, .handler = EvalShaRo},
           CommandSpec{.name = "script", .arity = -2, .flags = kWrite | kNoScript, .handler = Script},
           // LOAD, DELETE, FLUSH and RESTORE are logged as sent; the others change nothing.
           CommandSpec{.name = "function", .arity = -2, .flags = kWrite | kNoScript, .handler = Function},
           CommandSpec{.name = "fcall", .arity = -3, .flags = kWrite | kNoScript, .handler = FCall},
           CommandSpec{.name = "fcall_ro", .arity = -3, .flags = kReadOnly | kNoScript, .handler = FCallRo},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
