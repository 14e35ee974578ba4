// Hashes: HSET, HGET, HMGET, HGETALL, HDEL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN and friends,
// and per-field expiry (HEXPIRE, HTTL, HPERSIST, HGETEX, HSETEX; see kv/hash_value.h).
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>

#include "kv/families/family.h"

namespace stratus::kv {
namespace {

// The instant field expiry is judged against: none expires while the log is loading.
int64_t FieldNow(const CommandContext& ctx) {
  return ctx.db.loading() ? INT64_MIN : ctx.now();
}

// Lists the hash under its earliest field TTL for the active pass (after a TTL change, or when
// a renamed or copied hash is first touched under its new name).
void ListForExpiry(Keyspace& db, const std::string& key, HashValue& h) {
  if (!h.ttl || h.ttl->order.empty()) return;
  int64_t first = h.ttl->order.begin()->first;
  auto& reg = db.hash_field_expiries;
  if (h.ttl->registered_at == first && reg.count({first, key})) return;
  if (h.ttl->registered_at >= 0) reg.erase({h.ttl->registered_at, key});
  reg.emplace(first, key);
  h.ttl->registered_at = first;
}

// Removes the fields whose time has passed, returning them; the key goes once it is empty
// (*h becomes null).
std::vector<std::string> Reap(Keyspace& db, const std::string& key, HashValue** h, int64_t now) {
  std::vector<std::string> gone;
  HashValue& v = **h;
  while (v.ttl && !v.ttl->order.empty() && v.ttl->order.begin()->first <= now) {
    std::string f = v.ttl->order.begin()->second;
    v.EraseField(f);
    gone.push_back(std::move(f));
  }
  if (v.empty()) {
    db.Erase(key);
    *h = nullptr;
  } else {
    ListForExpiry(db, key, v);
  }
  return gone;
}

// A read's view of a hash: expired fields stay until a write or the active pass removes them
// (a read logs nothing), but are never shown; a hash whose fields have all expired reads as
// absent.
bool ReadHash(CommandContext& ctx, const std::string& key, HashValue** out) {
  if (!LookupAs(ctx, key, out)) return false;
  HashValue* h = *out;
  if (h && h->ttl) {
    ListForExpiry(ctx.db, key, *h);
    if (h->ExpiredCount(FieldNow(ctx)) == h->size()) *out = nullptr;
  }
  return true;
}

// A write's view: expired fields are removed first and logged as HDEL (so a replay, where
// nothing expires, sees the same hash). A handler that writes through it logs its own records.
bool WriteHash(CommandContext& ctx, const std::string& key, HashValue** out) {
  if (!LookupAs(ctx, key, out)) return false;
  if (*out && (*out)->ttl) {
    std::vector<std::string> gone = Reap(ctx.db, key, out, FieldNow(ctx));
    if (!gone.empty()) {
      Argv rec{"HDEL", key};
      for (auto& f : gone) rec.push_back(std::move(f));
      ctx.Propagate(std::move(rec));
    }
  }
  return true;
}

HashValue* WriteHashOrCreate(CommandContext& ctx, const std::string& key) {
  HashValue* h;
  if (!WriteHash(ctx, key, &h)) return nullptr;
  if (h) return h;
  return &std::get<HashValue>(ctx.db.Set(key, HashValue{}).value);
}

// Whether a read may show the field.
bool Visible(const HashValue& h, const std::string& field, int64_t now) {
  return !h.ttl || !h.FieldExpired(field, now);
}

// The live field's value, or null.
const std::string* FieldValue(const CommandContext& ctx, const HashValue* h, const std::string& field) {
  if (!h) return nullptr;
  auto it = h->find(field);
  if (it == h->end() || !Visible(*h, field, FieldNow(ctx))) return nullptr;
  return &it->second;
}

// A write's effect logged as sent (after any HDEL of expired fields).
void LogAsSent(CommandContext& ctx) {
  ctx.Propagate(ctx.argv);
}

void HSetGeneric(CommandContext& ctx, bool hmset) {
  if (ctx.argv.size() % 2 == 1) {
    ctx.Error(ArityError(hmset ? "hmset" : "hset"));
    return;
  }
  HashValue* h = WriteHashOrCreate(ctx, ctx.argv[1]);
  if (!h) return;
  int64_t created = 0;
  for (size_t i = 2; i < ctx.argv.size(); i += 2) {
    auto [it, inserted] = h->insert_or_assign(ctx.argv[i], ctx.argv[i + 1]);
    created += inserted ? 1 : 0;
    if (h->ttl) h->ClearFieldExpiry(ctx.argv[i]);  // a field set anew loses its TTL, as in Redis
  }
  LogAsSent(ctx);
  ctx.reply = hmset ? Reply::Ok() : Reply::Integer(created);
}

void HSet(CommandContext& ctx) {
  HSetGeneric(ctx, false);
}
void HMSet(CommandContext& ctx) {
  HSetGeneric(ctx, true);
}

void HSetNx(CommandContext& ctx) {
  HashValue* h = WriteHashOrCreate(ctx, ctx.argv[1]);
  if (!h) return;
  bool inserted = h->try_emplace(ctx.argv[2], ctx.argv[3]).second;
  if (inserted) LogAsSent(ctx);
  ctx.reply = Reply::Integer(inserted ? 1 : 0);
}

void HGet(CommandContext& ctx) {
  HashValue* h;
  if (!ReadHash(ctx, ctx.argv[1], &h)) return;
  const std::string* v = FieldValue(ctx, h, ctx.argv[2]);
  ctx.reply = v ? Reply::Bulk(*v) : Reply::Nil();
}

void HMGet(CommandContext& ctx) {
  HashValue* h;
  if (!ReadHash(ctx, ctx.argv[1], &h)) return;
  std::vector<Reply> out;
  for (size_t i = 2; i < ctx.argv.size(); ++i) {
    const std::string* v = FieldValue(ctx, h, ctx.argv[i]);
    out.push_back(v ? Reply::Bulk(*v) : Reply::Nil());
  }
  ctx.reply = Reply::Array(std::move(out));
}

void HGetAllGeneric(CommandContext& ctx, bool keys, bool values) {
  HashValue* h;
  if (!ReadHash(ctx, ctx.argv[1], &h)) return;
  std::vector<Reply> out;
  if (h) {
    int64_t now = FieldNow(ctx);
    h->ForEachLive(now, [&](const auto& kv) {
      if (keys) out.push_back(Reply::Bulk(kv.first));
      if (values) out.push_back(Reply::Bulk(kv.second));
    });
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
  if (!WriteHash(ctx, ctx.argv[1], &h)) return;
  int64_t n = 0;
  if (h) {
    for (size_t i = 2; i < ctx.argv.size(); ++i) n += h->EraseField(ctx.argv[i]) ? 1 : 0;
    if (h->empty()) ctx.db.Erase(ctx.argv[1]);
  }
  if (n) LogAsSent(ctx);
  ctx.reply = Reply::Integer(n);
}

void HLen(CommandContext& ctx) {
  HashValue* h;
  if (!ReadHash(ctx, ctx.argv[1], &h)) return;
  ctx.reply = Reply::Integer(h ? static_cast<int64_t>(h->size() - h->ExpiredCount(FieldNow(ctx))) : 0);
}

void HExists(CommandContext& ctx) {
  HashValue* h;
  if (!ReadHash(ctx, ctx.argv[1], &h)) return;
  ctx.reply = Reply::Integer(FieldValue(ctx, h, ctx.argv[2]) ? 1 : 0);
}

void HStrLen(CommandContext& ctx) {
  HashValue* h;
  if (!ReadHash(ctx, ctx.argv[1], &h)) return;
  const std::string* v = FieldValue(ctx, h, ctx.argv[2]);
  ctx.reply = Reply::Integer(v ? static_cast<int64_t>(v->size()) : 0);
}

// HINCRBY keeps the field's TTL (Redis 7.4), so it is logged as sent.
void HIncrBy(CommandContext& ctx) {
  int64_t incr;
  if (!ArgInt(ctx, ctx.argv[3], &incr)) return;
  HashValue* h = WriteHashOrCreate(ctx, ctx.argv[1]);
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
  LogAsSent(ctx);
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

// HINCRBYFLOAT key field increment: logged as HSET of the result (as Redis propagates it),
// and the field's TTL, which it keeps.
void HIncrByFloat(CommandContext& ctx) {
  std::optional<long double> incr = ParseLongDouble(ctx.argv[3]);
  if (!incr) return ctx.Error(err::kNotFloat);
  if (std::isnan(*incr) || std::isinf(*incr)) return ctx.Error("ERR value is NaN or Infinity");
  HashValue* h = WriteHashOrCreate(ctx, ctx.argv[1]);
  if (!h) return;
  long double value = 0;
  auto it = h->find(ctx.argv[2]);
  if (it != h->end()) {
    auto v = ParseLongDouble(it->second);
    if (!v) {
      if (h->empty()) ctx.db.Erase(ctx.argv[1]);
      return ctx.Error("ERR hash value is not a float");
    }
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
  // HSET clears a TTL on replay; HINCRBYFLOAT keeps it (Redis 7.4), so it is logged again.
  if (int64_t at = h->FieldExpiry(ctx.argv[2]); at >= 0) {
    ctx.Propagate({"HPEXPIREAT", ctx.argv[1], std::to_string(at), "FIELDS", "1", ctx.argv[2]});
  }
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
    if (!ReadHash(ctx, a[1], &h)) return;
    if (!h) {
      ctx.reply = Reply::Nil();
      return;
    }
    if (h->ttl) {  // a uniform pick among the live fields
      std::vector<const std::string*> live;
      int64_t now = FieldNow(ctx);
      h->ForEachLive(now, [&](const auto& kv) { live.push_back(&kv.first); });
      ctx.reply = Reply::Bulk(*live[Rng()() % live.size()]);
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
  if (!ReadHash(ctx, a[1], &h)) return;
  std::vector<Reply> out;
  if (!h || *l == 0) {
    ctx.reply = Reply::Array({});
    return;
  }
  std::vector<const std::pair<const std::string, std::string>*> all;
  all.reserve(h->size());
  int64_t now = FieldNow(ctx);
  h->ForEachLive(now, [&](const auto& kv) { all.push_back(&kv); });
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
  if (!ReadHash(ctx, a[1], &h)) return;
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
  int64_t now = FieldNow(ctx);
  for (const auto& [hash, kv] : batch) {
    if (pattern && !GlobMatch(*pattern, kv->first)) continue;
    if (!Visible(*h, kv->first, now)) continue;
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
  if (!WriteHash(ctx, a[1], &h)) return;  // WRONGTYPE comes before the argument errors, as in Redis
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
      if (h->ttl) h->ClearFieldExpiry(a[i]);
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

// ---- Field expiry (Redis 7.4's HEXPIRE family, Redis 8.0's HGETEX and HSETEX) ----

// The largest absolute field expiry Redis accepts: 2^48 - 1 ms.
constexpr int64_t kMaxFieldExpiryMs = (int64_t{1} << 48) - 1;

// Per-field replies, as Redis 7.4 documents them.
constexpr int64_t kNoField = -2;
constexpr int64_t kNoTtl = -1;
constexpr int64_t kConditionNotMet = 0;
constexpr int64_t kTtlSet = 1;
constexpr int64_t kDeletedNow = 2;

void ExpireTimeError(CommandContext& ctx) {
  ctx.Error("ERR invalid expire time in '" + ToLower(ctx.argv[0]) + "' command");
}

// `FIELDS numfields field...` at a[at] (pairs: field value...). *first is the first field.
bool FieldsArg(CommandContext& ctx, size_t at, size_t per_field, size_t* first) {
  const Argv& a = ctx.argv;
  if (at >= a.size() || !IEquals(a[at], "fields")) {
    ctx.Error("ERR Mandatory argument FIELDS is missing or not at the right position");
    return false;
  }
  auto n = at + 1 < a.size() ? ParseInt(a[at + 1]) : std::nullopt;
  if (!n || *n < 1) {
    ctx.Error("ERR Number of fields must be a positive integer");
    return false;
  }
  if (static_cast<uint64_t>(*n) > (a.size() - at - 2) / per_field ||
      static_cast<uint64_t>(*n) * per_field != a.size() - at - 2) {
    ctx.Error("ERR The `numfields` parameter must match the number of arguments");
    return false;
  }
  *first = at + 2;
  return true;
}

Reply NoFields(size_t n) {
  return Reply::Array(std::vector<Reply>(n, Reply::Integer(kNoField)));
}

// Logs the TTLs set and the fields removed by a command.
void LogFieldExpiry(CommandContext& ctx, const std::string& key, int64_t at, const std::vector<std::string>& set,
                    const std::vector<std::string>& deleted) {
  if (!set.empty()) {
    Argv rec{"HPEXPIREAT", key, std::to_string(at), "FIELDS", std::to_string(set.size())};
    rec.insert(rec.end(), set.begin(), set.end());
    ctx.Propagate(std::move(rec));
  }
  if (!deleted.empty()) {
    Argv rec{"HDEL", key};
    rec.insert(rec.end(), deleted.begin(), deleted.end());
    ctx.Propagate(std::move(rec));
  }
}

// HEXPIRE / HPEXPIRE / HEXPIREAT / HPEXPIREAT key time [NX|XX|GT|LT] FIELDS numfields field...
// Per field: -2 no such field, 0 the condition was not met, 1 set, 2 deleted (time passed).
// Logged as HPEXPIREAT of the absolute time, and HDEL of the fields it deleted.
void HExpireGeneric(CommandContext& ctx, int64_t unit_ms, bool absolute) {
  const Argv& a = ctx.argv;
  HashValue* h;
  if (!WriteHash(ctx, a[1], &h)) return;
  int64_t t;
  if (!ArgInt(ctx, a[2], &t)) return;
  if (t < 0) return ctx.Error("ERR invalid expire time, must be >= 0");
  enum { kAny, kNx, kXx, kGt, kLt } cond = kAny;
  size_t fields_at = 3;
  if (IEquals(a[3], "nx")) {
    cond = kNx;
  } else if (IEquals(a[3], "xx")) {
    cond = kXx;
  } else if (IEquals(a[3], "gt")) {
    cond = kGt;
  } else if (IEquals(a[3], "lt")) {
    cond = kLt;
  }
  if (cond != kAny) ++fields_at;
  size_t first;
  if (!FieldsArg(ctx, fields_at, 1, &first)) return;
  // Upstash answers a missing hash before it checks the time's range (a client sending
  // milliseconds to HEXPIREAT gets -2s, not an error); Redis 7.4 checks the range first.
  if (!h) {
    ctx.reply = NoFields(a.size() - first);
    return;
  }
  if (unit_ms == 1000) {
    if (t > kMaxFieldExpiryMs / 1000) return ExpireTimeError(ctx);
    t *= 1000;
  }
  int64_t base = absolute ? 0 : ctx.now();
  if (t > kMaxFieldExpiryMs - base) return ExpireTimeError(ctx);
  int64_t at = t + base;
  int64_t now = FieldNow(ctx);
  std::vector<Reply> out;
  std::vector<std::string> set, deleted;
  for (size_t i = first; i < a.size(); ++i) {
    const std::string& f = a[i];
    if (!h->count(f)) {
      out.push_back(Reply::Integer(kNoField));
      continue;
    }
    int64_t prev = h->FieldExpiry(f);
    bool met = prev < 0 ? !(cond == kXx || cond == kGt)  // no TTL counts as forever
                        : !(cond == kNx || (cond == kGt && prev >= at) || (cond == kLt && prev <= at));
    if (!met) {
      out.push_back(Reply::Integer(kConditionNotMet));
      continue;
    }
    if (at <= now) {
      h->EraseField(f);
      deleted.push_back(f);
      out.push_back(Reply::Integer(kDeletedNow));
    } else {
      h->SetFieldExpiry(f, at);
      set.push_back(f);
      out.push_back(Reply::Integer(kTtlSet));
    }
  }
  if (h->empty()) {
    ctx.db.Erase(a[1]);
  } else {
    ListForExpiry(ctx.db, a[1], *h);
  }
  LogFieldExpiry(ctx, a[1], at, set, deleted);
  ctx.reply = Reply::Array(std::move(out));
}

void HExpire(CommandContext& ctx) {
  HExpireGeneric(ctx, 1000, false);
}
void HPExpire(CommandContext& ctx) {
  HExpireGeneric(ctx, 1, false);
}
void HExpireAt(CommandContext& ctx) {
  HExpireGeneric(ctx, 1000, true);
}
void HPExpireAt(CommandContext& ctx) {
  HExpireGeneric(ctx, 1, true);
}

// HTTL / HPTTL / HEXPIRETIME / HPEXPIRETIME key FIELDS numfields field...: per field -2 no
// such field, -1 no TTL, else the time (seconds rounded up, as Redis 7.4 reports them).
void HTtlGeneric(CommandContext& ctx, bool seconds, bool absolute) {
  const Argv& a = ctx.argv;
  HashValue* h;
  if (!ReadHash(ctx, a[1], &h)) return;
  size_t first;
  if (!FieldsArg(ctx, 2, 1, &first)) return;
  if (!h) {
    ctx.reply = NoFields(a.size() - first);
    return;
  }
  int64_t base = absolute ? 0 : ctx.now();
  std::vector<Reply> out;
  for (size_t i = first; i < a.size(); ++i) {
    if (!FieldValue(ctx, h, a[i])) {
      out.push_back(Reply::Integer(kNoField));
      continue;
    }
    int64_t at = h->FieldExpiry(a[i]);
    if (at < 0) {
      out.push_back(Reply::Integer(kNoTtl));
    } else {
      out.push_back(Reply::Integer(seconds ? (at + 999 - base) / 1000 : at - base));
    }
  }
  ctx.reply = Reply::Array(std::move(out));
}

void HTtl(CommandContext& ctx) {
  HTtlGeneric(ctx, true, false);
}
void HPTtl(CommandContext& ctx) {
  HTtlGeneric(ctx, false, false);
}
void HExpireTime(CommandContext& ctx) {
  HTtlGeneric(ctx, true, true);
}
void HPExpireTime(CommandContext& ctx) {
  HTtlGeneric(ctx, false, true);
}

// HPERSIST key FIELDS numfields field...: per field -2 no such field, -1 no TTL, 1 removed.
void HPersist(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  HashValue* h;
  if (!WriteHash(ctx, a[1], &h)) return;
  size_t first;
  if (!FieldsArg(ctx, 2, 1, &first)) return;
  if (!h) {
    ctx.reply = NoFields(a.size() - first);
    return;
  }
  std::vector<Reply> out;
  Argv rec{"HPERSIST", a[1], "FIELDS", ""};
  for (size_t i = first; i < a.size(); ++i) {
    if (!h->count(a[i])) {
      out.push_back(Reply::Integer(kNoField));
    } else if (h->ClearFieldExpiry(a[i])) {
      rec.push_back(a[i]);
      out.push_back(Reply::Integer(1));
    } else {
      out.push_back(Reply::Integer(kNoTtl));
    }
  }
  if (rec.size() > 4) {
    rec[3] = std::to_string(rec.size() - 4);
    ctx.Propagate(std::move(rec));
  }
  ctx.reply = Reply::Array(std::move(out));
}

// The EX/PX/EXAT/PXAT argument of HGETEX and HSETEX as an absolute time in ms; false after
// replying with the error.
bool ExpiryOption(CommandContext& ctx, const std::string& opt, const std::string& arg, int64_t* at) {
  int64_t t;
  if (!ArgInt(ctx, arg, &t)) return false;
  bool secs = IEquals(opt, "ex") || IEquals(opt, "exat");
  bool rel = IEquals(opt, "ex") || IEquals(opt, "px");
  if (t <= 0 || (secs && t > kMaxFieldExpiryMs / 1000)) {
    ExpireTimeError(ctx);
    return false;
  }
  if (secs) t *= 1000;
  int64_t base = rel ? ctx.now() : 0;
  if (t > kMaxFieldExpiryMs - base) {
    ExpireTimeError(ctx);
    return false;
  }
  *at = t + base;
  return true;
}

bool IsExpiryOption(const std::string& s) {
  return IEquals(s, "ex") || IEquals(s, "px") || IEquals(s, "exat") || IEquals(s, "pxat");
}

// HGETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST] FIELDS numfields field... (Redis 8.0):
// the values (nil for a missing field); the fields found get the TTL (or lose it with
// PERSIST; a time already past deletes them). Logged as HPEXPIREAT, HPERSIST or HDEL.
void HGetEx(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  HashValue* h;
  if (!WriteHash(ctx, a[1], &h)) return;
  int64_t at = -1;
  bool persist = false, have_option = false;
  size_t i = 2;
  for (; i < a.size() && !IEquals(a[i], "fields"); ++i) {
    if (IsExpiryOption(a[i]) || IEquals(a[i], "persist")) {
      if (have_option) return ctx.Error("ERR Only one of EX, PX, EXAT, PXAT or PERSIST arguments can be specified");
      have_option = true;
      if (IEquals(a[i], "persist")) {
        persist = true;
        continue;
      }
      if (i + 1 >= a.size()) return ctx.Error(err::kSyntax);
      if (!ExpiryOption(ctx, a[i], a[i + 1], &at)) return;
      ++i;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  size_t first;
  if (!FieldsArg(ctx, i, 1, &first)) return;
  std::vector<Reply> out;
  std::vector<std::string> set, deleted;
  Argv persisted{"HPERSIST", a[1], "FIELDS", ""};
  int64_t now = FieldNow(ctx);
  for (size_t j = first; j < a.size(); ++j) {
    auto it = h ? h->find(a[j]) : HashValue::iterator();
    if (!h || it == h->end()) {
      out.push_back(Reply::Nil());
      continue;
    }
    out.push_back(Reply::Bulk(it->second));
    if (persist) {
      if (h->ClearFieldExpiry(a[j])) persisted.push_back(a[j]);
    } else if (at >= 0 && at <= now) {
      h->EraseField(a[j]);
      deleted.push_back(a[j]);
    } else if (at >= 0) {
      h->SetFieldExpiry(a[j], at);
      set.push_back(a[j]);
    }
  }
  if (h) {
    if (h->empty()) {
      ctx.db.Erase(a[1]);
    } else {
      ListForExpiry(ctx.db, a[1], *h);
    }
  }
  LogFieldExpiry(ctx, a[1], at, set, deleted);
  if (persisted.size() > 4) {
    persisted[3] = std::to_string(persisted.size() - 4);
    ctx.Propagate(std::move(persisted));
  }
  ctx.reply = Reply::Array(std::move(out));
}

// HSETEX key [FNX | FXX] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL] FIELDS numfields field
// value... (Redis 8.0): 1 when every field was set, 0 when FNX/FXX refused them all. Without
// an expiry option the fields lose any TTL, as with HSET. Logged as HSETEX with PXAT or KEEPTTL.
void HSetEx(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  HashValue* h;
  if (!WriteHash(ctx, a[1], &h)) return;
  bool fnx = false, fxx = false, keepttl = false, have_expiry = false;
  int64_t at = -1;
  size_t i = 2;
  for (; i < a.size() && !IEquals(a[i], "fields"); ++i) {
    if (IEquals(a[i], "fnx") || IEquals(a[i], "fxx")) {
      if (fnx || fxx) return ctx.Error("ERR Only one of FXX or FNX arguments can be specified");
      (IEquals(a[i], "fnx") ? fnx : fxx) = true;
    } else if (IsExpiryOption(a[i]) || IEquals(a[i], "keepttl")) {
      if (have_expiry) return ctx.Error("ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified");
      have_expiry = true;
      if (IEquals(a[i], "keepttl")) {
        keepttl = true;
        continue;
      }
      if (i + 1 >= a.size()) return ctx.Error(err::kSyntax);
      if (!ExpiryOption(ctx, a[i], a[i + 1], &at)) return;
      ++i;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  size_t first;
  if (!FieldsArg(ctx, i, 2, &first)) return;
  for (size_t j = first; j < a.size(); j += 2) {
    bool exists = h && h->count(a[j]);
    if ((fnx && exists) || (fxx && !exists)) {
      ctx.reply = Reply::Integer(0);
      return;
    }
  }
  if (!h) h = &std::get<HashValue>(ctx.db.Set(a[1], HashValue{}).value);
  int64_t now = FieldNow(ctx);
  Argv rec{"HSETEX", a[1]};
  if (keepttl) {
    rec.push_back("KEEPTTL");
  } else if (at >= 0) {
    rec.insert(rec.end(), {"PXAT", std::to_string(at)});
  }
  rec.insert(rec.end(), {"FIELDS", a[first - 1]});
  std::vector<std::string> deleted;
  for (size_t j = first; j < a.size(); j += 2) {
    if (at >= 0 && at <= now) {  // already past: the fields are gone at once
      if (h->EraseField(a[j])) deleted.push_back(a[j]);
      continue;
    }
    h->insert_or_assign(a[j], a[j + 1]);
    if (at >= 0) {
      h->SetFieldExpiry(a[j], at);
    } else if (!keepttl && h->ttl) {
      h->ClearFieldExpiry(a[j]);
    }
    rec.push_back(a[j]);
    rec.push_back(a[j + 1]);
  }
  if (h->empty()) {
    ctx.db.Erase(a[1]);
  } else {
    ListForExpiry(ctx.db, a[1], *h);
  }
  if (at >= 0 && at <= now) {
    LogFieldExpiry(ctx, a[1], at, {}, deleted);
  } else {
    ctx.Propagate(std::move(rec));
  }
  ctx.reply = Reply::Integer(1);
}

}  // namespace

size_t ExpireHashFields(Keyspace& db, size_t limit, const std::function<void(std::vector<std::string>)>& log) {
  size_t removed = 0;
  int64_t now = db.loading() ? INT64_MIN : db.now();
  auto& reg = db.hash_field_expiries;
  while (!reg.empty() && removed < limit && reg.begin()->first <= now) {
    std::string key = reg.begin()->second;
    reg.erase(reg.begin());
    Entry* e = db.Find(key);
    HashValue* h = e ? std::get_if<HashValue>(&e->value) : nullptr;
    if (!h || !h->ttl) continue;  // a stale listing
    h->ttl->registered_at = -1;
    std::vector<std::string> gone = Reap(db, key, &h, now);
    removed += gone.size();
    if (!gone.empty()) {
      std::vector<std::string> rec{"HDEL", key};
      for (auto& f : gone) rec.push_back(std::move(f));
      log(std::move(rec));
    }
  }
  return removed;
}

void AppendHashWithTtls(const std::string& key, const HashValue& h, int64_t now, std::string* out) {
  std::vector<std::pair<const std::string*, const std::string*>> live;
  h.ForEachLive(now, [&](const auto& kv) { live.emplace_back(&kv.first, &kv.second); });
  AppendChunked(
      "HSET", key, live,
      [](const auto& fv, Argv& a) {
        a.push_back(*fv.first);
        a.push_back(*fv.second);
      },
      out);
  // One record per expiry time (and at most 128 fields), in time order.
  auto it = h.ttl->order.lower_bound({now + 1, std::string()});
  while (it != h.ttl->order.end()) {
    int64_t at = it->first;
    Argv rec{"HPEXPIREAT", key, std::to_string(at), "FIELDS", ""};
    for (; it != h.ttl->order.end() && it->first == at && rec.size() < 5 + 128; ++it) rec.push_back(it->second);
    rec[4] = std::to_string(rec.size() - 5);
    AppendRespCommand(rec, out);
  }
}

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
           CommandSpec{.name = "hexpire", .arity = -6, .flags = kWrite, .handler = HExpire},
           CommandSpec{.name = "hpexpire", .arity = -6, .flags = kWrite, .handler = HPExpire},
           CommandSpec{.name = "hexpireat", .arity = -6, .flags = kWrite, .handler = HExpireAt},
           CommandSpec{.name = "hpexpireat", .arity = -6, .flags = kWrite, .handler = HPExpireAt},
           CommandSpec{.name = "httl", .arity = -5, .flags = kReadOnly, .handler = HTtl},
           CommandSpec{.name = "hpttl", .arity = -5, .flags = kReadOnly, .handler = HPTtl},
           CommandSpec{.name = "hexpiretime", .arity = -5, .flags = kReadOnly, .handler = HExpireTime},
           CommandSpec{.name = "hpexpiretime", .arity = -5, .flags = kReadOnly, .handler = HPExpireTime},
           CommandSpec{.name = "hpersist", .arity = -5, .flags = kWrite, .handler = HPersist},
           CommandSpec{.name = "hgetex", .arity = -5, .flags = kWrite, .handler = HGetEx},
           CommandSpec{.name = "hsetex", .arity = -6, .flags = kWrite, .handler = HSetEx},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
