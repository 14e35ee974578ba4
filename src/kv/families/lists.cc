// Lists: pushes, pops, LMPOP, LMOVE/RPOPLPUSH, LRANGE, LLEN, LINDEX, LPOS, LINSERT, LSET, LTRIM, LREM.
// The blocking forms (BLPOP, BLMOVE, ...) are not offered: Upstash's REST API has none.
#include <algorithm>
#include <limits>

#include "kv/families/family.h"

namespace stratus::kv {
namespace {

void PushGeneric(CommandContext& ctx, bool left, bool only_existing) {
  ListValue* l;
  if (!LookupAs(ctx, ctx.argv[1], &l)) return;
  if (!l) {
    if (only_existing) {
      ctx.reply = Reply::Integer(0);
      return;
    }
    l = &std::get<ListValue>(ctx.db.Set(ctx.argv[1], ListValue{}).value);
  }
  for (size_t i = 2; i < ctx.argv.size(); ++i) {
    if (left)
      l->push_front(ctx.argv[i]);
    else
      l->push_back(ctx.argv[i]);
  }
  ctx.Dirty();
  ctx.reply = Reply::Integer(static_cast<int64_t>(l->size()));
}

void LPush(CommandContext& ctx) {
  PushGeneric(ctx, true, false);
}
void RPush(CommandContext& ctx) {
  PushGeneric(ctx, false, false);
}
void LPushX(CommandContext& ctx) {
  PushGeneric(ctx, true, true);
}
void RPushX(CommandContext& ctx) {
  PushGeneric(ctx, false, true);
}

void PopGeneric(CommandContext& ctx, bool left) {
  bool has_count = ctx.argv.size() == 3;
  if (ctx.argv.size() > 3) {
    ctx.Error(ArityError(left ? "lpop" : "rpop"));
    return;
  }
  int64_t count = 0;
  if (has_count) {
    auto parsed = ParseInt(ctx.argv[2]);
    count = parsed.value_or(-1);
    if (count < 0) {
      ctx.Error("ERR value is out of range, must be positive");
      return;
    }
  }
  ListValue* l;
  if (!LookupAs(ctx, ctx.argv[1], &l)) return;
  if (!l) {
    ctx.reply = has_count ? Reply::NilArray() : Reply::Nil();
    return;
  }
  if (!has_count) {
    std::string v = left ? std::move(l->front()) : std::move(l->back());
    if (left)
      l->pop_front();
    else
      l->pop_back();
    ctx.reply = Reply::Bulk(std::move(v));
  } else {
    std::vector<Reply> out;
    while (count-- > 0 && !l->empty()) {
      out.push_back(Reply::Bulk(left ? std::move(l->front()) : std::move(l->back())));
      if (left)
        l->pop_front();
      else
        l->pop_back();
    }
    ctx.reply = Reply::Array(std::move(out));
  }
  if (l->empty()) ctx.db.Erase(ctx.argv[1]);
  ctx.Dirty();
}

void LPop(CommandContext& ctx) {
  PopGeneric(ctx, true);
}
void RPop(CommandContext& ctx) {
  PopGeneric(ctx, false);
}

void LRange(CommandContext& ctx) {
  int64_t start, end;
  if (!ArgInt(ctx, ctx.argv[2], &start) || !ArgInt(ctx, ctx.argv[3], &end)) return;
  ListValue* l;
  if (!LookupAs(ctx, ctx.argv[1], &l)) return;
  std::vector<Reply> out;
  if (l) {
    int64_t n = static_cast<int64_t>(l->size());
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (start < 0) start = 0;
    if (!(start > end || start >= n)) {
      if (end >= n) end = n - 1;
      for (int64_t i = start; i <= end; ++i) out.push_back(Reply::Bulk((*l)[static_cast<size_t>(i)]));
    }
  }
  ctx.reply = Reply::Array(std::move(out));
}

void LLen(CommandContext& ctx) {
  ListValue* l;
  if (!LookupAs(ctx, ctx.argv[1], &l)) return;
  ctx.reply = Reply::Integer(l ? static_cast<int64_t>(l->size()) : 0);
}

void LIndex(CommandContext& ctx) {
  int64_t index;
  ListValue* l;
  if (!LookupAs(ctx, ctx.argv[1], &l)) return;
  if (!l) {
    ctx.reply = Reply::Nil();
    return;
  }
  if (!ArgInt(ctx, ctx.argv[2], &index)) return;
  int64_t n = static_cast<int64_t>(l->size());
  if (index < 0) index += n;
  ctx.reply = index >= 0 && index < n ? Reply::Bulk((*l)[static_cast<size_t>(index)]) : Reply::Nil();
}

void LSet(CommandContext& ctx) {
  ListValue* l;
  if (!LookupAs(ctx, ctx.argv[1], &l)) return;
  if (!l) {
    ctx.Error("ERR no such key");
    return;
  }
  int64_t index;
  if (!ArgInt(ctx, ctx.argv[2], &index)) return;
  int64_t n = static_cast<int64_t>(l->size());
  if (index < 0) index += n;
  if (index < 0 || index >= n) {
    ctx.Error("ERR index out of range");
    return;
  }
  (*l)[static_cast<size_t>(index)] = ctx.argv[3];
  ctx.Dirty();
  ctx.reply = Reply::Ok();
}

void LTrim(CommandContext& ctx) {
  int64_t start, end;
  if (!ArgInt(ctx, ctx.argv[2], &start) || !ArgInt(ctx, ctx.argv[3], &end)) return;
  ListValue* l;
  if (!LookupAs(ctx, ctx.argv[1], &l)) return;
  ctx.reply = Reply::Ok();
  if (!l) return;
  int64_t n = static_cast<int64_t>(l->size());
  if (start < 0) start += n;
  if (end < 0) end += n;
  if (start < 0) start = 0;
  int64_t ltrim, rtrim;
  if (start > end || start >= n) {
    ltrim = n;
    rtrim = 0;
  } else {
    if (end >= n) end = n - 1;
    ltrim = start;
    rtrim = n - end - 1;
  }
  l->erase(l->begin(), l->begin() + ltrim);
  l->erase(l->end() - rtrim, l->end());
  if (l->empty()) ctx.db.Erase(ctx.argv[1]);
  ctx.Dirty();
}

void LRem(CommandContext& ctx) {
  int64_t count;
  if (!ArgInt(ctx, ctx.argv[2], &count)) return;
  ListValue* l;
  if (!LookupAs(ctx, ctx.argv[1], &l)) return;
  int64_t removed = 0;
  if (l) {
    const std::string& v = ctx.argv[3];
    if (count >= 0) {
      for (auto it = l->begin(); it != l->end();) {
        if (*it == v && (count == 0 || removed < count)) {
          it = l->erase(it);
          ++removed;
        } else {
          ++it;
        }
      }
    } else {
      for (size_t i = l->size(); i-- > 0;) {
        if ((*l)[i] == v && removed < -count) {
          l->erase(l->begin() + static_cast<std::ptrdiff_t>(i));
          ++removed;
        }
      }
    }
    if (l->empty()) ctx.db.Erase(ctx.argv[1]);
  }
  if (removed) ctx.Dirty();
  ctx.reply = Reply::Integer(removed);
}

// "LEFT"/"RIGHT" as LMOVE and LMPOP read them.
bool ArgWhere(CommandContext& ctx, std::string_view arg, bool* left) {
  if (IEquals(arg, "left")) {
    *left = true;
  } else if (IEquals(arg, "right")) {
    *left = false;
  } else {
    ctx.Error(err::kSyntax);
    return false;
  }
  return true;
}

// Redis's getRangeLongFromObjectOrReply with a message: a non-integer and an integer out of
// [min, max] both answer "ERR <msg>".
bool ArgRange(CommandContext& ctx, std::string_view arg, int64_t min, int64_t max, std::string_view msg, int64_t* out) {
  auto v = ParseInt(arg);
  if (!v || *v < min || *v > max) {
    ctx.Error("ERR " + std::string(msg));
    return false;
  }
  *out = *v;
  return true;
}

std::string PopEnd(ListValue& l, bool left) {
  std::string v = left ? std::move(l.front()) : std::move(l.back());
  if (left)
    l.pop_front();
  else
    l.pop_back();
  return v;
}

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT; RPOPLPUSH is LMOVE ... RIGHT LEFT.
void MoveGeneric(CommandContext& ctx, bool from_left, bool to_left) {
  const std::string& src_key = ctx.argv[1];
  const std::string& dst_key = ctx.argv[2];
  ListValue* src;
  if (!LookupAs(ctx, src_key, &src)) return;
  if (!src || src->empty()) {
    ctx.reply = Reply::Nil();
    return;
  }
  ListValue* dst;
  if (!LookupAs(ctx, dst_key, &dst)) return;
  std::string v = PopEnd(*src, from_left);
  if (!dst) dst = &std::get<ListValue>(ctx.db.Set(dst_key, ListValue{}).value);
  if (to_left)
    dst->push_front(v);
  else
    dst->push_back(v);
  if (src->empty()) ctx.db.Erase(src_key);
  ctx.Dirty();
  ctx.reply = Reply::Bulk(std::move(v));
}

void LMove(CommandContext& ctx) {
  bool from_left, to_left;
  if (!ArgWhere(ctx, ctx.argv[3], &from_left) || !ArgWhere(ctx, ctx.argv[4], &to_left)) return;
  MoveGeneric(ctx, from_left, to_left);
}

void RPopLPush(CommandContext& ctx) {
  MoveGeneric(ctx, false, true);
}

// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops from the first non-empty list,
// answered [key, [elements]] and logged as LPOP/RPOP key n.
void LMPop(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  int64_t numkeys;
  if (!ArgRange(ctx, a[1], 1, std::numeric_limits<int64_t>::max(), "numkeys should be greater than 0", &numkeys))
    return;
  if (numkeys > static_cast<int64_t>(a.size()) - 3) {
    ctx.Error(err::kSyntax);
    return;
  }
  size_t where_idx = 2 + static_cast<size_t>(numkeys);
  bool left;
  if (!ArgWhere(ctx, a[where_idx], &left)) return;
  int64_t count = -1;
  for (size_t j = where_idx + 1; j < a.size(); ++j) {
    bool more = j + 1 < a.size();
    if (count == -1 && IEquals(a[j], "count") && more) {
      ++j;
      if (!ArgRange(ctx, a[j], 1, std::numeric_limits<int64_t>::max(), "count should be greater than 0", &count))
        return;
    } else {
      ctx.Error(err::kSyntax);
      return;
    }
  }
  if (count == -1) count = 1;
  for (size_t k = 2; k < where_idx; ++k) {
    ListValue* l;
    if (!LookupAs(ctx, a[k], &l)) return;
    if (!l || l->empty()) continue;
    int64_t n = std::min<int64_t>(count, static_cast<int64_t>(l->size()));
    std::vector<Reply> items;
    items.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) items.push_back(Reply::Bulk(PopEnd(*l, left)));
    if (l->empty()) ctx.db.Erase(a[k]);
    ctx.Propagate({left ? "LPOP" : "RPOP", a[k], std::to_string(n)});
    ctx.reply = Reply::Array({Reply::Bulk(a[k]), Reply::Array(std::move(items))});
    return;
  }
  ctx.reply = Reply::NilArray();
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
void LPos(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  int64_t rank = 1, count = -1, maxlen = 0;  // count -1: no COUNT option
  for (size_t j = 3; j < a.size(); ++j) {
    bool more = j + 1 < a.size();
    if (IEquals(a[j], "rank") && more) {
      if (!ArgInt(ctx, a[++j], &rank)) return;
      if (rank == 0) {
        ctx.Error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to "
            "start from the end of the list");
        return;
      }
    } else if (IEquals(a[j], "count") && more) {
      if (!ArgRange(ctx, a[++j], 0, std::numeric_limits<int64_t>::max(), "COUNT can't be negative", &count)) return;
    } else if (IEquals(a[j], "maxlen") && more) {
      if (!ArgRange(ctx, a[++j], 0, std::numeric_limits<int64_t>::max(), "MAXLEN can't be negative", &maxlen)) return;
    } else {
      ctx.Error(err::kSyntax);
      return;
    }
  }
  bool reverse = rank < 0;
  // Redis negates a negative rank in a long; its most negative value stays negative there, so
  // every match counts and COUNT never ends the search (its test wraps).
  bool min_rank = rank == std::numeric_limits<int64_t>::min();
  if (reverse) rank = min_rank ? 1 : -rank;
  ListValue* l;
  if (!LookupAs(ctx, a[1], &l)) return;
  if (!l) {
    ctx.reply = count != -1 ? Reply::Array() : Reply::Nil();
    return;
  }
  const std::string& ele = a[2];
  int64_t n = static_cast<int64_t>(l->size());
  int64_t matches = 0;
  std::vector<Reply> out;
  for (int64_t index = 0; index < n && (maxlen == 0 || index < maxlen); ++index) {
    int64_t pos = reverse ? n - index - 1 : index;
    if ((*l)[static_cast<size_t>(pos)] != ele) continue;
    if (++matches < rank) continue;
    if (count == -1) {
      ctx.reply = Reply::Integer(pos);
      return;
    }
    out.push_back(Reply::Integer(pos));
    if (count != 0 && !min_rank && matches - rank + 1 >= count) break;
  }
  ctx.reply = count != -1 ? Reply::Array(std::move(out)) : Reply::Nil();
}

// LINSERT key BEFORE|AFTER pivot element: the new length, 0 without the key, -1 without the pivot.
void LInsert(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  bool after;
  if (IEquals(a[2], "after")) {
    after = true;
  } else if (IEquals(a[2], "before")) {
    after = false;
  } else {
    ctx.Error(err::kSyntax);
    return;
  }
  ListValue* l;
  if (!LookupAs(ctx, a[1], &l)) return;
  if (!l) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  auto it = std::find(l->begin(), l->end(), a[3]);
  if (it == l->end()) {
    ctx.reply = Reply::Integer(-1);
    return;
  }
  l->insert(after ? it + 1 : it, a[4]);
  ctx.Dirty();
  ctx.reply = Reply::Integer(static_cast<int64_t>(l->size()));
}

}  // namespace

