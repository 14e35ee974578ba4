// Strings: GET, SET and its options, counters, MGET/MSET.
#include <climits>

#include "kv/families/family.h"

namespace stratus::kv {
namespace {

// GET's lookup: nil, the value, or WRONGTYPE (returns false).
bool GetString(CommandContext& ctx, std::string_view key, std::string** out) {
  return LookupAs(ctx, key, out);
}

void Get(CommandContext& ctx) {
  std::string* v;
  if (!GetString(ctx, ctx.argv[1], &v)) return;
  ctx.reply = v ? Reply::Bulk(*v) : Reply::Nil();
}

enum SetFlags : unsigned { kNx = 1, kXx = 2, kGet = 4, kKeepTtl = 8, kEx = 16, kPx = 32, kExAt = 64, kPxAt = 128 };

// Turns an expire argument into absolute ms, with Redis's checks; false after an error reply.
bool ExpireMs(CommandContext& ctx, std::string_view arg, unsigned unit_flags, std::string_view cmd, int64_t* out) {
  int64_t v;
  if (!ArgInt(ctx, arg, &v)) return false;
  bool seconds = unit_flags & (kEx | kExAt);
  auto invalid = [&] {
    ctx.Error("ERR invalid expire time in '" + std::string(cmd) + "' command");
    return false;
  };
  if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) return invalid();
  if (seconds) v *= 1000;
  if (unit_flags & (kEx | kPx)) {
    if (__builtin_add_overflow(v, ctx.now(), &v)) return invalid();
  }
  if (v <= 0) return invalid();
  *out = v;
  return true;
}

// The shared body of SET, SETEX, PSETEX, SETNX.
void SetGeneric(CommandContext& ctx, unsigned flags, const std::string& key, const std::string& value,
                const std::string* expire, std::string_view cmd, bool reply_int) {
  int64_t ms = 0;
  if (expire && !ExpireMs(ctx, *expire, flags, cmd, &ms)) return;
  if (flags & kGet) {
    std::string* old;
    if (!GetString(ctx, key, &old)) return;
    ctx.reply = old ? Reply::Bulk(*old) : Reply::Nil();
  }
  bool found = ctx.db.Find(key) != nullptr;
  if (((flags & kNx) && found) || ((flags & kXx) && !found)) {
    if (!(flags & kGet)) ctx.reply = reply_int ? Reply::Integer(0) : Reply::Nil();
    return;
  }
  ctx.db.Set(key, StringValue(value), flags & kKeepTtl);
  if (expire) {
    ctx.db.SetExpire(key, ms);
    ctx.Propagate({"SET", key, value, "PXAT", std::to_string(ms)});
  } else if (flags & kKeepTtl) {
    ctx.Propagate({"SET", key, value, "KEEPTTL"});
  } else {
    ctx.Propagate({"SET", key, value});
  }
  if (!(flags & kGet)) ctx.reply = reply_int ? Reply::Integer(1) : Reply::Ok();
}

void Set(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  unsigned flags = 0;
  const std::string* expire = nullptr;
  for (size_t j = 3; j < a.size(); ++j) {
    const std::string& opt = a[j];
    const std::string* next = j + 1 < a.size() ? &a[j + 1] : nullptr;
    const unsigned kAnyExpire = kEx | kPx | kExAt | kPxAt;
    if (IEquals(opt, "nx") && !(flags & kXx)) {
      flags |= kNx;
    } else if (IEquals(opt, "xx") && !(flags & kNx)) {
      flags |= kXx;
    } else if (IEquals(opt, "get")) {
      flags |= kGet;
    } else if (IEquals(opt, "keepttl") && !(flags & kAnyExpire)) {
      flags |= kKeepTtl;
    } else if (IEquals(opt, "ex") && !(flags & (kKeepTtl | kExAt | kPx | kPxAt)) && next) {
      flags = (flags & ~kAnyExpire) | kEx;
      expire = next;
      ++j;
    } else if (IEquals(opt, "px") && !(flags & (kKeepTtl | kEx | kExAt | kPxAt)) && next) {
      flags = (flags & ~kAnyExpire) | kPx;
      expire = next;
      ++j;
    } else if (IEquals(opt, "exat") && !(flags & (kKeepTtl | kEx | kPx | kPxAt)) && next) {
      flags = (flags & ~kAnyExpire) | kExAt;
      expire = next;
      ++j;
    } else if (IEquals(opt, "pxat") && !(flags & (kKeepTtl | kEx | kExAt | kPx)) && next) {
      flags = (flags & ~kAnyExpire) | kPxAt;
      expire = next;
      ++j;
    } else {
      ctx.Error(err::kSyntax);
      return;
    }
  }
  SetGeneric(ctx, flags, a[1], a[2], expire, "set", false);
}

void SetNx(CommandContext& ctx) {
  SetGeneric(ctx, kNx, ctx.argv[1], ctx.argv[2], nullptr, "setnx", true);
}
void SetEx(CommandContext& ctx) {
  SetGeneric(ctx, kEx, ctx.argv[1], ctx.argv[3], &ctx.argv[2], "setex", false);
}
void PSetEx(CommandContext& ctx) {
  SetGeneric(ctx, kPx, ctx.argv[1], ctx.argv[3], &ctx.argv[2], "psetex", false);
}

void GetDel(CommandContext& ctx) {
  std::string* v;
  if (!GetString(ctx, ctx.argv[1], &v)) return;
  if (!v) {
    ctx.reply = Reply::Nil();
    return;
  }
  ctx.reply = Reply::Bulk(*v);
  ctx.db.Erase(ctx.argv[1]);
  ctx.Propagate({"DEL", ctx.argv[1]});
}

void GetSet(CommandContext& ctx) {
  std::string* v;
  if (!GetString(ctx, ctx.argv[1], &v)) return;
  ctx.reply = v ? Reply::Bulk(*v) : Reply::Nil();
  ctx.db.Set(ctx.argv[1], StringValue(ctx.argv[2]));
  ctx.Propagate({"SET", ctx.argv[1], ctx.argv[2]});
}

void MGet(CommandContext& ctx) {
  std::vector<Reply> out;
  for (size_t i = 1; i < ctx.argv.size(); ++i) {
    Entry* e = ctx.db.Find(ctx.argv[i]);
    const std::string* s = e ? std::get_if<StringValue>(&e->value) : nullptr;
    out.push_back(s ? Reply::Bulk(*s) : Reply::Nil());
  }
  ctx.reply = Reply::Array(std::move(out));
}

void MSet(CommandContext& ctx) {
  if (ctx.argv.size() % 2 == 0) {
    ctx.Error(ArityError("mset"));
    return;
  }
  for (size_t i = 1; i < ctx.argv.size(); i += 2) ctx.db.Set(ctx.argv[i], StringValue(ctx.argv[i + 1]));
  ctx.Dirty();
  ctx.reply = Reply::Ok();
}

void MSetNx(CommandContext& ctx) {
  if (ctx.argv.size() % 2 == 0) {
    ctx.Error(ArityError("msetnx"));
    return;
  }
  for (size_t i = 1; i < ctx.argv.size(); i += 2) {
    if (ctx.db.Find(ctx.argv[i])) {
      ctx.reply = Reply::Integer(0);
      return;
    }
  }
  for (size_t i = 1; i < ctx.argv.size(); i += 2) ctx.db.Set(ctx.argv[i], StringValue(ctx.argv[i + 1]));
  ctx.Dirty();
  ctx.reply = Reply::Integer(1);
}

void IncrBy(CommandContext& ctx, int64_t incr) {
  std::string* v;
  if (!GetString(ctx, ctx.argv[1], &v)) return;
  int64_t cur = 0;
  if (v) {
    auto parsed = ParseInt(*v);
    if (!parsed) {
      ctx.Error(err::kNotInteger);
      return;
    }
    cur = *parsed;
  }
  int64_t next;
  if (__builtin_add_overflow(cur, incr, &next)) {
    ctx.Error(err::kOverflow);
    return;
  }
  if (v) {
    *v = std::to_string(next);
  } else {
    ctx.db.Set(ctx.argv[1], StringValue(std::to_string(next)));
  }
  ctx.Dirty();
  ctx.reply = Reply::Integer(next);
}

void Incr(CommandContext& ctx) {
  IncrBy(ctx, 1);
}
void Decr(CommandContext& ctx) {
  IncrBy(ctx, -1);
}
void IncrByCmd(CommandContext& ctx) {
  int64_t by;
  if (ArgInt(ctx, ctx.argv[2], &by)) IncrBy(ctx, by);
}
void DecrByCmd(CommandContext& ctx) {
  int64_t by;
  if (!ArgInt(ctx, ctx.argv[2], &by)) return;
  if (by == LLONG_MIN) {
    ctx.Error("ERR decrement would overflow");
    return;
  }
  IncrBy(ctx, -by);
}

void Append(CommandContext& ctx) {
  std::string* v;
  if (!GetString(ctx, ctx.argv[1], &v)) return;
  if (v) {
    *v += ctx.argv[2];
    ctx.reply = Reply::Integer(static_cast<int64_t>(v->size()));
  } else {
    ctx.db.Set(ctx.argv[1], StringValue(ctx.argv[2]));
    ctx.reply = Reply::Integer(static_cast<int64_t>(ctx.argv[2].size()));
  }
  ctx.Dirty();
}

void StrLen(CommandContext& ctx) {
  std::string* v;
  if (!GetString(ctx, ctx.argv[1], &v)) return;
  ctx.reply = Reply::Integer(v ? static_cast<int64_t>(v->size()) : 0);
}

}  // namespace

