// Connection and server commands that make sense over REST: PING, ECHO, DBSIZE, FLUSHDB.
#include "kv/families/family.h"

namespace stratus::kv {
namespace {

void Ping(CommandContext& ctx) {
  if (ctx.argv.size() > 2) return ctx.Error(ArityError("ping"));
  ctx.reply = ctx.argv.size() == 2 ? Reply::Bulk(ctx.argv[1]) : Reply::Status("PONG");
}

void Echo(CommandContext& ctx) {
  ctx.reply = Reply::Bulk(ctx.argv[1]);
}

void DbSize(CommandContext& ctx) {
  ctx.reply = Reply::Integer(static_cast<int64_t>(ctx.db.size()));
}

void Flush(CommandContext& ctx) {
  if (ctx.argv.size() > 2 ||
      (ctx.argv.size() == 2 && !IEquals(ctx.argv[1], "sync") && !IEquals(ctx.argv[1], "async"))) {
    return ctx.Error(err::kSyntax);
  }
  ctx.db.Clear();
  ctx.Propagate({"FLUSHALL"});
  ctx.reply = Reply::Ok();
}

}  // namespace

Status RegisterServerFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "ping", .arity = -1, .flags = kReadOnly, .handler = Ping},
           CommandSpec{.name = "echo", .arity = 2, .flags = kReadOnly, .handler = Echo},
           CommandSpec{.name = "dbsize", .arity = 1, .flags = kReadOnly, .handler = DbSize},
           CommandSpec{.name = "flushdb", .arity = -1, .flags = kWrite | kNoScript, .handler = Flush},
           CommandSpec{.name = "flushall", .arity = -1, .flags = kWrite | kNoScript, .handler = Flush},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
