// Sets: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SMOVE, SPOP, SRANDMEMBER, SSCAN,
// and the algebra (SINTER SINTERCARD SUNION SDIFF and their STORE forms).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <random>

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

std::mt19937_64& Rng() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

// A random member: a random non-empty bucket, then a random entry in it (near uniform, as
// Redis's dictGetFairRandomKey is). A table left sparse by removals is shrunk first.
const std::string& RandomMember(SetValue& s) {
  if (s.bucket_count() > 8 * s.size() + 16) s.rehash(0);
  for (;;) {
    size_t b = Rng()() % s.bucket_count();
    size_t n = s.bucket_size(b);
    if (n == 0) continue;
    auto it = s.begin(b);
    std::advance(it, static_cast<std::ptrdiff_t>(Rng()() % n));
    return *it;
  }
}

// `count` distinct members chosen at random (count < s.size()).
std::vector<const std::string*> RandomDistinct(SetValue& s, size_t count) {
  std::vector<const std::string*> out;
  out.reserve(count);
  if (count * 4 < s.size()) {
    std::unordered_set<const std::string*> seen;
    while (out.size() < count) {
      const std::string* m = &RandomMember(s);
      if (seen.insert(m).second) out.push_back(m);
    }
    return out;
  }
  for (const auto& m : s) out.push_back(&m);
  for (size_t i = 0; i < count; ++i) {
    size_t j = i + Rng()() % (out.size() - i);
    std::swap(out[i], out[j]);
  }
  out.resize(count);
  return out;
}

Reply MembersReply(const SetValue& s) {
  std::vector<Reply> out;
  out.reserve(s.size());
  for (const auto& m : s) out.push_back(Reply::Bulk(m));
  return Reply::Array(std::move(out));
}

// Redis's getRangeLongFromObjectOrReply with a message: a non-integer and an integer out of
// [0, max] both answer "ERR <msg>".
bool ArgNonNegative(CommandContext& ctx, std::string_view arg, std::string_view msg, int64_t* out) {
  auto v = ParseInt(arg);
  if (!v || *v < 0) {
    ctx.Error("ERR " + std::string(msg));
    return false;
  }
  *out = *v;
  return true;
}

// SMOVE source destination member
void SMove(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  SetValue *src, *dst;
  Entry* src_entry = ctx.db.Find(a[1]);
  if (!src_entry) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  if (!LookupAs(ctx, a[1], &src) || !LookupAs(ctx, a[2], &dst)) return;
  if (src == dst) {
    ctx.reply = Reply::Integer(src->count(a[3]) ? 1 : 0);
    return;
  }
  if (!src->erase(a[3])) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  if (src->empty()) ctx.db.Erase(a[1]);
  if (!dst) dst = &std::get<SetValue>(ctx.db.Set(a[2], SetValue{}).value);
  dst->insert(a[3]);
  ctx.Dirty();
  ctx.reply = Reply::Integer(1);
}

// SPOP key [count]: logged as the SREM (or DEL, when all of it goes) it amounts to, so a
// replay removes the same members.
void SPop(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  if (a.size() > 3) {
    ctx.Error(err::kSyntax);
    return;
  }
  SetValue* s;
  if (a.size() == 2) {
    if (!LookupAs(ctx, a[1], &s)) return;
    if (!s) {
      ctx.reply = Reply::Nil();
      return;
    }
    std::string m = RandomMember(*s);
    s->erase(m);
    if (s->empty()) ctx.db.Erase(a[1]);
    ctx.Propagate({"SREM", a[1], m});
    ctx.reply = Reply::Bulk(std::move(m));
    return;
  }
  int64_t count;
  if (!ArgNonNegative(ctx, a[2], "value is out of range, must be positive", &count)) return;
  if (!LookupAs(ctx, a[1], &s)) return;
  if (!s || count == 0) {
    ctx.reply = Reply::Array();
    return;
  }
  if (static_cast<uint64_t>(count) >= s->size()) {
    ctx.reply = MembersReply(*s);
    ctx.db.Erase(a[1]);
    ctx.Propagate({"DEL", a[1]});
    return;
  }
  std::vector<Reply> out;
  Argv record{"SREM", a[1]};
  for (const std::string* m : RandomDistinct(*s, static_cast<size_t>(count))) {
    out.push_back(Reply::Bulk(*m));
    record.push_back(*m);
  }
  for (size_t i = 2; i < record.size(); ++i) s->erase(record[i]);
  ctx.Propagate(std::move(record));
  ctx.reply = Reply::Array(std::move(out));
}

