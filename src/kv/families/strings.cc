// Strings: GET, SET and its options, counters, MGET/MSET, ranges, INCRBYFLOAT, LCS.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

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

enum SetFlags : unsigned {
  kNx = 1,
  kXx = 2,
  kGet = 4,
  kKeepTtl = 8,
  kEx = 16,
  kPx = 32,
  kExAt = 64,
  kPxAt = 128,
  kPersist = 256,
};

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
  // Without NX/XX/KEEPTTL, whether the key exists does not matter: Set replaces a value (an
  // expired one too, and its time to live) in its one lookup.
  bool found = (flags & (kNx | kXx | kKeepTtl)) && ctx.db.Find(key) != nullptr;
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
  } else if (cmd == "set" && ctx.argv.size() == 3) {
    ctx.DirtyAs("SET");  // the record Propagate would write, without copying the arguments
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

// GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST]: options are checked before the key,
// the expire value after it (as Redis does). Logged as its effect: PEXPIREAT, DEL or PERSIST.
void GetEx(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  const unsigned kAnyExpire = kEx | kPx | kExAt | kPxAt;
  unsigned flags = 0;
  const std::string* expire = nullptr;
  for (size_t j = 2; j < a.size(); ++j) {
    const std::string& opt = a[j];
    const bool has_next = j + 1 < a.size();
    unsigned unit = 0;
    if (IEquals(opt, "ex")) unit = kEx;
    if (IEquals(opt, "px")) unit = kPx;
    if (IEquals(opt, "exat")) unit = kExAt;
    if (IEquals(opt, "pxat")) unit = kPxAt;
    if (IEquals(opt, "persist") && !(flags & kAnyExpire)) {
      flags |= kPersist;
    } else if (unit && !(flags & kPersist) && !(flags & kAnyExpire & ~unit) && has_next) {
      flags |= unit;
      expire = &a[++j];
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  std::string* v;
  if (!GetString(ctx, a[1], &v)) return;
  if (!v) {
    ctx.reply = Reply::Nil();
    return;
  }
  int64_t ms = 0;
  if (expire && !ExpireMs(ctx, *expire, flags, "getex", &ms)) return;
  ctx.reply = Reply::Bulk(*v);
  if ((flags & (kExAt | kPxAt)) && ms <= ctx.now()) {
    ctx.db.Erase(a[1]);
    ctx.Propagate({"DEL", a[1]});
  } else if (expire) {
    ctx.db.SetExpire(a[1], ms);
    ctx.Propagate({"PEXPIREAT", a[1], std::to_string(ms)});
  } else if ((flags & kPersist) && ctx.db.Persist(a[1])) {
    ctx.Propagate({"PERSIST", a[1]});
  }
}

// GETRANGE key start end (and its old name SUBSTR): inclusive, negative from the end.
void GetRange(CommandContext& ctx) {
  int64_t start, end;
  if (!ArgInt(ctx, ctx.argv[2], &start) || !ArgInt(ctx, ctx.argv[3], &end)) return;
  std::string* v;
  if (!GetString(ctx, ctx.argv[1], &v)) return;
  ctx.reply = Reply::Bulk("");
  if (!v || (start < 0 && end < 0 && start > end)) return;
  const int64_t len = static_cast<int64_t>(v->size());
  if (start < 0) start = std::max<int64_t>(0, len + start);
  if (end < 0) end = std::max<int64_t>(0, len + end);
  if (end >= len) end = len - 1;
  if (start > end || len == 0) return;
  ctx.reply = Reply::Bulk(v->substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

// False (after Redis's error) when offset + len would pass proto-max-bulk-len.
bool CheckStringLength(CommandContext& ctx, int64_t offset, size_t len) {
  if (offset > kProtoMaxBulkLen - static_cast<int64_t>(std::min<size_t>(len, kProtoMaxBulkLen + 1))) {
    ctx.Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return false;
  }
  return true;
}

void SetRange(CommandContext& ctx) {
  const std::string& value = ctx.argv[3];
  int64_t offset;
  if (!ArgInt(ctx, ctx.argv[2], &offset)) return;
  if (offset < 0) return ctx.Error("ERR offset is out of range");
  std::string* v;
  if (!GetString(ctx, ctx.argv[1], &v)) return;
  if (value.empty()) {
    ctx.reply = Reply::Integer(v ? static_cast<int64_t>(v->size()) : 0);
    return;
  }
  if (!CheckStringLength(ctx, offset, value.size())) return;
  if (!v) v = &std::get<StringValue>(ctx.db.Set(ctx.argv[1], StringValue()).value);
  const size_t at = static_cast<size_t>(offset);
  if (v->size() < at + value.size()) v->resize(at + value.size(), '\0');
  v->replace(at, value.size(), value);
  ctx.Dirty();
  ctx.reply = Reply::Integer(static_cast<int64_t>(v->size()));
}

// INCRBYFLOAT works in long double and prints "%.17Lf" without trailing zeros, as Redis does.
std::optional<long double> ParseLongDouble(std::string_view s) {
  constexpr size_t kMaxLongDoubleChars = 5 * 1024;
  if (s.empty() || s.size() >= kMaxLongDoubleChars || std::isspace(static_cast<unsigned char>(s[0]))) {
    return std::nullopt;
  }
  std::string buf(s);
  errno = 0;
  char* end = nullptr;
  long double v = std::strtold(buf.c_str(), &end);
  if (static_cast<size_t>(end - buf.c_str()) != buf.size()) return std::nullopt;
  if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || std::fpclassify(v) == FP_ZERO)) return std::nullopt;
  if (errno == EINVAL || std::isnan(v)) return std::nullopt;
  return v;
}

std::string FormatLongDouble(long double v) {
  char buf[5 * 1024];  // the largest finite long double takes 4,953 bytes this way
  int n = std::snprintf(buf, sizeof buf, "%.17Lf", v);
  std::string out(buf, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

void IncrByFloat(CommandContext& ctx) {
  std::string* v;
  if (!GetString(ctx, ctx.argv[1], &v)) return;
  std::optional<long double> cur = v ? ParseLongDouble(*v) : std::optional<long double>(0);
  std::optional<long double> incr = ParseLongDouble(ctx.argv[2]);
  if (!cur || !incr) return ctx.Error(err::kNotFloat);
  long double next = *cur + *incr;
  if (std::isnan(next) || std::isinf(next)) return ctx.Error("ERR increment would produce NaN or Infinity");
  std::string text = FormatLongDouble(next);
  if (v) {
    *v = text;
  } else {
    ctx.db.Set(ctx.argv[1], StringValue(text));
  }
  ctx.Propagate({"SET", ctx.argv[1], text, "KEEPTTL"});
  ctx.reply = Reply::Bulk(std::move(text));
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the classic dynamic programme,
// with Redis's limit on its table (proto-max-bulk-len bytes) and its order of matches
// (from the ends of the strings backwards).
void Lcs(CommandContext& ctx) {
  const Argv& argv = ctx.argv;
  std::string empty;
  const std::string* strs[2] = {&empty, &empty};
  for (int k = 0; k < 2; ++k) {
    Entry* e = ctx.db.Find(argv[1 + k]);
    if (!e) continue;
    strs[k] = std::get_if<StringValue>(&e->value);
    if (!strs[k]) return ctx.Error("ERR The specified keys must contain string values");
  }
  bool getlen = false, getidx = false, withmatchlen = false;
  int64_t minmatchlen = 0;
  for (size_t j = 3; j < argv.size(); ++j) {
    if (IEquals(argv[j], "idx")) {
      getidx = true;
    } else if (IEquals(argv[j], "len")) {
      getlen = true;
    } else if (IEquals(argv[j], "withmatchlen")) {
      withmatchlen = true;
    } else if (IEquals(argv[j], "minmatchlen") && j + 1 < argv.size()) {
      if (!ArgInt(ctx, argv[++j], &minmatchlen)) return;
      if (minmatchlen < 0) minmatchlen = 0;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  if (getidx && getlen) return ctx.Error("ERR If you want both the length and indexes, please just use IDX.");
  const std::string& a = *strs[0];
  const std::string& b = *strs[1];
  if (a.size() >= UINT32_MAX - 1 || b.size() >= UINT32_MAX - 1) return ctx.Error("ERR String too long for LCS");
  const size_t alen = a.size(), blen = b.size();
  const unsigned long long cells = static_cast<unsigned long long>(alen + 1) * (blen + 1);
  if (cells * sizeof(uint32_t) > static_cast<unsigned long long>(kProtoMaxBulkLen)) {
    return ctx.Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  std::vector<uint32_t> table(cells, 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& { return table[j + i * (blen + 1)]; };
  for (size_t i = 1; i <= alen; ++i) {
    for (size_t j = 1; j <= blen; ++j) {
      at(i, j) = a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  const uint32_t total = at(alen, blen);
  if (getlen) {
    ctx.reply = Reply::Integer(total);
    return;
  }
  std::string result(total, '\0');
  std::vector<Reply> matches;
  // The current run of matches, as [start, end] in each string; none while a_start == alen.
  size_t a_start = alen, a_end = 0, b_start = 0, b_end = 0;
  size_t i = alen, j = blen, idx = total;
  while (i > 0 && j > 0) {
    bool emit = false;
    if (a[i - 1] == b[j - 1]) {
      result[--idx] = a[i - 1];
      if (a_start == alen) {
        a_start = a_end = i - 1;
        b_start = b_end = j - 1;
      } else if (a_start == i && b_start == j) {
        --a_start;
        --b_start;
      } else {
        emit = true;
      }
      if (a_start == 0 || b_start == 0) emit = true;
      --i;
      --j;
    } else {
      if (at(i - 1, j) > at(i, j - 1)) {
        --i;
      } else {
        --j;
      }
      if (a_start != alen) emit = true;
    }
    if (emit) {
      const int64_t match_len = static_cast<int64_t>(a_end - a_start + 1);
      if (getidx && (minmatchlen == 0 || match_len >= minmatchlen)) {
        std::vector<Reply> m = {
            Reply::Array({Reply::Integer(static_cast<int64_t>(a_start)), Reply::Integer(static_cast<int64_t>(a_end))}),
            Reply::Array({Reply::Integer(static_cast<int64_t>(b_start)), Reply::Integer(static_cast<int64_t>(b_end))})};
        if (withmatchlen) m.push_back(Reply::Integer(match_len));
        matches.push_back(Reply::Array(std::move(m)));
      }
      a_start = alen;
    }
  }
  if (getidx) {
    ctx.reply = Reply::Array(
        {Reply::Bulk("matches"), Reply::Array(std::move(matches)), Reply::Bulk("len"), Reply::Integer(total)});
  } else {
    ctx.reply = Reply::Bulk(std::move(result));
  }
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
           CommandSpec{.name = "getex", .arity = -2, .flags = kWrite, .handler = GetEx},
           CommandSpec{.name = "getrange", .arity = 4, .flags = kReadOnly, .handler = GetRange},
           CommandSpec{.name = "substr", .arity = 4, .flags = kReadOnly, .handler = GetRange},
           CommandSpec{.name = "setrange", .arity = 4, .flags = kWrite, .handler = SetRange},
           CommandSpec{.name = "incrbyfloat", .arity = 3, .flags = kWrite, .handler = IncrByFloat},
           CommandSpec{.name = "lcs", .arity = -3, .flags = kReadOnly, .handler = Lcs},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
