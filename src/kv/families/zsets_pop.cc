// Sorted sets, removal from the ends and sampling: ZPOPMIN ZPOPMAX ZMPOP (deterministic, so
// logged as sent), ZRANDMEMBER (read-only), ZSCAN. The blocking forms (BZPOPMIN BZPOPMAX
// BZMPOP) are not offered: the REST front end has no blocking commands.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <random>

#include "kv/families/zset_common.h"

namespace stratus::kv {
namespace {

// Redis 7.0's zset-max-listpack-entries / -value: a sorted set within both is one listpack,
// which ZSCAN returns whole in one call.
constexpr size_t kListpackMaxEntries = 128;
constexpr size_t kListpackMaxValue = 64;

// The most elements ZRANDMEMBER with a negative count returns (Redis would try to build any
// size; this engine refuses a reply of more than 16 Mi elements).
constexpr uint64_t kMaxRandomCount = uint64_t{1} << 24;

// Pops up to `count` elements from one end of `key`'s sorted set; deletes the key once empty.
std::vector<ZEntry> PopEnds(CommandContext& ctx, const std::string& key, ZSet* z, bool max, int64_t count) {
  std::vector<ZEntry> out;
  int64_t n = std::min<int64_t>(count, static_cast<int64_t>(z->size()));
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    ZEntry e = max ? *z->order.rbegin() : *z->order.begin();
    z->Remove(e.second);
    out.push_back(std::move(e));
  }
  if (z->size() == 0) ctx.db.Erase(key);
  if (!out.empty()) ctx.Dirty();
  return out;
}

void ZPopGeneric(CommandContext& ctx, bool max) {
  const Argv& a = ctx.argv;
  if (a.size() > 3) return ctx.Error(err::kSyntax);
  int64_t count = 1;
  if (a.size() == 3) {
    auto c = ParseInt(a[2]);
    if (!c || *c < 0) return ctx.Error("ERR value is out of range, must be positive");
    count = *c;
  }
  ZSet* z;
  if (!LookupAs(ctx, a[1], &z)) return;
  std::vector<Reply> out;
  if (z && count > 0) {
    for (auto& [score, member] : PopEnds(ctx, a[1], z, max, count)) {
      out.push_back(Reply::Bulk(std::move(member)));
      out.push_back(Reply::Bulk(FormatDouble(score)));
    }
  }
  ctx.reply = Reply::Array(std::move(out));
}

void ZPopMin(CommandContext& ctx) {
  ZPopGeneric(ctx, false);
}
void ZPopMax(CommandContext& ctx) {
  ZPopGeneric(ctx, true);
}

// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first key that holds a
// sorted set; [key, [[member, score], ...]], or a nil array when none does.
void ZMPop(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  auto numkeys = ParseInt(a[1]);
  if (!numkeys || *numkeys < 1) return ctx.Error("ERR numkeys should be greater than 0");
  if (*numkeys >= static_cast<int64_t>(a.size()) - 2) return ctx.Error(err::kSyntax);
  size_t where_idx = 2 + static_cast<size_t>(*numkeys);
  bool max;
  if (IEquals(a[where_idx], "min"))
    max = false;
  else if (IEquals(a[where_idx], "max"))
    max = true;
  else
    return ctx.Error(err::kSyntax);
  int64_t count = -1;
  for (size_t j = where_idx + 1; j < a.size(); ++j) {
    if (count == -1 && IEquals(a[j], "count") && j + 1 < a.size()) {
      auto c = ParseInt(a[++j]);
      if (!c || *c < 1) return ctx.Error("ERR count should be greater than 0");
      count = *c;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  if (count == -1) count = 1;
  for (size_t k = 2; k < where_idx; ++k) {
    ZSet* z;
    if (!LookupAs(ctx, a[k], &z)) return;
    if (!z) continue;
    std::vector<Reply> popped;
    for (auto& [score, member] : PopEnds(ctx, a[k], z, max, count)) {
      popped.push_back(Reply::Array({Reply::Bulk(std::move(member)), Reply::Bulk(FormatDouble(score))}));
    }
    ctx.reply = Reply::Array({Reply::Bulk(a[k]), Reply::Array(std::move(popped))});
    return;
  }
  ctx.reply = Reply::NilArray();
}

std::mt19937_64& Rng() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

// ZRANDMEMBER key [count [WITHSCORES]]: a positive count gives distinct members (all of them
// when count >= the size), a negative one |count| members that may repeat.
void ZRandMember(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  if (a.size() == 2) {
    ZSet* z;
    if (!LookupAs(ctx, a[1], &z)) return;
    if (!z) {
      ctx.reply = Reply::Nil();
      return;
    }
    auto it = std::next(z->order.begin(), static_cast<int64_t>(Rng()() % z->size()));
    ctx.reply = Reply::Bulk(it->second);
    return;
  }
  int64_t l;
  if (!ArgInt(ctx, a[2], &l)) return;
  if (l == INT64_MIN) {
    return ctx.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
  }
  bool withscores = false;
  if (a.size() > 4 || (a.size() == 4 && !IEquals(a[3], "withscores"))) return ctx.Error(err::kSyntax);
  if (a.size() == 4) {
    withscores = true;
    if (l < -INT64_MAX / 2 || l > INT64_MAX / 2) return ctx.Error("ERR value is out of range");
  }
  ZSet* z;
  if (!LookupAs(ctx, a[1], &z)) return;
  std::vector<Reply> out;
  auto emit = [&](const ZEntry& e) {
    out.push_back(Reply::Bulk(e.second));
    if (withscores) out.push_back(Reply::Bulk(FormatDouble(e.first)));
  };
  if (!z || l == 0) {
    ctx.reply = Reply::Array();
    return;
  }
  std::vector<const ZEntry*> all;
  all.reserve(z->size());
  for (const ZEntry& e : z->order) all.push_back(&e);
  if (l < 0) {
    uint64_t count = static_cast<uint64_t>(-l);
    if (count > kMaxRandomCount) return ctx.Error("ERR value is out of range");
    for (uint64_t i = 0; i < count; ++i) emit(*all[Rng()() % all.size()]);
  } else if (static_cast<uint64_t>(l) >= all.size()) {
    // The whole set; a listpack in Redis 7.0 lists it from the highest score down.
    for (auto it = all.rbegin(); it != all.rend(); ++it) emit(**it);
  } else {
    // A partial Fisher-Yates shuffle: the first l are a uniform sample, in random order.
    for (size_t i = 0; i < static_cast<size_t>(l); ++i) {
      size_t pick = i + Rng()() % (all.size() - i);
      std::swap(all[i], all[pick]);
      emit(*all[i]);
    }
  }
  ctx.reply = Reply::Array(std::move(out));
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]. A sorted set Redis would keep as a listpack
// comes back whole in one call (cursor 0), as Redis does. A larger one is walked in the order
// of a 52-bit hash of each member, the cursor being the hash to resume from: stateless, and a
// member present for the whole scan is returned at least once however the set changes.
void ZScan(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  const std::string& c = a[2];
  errno = 0;
  char* end = nullptr;
  unsigned long long cursor = std::strtoull(c.c_str(), &end, 10);
  if ((!c.empty() && std::isspace(static_cast<unsigned char>(c[0]))) || *end != '\0' ||
      static_cast<size_t>(end - c.c_str()) != c.size() || errno == ERANGE) {
    return ctx.Error(err::kInvalidCursor);
  }
  ZSet* z;
  if (!LookupAs(ctx, a[1], &z)) return;
  if (!z) {
    ctx.reply = Reply::Array({Reply::Bulk("0"), Reply::Array()});
    return;
  }
  int64_t count = 10;
  const std::string* pattern = nullptr;
  for (size_t i = 3; i < a.size();) {
    size_t left = a.size() - i;
    if (IEquals(a[i], "count") && left >= 2) {
      if (!ArgInt(ctx, a[i + 1], &count)) return;
      if (count < 1) return ctx.Error(err::kSyntax);
      i += 2;
    } else if (IEquals(a[i], "match") && left >= 2) {
      pattern = a[i + 1] == "*" ? nullptr : &a[i + 1];
      i += 2;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  std::vector<Reply> out;
  auto emit = [&](const std::string& member, double score) {
    if (pattern && !GlobMatch(*pattern, member)) return;
    out.push_back(Reply::Bulk(member));
    out.push_back(Reply::Bulk(FormatDouble(score)));
  };
  bool small = z->size() <= kListpackMaxEntries && std::all_of(z->order.begin(), z->order.end(), [](const ZEntry& e) {
                 return e.second.size() <= kListpackMaxValue;
               });
  uint64_t next = 0;
  if (small) {
    for (const auto& [score, member] : z->order) emit(member, score);
  } else {
    std::vector<std::pair<uint64_t, const ZEntry*>> rest;
    for (const ZEntry& e : z->order) {
      uint64_t h = ScanHash(e.second);
      if (h >= cursor) rest.emplace_back(h, &e);
    }
    size_t take = std::min(rest.size(), static_cast<size_t>(count));
    auto less = [](const auto& x, const auto& y) { return x.first < y.first; };
    if (take < rest.size()) {
      std::nth_element(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(take), rest.end(), less);
      std::sort(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(take), less);
      // Members sharing the last hash all go in this batch: the cursor resumes past it.
      uint64_t last = rest[take - 1].first;
      auto boundary = std::partition(rest.begin() + static_cast<ptrdiff_t>(take), rest.end(),
                                     [last](const auto& x) { return x.first == last; });
      size_t with_ties = static_cast<size_t>(boundary - rest.begin());
      next = with_ties < rest.size() ? last + 1 : 0;
      take = with_ties;
    }
    for (size_t i = 0; i < take; ++i) emit(rest[i].second->second, rest[i].second->first);
  }
  ctx.reply = Reply::Array({Reply::Bulk(std::to_string(next)), Reply::Array(std::move(out))});
}

}  // namespace

Status RegisterZSetPopCommands(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "zpopmin", .arity = -2, .flags = kWrite, .handler = ZPopMin},
           CommandSpec{.name = "zpopmax", .arity = -2, .flags = kWrite, .handler = ZPopMax},
           CommandSpec{.name = "zmpop", .arity = -4, .flags = kWrite, .handler = ZMPop},
           CommandSpec{.name = "zrandmember", .arity = -2, .flags = kReadOnly, .handler = ZRandMember},
           CommandSpec{.name = "zscan", .arity = -3, .flags = kReadOnly, .handler = ZScan},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