// The longest reply SRANDMEMBER with a negative count builds (members may repeat there, so
// the count is not bounded by the set). Redis has no limit and would try to answer 2^63.
constexpr int64_t kMaxRandomRepeats = 1'000'000;

// SRANDMEMBER key [count]: count < 0 may repeat members.
void SRandMember(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  if (a.size() > 3) {
    ctx.Error(err::kSyntax);
    return;
  }
  SetValue* s;
  if (a.size() == 2) {
    if (!LookupAs(ctx, a[1], &s)) return;
    ctx.reply = s ? Reply::Bulk(RandomMember(*s)) : Reply::Nil();
    return;
  }
  int64_t l;
  if (!ArgInt(ctx, a[2], &l)) return;
  if (l == std::numeric_limits<int64_t>::min()) {
    ctx.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
    return;
  }
  if (!LookupAs(ctx, a[1], &s)) return;
  if (!s || l == 0) {
    ctx.reply = Reply::Array();
    return;
  }
  std::vector<Reply> out;
  if (l < 0 || l == 1) {
    int64_t n = l < 0 ? -l : l;
    if (n > kMaxRandomRepeats) {
      ctx.Error("ERR value is out of range, value must between -" + std::to_string(kMaxRandomRepeats) + " and " +
                std::to_string(std::numeric_limits<int64_t>::max()));
      return;
    }
    out.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out.push_back(Reply::Bulk(RandomMember(*s)));
  } else if (static_cast<uint64_t>(l) >= s->size()) {
    ctx.reply = MembersReply(*s);
    return;
  } else {
    for (const std::string* m : RandomDistinct(*s, static_cast<size_t>(l))) out.push_back(Reply::Bulk(*m));
  }
  ctx.reply = Reply::Array(std::move(out));
}

// Looks up every key as a set (absent: nullptr). WRONGTYPE on any of them wins over an empty
// result, as in Redis, which checks all keys first.
bool LookupSets(CommandContext& ctx, size_t from, size_t to, std::vector<SetValue*>* sets) {
  for (size_t i = from; i < to; ++i) {
    SetValue* s;
    if (!LookupAs(ctx, ctx.argv[i], &s)) return false;
    sets->push_back(s);
  }
  return true;
}

SetValue Intersect(std::vector<SetValue*> sets, uint64_t limit = 0) {
  SetValue out;
  if (std::find(sets.begin(), sets.end(), nullptr) != sets.end()) return out;
  std::sort(sets.begin(), sets.end(), [](const SetValue* x, const SetValue* y) { return x->size() < y->size(); });
  for (const auto& m : *sets[0]) {
    bool all = std::all_of(sets.begin() + 1, sets.end(), [&](const SetValue* s) { return s->count(m) > 0; });
    if (!all) continue;
    out.insert(m);
    if (limit && out.size() >= limit) break;
  }
  return out;
}

SetValue Union(const std::vector<SetValue*>& sets) {
  SetValue out;
  for (const SetValue* s : sets) {
    if (s) out.insert(s->begin(), s->end());
  }
  return out;
}

SetValue Diff(const std::vector<SetValue*>& sets) {
  SetValue out;
  if (!sets[0]) return out;
  for (const auto& m : *sets[0]) {
    bool elsewhere = std::any_of(sets.begin() + 1, sets.end(), [&](const SetValue* s) { return s && s->count(m); });
    if (!elsewhere) out.insert(m);
  }
  return out;
}

