// Sorted-set algebra: ZUNION ZUNIONSTORE ZINTER ZINTERSTORE ZINTERCARD ZDIFF ZDIFFSTORE, as
// Redis 7.0's zunionInterDiffGenericCommand: plain sets count as members with score 1,
// WEIGHTS and AGGREGATE SUM|MIN|MAX (not for ZDIFF), WITHSCORES (not for the STORE forms),
// LIMIT (ZINTERCARD). Inputs are visited smallest first (stable), as Redis orders them, so
// sums of several doubles round the same way.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "kv/families/zset_common.h"

namespace stratus::kv {
namespace {

enum class SetOp { kUnion, kInter, kDiff };
enum class Aggregate { kSum, kMin, kMax };

struct Source {
  const ZSet* zset = nullptr;
  const SetValue* set = nullptr;
  double weight = 1.0;

  size_t size() const { return zset ? zset->size() : set ? set->size() : 0; }
  bool Find(const std::string& member, double* score) const {
    if (zset) {
      auto it = zset->scores.find(member);
      if (it == zset->scores.end()) return false;
      *score = it->second;
      return true;
    }
    if (set && set->count(member)) {
      *score = 1.0;
      return true;
    }
    return false;
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (zset) {
      for (const auto& [score, member] : zset->order) fn(member, score);
    } else if (set) {
      for (const auto& member : *set) fn(member, 1.0);
    }
  }
};

void Combine(double* target, double value, Aggregate agg) {
  switch (agg) {
    case Aggregate::kSum:
      *target += value;
      if (std::isnan(*target)) *target = 0.0;  // inf + -inf
      break;
    case Aggregate::kMin:
      *target = value < *target ? value : *target;
      break;
    case Aggregate::kMax:
      *target = value > *target ? value : *target;
      break;
  }
}

// `numkeys_idx` is where numkeys is; with `store` the destination is argv[1].
void ZSetOpGeneric(CommandContext& ctx, size_t numkeys_idx, bool store, SetOp op, bool cardinality_only) {
  const Argv& a = ctx.argv;
  int64_t setnum;
  if (!ArgInt(ctx, a[numkeys_idx], &setnum)) return;
  if (setnum < 1) {
    return ctx.Error("ERR at least 1 input key is needed for '" + ToLower(a[0]) + "' command");
  }
  if (setnum > static_cast<int64_t>(a.size() - (numkeys_idx + 1))) return ctx.Error(err::kSyntax);
  std::vector<Source> src(static_cast<size_t>(setnum));
  size_t j = numkeys_idx + 1;
  for (auto& s : src) {
    if (Entry* e = ctx.db.Find(a[j++])) {
      s.zset = std::get_if<ZSet>(&e->value);
      s.set = std::get_if<SetValue>(&e->value);
      if (!s.zset && !s.set) return ctx.Error(err::kWrongType);
    }
  }
  Aggregate agg = Aggregate::kSum;
  bool withscores = false;
  int64_t limit = 0;  // ZINTERCARD: stop counting there; 0 is no limit
  while (j < a.size()) {
    size_t remaining = a.size() - j;
    if (op != SetOp::kDiff && !cardinality_only && remaining >= src.size() + 1 && IEquals(a[j], "weights")) {
      ++j;
      for (auto& s : src) {
        auto w = ParseDouble(a[j++]);
        if (!w) return ctx.Error("ERR weight value is not a float");
        s.weight = *w;
      }
    } else if (op != SetOp::kDiff && !cardinality_only && remaining >= 2 && IEquals(a[j], "aggregate")) {
      const std::string& how = a[j + 1];
      if (IEquals(how, "sum"))
        agg = Aggregate::kSum;
      else if (IEquals(how, "min"))
        agg = Aggregate::kMin;
      else if (IEquals(how, "max"))
        agg = Aggregate::kMax;
      else
        return ctx.Error(err::kSyntax);
      j += 2;
    } else if (!store && !cardinality_only && IEquals(a[j], "withscores")) {
      withscores = true;
      ++j;
    } else if (cardinality_only && remaining >= 2 && IEquals(a[j], "limit")) {
      auto l = ParseInt(a[j + 1]);
      if (!l || *l < 0) return ctx.Error("ERR LIMIT can't be negative");
      limit = *l;
      j += 2;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  auto by_size = [](const Source& x, const Source& y) { return x.size() < y.size(); };
  std::stable_sort(op == SetOp::kDiff ? src.begin() + 1 : src.begin(), src.end(), by_size);

  std::vector<ZEntry> out;
  int64_t cardinality = 0;
  if (op == SetOp::kInter) {
    if (src[0].size() > 0) {
      bool done = false;
      src[0].ForEach([&](const std::string& member, double s0) {
        if (done) return;
        double score = src[0].weight * s0;
        if (std::isnan(score)) score = 0;
        for (size_t i = 1; i < src.size(); ++i) {
          double v;
          if (!src[i].Find(member, &v)) return;
          Combine(&score, v * src[i].weight, agg);
        }
        if (cardinality_only) {
          ++cardinality;
          if (limit && cardinality >= limit) done = true;
        } else {
          out.emplace_back(score, member);
        }
      });
    }
  } else if (op == SetOp::kUnion) {
    std::unordered_map<std::string, double> acc;
    for (const auto& s : src) {
      s.ForEach([&](const std::string& member, double v) {
        double score = s.weight * v;
        if (std::isnan(score)) score = 0;
        auto [it, inserted] = acc.try_emplace(member, score);
        if (!inserted) Combine(&it->second, score, agg);
      });
    }
    out.reserve(acc.size());
    for (auto& [member, score] : acc) out.emplace_back(score, member);
  } else {
    src[0].ForEach([&](const std::string& member, double v) {
      double ignored;
      for (size_t i = 1; i < src.size(); ++i) {
        if (src[i].Find(member, &ignored)) return;
      }
      out.emplace_back(v, member);
    });
  }

  if (cardinality_only) {
    ctx.reply = Reply::Integer(cardinality);
    return;
  }
  // Redis's result is a skiplist: ordered by score, then member bytes; -0 and 0 are equal.
  std::sort(out.begin(), out.end(), [](const ZEntry& x, const ZEntry& y) {
    if (x.first != y.first) return x.first < y.first;
    return x.second < y.second;
  });
  if (store) {
    // Written like a fresh listpack when small: -0 is stored as 0 (see ZSet::Set).
    if (out.empty()) {
      if (ctx.db.Erase(a[1])) ctx.Dirty();
      ctx.reply = Reply::Integer(0);
      return;
    }
    ZSet z;
    for (const ZEntry& e : out) z.Set(e.second, e.first);
    int64_t n = static_cast<int64_t>(z.size());
    ctx.db.Set(a[1], std::move(z));
    ctx.Dirty();
    ctx.reply = Reply::Integer(n);
    return;
  }
  std::vector<Reply> reply;
  reply.reserve(out.size() * (withscores ? 2 : 1));
  for (const ZEntry& e : out) {
    reply.push_back(Reply::Bulk(e.second));
    if (withscores) reply.push_back(Reply::Bulk(FormatDouble(e.first)));
  }
  ctx.reply = Reply::Array(std::move(reply));
}

void ZUnion(CommandContext& ctx) {
  ZSetOpGeneric(ctx, 1, false, SetOp::kUnion, false);
}
void ZUnionStore(CommandContext& ctx) {
  ZSetOpGeneric(ctx, 2, true, SetOp::kUnion, false);
}
void ZInter(CommandContext& ctx) {
  ZSetOpGeneric(ctx, 1, false, SetOp::kInter, false);
}
void ZInterStore(CommandContext& ctx) {
  ZSetOpGeneric(ctx, 2, true, SetOp::kInter, false);
}
void ZInterCard(CommandContext& ctx) {
  ZSetOpGeneric(ctx, 1, false, SetOp::kInter, true);
}
void ZDiff(CommandContext& ctx) {
  ZSetOpGeneric(ctx, 1, false, SetOp::kDiff, false);
}
void ZDiffStore(CommandContext& ctx) {
  ZSetOpGeneric(ctx, 2, true, SetOp::kDiff, false);
}

}  // namespace

Status RegisterZSetAlgebraCommands(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "zunion", .arity = -3, .flags = kReadOnly, .handler = ZUnion},
           CommandSpec{.name = "zunionstore", .arity = -4, .flags = kWrite, .handler = ZUnionStore},
           CommandSpec{.name = "zinter", .arity = -3, .flags = kReadOnly, .handler = ZInter},
           CommandSpec{.name = "zinterstore", .arity = -4, .flags = kWrite, .handler = ZInterStore},
           CommandSpec{.name = "zintercard", .arity = -3, .flags = kReadOnly, .handler = ZInterCard},
           CommandSpec{.name = "zdiff", .arity = -3, .flags = kReadOnly, .handler = ZDiff},
           CommandSpec{.name = "zdiffstore", .arity = -4, .flags = kWrite, .handler = ZDiffStore},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
