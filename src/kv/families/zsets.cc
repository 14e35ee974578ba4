// Sorted sets: ZADD (all options), ZINCRBY, ZRANGE (rank, BYSCORE, BYLEX, REV, LIMIT,
// WITHSCORES) with its older forms and ZRANGESTORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZSCORE, ZMSCORE,
// ZREM, ZREMRANGEBY{RANK,SCORE,LEX}, ZRANK, ZREVRANK. Set algebra is in zsets_sets.cc, pops,
// ZRANDMEMBER and ZSCAN in zsets_pop.cc.
#include <cmath>

#include "kv/families/zset_common.h"

namespace stratus::kv {
namespace {

enum ZAddFlags : unsigned { kNx = 1, kXx = 2, kCh = 4, kIncr = 8, kGt = 16, kLt = 32 };

void ZAddGeneric(CommandContext& ctx, unsigned flags) {
  const Argv& a = ctx.argv;
  size_t idx = 2;
  for (; idx < a.size(); ++idx) {
    if (IEquals(a[idx], "nx"))
      flags |= kNx;
    else if (IEquals(a[idx], "xx"))
      flags |= kXx;
    else if (IEquals(a[idx], "ch"))
      flags |= kCh;
    else if (IEquals(a[idx], "incr"))
      flags |= kIncr;
    else if (IEquals(a[idx], "gt"))
      flags |= kGt;
    else if (IEquals(a[idx], "lt"))
      flags |= kLt;
    else
      break;
  }
  size_t elements = a.size() - idx;
  if (elements % 2 || elements == 0) return ctx.Error(err::kSyntax);
  elements /= 2;
  if ((flags & kNx) && (flags & kXx)) return ctx.Error("ERR XX and NX options at the same time are not compatible");
  if (((flags & kGt) && (flags & kNx)) || ((flags & kLt) && (flags & kNx)) || ((flags & kGt) && (flags & kLt))) {
    return ctx.Error("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  bool incr = flags & kIncr;
  if (incr && elements > 1) return ctx.Error("ERR INCR option supports a single increment-element pair");
  std::vector<double> scores(elements);
  for (size_t j = 0; j < elements; ++j) {
    if (!ArgDouble(ctx, a[idx + j * 2], &scores[j])) return;
  }
  ZSet* z;
  if (!LookupAs(ctx, a[1], &z)) return;
  int64_t added = 0, updated = 0, processed = 0;
  double score = 0;
  if (!z && !(flags & kXx)) z = &std::get<ZSet>(ctx.db.Set(a[1], ZSet{}).value);
  if (z) {
    for (size_t j = 0; j < elements; ++j) {
      score = scores[j];
      const std::string& member = a[idx + 1 + j * 2];
      auto it = z->scores.find(member);
      if (it != z->scores.end()) {
        if (flags & kNx) continue;
        double cur = it->second;
        if (incr) {
          score += cur;
          if (std::isnan(score)) {
            if (z->size() == 0) ctx.db.Erase(a[1]);
            return ctx.Error("ERR resulting score is not a number (NaN)");
          }
        }
        if (((flags & kLt) && score >= cur) || ((flags & kGt) && score <= cur)) continue;
        ++processed;
        if (score != cur) {
          z->Set(member, score);
          ++updated;
        }
      } else if (!(flags & kXx)) {
        z->Set(member, score);
        ++added;
        ++processed;
      }
    }
    if (z->size() == 0) ctx.db.Erase(a[1]);
  }
  if (added || updated) ctx.Dirty();
  if (incr) {
    ctx.reply = processed ? Reply::Bulk(FormatDouble(score)) : Reply::Nil();
  } else {
    ctx.reply = Reply::Integer((flags & kCh) ? added + updated : added);
  }
}

void ZAdd(CommandContext& ctx) {
  ZAddGeneric(ctx, 0);
}
void ZIncrBy(CommandContext& ctx) {
  ZAddGeneric(ctx, kIncr);
}

enum class RangeKind { kAuto, kRank, kScore, kLex };
enum class Direction { kAuto, kForward, kReverse };

// Walks the elements of a score or lex range the way Redis's listpack walk does: from the
// first element >= min (or, reversed, the last <= max) while the other end holds, after the
// checks that the range can hold anything at all. Skips `offset`, stops after `limit` (< 0:
// no limit). With mixed scores a BYLEX range is only defined by this walk.
template <typename Fn>
void WalkRange(const ZSet& z, RangeKind kind, const ScoreRange& sr, const LexRange& lr, bool rev, int64_t offset,
               int64_t limit, Fn&& fn) {
  auto gte_min = [&](const ZEntry& e) {
    return kind == RangeKind::kScore ? sr.GteMin(e.first) : LexGteMin(e.second, lr.min);
  };
  auto lte_max = [&](const ZEntry& e) {
    return kind == RangeKind::kScore ? sr.LteMax(e.first) : LexLteMax(e.second, lr.max);
  };
  if (z.order.empty()) return;
  bool empty_range = kind == RangeKind::kScore ? sr.Empty() : LexEmpty(lr.min, lr.max);
  if (empty_range || !gte_min(*z.order.rbegin()) || !lte_max(*z.order.begin())) return;
  if (offset < 0 || (offset > 0 && offset >= static_cast<int64_t>(z.size()))) return;
  auto walk = [&](auto it, auto finish, auto first_ok, auto still_ok) {
    while (it != finish && !first_ok(*it)) ++it;
    for (; it != finish && limit != 0 && still_ok(*it); ++it) {
      if (offset > 0) {
        --offset;
        continue;
      }
      fn(*it);
      if (limit > 0) --limit;
    }
  };
  if (!rev)
    walk(z.order.begin(), z.order.end(), gte_min, lte_max);
  else
    walk(z.order.rbegin(), z.order.rend(), lte_max, gte_min);
}

// Clamps a rank range as Redis does; false when it selects nothing.
bool ClampRanks(int64_t n, int64_t* start, int64_t* end) {
  if (*start < 0) *start += n;
  if (*end < 0) *end += n;
  if (*start < 0) *start = 0;
  if (*start > *end || *start >= n) return false;
  if (*end >= n) *end = n - 1;
  return true;
}

// Writes `out` to `dst` (ZRANGESTORE, Z*STORE): a non-empty result replaces whatever dst held
// (its TTL too); an empty one deletes dst. Replies with the size.
void StoreResult(CommandContext& ctx, const std::string& dst, const std::vector<const ZEntry*>& out) {
  if (out.empty()) {
    if (ctx.db.Erase(dst)) ctx.Dirty();
    ctx.reply = Reply::Integer(0);
    return;
  }
  ZSet z;
  for (const ZEntry* e : out) z.Set(e->second, e->first);
  int64_t n = static_cast<int64_t>(z.size());
  ctx.db.Set(dst, std::move(z));
  ctx.Dirty();
  ctx.reply = Reply::Integer(n);
}

// ZRANGE and its older forms (ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX) and
// ZRANGESTORE, as Redis's zrangeGenericCommand: `first` is the source key's index; a form
// that fixes the kind or direction refuses the option that would set it again.
void ZRangeGeneric(CommandContext& ctx, size_t first, bool store, RangeKind kind, Direction dir) {
  const Argv& a = ctx.argv;
  bool withscores = false;
  int64_t offset = 0, limit = -1;
  for (size_t j = first + 3; j < a.size(); ++j) {
    size_t left = a.size() - j - 1;
    if (!store && IEquals(a[j], "withscores")) {
      withscores = true;
    } else if (IEquals(a[j], "limit") && left >= 2) {
      if (!ArgInt(ctx, a[j + 1], &offset) || !ArgInt(ctx, a[j + 2], &limit)) return;
      j += 2;
    } else if (dir == Direction::kAuto && IEquals(a[j], "rev")) {
      dir = Direction::kReverse;
    } else if (kind == RangeKind::kAuto && IEquals(a[j], "bylex")) {
      kind = RangeKind::kLex;
    } else if (kind == RangeKind::kAuto && IEquals(a[j], "byscore")) {
      kind = RangeKind::kScore;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  if (kind == RangeKind::kAuto) kind = RangeKind::kRank;
  bool rev = dir == Direction::kReverse;
  if (limit != -1 && kind == RangeKind::kRank) {  // Redis checks the count, not the word: LIMIT 5 -1 passes
    return ctx.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (withscores && kind == RangeKind::kLex)
    return ctx.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  const std::string* min = &a[first + 1];
  const std::string* max = &a[first + 2];
  if (rev && kind != RangeKind::kRank) std::swap(min, max);
  int64_t start = 0, end = 0;
  ScoreRange sr;
  LexRange lr;
  if (kind == RangeKind::kRank) {
    if (!ArgInt(ctx, *min, &start) || !ArgInt(ctx, *max, &end)) return;
  } else if (kind == RangeKind::kScore) {
    if (!ParseScoreRange(*min, *max, &sr)) return ctx.Error(err::kMinMaxNotFloat);
  } else if (!ParseLexRange(*min, *max, &lr)) {
    return ctx.Error(kNotLexRange);
  }
  ZSet* z;
  if (!LookupAs(ctx, a[first], &z)) return;
  std::vector<const ZEntry*> out;
  auto collect = [&](const ZEntry& e) { out.push_back(&e); };
  if (z) {
    if (kind == RangeKind::kRank) {
      if (ClampRanks(static_cast<int64_t>(z->size()), &start, &end)) {
        int64_t count = end - start + 1;
        if (!rev) {
          auto it = std::next(z->order.begin(), start);
          for (int64_t i = 0; i < count; ++i, ++it) collect(*it);
        } else {
          auto it = std::next(z->order.rbegin(), start);
          for (int64_t i = 0; i < count; ++i, ++it) collect(*it);
        }
      }
    } else {
      WalkRange(*z, kind, sr, lr, rev, offset, limit, collect);
    }
  }
  if (store) {
    // Copied before dst is written: dst may be the source itself.
    std::vector<ZEntry> copy;
    copy.reserve(out.size());
    for (const ZEntry* e : out) copy.push_back(*e);
    std::vector<const ZEntry*> ptrs;
    ptrs.reserve(copy.size());
    for (const ZEntry& e : copy) ptrs.push_back(&e);
    return StoreResult(ctx, a[1], ptrs);
  }
  std::vector<Reply> reply;
  reply.reserve(out.size() * (withscores ? 2 : 1));
  for (const ZEntry* e : out) {
    reply.push_back(Reply::Bulk(e->second));
    if (withscores) reply.push_back(Reply::Bulk(FormatDouble(e->first)));
  }
  ctx.reply = Reply::Array(std::move(reply));
}

void ZRange(CommandContext& ctx) {
  ZRangeGeneric(ctx, 1, false, RangeKind::kAuto, Direction::kAuto);
}
void ZRangeStore(CommandContext& ctx) {
  ZRangeGeneric(ctx, 2, true, RangeKind::kAuto, Direction::kAuto);
}
void ZRevRange(CommandContext& ctx) {
  ZRangeGeneric(ctx, 1, false, RangeKind::kRank, Direction::kReverse);
}
void ZRangeByScore(CommandContext& ctx) {
  ZRangeGeneric(ctx, 1, false, RangeKind::kScore, Direction::kForward);
}
void ZRevRangeByScore(CommandContext& ctx) {
  ZRangeGeneric(ctx, 1, false, RangeKind::kScore, Direction::kReverse);
}
void ZRangeByLex(CommandContext& ctx) {
  ZRangeGeneric(ctx, 1, false, RangeKind::kLex, Direction::kForward);
}
void ZRevRangeByLex(CommandContext& ctx) {
  ZRangeGeneric(ctx, 1, false, RangeKind::kLex, Direction::kReverse);
}

void ZLexCount(CommandContext& ctx) {
  LexRange lr;
  if (!ParseLexRange(ctx.argv[2], ctx.argv[3], &lr)) return ctx.Error(kNotLexRange);
  ZSet* z;
  if (!LookupAs(ctx, ctx.argv[1], &z)) return;
  int64_t n = 0;
  if (z) WalkRange(*z, RangeKind::kLex, ScoreRange{}, lr, false, 0, -1, [&](const ZEntry&) { ++n; });
  ctx.reply = Reply::Integer(n);
}

// ZREMRANGEBYRANK / BYSCORE / BYLEX: the range is parsed before the key is looked up.
void ZRemRangeGeneric(CommandContext& ctx, RangeKind kind) {
  const Argv& a = ctx.argv;
  int64_t start = 0, end = 0;
  ScoreRange sr;
  LexRange lr;
  if (kind == RangeKind::kRank) {
    if (!ArgInt(ctx, a[2], &start) || !ArgInt(ctx, a[3], &end)) return;
  } else if (kind == RangeKind::kScore) {
    if (!ParseScoreRange(a[2], a[3], &sr)) return ctx.Error(err::kMinMaxNotFloat);
  } else if (!ParseLexRange(a[2], a[3], &lr)) {
    return ctx.Error(kNotLexRange);
  }
  ZSet* z;
  if (!LookupAs(ctx, a[1], &z)) return;
  std::vector<std::string> doomed;
  if (z) {
    if (kind == RangeKind::kRank) {
      if (ClampRanks(static_cast<int64_t>(z->size()), &start, &end)) {
        auto it = std::next(z->order.begin(), start);
        for (int64_t i = start; i <= end; ++i, ++it) doomed.push_back(it->second);
      }
    } else if (kind == RangeKind::kScore) {
      for (const auto& e : z->order) {
        if (sr.Contains(e.first)) doomed.push_back(e.second);
      }
    } else {
      WalkRange(*z, kind, sr, lr, false, 0, -1, [&](const ZEntry& e) { doomed.push_back(e.second); });
    }
    for (const auto& m : doomed) z->Remove(m);
    if (z->size() == 0) ctx.db.Erase(a[1]);
  }
  if (!doomed.empty()) ctx.Dirty();
  ctx.reply = Reply::Integer(static_cast<int64_t>(doomed.size()));
}

void ZRemRangeByScore(CommandContext& ctx) {
  ZRemRangeGeneric(ctx, RangeKind::kScore);
}
void ZRemRangeByRank(CommandContext& ctx) {
  ZRemRangeGeneric(ctx, RangeKind::kRank);
}
void ZRemRangeByLex(CommandContext& ctx) {
  ZRemRangeGeneric(ctx, RangeKind::kLex);
}

void ZCard(CommandContext& ctx) {
  ZSet* z;
  if (!LookupAs(ctx, ctx.argv[1], &z)) return;
  ctx.reply = Reply::Integer(z ? static_cast<int64_t>(z->size()) : 0);
}

void ZCount(CommandContext& ctx) {
  ScoreRange r;
  if (!ParseScoreRange(ctx.argv[2], ctx.argv[3], &r)) return ctx.Error(err::kMinMaxNotFloat);
  ZSet* z;
  if (!LookupAs(ctx, ctx.argv[1], &z)) return;
  int64_t n = 0;
  if (z) {
    for (const auto& e : z->order) n += r.GteMin(e.first) && r.LteMax(e.first) ? 1 : 0;
  }
  ctx.reply = Reply::Integer(n);
}

void ZScore(CommandContext& ctx) {
  ZSet* z;
  if (!LookupAs(ctx, ctx.argv[1], &z)) return;
  auto it = z ? z->scores.find(ctx.argv[2]) : decltype(z->scores.end())();
  ctx.reply = z && it != z->scores.end() ? Reply::Bulk(FormatDouble(it->second)) : Reply::Nil();
}

void ZMScore(CommandContext& ctx) {
  ZSet* z;
  if (!LookupAs(ctx, ctx.argv[1], &z)) return;
  std::vector<Reply> out;
  for (size_t i = 2; i < ctx.argv.size(); ++i) {
    auto it = z ? z->scores.find(ctx.argv[i]) : decltype(z->scores.end())();
    out.push_back(z && it != z->scores.end() ? Reply::Bulk(FormatDouble(it->second)) : Reply::Nil());
  }
  ctx.reply = Reply::Array(std::move(out));
}

void ZRem(CommandContext& ctx) {
  ZSet* z;
  if (!LookupAs(ctx, ctx.argv[1], &z)) return;
  int64_t n = 0;
  if (z) {
    for (size_t i = 2; i < ctx.argv.size(); ++i) n += z->Remove(ctx.argv[i]) ? 1 : 0;
    if (z->size() == 0) ctx.db.Erase(ctx.argv[1]);
  }
  if (n) ctx.Dirty();
  ctx.reply = Reply::Integer(n);
}

void ZRankGeneric(CommandContext& ctx, bool rev) {
  ZSet* z;
  if (!LookupAs(ctx, ctx.argv[1], &z)) return;
  auto it = z ? z->scores.find(ctx.argv[2]) : decltype(z->scores.end())();
  if (!z || it == z->scores.end()) {
    ctx.reply = Reply::Nil();
    return;
  }
  auto pos = z->order.find({it->second, it->first});
  int64_t rank = std::distance(z->order.begin(), pos);
  ctx.reply = Reply::Integer(rev ? static_cast<int64_t>(z->size()) - 1 - rank : rank);
}

void ZRank(CommandContext& ctx) {
  ZRankGeneric(ctx, false);
}
void ZRevRank(CommandContext& ctx) {
  ZRankGeneric(ctx, true);
}

}  // namespace

Status RegisterZSetFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "zadd", .arity = -4, .flags = kWrite, .handler = ZAdd},
           CommandSpec{.name = "zincrby", .arity = 4, .flags = kWrite, .handler = ZIncrBy},
           CommandSpec{.name = "zrange", .arity = -4, .flags = kReadOnly, .handler = ZRange},
           CommandSpec{.name = "zcard", .arity = 2, .flags = kReadOnly, .handler = ZCard},
           CommandSpec{.name = "zcount", .arity = 4, .flags = kReadOnly, .handler = ZCount},
           CommandSpec{.name = "zscore", .arity = 3, .flags = kReadOnly, .handler = ZScore},
           CommandSpec{.name = "zmscore", .arity = -3, .flags = kReadOnly, .handler = ZMScore},
           CommandSpec{.name = "zrem", .arity = -3, .flags = kWrite, .handler = ZRem},
           CommandSpec{.name = "zremrangebyscore", .arity = 4, .flags = kWrite, .handler = ZRemRangeByScore},
           CommandSpec{.name = "zrank", .arity = 3, .flags = kReadOnly, .handler = ZRank},
           CommandSpec{.name = "zrevrank", .arity = 3, .flags = kReadOnly, .handler = ZRevRank},
           CommandSpec{.name = "zrangestore", .arity = -5, .flags = kWrite, .handler = ZRangeStore},
           CommandSpec{.name = "zrevrange", .arity = -4, .flags = kReadOnly, .handler = ZRevRange},
           CommandSpec{.name = "zrangebyscore", .arity = -4, .flags = kReadOnly, .handler = ZRangeByScore},
           CommandSpec{.name = "zrevrangebyscore", .arity = -4, .flags = kReadOnly, .handler = ZRevRangeByScore},
           CommandSpec{.name = "zrangebylex", .arity = -4, .flags = kReadOnly, .handler = ZRangeByLex},
           CommandSpec{.name = "zrevrangebylex", .arity = -4, .flags = kReadOnly, .handler = ZRevRangeByLex},
           CommandSpec{.name = "zlexcount", .arity = 4, .flags = kReadOnly, .handler = ZLexCount},
           CommandSpec{.name = "zremrangebyrank", .arity = 4, .flags = kWrite, .handler = ZRemRangeByRank},
           CommandSpec{.name = "zremrangebylex", .arity = 4, .flags = kWrite, .handler = ZRemRangeByLex},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  STRATUS_RETURN_IF_ERROR(RegisterZSetAlgebraCommands(t));
  return RegisterZSetPopCommands(t);
}

}  // namespace stratus::kv
