// Sorted sets: ZADD (all options), ZINCRBY, ZRANGE (rank, BYSCORE, BYLEX, REV, LIMIT,
// WITHSCORES), ZCOUNT, ZSCORE, ZREM, ZREMRANGEBYSCORE, ZRANK.
#include <cmath>
#include <cstdlib>

#include "kv/families/family.h"

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

struct ScoreRange {
  double min = 0, max = 0;
  bool minex = false, maxex = false;
  bool GteMin(double v) const { return minex ? v > min : v >= min; }
  bool LteMax(double v) const { return maxex ? v < max : v <= max; }
  bool Empty() const { return min > max || (min == max && (minex || maxex)); }
};

bool ParseScoreItem(const std::string& s, double* v, bool* ex) {
  const char* p = s.c_str();
  *ex = false;
  if (p[0] == '(') {
    *ex = true;
    ++p;
  }
  char* end;
  *v = std::strtod(p, &end);
  return end[0] == '\0' && !std::isnan(*v);
}

bool ParseScoreRange(const std::string& min, const std::string& max, ScoreRange* r) {
  return ParseScoreItem(min, &r->min, &r->minex) && ParseScoreItem(max, &r->max, &r->maxex);
}

// A lex bound: "-" / "+" are the ends, "[x" inclusive, "(x" exclusive.
struct LexBound {
  enum Kind { kMinusInf, kPlusInf, kValue } kind = kValue;
  std::string value;
  bool ex = false;
};

bool ParseLexItem(const std::string& s, LexBound* b) {
  if (s.empty()) return false;
  switch (s[0]) {
    case '+':
      if (s.size() != 1) return false;
      b->kind = LexBound::kPlusInf;
      return true;
    case '-':
      if (s.size() != 1) return false;
      b->kind = LexBound::kMinusInf;
      return true;
    case '(':
    case '[':
      b->kind = LexBound::kValue;
      b->ex = s[0] == '(';
      b->value = s.substr(1);
      return true;
    default:
      return false;
  }
}

bool LexGteMin(const std::string& v, const LexBound& b) {
  if (b.kind == LexBound::kMinusInf) return true;
  if (b.kind == LexBound::kPlusInf) return false;
  int c = v.compare(b.value);
  return b.ex ? c > 0 : c >= 0;
}

bool LexLteMax(const std::string& v, const LexBound& b) {
  if (b.kind == LexBound::kPlusInf) return true;
  if (b.kind == LexBound::kMinusInf) return false;
  int c = v.compare(b.value);
  return b.ex ? c < 0 : c <= 0;
}

// A lex range that can hold nothing: min above max, or equal with an exclusive end.
bool LexEmpty(const LexBound& min, const LexBound& max) {
  if (min.kind == LexBound::kPlusInf || max.kind == LexBound::kMinusInf) return true;
  if (min.kind == LexBound::kMinusInf || max.kind == LexBound::kPlusInf) return false;
  int c = min.value.compare(max.value);
  return c > 0 || (c == 0 && (min.ex || max.ex));
}