enum class Algebra { kInter, kUnion, kDiff };

SetValue Compute(Algebra op, const std::vector<SetValue*>& sets) {
  switch (op) {
    case Algebra::kInter:
      return Intersect(sets);
    case Algebra::kUnion:
      return Union(sets);
    case Algebra::kDiff:
      break;
  }
  return Diff(sets);
}

// SINTER/SUNION/SDIFF key [key ...]
void AlgebraRead(CommandContext& ctx, Algebra op) {
  std::vector<SetValue*> sets;
  if (!LookupSets(ctx, 1, ctx.argv.size(), &sets)) return;
  ctx.reply = MembersReply(Compute(op, sets));
}

// S*STORE destination key [key ...]: replaces destination (any type, its TTL cleared) with
// the result, or deletes it when the result is empty. Deterministic, so logged as sent.
void AlgebraStore(CommandContext& ctx, Algebra op) {
  std::vector<SetValue*> sets;
  if (!LookupSets(ctx, 2, ctx.argv.size(), &sets)) return;
  SetValue result = Compute(op, sets);
  int64_t n = static_cast<int64_t>(result.size());
  if (n > 0) {
    ctx.db.Set(ctx.argv[1], std::move(result));
    ctx.Dirty();
  } else if (ctx.db.Erase(ctx.argv[1])) {
    ctx.Dirty();
  }
  ctx.reply = Reply::Integer(n);
}

void SInter(CommandContext& ctx) {
  AlgebraRead(ctx, Algebra::kInter);
}
void SUnion(CommandContext& ctx) {
  AlgebraRead(ctx, Algebra::kUnion);
}
void SDiff(CommandContext& ctx) {
  AlgebraRead(ctx, Algebra::kDiff);
}
void SInterStore(CommandContext& ctx) {
  AlgebraStore(ctx, Algebra::kInter);
}
void SUnionStore(CommandContext& ctx) {
  AlgebraStore(ctx, Algebra::kUnion);
}
void SDiffStore(CommandContext& ctx) {
  AlgebraStore(ctx, Algebra::kDiff);
}

// SINTERCARD numkeys key [key ...] [LIMIT limit]
void SInterCard(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  auto numkeys = ParseInt(a[1]);
  if (!numkeys || *numkeys < 1) {
    ctx.Error("ERR numkeys should be greater than 0");
    return;
  }
  if (*numkeys > static_cast<int64_t>(a.size()) - 2) {
    ctx.Error("ERR Number of keys can't be greater than number of args");
    return;
  }
  size_t keys_end = 2 + static_cast<size_t>(*numkeys);
  int64_t limit = 0;
  for (size_t j = keys_end; j < a.size(); ++j) {
    if (IEquals(a[j], "limit") && j + 1 < a.size()) {
      if (!ArgNonNegative(ctx, a[++j], "LIMIT can't be negative", &limit)) return;
    } else {
      ctx.Error(err::kSyntax);
      return;
    }
  }
  std::vector<SetValue*> sets;
  if (!LookupSets(ctx, 2, keys_end, &sets)) return;
  ctx.reply = Reply::Integer(static_cast<int64_t>(Intersect(sets, static_cast<uint64_t>(limit)).size()));
}

// What Redis 7.0 keeps as an intset (every member an integer, at most 512 of them): SSCAN
// answers such a set whole in one call, as Redis does.
bool IntsetLike(const SetValue& s) {
  if (s.size() > 512) return false;
  return std::all_of(s.begin(), s.end(), [](const std::string& m) { return ParseInt(m).has_value(); });
}

