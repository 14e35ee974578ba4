// Sets: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD.
#include "kv/families/family.h"

namespace stratus::kv {
namespace {

void SAdd(CommandContext& ctx) {
  SetValue* s = LookupOrCreate<SetValue>(ctx, ctx.argv[1]);
  if (!s) return;
  int64_t n = 0;
  for (size_t i = 2; i < ctx.argv.size(); ++i) n += s->insert(ctx.argv[i]).second ? 1 : 0;
  if (n) ctx.Dirty();
  ctx.reply = Reply::Integer(n);
}

void SRem(CommandContext& ctx) {
  SetValue* s;
  if (!LookupAs(ctx, ctx.argv[1], &s)) return;
  int64_t n = 0;
  if (s) {
    for (size_t i = 2; i < ctx.argv.size(); ++i) n += static_cast<int64_t>(s->erase(ctx.argv[i]));
    if (s->empty()) ctx.db.Erase(ctx.argv[1]);
  }
  if (n) ctx.Dirty();
  ctx.reply = Reply::Integer(n);
}

void SMembers(CommandContext& ctx) {
  SetValue* s;
  if (!LookupAs(ctx, ctx.argv[1], &s)) return;
  std::vector<Reply> out;
  if (s) {
    for (const auto& m : *s) out.push_back(Reply::Bulk(m));
  }
  ctx.reply = Reply::Array(std::move(out));
}

void SIsMember(CommandContext& ctx) {
  SetValue* s;
  if (!LookupAs(ctx, ctx.argv[1], &s)) return;
  ctx.reply = Reply::Integer(s && s->count(ctx.argv[2]) ? 1 : 0);
}

void SMIsMember(CommandContext& ctx) {
  SetValue* s;
  if (!LookupAs(ctx, ctx.argv[1], &s)) return;
  std::vector<Reply> out;
  for (size_t i = 2; i < ctx.argv.size(); ++i) out.push_back(Reply::Integer(s && s->count(ctx.argv[i]) ? 1 : 0));
  ctx.reply = Reply::Array(std::move(out));
}

void SCard(CommandContext& ctx) {
  SetValue* s;
  if (!LookupAs(ctx, ctx.argv[1], &s)) return;
  ctx.reply = Reply::Integer(s ? static_cast<int64_t>(s->size()) : 0);
}

}  // namespace

Status RegisterSetFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "sadd", .arity = -3, .flags = kWrite, .handler = SAdd},
           CommandSpec{.name = "srem", .arity = -3, .flags = kWrite, .handler = SRem},
           CommandSpec{.name = "smembers", .arity = 2, .flags = kReadOnly, .handler = SMembers},
           CommandSpec{.name = "sismember", .arity = 3, .flags = kReadOnly, .handler = SIsMember},
           CommandSpec{.name = "smismember", .arity = -3, .flags = kReadOnly, .handler = SMIsMember},
           CommandSpec{.name = "scard", .arity = 2, .flags = kReadOnly, .handler = SCard},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