void ZRange(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  enum { kRank, kScore, kLex } type = kRank;
  bool type_set = false, rev = false, withscores = false;
  int64_t offset = 0, limit = -1;
  for (size_t j = 4; j < a.size(); ++j) {
    size_t left = a.size() - j - 1;
    if (IEquals(a[j], "withscores")) {
      withscores = true;
    } else if (IEquals(a[j], "limit") && left >= 2) {
      if (!ArgInt(ctx, a[j + 1], &offset) || !ArgInt(ctx, a[j + 2], &limit)) return;
      j += 2;
    } else if (!rev && IEquals(a[j], "rev")) {
      rev = true;
    } else if (!type_set && IEquals(a[j], "bylex")) {
      type = kLex;
      type_set = true;
    } else if (!type_set && IEquals(a[j], "byscore")) {
      type = kScore;
      type_set = true;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  if (limit != -1 && type == kRank) {  // Redis checks the count, not the word: LIMIT 5 -1 passes
    return ctx.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (withscores && type == kLex)
    return ctx.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  const std::string* min = &a[2];
  const std::string* max = &a[3];
  if (rev && type != kRank) std::swap(min, max);
  int64_t start = 0, end = 0;
  ScoreRange sr;
  LexBound lmin, lmax;
  if (type == kRank) {
    if (!ArgInt(ctx, *min, &start) || !ArgInt(ctx, *max, &end)) return;
  } else if (type == kScore) {
    if (!ParseScoreRange(*min, *max, &sr)) return ctx.Error(err::kMinMaxNotFloat);
  } else if (!ParseLexItem(*min, &lmin) || !ParseLexItem(*max, &lmax)) {
    return ctx.Error("ERR min or max not valid string range item");
  }
  ZSet* z;
  if (!LookupAs(ctx, a[1], &z)) return;
  std::vector<Reply> out;
  auto emit = [&](const std::pair<double, std::string>& e) {
    out.push_back(Reply::Bulk(e.second));
    if (withscores) out.push_back(Reply::Bulk(FormatDouble(e.first)));
  };
  if (z) {
    int64_t n = static_cast<int64_t>(z->size());
    if (type == kRank) {
      if (start < 0) start += n;
      if (end < 0) end += n;
      if (start < 0) start = 0;
      if (!(start > end || start >= n)) {
        if (end >= n) end = n - 1;
        int64_t count = end - start + 1;
        if (!rev) {
          auto it = std::next(z->order.begin(), start);
          for (int64_t i = 0; i < count; ++i, ++it) emit(*it);
        } else {
          auto it = std::next(z->order.rbegin(), start);
          for (int64_t i = 0; i < count; ++i, ++it) emit(*it);
        }
      }
    } else {
      // Redis walks from the first element >= min and stops at the first one > max; with
      // mixed scores a BYLEX range is only defined that way (as its listpack walk does).
      auto gte_min = [&](const std::pair<double, std::string>& e) {
        return type == kScore ? sr.GteMin(e.first) : LexGteMin(e.second, lmin);
      };
      auto lte_max = [&](const std::pair<double, std::string>& e) {
        return type == kScore ? sr.LteMax(e.first) : LexLteMax(e.second, lmax);
      };
      bool empty_range = type == kScore ? sr.Empty() : LexEmpty(lmin, lmax);
      bool valid = offset >= 0 && !(offset > 0 && offset >= n) && !empty_range && gte_min(*z->order.rbegin()) &&
                   lte_max(*z->order.begin());
      if (valid) {
        int64_t skip = offset;
        auto walk = [&](auto begin, auto finish, auto first_ok, auto still_ok) {
          auto it = begin;
          while (it != finish && !first_ok(*it)) ++it;
          for (; it != finish && limit != 0 && still_ok(*it); ++it) {
            if (skip > 0) {
              --skip;
              continue;
            }
            emit(*it);
            if (limit > 0) --limit;
          }
        };
        if (!rev)
          walk(z->order.begin(), z->order.end(), gte_min, lte_max);
        else
          walk(z->order.rbegin(), z->order.rend(), lte_max, gte_min);
      }
    }
  }
  ctx.reply = Reply::Array(std::move(out));
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

void ZRemRangeByScore(CommandContext& ctx) {
  ScoreRange r;
  if (!ParseScoreRange(ctx.argv[2], ctx.argv[3], &r)) return ctx.Error(err::kMinMaxNotFloat);
  ZSet* z;
  if (!LookupAs(ctx, ctx.argv[1], &z)) return;
  int64_t n = 0;
  if (z) {
    std::vector<std::string> doomed;
    for (const auto& e : z->order) {
      if (r.GteMin(e.first) && r.LteMax(e.first)) doomed.push_back(e.second);
    }
    for (const auto& m : doomed) z->Remove(m);
    n = static_cast<int64_t>(doomed.size());
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
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
