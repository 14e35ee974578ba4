// Hashes: HSET, HGET, HMGET, HGETALL, HDEL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN and friends.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

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

// HINCRBYFLOAT works in long double and prints "%.17Lf" without trailing zeros (as
// INCRBYFLOAT does); strtold's rules for what is a float, as Redis's string2ld.
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

// HINCRBYFLOAT key field increment: logged as HSET of the result (as Redis propagates it).
void HIncrByFloat(CommandContext& ctx) {
  std::optional<long double> incr = ParseLongDouble(ctx.argv[3]);
  if (!incr) return ctx.Error(err::kNotFloat);
  if (std::isnan(*incr) || std::isinf(*incr)) return ctx.Error("ERR value is NaN or Infinity");
  HashValue* h = LookupOrCreate<HashValue>(ctx, ctx.argv[1]);
  if (!h) return;
  long double value = 0;
  auto it = h->find(ctx.argv[2]);
  if (it != h->end()) {
    auto v = ParseLongDouble(it->second);
    if (!v) return ctx.Error("ERR hash value is not a float");
    value = *v;
  }
  value += *incr;
  if (std::isnan(value) || std::isinf(value)) {
    if (h->empty()) ctx.db.Erase(ctx.argv[1]);
    return ctx.Error("ERR increment would produce NaN or Infinity");
  }
  std::string text = FormatLongDouble(value);
  (*h)[ctx.argv[2]] = text;
  ctx.Propagate({"HSET", ctx.argv[1], ctx.argv[2], text});
  ctx.reply = Reply::Bulk(std::move(text));
}

std::mt19937_64& Rng() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

// The most entries one HRANDFIELD reply may hold here (Redis would try to send any number
// and be cut off by its output buffer limit; an error is kinder).
constexpr uint64_t kMaxRandomReply = 1u << 24;

// HRANDFIELD key [count [WITHVALUES]]: Redis 7.0's argument checks in its order; a negative
// count may repeat fields, a positive one never does.
void HRandField(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  if (a.size() == 2) {
    HashValue* h;
    if (!LookupAs(ctx, a[1], &h)) return;
    if (!h) {
      ctx.reply = Reply::Nil();
      return;
    }
    auto it = h->begin();
    std::advance(it, static_cast<std::ptrdiff_t>(Rng()() % h->size()));
    ctx.reply = Reply::Bulk(it->first);
    return;
  }
  auto l = ParseInt(a[2]);
  if (!l) return ctx.Error(err::kNotInteger);
  if (*l == LLONG_MIN) {
    return ctx.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
  }
  bool with_values = false;
  if (a.size() > 4) return ctx.Error(err::kSyntax);
  if (a.size() == 4) {
    if (!IEquals(a[3], "withvalues")) return ctx.Error(err::kSyntax);
    with_values = true;
    if (*l < -LLONG_MAX / 2 || *l > LLONG_MAX / 2) return ctx.Error("ERR value is out of range");
  }
  HashValue* h;
  if (!LookupAs(ctx, a[1], &h)) return;
  std::vector<Reply> out;
  if (!h || *l == 0) {
    ctx.reply = Reply::Array({});
    return;
  }
  std::vector<const std::pair<const std::string, std::string>*> all;
  all.reserve(h->size());
  for (const auto& kv : *h) all.push_back(&kv);
  auto emit = [&](const std::pair<const std::string, std::string>* kv) {
    out.push_back(Reply::Bulk(kv->first));
    if (with_values) out.push_back(Reply::Bulk(kv->second));
  };
  if (*l < 0) {
    uint64_t count = static_cast<uint64_t>(-*l);
    if (count > kMaxRandomReply) return ctx.Error("ERR value is out of range");
    out.reserve(count * (with_values ? 2 : 1));
    for (uint64_t i = 0; i < count; ++i) emit(all[Rng()() % all.size()]);
  } else {
    size_t count = std::min<uint64_t>(static_cast<uint64_t>(*l), all.size());
    // A partial Fisher-Yates shuffle: the first `count` are a uniform sample without repeats.
    for (size_t i = 0; i < count; ++i) {
      std::swap(all[i], all[i + Rng()() % (all.size() - i)]);
      emit(all[i]);
    }
  }
  ctx.reply = Reply::Array(std::move(out));
}

// Redis's parseScanCursorOrReply: strtoul over the whole argument (so "-1" wraps).
bool ParseCursor(CommandContext& ctx, const std::string& c, uint64_t* out) {
  errno = 0;
  char* end = nullptr;
  unsigned long long cursor = std::strtoull(c.c_str(), &end, 10);
  if ((!c.empty() && std::isspace(static_cast<unsigned char>(c[0]))) || *end != '\0' ||
      static_cast<size_t>(end - c.c_str()) != c.size() || errno == ERANGE) {
    ctx.Error(err::kInvalidCursor);
    return false;
  }
  *out = cursor;
  return true;
}

