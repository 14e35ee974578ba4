// Keys: DEL, EXISTS, the EXPIRE family, TTL, PERSIST, TYPE, KEYS, SCAN, COPY, RENAME,
// RANDOMKEY, TOUCH.
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <random>

#include "kv/families/family.h"

namespace stratus::kv {
namespace {

void Del(CommandContext& ctx) {
  int64_t n = 0;
  for (size_t i = 1; i < ctx.argv.size(); ++i) n += ctx.db.Erase(ctx.argv[i]) ? 1 : 0;
  if (n) ctx.Propagate(Argv{ctx.argv.begin(), ctx.argv.end()});
  ctx.reply = Reply::Integer(n);
}

void Exists(CommandContext& ctx) {
  int64_t n = 0;
  for (size_t i = 1; i < ctx.argv.size(); ++i) n += ctx.db.Find(ctx.argv[i]) ? 1 : 0;
  ctx.reply = Reply::Integer(n);
}

enum ExpireFlags : unsigned { kNx = 1, kXx = 2, kGt = 4, kLt = 8 };

// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT; `basetime` is now for the relative forms, else 0.
void ExpireGeneric(CommandContext& ctx, int64_t basetime, bool seconds, std::string_view cmd) {
  const Argv& a = ctx.argv;
  unsigned flags = 0;
  for (size_t j = 3; j < a.size(); ++j) {
    if (IEquals(a[j], "nx"))
      flags |= kNx;
    else if (IEquals(a[j], "xx"))
      flags |= kXx;
    else if (IEquals(a[j], "gt"))
      flags |= kGt;
    else if (IEquals(a[j], "lt"))
      flags |= kLt;
    else {
      ctx.Error("ERR Unsupported option " + a[j]);
      return;
    }
  }
  if ((flags & kNx) && (flags & (kXx | kGt | kLt))) {
    ctx.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if ((flags & kGt) && (flags & kLt)) {
    ctx.Error("ERR GT and LT options at the same time are not compatible");
    return;
  }
  int64_t when;
  if (!ArgInt(ctx, a[2], &when)) return;
  auto invalid = [&] { ctx.Error("ERR invalid expire time in '" + std::string(cmd) + "' command"); };
  if (seconds) {
    if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) return invalid();
    when *= 1000;
  }
  if (when > LLONG_MAX - basetime) return invalid();
  when += basetime;
  Entry* e = ctx.db.Find(a[1]);
  if (!e) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  if (flags) {
    int64_t cur = e->expire_ms;
    if (((flags & kNx) && cur != kNoExpiry) || ((flags & kXx) && cur == kNoExpiry) ||
        ((flags & kGt) && (cur == kNoExpiry || when <= cur)) || ((flags & kLt) && cur != kNoExpiry && when >= cur)) {
      ctx.reply = Reply::Integer(0);
      return;
    }
  }
  if (!ctx.db.loading() && when <= ctx.now()) {
    ctx.db.Erase(a[1]);
    ctx.Propagate({"DEL", a[1]});
  } else {
    ctx.db.SetExpire(a[1], when);
    ctx.Propagate({"PEXPIREAT", a[1], std::to_string(when)});
  }
  ctx.reply = Reply::Integer(1);
}

void Expire(CommandContext& ctx) {
  ExpireGeneric(ctx, ctx.now(), true, "expire");
}
void PExpire(CommandContext& ctx) {
  ExpireGeneric(ctx, ctx.now(), false, "pexpire");
}
void ExpireAt(CommandContext& ctx) {
  ExpireGeneric(ctx, 0, true, "expireat");
}
void PExpireAt(CommandContext& ctx) {
  ExpireGeneric(ctx, 0, false, "pexpireat");
}

void TtlGeneric(CommandContext& ctx, bool ms, bool absolute) {
  Entry* e = ctx.db.Find(ctx.argv[1]);
  if (!e) {
    ctx.reply = Reply::Integer(-2);
    return;
  }
  if (e->expire_ms == kNoExpiry) {
    ctx.reply = Reply::Integer(-1);
    return;
  }
  int64_t ttl = absolute ? e->expire_ms : e->expire_ms - ctx.now();
  if (ttl < 0) ttl = 0;
  ctx.reply = Reply::Integer(ms ? ttl : (ttl + 500) / 1000);
}

void Ttl(CommandContext& ctx) {
  TtlGeneric(ctx, false, false);
}
void PTtl(CommandContext& ctx) {
  TtlGeneric(ctx, true, false);
}
void ExpireTime(CommandContext& ctx) {
  TtlGeneric(ctx, false, true);
}
void PExpireTime(CommandContext& ctx) {
  TtlGeneric(ctx, true, true);
}

void Persist(CommandContext& ctx) {
  if (!ctx.db.Find(ctx.argv[1])) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  bool removed = ctx.db.Persist(ctx.argv[1]);
  if (removed) ctx.Dirty();
  ctx.reply = Reply::Integer(removed ? 1 : 0);
}

void Type(CommandContext& ctx) {
  Entry* e = ctx.db.Find(ctx.argv[1]);
  ctx.reply = Reply::Status(e ? TypeName(e->value) : "none");
}

void Keys(CommandContext& ctx) {
  const std::string& pattern = ctx.argv[1];
  bool all = pattern == "*";
  std::vector<Reply> out;
  int64_t now = ctx.now();
  for (const auto& [key, entry] : ctx.db.map()) {
    if (!ctx.db.loading() && entry.expire_ms != kNoExpiry && entry.expire_ms <= now) continue;
    if (all || GlobMatch(pattern, key.name)) out.push_back(Reply::Bulk(key.name));
  }
  ctx.reply = Reply::Array(std::move(out));
}

void Scan(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  const std::string& c = a[1];
  errno = 0;
  char* end = nullptr;
  unsigned long long cursor = std::strtoull(c.c_str(), &end, 10);
  if ((!c.empty() && std::isspace(static_cast<unsigned char>(c[0]))) || *end != '\0' ||
      static_cast<size_t>(end - c.c_str()) != c.size() || errno == ERANGE) {
    ctx.Error(err::kInvalidCursor);
    return;
  }
  int64_t count = 10;
  const std::string* pattern = nullptr;
  const std::string* type = nullptr;
  bool with_type = false;  // Upstash's WITHTYPE: each key followed by its type
  for (size_t i = 2; i < a.size();) {
    size_t left = a.size() - i;
    if (IEquals(a[i], "count") && left >= 2) {
      if (!ArgInt(ctx, a[i + 1], &count)) return;
      if (count < 1) {
        ctx.Error(err::kSyntax);
        return;
      }
      i += 2;
    } else if (IEquals(a[i], "match") && left >= 2) {
      pattern = a[i + 1] == "*" ? nullptr : &a[i + 1];
      i += 2;
    } else if (IEquals(a[i], "type") && left >= 2) {
      type = &a[i + 1];
      i += 2;
    } else if (IEquals(a[i], "withtype")) {
      with_type = true;
      i += 1;
    } else {
      ctx.Error(err::kSyntax);
      return;
    }
  }
  std::vector<Reply> keys;
  uint64_t next = ctx.db.Scan(cursor, static_cast<size_t>(count), [&](const std::string& key, Entry& e) {
    if (pattern && !GlobMatch(*pattern, key)) return;
    if (type && !IEquals(*type, TypeName(e.value))) return;
    keys.push_back(Reply::Bulk(key));
    if (with_type) keys.push_back(Reply::Bulk(TypeName(e.value)));
  });
  ctx.reply = Reply::Array({Reply::Bulk(std::to_string(next)), Reply::Array(std::move(keys))});
}

// COPY source destination [DB 0] [REPLACE]: this engine has database 0 only, so any other DB
// index is out of range.
void Copy(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  bool replace = false;
  for (size_t j = 3; j < a.size(); ++j) {
    if (IEquals(a[j], "replace")) {
      replace = true;
    } else if (IEquals(a[j], "db") && j + 1 < a.size()) {
      int64_t db;
      if (!ArgInt(ctx, a[++j], &db)) return;
      if (db < INT_MIN || db > INT_MAX) {
        return ctx.Error("ERR value is out of range, value must between -2147483648 and 2147483647");
      }
      if (db != 0) return ctx.Error("ERR DB index is out of range");
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  // Upstash answers 0 (not copied) where Redis 7 errors with "source and destination objects
  // are the same"; the REST API answers as Upstash does.
  if (a[1] == a[2]) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  Entry* src = ctx.db.Find(a[1]);
  if (!src) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  Value copy = src->value;
  const int64_t expire = src->expire_ms;
  if (ctx.db.Find(a[2]) && !replace) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  ctx.db.Set(a[2], std::move(copy));
  if (expire != kNoExpiry) ctx.db.SetExpire(a[2], expire);
  ctx.Dirty();
  ctx.reply = Reply::Integer(1);
}

void RenameGeneric(CommandContext& ctx, bool nx) {
  const std::string& from = ctx.argv[1];
  const std::string& to = ctx.argv[2];
  Entry* e = ctx.db.Find(from);
  if (!e) return ctx.Error("ERR no such key");
  if (from == to) {
    ctx.reply = nx ? Reply::Integer(0) : Reply::Ok();
    return;
  }
  if (nx && ctx.db.Find(to)) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  Value v = std::move(e->value);
  const int64_t expire = e->expire_ms;
  ctx.db.Erase(from);
  ctx.db.Set(to, std::move(v));
  if (expire != kNoExpiry) ctx.db.SetExpire(to, expire);
  ctx.Dirty();
  ctx.reply = nx ? Reply::Integer(1) : Reply::Ok();
}

void Rename(CommandContext& ctx) {
  RenameGeneric(ctx, false);
}
void RenameNx(CommandContext& ctx) {
  RenameGeneric(ctx, true);
}

// A key near a random point of the hash order (the order SCAN walks); expired keys met on the
// way are deleted, as Redis's RANDOMKEY does.
void RandomKey(CommandContext& ctx) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  while (ctx.db.size() > 0) {
    const Keyspace::Map& m = ctx.db.map();
    auto it = m.lower_bound(Keyspace::KeyRef{rng() & ((uint64_t{1} << 52) - 1), std::string_view()});
    if (it == m.end()) it = m.begin();
    std::string name = it->first.name;
    if (ctx.db.Find(name)) {
      ctx.reply = Reply::Bulk(std::move(name));
      return;
    }
  }
  ctx.reply = Reply::Nil();
}

// TOUCH key...: how many exist; each lookup counts as an access (OBJECT IDLETIME).
void Touch(CommandContext& ctx) {
  int64_t n = 0;
  for (size_t i = 1; i < ctx.argv.size(); ++i) n += ctx.db.Find(ctx.argv[i]) ? 1 : 0;
  ctx.reply = Reply::Integer(n);
}

}  // namespace

Status RegisterKeyFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "del", .arity = -2, .flags = kWrite, .handler = Del},
           CommandSpec{.name = "unlink", .arity = -2, .flags = kWrite, .handler = Del},
           CommandSpec{.name = "exists", .arity = -2, .flags = kReadOnly, .handler = Exists},
           CommandSpec{.name = "expire", .arity = -3, .flags = kWrite, .handler = Expire},
           CommandSpec{.name = "pexpire", .arity = -3, .flags = kWrite, .handler = PExpire},
           CommandSpec{.name = "expireat", .arity = -3, .flags = kWrite, .handler = ExpireAt},
           CommandSpec{.name = "pexpireat", .arity = -3, .flags = kWrite, .handler = PExpireAt},
           CommandSpec{.name = "ttl", .arity = 2, .flags = kReadOnly, .handler = Ttl},
           CommandSpec{.name = "pttl", .arity = 2, .flags = kReadOnly, .handler = PTtl},
           CommandSpec{.name = "expiretime", .arity = 2, .flags = kReadOnly, .handler = ExpireTime},
           CommandSpec{.name = "pexpiretime", .arity = 2, .flags = kReadOnly, .handler = PExpireTime},
           CommandSpec{.name = "persist", .arity = 2, .flags = kWrite, .handler = Persist},
           CommandSpec{.name = "type", .arity = 2, .flags = kReadOnly, .handler = Type},
           CommandSpec{.name = "keys", .arity = 2, .flags = kReadOnly | kDenyReadOnlyToken, .handler = Keys},
           CommandSpec{.name = "scan", .arity = -2, .flags = kReadOnly | kDenyReadOnlyToken, .handler = Scan},
           CommandSpec{.name = "copy", .arity = -3, .flags = kWrite, .handler = Copy},
           CommandSpec{.name = "rename", .arity = 3, .flags = kWrite, .handler = Rename},
           CommandSpec{.name = "renamenx", .arity = 3, .flags = kWrite, .handler = RenameNx},
           CommandSpec{.name = "randomkey", .arity = 1, .flags = kReadOnly, .handler = RandomKey},
           CommandSpec{.name = "touch", .arity = -2, .flags = kReadOnly, .handler = Touch},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
