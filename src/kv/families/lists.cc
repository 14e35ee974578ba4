// Lists: pushes, pops, LRANGE, LLEN, LINDEX, LSET, LTRIM, LREM.
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
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