// Hashes Redis 7.0 keeps as a listpack (its default hash-max-listpack-entries): HSCAN returns
// them whole with cursor 0, whatever the cursor and COUNT, as Redis does.
constexpr size_t kListpackEntries = 128;

// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]. A larger hash is walked in the
// order of a 52-bit hash of each field (the keyspace's SCAN order): the cursor is the hash to
// resume from, so it survives rehashing and writes between calls, and a field present for
// the whole scan is returned. NOVALUES is Redis 7.4's (Upstash serves it): fields only.
void HScan(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  uint64_t cursor;
  if (!ParseCursor(ctx, a[2], &cursor)) return;
  HashValue* h;
  if (!LookupAs(ctx, a[1], &h)) return;
  if (!h) {
    ctx.reply = Reply::Array({Reply::Bulk("0"), Reply::Array({})});
    return;
  }
  int64_t count = 10;
  const std::string* pattern = nullptr;
  bool no_values = false;
  for (size_t i = 3; i < a.size();) {
    size_t left = a.size() - i;
    if (IEquals(a[i], "count") && left >= 2) {
      if (!ArgInt(ctx, a[i + 1], &count)) return;
      if (count < 1) return ctx.Error(err::kSyntax);
      i += 2;
    } else if (IEquals(a[i], "match") && left >= 2) {
      pattern = a[i + 1] == "*" ? nullptr : &a[i + 1];
      i += 2;
    } else if (IEquals(a[i], "novalues")) {
      no_values = true;
      i += 1;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  using Field = const std::pair<const std::string, std::string>*;
  std::vector<std::pair<uint64_t, Field>> batch;
  uint64_t next = 0;
  if (h->size() <= kListpackEntries) {
    for (const auto& kv : *h) batch.emplace_back(0, &kv);
  } else {
    for (const auto& kv : *h) {
      uint64_t hash = ScanHash(kv.first);
      if (hash >= cursor) batch.emplace_back(hash, &kv);
    }
    if (batch.size() > static_cast<uint64_t>(count)) {
      auto nth = batch.begin() + (count - 1);
      std::nth_element(batch.begin(), nth, batch.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      // Every field with the last hash taken goes in this batch, so the cursor never splits one.
      uint64_t last = nth->first;
      std::erase_if(batch, [last](const auto& x) { return x.first > last; });
      next = last + 1;
    }
    std::sort(batch.begin(), batch.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  }
  std::vector<Reply> out;
  for (const auto& [hash, kv] : batch) {
    if (pattern && !GlobMatch(*pattern, kv->first)) continue;
    out.push_back(Reply::Bulk(kv->first));
    if (!no_values) out.push_back(Reply::Bulk(kv->second));
  }
  ctx.reply = Reply::Array({Reply::Bulk(std::to_string(next)), Reply::Array(std::move(out))});
}

// HGETDEL key FIELDS numfields field [field ...] (Redis 8.0; Upstash serves it): the values
// (nil for a missing field), then the fields are deleted, and the key once it is empty.
// Logged as the HDEL of the fields it removed.
void HGetDel(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  HashValue* h;
  if (!LookupAs(ctx, a[1], &h)) return;  // WRONGTYPE comes before the argument errors, as in Redis
  if (!IEquals(a[2], "fields"))
    return ctx.Error("ERR Mandatory argument FIELDS is missing or not at the right position");
  auto n = ParseInt(a[3]);
  if (!n || *n < 1) return ctx.Error("ERR Number of fields must be a positive integer");
  if (static_cast<uint64_t>(*n) != a.size() - 4) {
    return ctx.Error("ERR The `numfields` parameter must match the number of arguments");
  }
  std::vector<Reply> out;
  Argv record{"HDEL", a[1]};
  for (size_t i = 4; i < a.size(); ++i) {
    auto it = h ? h->find(a[i]) : HashValue::iterator();
    if (h && it != h->end()) {
      out.push_back(Reply::Bulk(std::move(it->second)));
      h->erase(it);
      record.push_back(a[i]);
    } else {
      out.push_back(Reply::Nil());
    }
  }
  if (record.size() > 2) {
    if (h->empty()) ctx.db.Erase(a[1]);
    ctx.Propagate(std::move(record));
  }
  ctx.reply = Reply::Array(std::move(out));
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
           CommandSpec{.name = "hincrbyfloat", .arity = 4, .flags = kWrite, .handler = HIncrByFloat},
           CommandSpec{.name = "hrandfield", .arity = -2, .flags = kReadOnly, .handler = HRandField},
           CommandSpec{.name = "hscan", .arity = -3, .flags = kReadOnly, .handler = HScan},
           CommandSpec{.name = "hgetdel", .arity = -5, .flags = kWrite, .handler = HGetDel},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
