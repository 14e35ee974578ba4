// Hashes: HSET, HGET, HMGET, HGETALL, HDEL, HINCRBY and friends.
#include <climits>

#include "kv/families/family.h"

namespace stratus::kv {
namespace {

void HSetGeneric(CommandContext& ctx, bool hmset) {
  if (ctx.argv.size() % 2 == 1) {
    ctx.Error(ArityError(hmset ? "hmset" : "hset"));
    return;
  }
  HashValue* h = LookupOrCreate<HashValue>(ctx, ctx.argv[1]);
  if (!h) return;
  int64_t created = 0;
  for (size_t i = 2; i < ctx.argv.size(); i += 2) {
    auto [it, inserted] = h->insert_or_assign(ctx.argv[i], ctx.argv[i + 1]);
    created += inserted ? 1 : 0;
  }
  ctx.Dirty();
  ctx.reply = hmset ? Reply::Ok() : Reply::Integer(created);
}

void HSet(CommandContext& ctx) {
  HSetGeneric(ctx, false);
}
void HMSet(CommandContext& ctx) {
  HSetGeneric(ctx, true);
}

void HSetNx(CommandContext& ctx) {
  HashValue* h = LookupOrCreate<HashValue>(ctx, ctx.argv[1]);
  if (!h) return;
  bool inserted = h->try_emplace(ctx.argv[2], ctx.argv[3]).second;
  if (inserted) ctx.Dirty();
  ctx.reply = Reply::Integer(inserted ? 1 : 0);
}

void HGet(CommandContext& ctx) {
  HashValue* h;
  if (!LookupAs(ctx, ctx.argv[1], &h)) return;
  auto it = h ? h->find(ctx.argv[2]) : HashValue::iterator();
  ctx.reply = h && it != h->end() ? Reply::Bulk(it->second) : Reply::Nil();
}

void HMGet(CommandContext& ctx) {
  HashValue* h;
  if (!LookupAs(ctx, ctx.argv[1], &h)) return;
  std::vector<Reply> out;
  for (size_t i = 2; i < ctx.argv.size(); ++i) {
    auto it = h ? h->find(ctx.argv[i]) : HashValue::iterator();
    out.push_back(h && it != h->end() ? Reply::Bulk(it->second) : Reply::Nil());
  }
  ctx.reply = Reply::Array(std::move(out));
}

void HGetAllGeneric(CommandContext& ctx, bool keys, bool values) {
  HashValue* h;
  if (!LookupAs(ctx, ctx.argv[1], &h)) return;
  std::vector<Reply> out;
  if (h) {
    for (const auto& [f, v] : *h) {
      if (keys) out.push_back(Reply::Bulk(f));
      if (values) out.push_back(Reply::Bulk(v));
    }
  }
  ctx.reply = Reply::Array(std::move(out));
}

void HGetAll(CommandContext& ctx) {
  HGetAllGeneric(ctx, true, true);
}
void HKeys(CommandContext& ctx) {
  HGetAllGeneric(ctx, true, false);
}
void HVals(CommandContext& ctx) {
  HGetAllGeneric(ctx, false, true);
}

void HDel(CommandContext& ctx) {
  HashValue* h;
  if (!LookupAs(ctx, ctx.argv[1], &h)) return;
  int64_t n = 0;
  if (h) {
    for (size_t i = 2; i < ctx.argv.size(); ++i) n += static_cast<int64_t>(h->erase(ctx.argv[i]));
    if (h->empty()) ctx.db.Erase(ctx.argv[1]);
  }
  if (n) ctx.Dirty();
  ctx.reply = Reply::Integer(n);
}

void HLen(CommandContext& ctx) {
  HashValue* h;
  if (!LookupAs(ctx, ctx.argv[1], &h)) return;
  ctx.reply = Reply::Integer(h ? static_cast<int64_t>(h->size()) : 0);
}

void HExists(CommandContext& ctx) {
  HashValue* h;
  if (!LookupAs(ctx, ctx.argv[1], &h)) return;
  ctx.reply = Reply::Integer(h && h->count(ctx.argv[2]) ? 1 : 0);
}

void HStrLen(CommandContext& ctx) {
  HashValue* h;
  if (!LookupAs(ctx, ctx.argv[1], &h)) return;
  auto it = h ? h->find(ctx.argv[2]) : HashValue::iterator();
  ctx.reply = Reply::Integer(h && it != h->end() ? static_cast<int64_t>(it->second.size()) : 0);
}

void HIncrBy(CommandContext& ctx) {
  int64_t incr;
  if (!ArgInt(ctx, ctx.argv[3], &incr)) return;
  HashValue* h = LookupOrCreate<HashValue>(ctx, ctx.argv[1]);
  if (!h) return;
  int64_t value = 0;
  auto it = h->find(ctx.argv[2]);
  if (it != h->end()) {
    auto v = ParseInt(it->second);
    if (!v) {
      ctx.Error("ERR hash value is not an integer");
      if (h->empty()) ctx.db.Erase(ctx.argv[1]);
      return;
    }
    value = *v;
  }
  if ((incr < 0 && value < 0 && incr < (LLONG_MIN - value)) || (incr > 0 && value > 0 && incr > (LLONG_MAX - value))) {
    ctx.Error(err::kOverflow);
    if (h->empty()) ctx.db.Erase(ctx.argv[1]);
    return;
  }
  value += incr;
  (*h)[ctx.argv[2]] = std::to_string(value);
  ctx.Dirty();
  ctx.reply = Reply::Integer(value);
}

}  // namespace

Status RegisterHashFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "hset", .arity = -4, .flags = kWrite, .handler = HSet},
           CommandSpec{.name = "hmset", .arity = -4, .flags = kWrite, .handler = HMSet},
           CommandSpec{.name = "hsetnx", .arity = 4, .flags = kWrite, .handler = HSetNx},
           CommandSpec{.name = "hget", .arity = 3, .flags = kReadOnly, .handler = HGet},
           CommandSpec{.name = "hmget", .arity = -3, .flags = kReadOnly, .handler = HMGet},
           CommandSpec{.name = "hgetall", .arity = 2, .flags = kReadOnly, .handler = HGetAll},
           CommandSpec{.name = "hkeys", .arity = 2, .flags = kReadOnly, .handler = HKeys},
           CommandSpec{.name = "hvals", .arity = 2, .flags = kReadOnly, .handler = HVals},
           CommandSpec{.name = "hdel", .arity = -3, .flags = kWrite, .handler = HDel},
           CommandSpec{.name = "hlen", .arity = 2, .flags = kReadOnly, .handler = HLen},
           CommandSpec{.name = "hexists", .arity = 3, .flags = kReadOnly, .handler = HExists},
           CommandSpec{.name = "hstrlen", .arity = 3, .flags = kReadOnly, .handler = HStrLen},
           CommandSpec{.name = "hincrby", .arity = 4, .flags = kWrite, .handler = HIncrBy},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