Status RegisterListFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "lpush", .arity = -3, .flags = kWrite, .handler = LPush},
           CommandSpec{.name = "rpush", .arity = -3, .flags = kWrite, .handler = RPush},
           CommandSpec{.name = "lpushx", .arity = -3, .flags = kWrite, .handler = LPushX},
           CommandSpec{.name = "rpushx", .arity = -3, .flags = kWrite, .handler = RPushX},
           CommandSpec{.name = "lpop", .arity = -2, .flags = kWrite, .handler = LPop},
           CommandSpec{.name = "rpop", .arity = -2, .flags = kWrite, .handler = RPop},
           CommandSpec{.name = "lrange", .arity = 4, .flags = kReadOnly, .handler = LRange},
           CommandSpec{.name = "llen", .arity = 2, .flags = kReadOnly, .handler = LLen},
           CommandSpec{.name = "lindex", .arity = 3, .flags = kReadOnly, .handler = LIndex},
           CommandSpec{.name = "lset", .arity = 4, .flags = kWrite, .handler = LSet},
           CommandSpec{.name = "ltrim", .arity = 4, .flags = kWrite, .handler = LTrim},
           CommandSpec{.name = "lrem", .arity = 4, .flags = kWrite, .handler = LRem},
           CommandSpec{.name = "lmove", .arity = 5, .flags = kWrite, .handler = LMove},
           CommandSpec{.name = "rpoplpush", .arity = 3, .flags = kWrite, .handler = RPopLPush},
           CommandSpec{.name = "lmpop", .arity = -4, .flags = kWrite, .handler = LMPop},
           CommandSpec{.name = "lpos", .arity = -3, .flags = kReadOnly, .handler = LPos},
           CommandSpec{.name = "linsert", .arity = 5, .flags = kWrite, .handler = LInsert},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
