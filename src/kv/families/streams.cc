// Streams: XADD, XTRIM, XRANGE, XREVRANGE, XLEN, XDEL, XSETID, XREAD and XREADGROUP. The
// group commands (XGROUP, XACK, XCLAIM, XAUTOCLAIM, XPENDING, XINFO, XDELEX, XACKDEL) are in
// streams_groups.cc. Generated ids and approximate trims are logged as their concrete effect;
// XREADGROUP logs its PEL changes as XCLAIM and XGROUP SETID records, as Redis propagates them.
#include "kv/engine.h"
#include "kv/families/stream_common.h"

namespace stratus::kv {
namespace {

using streams::EntryReply;
using streams::IdArg;
using streams::IdReply;
using streams::RangeArg;

struct AddTrimArgs {
  enum class Strategy { kNone, kMaxLen, kMinId } strategy = Strategy::kNone;
  bool approx = false;
  int64_t maxlen = 0;
  StreamId minid;
  int64_t limit = 0;
  bool nomkstream = false;
  bool id_given = false;
  ParsedStreamId id;
};

// Redis's streamParseAddOrTrimArgsOrReply: the index of the id (XADD), or -1 after an error.
int ParseAddTrim(CommandContext& ctx, bool xadd, AddTrimArgs* args) {
  const Argv& a = ctx.argv;
  int argc = static_cast<int>(a.size());
  bool limit_given = false;
  int i = 2;
  for (; i < argc; ++i) {
    int more = argc - 1 - i;
    const std::string& opt = a[i];
    if (xadd && opt == "*") break;
    bool maxlen = IEquals(opt, "maxlen"), minid = IEquals(opt, "minid");
    if ((maxlen || minid) && more) {
      if (args->strategy != AddTrimArgs::Strategy::kNone) {
        ctx.Error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
        return -1;
      }
      args->approx = false;
      if (more >= 2 && (a[i + 1] == "~" || a[i + 1] == "=")) {
        args->approx = a[i + 1] == "~";
        ++i;
      }
      if (maxlen) {
        if (!ArgInt(ctx, a[i + 1], &args->maxlen)) return -1;
        if (args->maxlen < 0) {
          ctx.Error("ERR The MAXLEN argument must be >= 0.");
          return -1;
        }
        args->strategy = AddTrimArgs::Strategy::kMaxLen;
      } else {
        if (!IdArg(ctx, a[i + 1], 0, true, &args->minid)) return -1;
        args->strategy = AddTrimArgs::Strategy::kMinId;
      }
      ++i;
    } else if (IEquals(opt, "limit") && more) {
      if (!ArgInt(ctx, a[i + 1], &args->limit)) return -1;
      if (args->limit < 0) {
        ctx.Error("ERR The LIMIT argument must be >= 0.");
        return -1;
      }
      limit_given = true;
      ++i;
    } else if (xadd && IEquals(opt, "nomkstream")) {
      args->nomkstream = true;
    } else if (xadd) {
      auto p = ParseStreamId(opt, 0, true, true, false);
      if (!p) {
        ctx.Error(kInvalidStreamId);
        return -1;
      }
      args->id = *p;
      args->id_given = true;
      break;
    } else {
      ctx.Error(err::kSyntax);
      return -1;
    }
  }
  if (args->limit && args->strategy == AddTrimArgs::Strategy::kNone) {
    ctx.Error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
    return -1;
  }
  if (!xadd && args->strategy == AddTrimArgs::Strategy::kNone) {
    ctx.Error("ERR syntax error, XTRIM must be called with a trimming strategy");
    return -1;
  }
  if (ctx.db.loading()) {
    args->limit = 0;  // the log holds exact trims
  } else if (limit_given) {
    if (!args->approx) {
      ctx.Error("ERR syntax error, LIMIT cannot be used without the special ~ option");
      return -1;
    }
  } else {
    args->limit = args->approx ? 10000 : 0;  // 100 * stream-node-max-entries
  }
  return i;
}

// Upstash trims `~` exactly (still at most LIMIT entries); Redis removes whole nodes only.
int64_t ApplyTrim(CommandContext& ctx, StreamValue& s, const AddTrimArgs& args) {
  bool whole_nodes = args.approx && ctx.engine.dialect() == Dialect::kRedis;
  if (args.strategy == AddTrimArgs::Strategy::kMaxLen)
    return s.TrimMaxLen(static_cast<uint64_t>(args.maxlen), whole_nodes, args.limit);
  if (args.strategy == AddTrimArgs::Strategy::kMinId) return s.TrimMinId(args.minid, whole_nodes, args.limit);
  return 0;
}

void XAdd(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  AddTrimArgs args;
  int idpos = ParseAddTrim(ctx, true, &args);
  if (idpos < 0) return;
  size_t field_pos = static_cast<size_t>(idpos) + 1;
  if (a.size() < field_pos + 2 || (a.size() - field_pos) % 2) return ctx.Error(ArityError("xadd"));
  if (args.id_given && args.id.seq_given && args.id.id.IsZero())
    return ctx.Error("ERR The ID specified in XADD must be greater than 0-0");
  StreamValue* s;
  if (!LookupAs(ctx, a[1], &s)) return;
  if (!s) {
    if (args.nomkstream) {
      ctx.reply = Reply::Nil();
      return;
    }
    s = &std::get<StreamValue>(ctx.db.Set(a[1], StreamValue{}).value);
  }
  if (s->last_id == StreamId::Max())
    return ctx.Error("ERR The stream has exhausted the last possible ID, unable to add more items");
  StreamId id;
  if (args.id_given) {
    id = args.id.id;
    if (!args.id.seq_given && s->last_id.ms == id.ms) {
      if (s->last_id.seq == UINT64_MAX)
        return ctx.Error("ERR The ID specified in XADD is equal or smaller than the target stream top item");
      id = {id.ms, s->last_id.seq + 1};
    }
  } else {
    auto now = static_cast<uint64_t>(std::max<int64_t>(0, ctx.now()));
    if (now > s->last_id.ms) {
      id = {now, 0};
    } else {
      id = s->last_id;
      id.Incr();
    }
  }
  if (id <= s->last_id)
    return ctx.Error("ERR The ID specified in XADD is equal or smaller than the target stream top item");
  s->Append(id, a, field_pos);
  ctx.reply = IdReply(id);
  Argv rec{"XADD", a[1], id.ToString()};
  rec.insert(rec.end(), a.begin() + static_cast<std::ptrdiff_t>(field_pos), a.end());
  ctx.Propagate(std::move(rec));
  if (ApplyTrim(ctx, *s, args) > 0) ctx.Propagate({"XTRIM", a[1], "MAXLEN", "=", std::to_string(s->length())});
}

void XTrim(CommandContext& ctx) {
  AddTrimArgs args;
  if (ParseAddTrim(ctx, false, &args) < 0) return;
  StreamValue* s;
  if (!LookupAs(ctx, ctx.argv[1], &s)) return;
  int64_t deleted = s ? ApplyTrim(ctx, *s, args) : 0;
  if (deleted) ctx.Propagate({"XTRIM", ctx.argv[1], "MAXLEN", "=", std::to_string(s->length())});
  ctx.reply = Reply::Integer(deleted);
}

void XRangeGeneric(CommandContext& ctx, bool rev) {
  const Argv& a = ctx.argv;
  StreamId start, end;
  if (!RangeArg(ctx, rev ? a[3] : a[2], true, &start)) return;
  if (!RangeArg(ctx, rev ? a[2] : a[3], false, &end)) return;
  int64_t count = -1;
  for (size_t j = 4; j < a.size(); ++j) {
    if (IEquals(a[j], "count") && j + 1 < a.size()) {
      if (!ArgInt(ctx, a[j + 1], &count)) return;
      if (count < 0) count = 0;
      ++j;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  StreamValue* s;
  if (!LookupAs(ctx, a[1], &s)) return;
  if (!s) {
    ctx.reply = Reply::Array();
    return;
  }
  if (count == 0) {
    ctx.reply = Reply::NilArray();
    return;
  }
  std::vector<Reply> out;
  if (start <= end) {
    auto lo = s->entries.lower_bound(start);
    auto hi = s->entries.upper_bound(end);
    if (!rev) {
      for (auto it = lo; it != hi && (count < 0 || static_cast<int64_t>(out.size()) < count); ++it)
        out.push_back(EntryReply(it->first, it->second));
    } else {
      for (auto it = hi; it != lo && (count < 0 || static_cast<int64_t>(out.size()) < count);) {
        --it;
        out.push_back(EntryReply(it->first, it->second));
      }
    }
  }
  ctx.reply = Reply::Array(std::move(out));
}

void XRange(CommandContext& ctx) {
  XRangeGeneric(ctx, false);
}
void XRevRange(CommandContext& ctx) {
  XRangeGeneric(ctx, true);
}

void XLen(CommandContext& ctx) {
  StreamValue* s;
  if (!LookupAs(ctx, ctx.argv[1], &s)) return;
  ctx.reply = Reply::Integer(s ? static_cast<int64_t>(s->length()) : 0);
}

void XDel(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  StreamValue* s;
  if (!LookupAs(ctx, a[1], &s)) return;
  if (!s) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  std::vector<StreamId> ids(a.size() - 2);
  for (size_t j = 2; j < a.size(); ++j) {
    if (!IdArg(ctx, a[j], 0, true, &ids[j - 2])) return;
  }
  int64_t deleted = 0;
  bool first = false;
  for (StreamId id : ids) {
    if (!s->Delete(id)) continue;
    if (id == s->first_id) first = true;
    if (id > s->max_deleted) s->max_deleted = id;
    ++deleted;
  }
  if (deleted) {
    if (s->entries.empty() || first) s->UpdateFirstId();
    ctx.Dirty();
  }
  ctx.reply = Reply::Integer(deleted);
}

void XSetId(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  StreamId id, max_del;
  int64_t entries_added = -1;
  if (!IdArg(ctx, a[2], 0, true, &id)) return;
  for (size_t i = 3; i < a.size();) {
    bool more = i + 1 < a.size();
    if (IEquals(a[i], "entriesadded") && more) {
      if (!ArgInt(ctx, a[i + 1], &entries_added)) return;
      if (entries_added < 0) return ctx.Error("ERR entries_added must be positive");
    } else if (IEquals(a[i], "maxdeletedid") && more) {
      if (!IdArg(ctx, a[i + 1], 0, true, &max_del)) return;
      if (id < max_del)
        return ctx.Error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
    } else {
      return ctx.Error(err::kSyntax);
    }
    i += 2;
  }
  StreamValue* s;
  if (!LookupAs(ctx, a[1], &s)) return;
  if (!s) return ctx.Error("ERR no such key");
  if (id < s->max_deleted)
    return ctx.Error("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id");
  if (!s->entries.empty()) {
    if (id < s->entries.rbegin()->first)
      return ctx.Error("ERR The ID specified in XSETID is smaller than the target stream top item");
    if (entries_added != -1 && s->length() > static_cast<uint64_t>(entries_added))
      return ctx.Error("ERR The entries_added specified in XSETID is smaller than the target stream length");
  }
  s->last_id = id;
  if (entries_added != -1) s->entries_added = static_cast<uint64_t>(entries_added);
  if (!max_del.IsZero()) s->max_deleted = max_del;
  ctx.Dirty();
  ctx.reply = Reply::Ok();
}

// XREADGROUP's delivery of new entries (`>`): each goes to the consumer's PEL (unless NOACK),
// the group's last id and read counter advance.
void DeliverNew(CommandContext& ctx, StreamValue& s, const std::string& key, const std::string& gname, StreamGroup& g,
                StreamConsumer& c, const std::string& cname, StreamId start, int64_t count, bool noack,
                std::vector<Reply>* out) {
  bool moved = false;
  int64_t now = ctx.now();
  for (auto it = s.entries.lower_bound(start); it != s.entries.end(); ++it) {
    StreamId id = it->first;
    if (id > g.last_id) {
      if (g.entries_read != kInvalidEntriesRead && !s.RangeHasTombstones(id)) {
        ++g.entries_read;
      } else if (s.entries_added) {
        g.entries_read = s.EstimateDistance(id);
      }
      g.last_id = id;
      moved = true;
    }
    out->push_back(EntryReply(id, it->second));
    if (!noack) {
      auto [nit, inserted] = g.pel.try_emplace(id);
      if (!inserted) {
        auto old = g.consumers.find(nit->second.consumer);
        if (old != g.consumers.end()) old->second.pending.erase(id);
      }
      nit->second = StreamNack{now, 1, cname};
      c.pending.insert(id);
      ctx.Propagate(streams::ClaimRecord(key, gname, g, id, nit->second));
    }
    if (count && static_cast<int64_t>(out->size()) == count) break;
  }
  if (moved) ctx.Propagate(streams::SetIdRecord(key, gname, g));
}

// XREADGROUP with an id: the consumer's own pending entries after it, redelivered.
void DeliverHistory(CommandContext& ctx, StreamValue& s, const std::string& key, const std::string& gname,
                    StreamGroup& g, StreamConsumer& c, StreamId start, int64_t count, std::vector<Reply>* out) {
  for (auto it = c.pending.lower_bound(start);
       it != c.pending.end() && (!count || static_cast<int64_t>(out->size()) < count); ++it) {
    auto e = s.entries.find(*it);
    if (e == s.entries.end()) {
      out->push_back(Reply::Array({IdReply(*it), Reply::NilArray()}));
      continue;
    }
    out->push_back(EntryReply(e->first, e->second));
    StreamNack& nack = g.pel[*it];
    nack.delivery_time = ctx.now();
    ++nack.delivery_count;
    ctx.Propagate(streams::ClaimRecord(key, gname, g, *it, nack));
  }
}

void XReadGeneric(CommandContext& ctx, bool group_form) {
  const Argv& a = ctx.argv;
  int64_t count = 0;
  size_t streams_arg = 0, nstreams = 0;
  bool noack = false;
  const std::string* gname = nullptr;
  const std::string* cname = nullptr;
  for (size_t i = 1; i < a.size(); ++i) {
    size_t more = a.size() - i - 1;
    const std::string& o = a[i];
    if (IEquals(o, "block") && more) {
      ++i;
      auto t = ParseInt(a[i]);
      if (!t) return ctx.Error("ERR timeout is not an integer or out of range");
      if (*t < 0) return ctx.Error("ERR timeout is negative");
      // The embedded engine never blocks: BLOCK answers as Redis does where a client may not
      // block (MULTI, scripts), as if the timeout had passed.
    } else if (IEquals(o, "count") && more) {
      ++i;
      if (!ArgInt(ctx, a[i], &count)) return;
      if (count < 0) count = 0;
    } else if (IEquals(o, "streams") && more) {
      streams_arg = i + 1;
      nstreams = a.size() - streams_arg;
      if (nstreams % 2) {
        return ctx.Error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
      }
      nstreams /= 2;
      break;
    } else if (IEquals(o, "group") && more >= 2) {
      if (!group_form)
        return ctx.Error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
      gname = &a[i + 1];
      cname = &a[i + 2];
      i += 2;
    } else if (IEquals(o, "noack")) {
      if (!group_form)
        return ctx.Error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
      noack = true;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  if (streams_arg == 0) return ctx.Error(err::kSyntax);
  if (group_form && !gname) return ctx.Error("ERR Missing GROUP option for XREADGROUP");

  struct Target {
    StreamValue* s = nullptr;
    StreamGroup* g = nullptr;
    StreamId gt;
    bool newest = false;  // `>`
  };
  std::vector<Target> targets(nstreams);
  for (size_t k = 0; k < nstreams; ++k) {
    const std::string& key = a[streams_arg + k];
    const std::string& idarg = a[streams_arg + nstreams + k];
    Target& t = targets[k];
    if (!LookupAs(ctx, key, &t.s)) return;
    if (gname) {
      if (t.s) {
        auto git = t.s->groups.find(*gname);
        if (git != t.s->groups.end()) t.g = &git->second;
      }
      if (!t.g) {
        return ctx.Error("NOGROUP No such key '" + key + "' or consumer group '" + *gname +
                         "' in XREADGROUP with GROUP option");
      }
    }
    if (idarg == "$") {
      if (group_form)
        return ctx.Error(
            "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer "
            "by "
            "specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result "
            "set.");
      t.gt = t.s ? t.s->last_id : StreamId{};
      continue;
    }
    if (idarg == ">") {
      if (!group_form) {
        return ctx.Error(
            "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
      }
      t.newest = true;
      t.gt = StreamId::Max();
      continue;
    }
    if (!IdArg(ctx, idarg, 0, true, &t.gt)) return;
  }

  std::vector<Reply> out;
  for (size_t k = 0; k < nstreams; ++k) {
    Target& t = targets[k];
    if (!t.s) continue;
    const std::string& key = a[streams_arg + k];
    bool serve = false, history = false;
    StreamId gt = t.gt;
    if (t.g) {
      if (!t.newest) {
        serve = history = true;
      } else if (!t.s->entries.empty() && t.s->entries.rbegin()->first > t.g->last_id) {
        serve = true;
        gt = t.g->last_id;
      }
    } else if (!t.s->entries.empty() && t.s->entries.rbegin()->first > gt) {
      serve = true;
    }
    if (!serve) continue;
    StreamId start = gt;
    start.Incr();
    std::vector<Reply> items;
    if (t.g) {
      // Upstash serves NOACK reads without creating the consumer (XINFO CONSUMERS stays
      // empty); Redis creates it with nothing pending.
      StreamConsumer unnamed;
      StreamConsumer* c = &unnamed;
      if (!noack || ctx.engine.dialect() == Dialect::kRedis || t.g->consumers.count(*cname)) {
        auto [cit, created] = t.g->consumers.try_emplace(*cname);
        if (created) ctx.Propagate({"XGROUP", "CREATECONSUMER", key, *gname, *cname});
        c = &cit->second;
        c->seen_time = ctx.now();
      }
      ctx.Dirty();
      if (history) {
        DeliverHistory(ctx, *t.s, key, *gname, *t.g, *c, start, count, &items);
      } else {
        DeliverNew(ctx, *t.s, key, *gname, *t.g, *c, *cname, start, count, noack, &items);
      }
    } else {
      for (auto it = t.s->entries.lower_bound(start);
           it != t.s->entries.end() && (!count || static_cast<int64_t>(items.size()) < count); ++it) {
        items.push_back(EntryReply(it->first, it->second));
      }
    }
    out.push_back(Reply::Array({Reply::Bulk(key), Reply::Array(std::move(items))}));
  }
  if (group_form && !ctx.custom) ctx.NoPropagate();
  ctx.reply = out.empty() ? Reply::NilArray() : Reply::Array(std::move(out));
}

void XRead(CommandContext& ctx) {
  XReadGeneric(ctx, false);
}
void XReadGroup(CommandContext& ctx) {
  XReadGeneric(ctx, true);
}

}  // namespace

Status RegisterStreamFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "xadd", .arity = -5, .flags = kWrite, .handler = XAdd},
           CommandSpec{.name = "xtrim", .arity = -4, .flags = kWrite, .handler = XTrim},
           CommandSpec{.name = "xrange", .arity = -4, .flags = kReadOnly, .handler = XRange},
           CommandSpec{.name = "xrevrange", .arity = -4, .flags = kReadOnly, .handler = XRevRange},
           CommandSpec{.name = "xlen", .arity = 2, .flags = kReadOnly, .handler = XLen},
           CommandSpec{.name = "xdel", .arity = -3, .flags = kWrite, .handler = XDel},
           CommandSpec{.name = "xsetid", .arity = -3, .flags = kWrite, .handler = XSetId},
           CommandSpec{.name = "xread", .arity = -4, .flags = kReadOnly, .handler = XRead},
           CommandSpec{.name = "xreadgroup", .arity = -7, .flags = kWrite, .handler = XReadGroup},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return streams::RegisterStreamGroupCommands(t);
}

}  // namespace stratus::kv