Status RegisterStringFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "get", .arity = 2, .flags = kReadOnly, .handler = Get},
           CommandSpec{.name = "set", .arity = -3, .flags = kWrite, .handler = Set},
           CommandSpec{.name = "setnx", .arity = 3, .flags = kWrite, .handler = SetNx},
           CommandSpec{.name = "setex", .arity = 4, .flags = kWrite, .handler = SetEx},
           CommandSpec{.name = "psetex", .arity = 4, .flags = kWrite, .handler = PSetEx},
           CommandSpec{.name = "getdel", .arity = 2, .flags = kWrite, .handler = GetDel},
           CommandSpec{.name = "getset", .arity = 3, .flags = kWrite, .handler = GetSet},
           CommandSpec{.name = "mget", .arity = -2, .flags = kReadOnly, .handler = MGet},
           CommandSpec{.name = "mset", .arity = -3, .flags = kWrite, .handler = MSet},
           CommandSpec{.name = "msetnx", .arity = -3, .flags = kWrite, .handler = MSetNx},
           CommandSpec{.name = "incr", .arity = 2, .flags = kWrite, .handler = Incr},
           CommandSpec{.name = "decr", .arity = 2, .flags = kWrite, .handler = Decr},
           CommandSpec{.name = "incrby", .arity = 3, .flags = kWrite, .handler = IncrByCmd},
           CommandSpec{.name = "decrby", .arity = 3, .flags = kWrite, .handler = DecrByCmd},
           CommandSpec{.name = "append", .arity = 3, .flags = kWrite, .handler = Append},
           CommandSpec{.name = "strlen", .arity = 2, .flags = kReadOnly, .handler = StrLen},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