// SSCAN key cursor [MATCH pattern] [COUNT count]. Members are visited in the order of their
// 52-bit scan hash (the one SCAN orders keys by) and the cursor is the hash to resume from,
// so it stays valid across calls and changes: a member present for the whole scan is
// returned at least once. A set no larger than COUNT is answered whole with cursor 0.
void SScan(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  const std::string& c = a[2];
  errno = 0;
  char* end = nullptr;
  unsigned long long cursor = std::strtoull(c.c_str(), &end, 10);
  if ((!c.empty() && std::isspace(static_cast<unsigned char>(c[0]))) ||
      static_cast<size_t>(end - c.c_str()) != c.size() || errno == ERANGE) {
    ctx.Error(err::kInvalidCursor);
    return;
  }
  SetValue* s;
  if (!LookupAs(ctx, a[1], &s)) return;
  if (!s) {
    ctx.reply = Reply::Array({Reply::Bulk("0"), Reply::Array()});
    return;
  }
  int64_t count = 10;
  const std::string* pattern = nullptr;
  for (size_t i = 3; i < a.size(); i += 2) {
    bool more = i + 1 < a.size();
    if (IEquals(a[i], "count") && more) {
      if (!ArgInt(ctx, a[i + 1], &count)) return;
      if (count < 1) {
        ctx.Error(err::kSyntax);
        return;
      }
    } else if (IEquals(a[i], "match") && more) {
      pattern = a[i + 1] == "*" ? nullptr : &a[i + 1];
    } else {
      ctx.Error(err::kSyntax);
      return;
    }
  }
  std::vector<std::pair<uint64_t, const std::string*>> batch;
  uint64_t next = 0;
  if (static_cast<uint64_t>(count) >= s->size() || IntsetLike(*s)) {
    for (const auto& m : *s) batch.emplace_back(0, &m);
  } else {
    for (const auto& m : *s) {
      uint64_t h = ScanHash(m);
      if (h >= cursor) batch.emplace_back(h, &m);
    }
    auto by_hash = [](const auto& x, const auto& y) { return x.first < y.first; };
    size_t take = static_cast<size_t>(count);
    if (batch.size() > take) {
      std::nth_element(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(take - 1), batch.end(), by_hash);
      // Everything sharing the boundary hash goes in this batch, so the cursor always advances.
      uint64_t boundary = batch[take - 1].first;
      auto rest = std::partition(batch.begin(), batch.end(), [&](const auto& x) { return x.first <= boundary; });
      if (rest != batch.end()) {
        next = std::min_element(rest, batch.end(), by_hash)->first;
        batch.erase(rest, batch.end());
      }
    }
  }
  std::vector<Reply> out;
  for (const auto& [h, m] : batch) {
    if (!pattern || GlobMatch(*pattern, *m)) out.push_back(Reply::Bulk(*m));
  }
  ctx.reply = Reply::Array({Reply::Bulk(std::to_string(next)), Reply::Array(std::move(out))});
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
           CommandSpec{.name = "smove", .arity = 4, .flags = kWrite, .handler = SMove},
           CommandSpec{.name = "spop", .arity = -2, .flags = kWrite, .handler = SPop},
           CommandSpec{.name = "srandmember", .arity = -2, .flags = kReadOnly, .handler = SRandMember},
           CommandSpec{.name = "sinter", .arity = -2, .flags = kReadOnly, .handler = SInter},
           CommandSpec{.name = "sunion", .arity = -2, .flags = kReadOnly, .handler = SUnion},
           CommandSpec{.name = "sdiff", .arity = -2, .flags = kReadOnly, .handler = SDiff},
           CommandSpec{.name = "sinterstore", .arity = -3, .flags = kWrite, .handler = SInterStore},
           CommandSpec{.name = "sunionstore", .arity = -3, .flags = kWrite, .handler = SUnionStore},
           CommandSpec{.name = "sdiffstore", .arity = -3, .flags = kWrite, .handler = SDiffStore},
           CommandSpec{.name = "sintercard", .arity = -3, .flags = kReadOnly, .handler = SInterCard},
           CommandSpec{.name = "sscan", .arity = -3, .flags = kReadOnly, .handler = SScan},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
