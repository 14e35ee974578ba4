// Connection and server commands that make sense over REST: PING, ECHO, DBSIZE, FLUSHDB, TIME.
#include "kv/engine.h"
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

// TIME: [unix seconds, microseconds] as bulk strings, from the engine's clock.
void Time(CommandContext& ctx) {
  const Micros now = ctx.engine.now_micros();
  ctx.reply =
      Reply::Array({Reply::Bulk(std::to_string(now / 1'000'000)), Reply::Bulk(std::to_string(now % 1'000'000))});
}

}  // namespace

Status RegisterServerFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "ping", .arity = -1, .flags = kReadOnly, .handler = Ping},
           CommandSpec{.name = "echo", .arity = 2, .flags = kReadOnly, .handler = Echo},
           CommandSpec{.name = "dbsize", .arity = 1, .flags = kReadOnly, .handler = DbSize},
           CommandSpec{.name = "time", .arity = 1, .flags = kReadOnly, .handler = Time},
           CommandSpec{.name = "flushdb", .arity = -1, .flags = kWrite | kNoScript, .handler = Flush},
           CommandSpec{.name = "flushall", .arity = -1, .flags = kWrite | kNoScript, .handler = Flush},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
