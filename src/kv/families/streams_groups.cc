// Stream consumer groups: XGROUP (CREATE SETID DESTROY CREATECONSUMER DELCONSUMER HELP), XACK,
// XCLAIM, XAUTOCLAIM, XPENDING, XINFO (STREAM [FULL [COUNT n]], GROUPS, CONSUMERS, HELP), and
// Redis 8.2's XDELEX and XACKDEL. Claims log one XCLAIM record per PEL entry they change,
// with its time and count, so a replay rebuilds the same PEL.
#include "kv/families/stream_common.h"

namespace stratus::kv::streams {

void HelpReply(CommandContext& ctx, std::initializer_list<const char*> lines) {
  std::vector<Reply> out;
  for (const char* l : lines) out.push_back(Reply::Status(l));
  ctx.reply = Reply::Array(std::move(out));
}

bool Subcommand(CommandContext& ctx, std::string_view container,
                std::initializer_list<std::pair<std::string_view, int>> subs, std::string* name) {
  const std::string sub = ToLower(ctx.argv[1]);
  for (const auto& [n, arity] : subs) {
    if (sub != n) continue;
    const int argc = static_cast<int>(ctx.argv.size());
    if ((arity > 0 && argc != arity) || (arity < 0 && argc < -arity)) {
      ctx.Error("ERR wrong number of arguments for '" + ToLower(container) + "|" + sub + "' command");
      return false;
    }
    *name = sub;
    return true;
  }
  ctx.Error("ERR unknown subcommand '" + ctx.argv[1].substr(0, 128) + "'. Try " + std::string(container) + " HELP.");
  return false;
}

namespace {

void SubcommandSyntaxError(CommandContext& ctx, std::string_view container) {
  ctx.Error("ERR unknown subcommand or wrong number of arguments for '" + ctx.argv[1].substr(0, 128) + "'. Try " +
            std::string(container) + " HELP.");
}

StreamGroup* FindGroup(StreamValue* s, const std::string& name) {
  if (!s) return nullptr;
  auto it = s->groups.find(name);
  return it == s->groups.end() ? nullptr : &it->second;
}

// A consumer looked up as XCLAIM does (refreshing its seen time), created when absent.
StreamConsumer& ClaimingConsumer(CommandContext& ctx, StreamGroup& g, const std::string& name) {
  auto [it, created] = g.consumers.try_emplace(name);
  (void)created;
  it->second.seen_time = ctx.now();
  return it->second;
}

// Moves a PEL entry to `c` (named `name`).
void Reassign(StreamGroup& g, StreamId id, StreamNack& nack, StreamConsumer& c, const std::string& name) {
  if (nack.consumer != name) {
    auto old = g.consumers.find(nack.consumer);
    if (old != g.consumers.end()) old->second.pending.erase(id);
    nack.consumer = name;
  }
  c.pending.insert(id);
}

void XGroup(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  std::string sub;
  if (!Subcommand(
          ctx, "XGROUP",
          {{"create", -5}, {"setid", -5}, {"destroy", 4}, {"createconsumer", 5}, {"delconsumer", 5}, {"help", 2}},
          &sub))
    return;
  if (sub == "help") {
    return HelpReply(ctx, {"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                           "CREATE <key> <groupname> <id|$> [option]", "    Creates a consumer group at <id>.",
                           "    MKSTREAM creates the stream when missing; ENTRIESREAD <n> sets its read counter.",
                           "CREATECONSUMER <key> <groupname> <consumer>", "    Adds a consumer to a group.",
                           "DELCONSUMER <key> <groupname> <consumer>",
                           "    Removes a consumer and its pending entries.", "DESTROY <key> <groupname>",
                           "    Removes a consumer group.", "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
                           "    Moves the group's last delivered id.", "HELP", "    This text."});
  }
  bool mkstream = false;
  int64_t entries_read = kInvalidEntriesRead;
  auto entries_read_arg = [&](const std::string& v) {
    if (!ArgInt(ctx, v, &entries_read)) return false;
    if (entries_read < 0 && entries_read != kInvalidEntriesRead) {
      ctx.Error("ERR value for ENTRIESREAD must be positive or -1");
      return false;
    }
    return true;
  };
  if (sub == "create") {
    for (size_t i = 5; i < a.size();) {
      if (IEquals(a[i], "mkstream")) {
        mkstream = true;
        ++i;
      } else if (IEquals(a[i], "entriesread") && i + 1 < a.size()) {
        if (!entries_read_arg(a[i + 1])) return;
        i += 2;
      } else {
        return SubcommandSyntaxError(ctx, "XGROUP");
      }
    }
  } else if (sub == "setid") {
    if (a.size() == 7) {
      if (!IEquals(a[5], "entriesread")) return SubcommandSyntaxError(ctx, "XGROUP");
      if (!entries_read_arg(a[6])) return;
    } else if (a.size() != 5) {
      return SubcommandSyntaxError(ctx, "XGROUP");
    }
  }
  StreamValue* s;
  if (!LookupAs(ctx, a[2], &s)) return;
  const std::string& gname = a[3];
  StreamGroup* g = FindGroup(s, gname);
  if (!mkstream) {
    if (!s) {
      return ctx.Error(
          "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM "
          "option to create an empty stream automatically.");
    }
    if (!g && (sub == "setid" || sub == "createconsumer" || sub == "delconsumer")) {
      return ctx.Error("NOGROUP No such consumer group '" + gname + "' for key name '" + a[2] + "'");
    }
  }
  if (sub == "create") {
    if (a.size() > 8) return SubcommandSyntaxError(ctx, "XGROUP");
    StreamId id;
    if (a[4] == "$") {
      id = s ? s->last_id : StreamId{};
    } else if (!IdArg(ctx, a[4], 0, true, &id)) {
      return;
    }
    if (!s) s = &std::get<StreamValue>(ctx.db.Set(a[2], StreamValue{}).value);
    auto [it, created] = s->groups.try_emplace(gname);
    if (!created) return ctx.Error("BUSYGROUP Consumer Group name already exists");
    ctx.Dirty();
    it->second.last_id = id;
    it->second.entries_read = entries_read;
    ctx.reply = Reply::Ok();
  } else if (sub == "setid") {
    StreamId id;
    if (a[4] == "$") {
      id = s->last_id;
    } else if (!IdArg(ctx, a[4], 0, false, &id)) {
      return;
    }
    g->last_id = id;
    g->entries_read = entries_read;
    ctx.Dirty();
    ctx.reply = Reply::Ok();
  } else if (sub == "destroy") {
    if (g) {
      s->groups.erase(gname);
      ctx.Dirty();
    }
    ctx.reply = Reply::Integer(g ? 1 : 0);
  } else if (sub == "createconsumer") {
    auto [it, created] = g->consumers.try_emplace(a[4]);
    if (created) {
      it->second.seen_time = ctx.now();
      ctx.Dirty();
    }
    ctx.reply = Reply::Integer(created ? 1 : 0);
  } else {  // delconsumer
    int64_t pending = 0;
    auto it = g->consumers.find(a[4]);
    if (it != g->consumers.end()) {
      pending = static_cast<int64_t>(it->second.pending.size());
      for (StreamId id : it->second.pending) g->pel.erase(id);
      g->consumers.erase(it);
      ctx.Dirty();
    }
    ctx.reply = Reply::Integer(pending);
  }
}

void XAck(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  StreamValue* s;
  if (!LookupAs(ctx, a[1], &s)) return;
  StreamGroup* g = FindGroup(s, a[2]);
  if (!g) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  std::vector<StreamId> ids(a.size() - 3);
  for (size_t j = 3; j < a.size(); ++j) {
    if (!IdArg(ctx, a[j], 0, true, &ids[j - 3])) return;
  }
  int64_t acked = 0;
  for (StreamId id : ids) {
    auto it = g->pel.find(id);
    if (it == g->pel.end()) continue;
    DropNack(*g, it);
    ++acked;
  }
  if (acked) ctx.Dirty();
  ctx.reply = Reply::Integer(acked);
}

void XPending(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  const size_t argc = a.size();
  bool summary = argc == 3;
  if (argc != 3 && (argc < 6 || argc > 9)) return ctx.Error(err::kSyntax);
  StreamId start, end;
  int64_t count = 0, minidle = 0;
  const std::string* consumer_name = nullptr;
  if (argc >= 6) {
    size_t idx = 3;
    if (IEquals(a[3], "idle")) {
      if (!ArgInt(ctx, a[4], &minidle)) return;
      if (argc < 8) return ctx.Error(err::kSyntax);
      idx += 2;
    }
    if (!ArgInt(ctx, a[idx + 2], &count)) return;
    if (count < 0) count = 0;
    if (!RangeArg(ctx, a[idx], true, &start)) return;
    if (!RangeArg(ctx, a[idx + 1], false, &end)) return;
    if (idx + 3 < argc) consumer_name = &a[idx + 3];
  }
  StreamValue* s;
  if (!LookupAs(ctx, a[1], &s)) return;
  StreamGroup* g = FindGroup(s, a[2]);
  if (!g) return ctx.Error(NoGroupError(a[1], a[2]));
  if (summary) {
    std::vector<Reply> out{Reply::Integer(static_cast<int64_t>(g->pel.size()))};
    if (g->pel.empty()) {
      out.push_back(Reply::Nil());
      out.push_back(Reply::Nil());
      out.push_back(Reply::NilArray());
    } else {
      out.push_back(IdReply(g->pel.begin()->first));
      out.push_back(IdReply(g->pel.rbegin()->first));
      std::vector<Reply> consumers;
      for (const auto& [name, c] : g->consumers) {
        if (c.pending.empty()) continue;
        consumers.push_back(Reply::Array({Reply::Bulk(name), Reply::Bulk(std::to_string(c.pending.size()))}));
      }
      out.push_back(Reply::Array(std::move(consumers)));
    }
    ctx.reply = Reply::Array(std::move(out));
    return;
  }
  const StreamConsumer* c = nullptr;
  if (consumer_name) {
    auto it = g->consumers.find(*consumer_name);
    if (it == g->consumers.end()) {
      ctx.reply = Reply::Array();
      return;
    }
    c = &it->second;
  }
  int64_t now = ctx.now();
  std::vector<Reply> out;
  auto emit = [&](StreamId id, const StreamNack& nack) {
    if (minidle && now - nack.delivery_time < minidle) return;
    --count;
    out.push_back(Reply::Array({IdReply(id), Reply::Bulk(nack.consumer),
                                Reply::Integer(std::max<int64_t>(0, now - nack.delivery_time)),
                                Reply::Integer(static_cast<int64_t>(nack.delivery_count))}));
  };
  if (c) {
    for (auto it = c->pending.lower_bound(start); count && it != c->pending.end() && *it <= end; ++it)
      emit(*it, g->pel.at(*it));
  } else {
    for (auto it = g->pel.lower_bound(start); count && it != g->pel.end() && it->first <= end; ++it)
      emit(it->first, it->second);
  }
  ctx.reply = Reply::Array(std::move(out));
}

void XClaim(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  const std::string& key = a[1];
  const std::string& gname = a[2];
  const std::string& cname = a[3];
  StreamValue* s;
  if (!LookupAs(ctx, key, &s)) return;
  StreamGroup* g = FindGroup(s, gname);
  if (!g) return ctx.Error(NoGroupError(key, gname));
  auto minidle = ParseInt(a[4]);
  if (!minidle) return ctx.Error("ERR Invalid min-idle-time argument for XCLAIM");
  if (*minidle < 0) *minidle = 0;
  std::vector<StreamId> ids;
  size_t j = 5;
  for (; j < a.size(); ++j) {
    auto p = ParseStreamId(a[j], 0, true, false, false);
    if (!p) break;
    ids.push_back(p->id);
  }
  int64_t now = ctx.now();
  int64_t retrycount = -1, deliverytime = -1;
  bool force = false, justid = false;
  StreamId last_id;
  for (; j < a.size(); ++j) {
    bool more = j + 1 < a.size();
    const std::string& opt = a[j];
    auto int_opt = [&](const char* what, int64_t* out) {
      auto v = ParseInt(a[++j]);
      if (!v) {
        ctx.Error(std::string("ERR Invalid ") + what + " option argument for XCLAIM");
        return false;
      }
      *out = *v;
      return true;
    };
    if (IEquals(opt, "force")) {
      force = true;
    } else if (IEquals(opt, "justid")) {
      justid = true;
    } else if (IEquals(opt, "idle") && more) {
      if (!int_opt("IDLE", &deliverytime)) return;
      deliverytime = now - deliverytime;
    } else if (IEquals(opt, "time") && more) {
      if (!int_opt("TIME", &deliverytime)) return;
    } else if (IEquals(opt, "retrycount") && more) {
      if (!int_opt("RETRYCOUNT", &retrycount)) return;
    } else if (IEquals(opt, "lastid") && more) {
      if (!IdArg(ctx, a[++j], 0, true, &last_id)) return;
    } else {
      return ctx.Error("ERR Unrecognized XCLAIM option '" + opt + "'");
    }
  }
  bool propagate_last_id = false;
  if (last_id > g->last_id) {
    g->last_id = last_id;
    propagate_last_id = true;
  }
  if (deliverytime < 0 || deliverytime > now) deliverytime = now;
  StreamConsumer* consumer = nullptr;
  std::vector<Reply> out;
  for (StreamId id : ids) {
    auto nit = g->pel.find(id);
    auto entry = s->entries.find(id);
    if (entry == s->entries.end()) {
      if (nit != g->pel.end()) {
        ctx.Propagate(ClaimRecord(key, gname, *g, id, nit->second));
        propagate_last_id = false;
        DropNack(*g, nit);
      }
      continue;
    }
    bool fresh = false;
    if (force && nit == g->pel.end()) {
      nit = g->pel.emplace(id, StreamNack{now, 1, ""}).first;
      fresh = true;
    }
    if (nit == g->pel.end()) continue;
    StreamNack& nack = nit->second;
    if (!fresh && *minidle && now - nack.delivery_time < *minidle) continue;
    if (!consumer) consumer = &ClaimingConsumer(ctx, *g, cname);
    Reassign(*g, id, nack, *consumer, cname);
    nack.delivery_time = deliverytime;
    if (retrycount >= 0) {
      nack.delivery_count = static_cast<uint64_t>(retrycount);
    } else if (!justid) {
      ++nack.delivery_count;
    }
    out.push_back(justid ? IdReply(id) : EntryReply(id, entry->second));
    ctx.Propagate(ClaimRecord(key, gname, *g, id, nack));
    propagate_last_id = false;
  }
  if (propagate_last_id) ctx.Propagate(SetIdRecord(key, gname, *g));
  ctx.NoPropagate();
  ctx.reply = Reply::Array(std::move(out));
}

void XAutoClaim(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  const std::string& key = a[1];
  const std::string& gname = a[2];
  const std::string& cname = a[3];
  auto minidle = ParseInt(a[4]);
  if (!minidle) return ctx.Error("ERR Invalid min-idle-time argument for XAUTOCLAIM");
  if (*minidle < 0) *minidle = 0;
  StreamId start;
  if (!RangeArg(ctx, a[5], true, &start)) return;
  int64_t count = 100;
  bool justid = false;
  for (size_t j = 6; j < a.size(); ++j) {
    if (IEquals(a[j], "count") && j + 1 < a.size()) {
      auto v = ParseInt(a[j + 1]);
      if (!v || *v < 1 || *v > INT64_MAX / 16) return ctx.Error("ERR COUNT must be > 0");
      count = *v;
      ++j;
    } else if (IEquals(a[j], "justid")) {
      justid = true;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  StreamValue* s;
  if (!LookupAs(ctx, key, &s)) return;
  StreamGroup* g = FindGroup(s, gname);
  if (!g) return ctx.Error(NoGroupError(key, gname));
  int64_t attempts = count * 10;
  int64_t now = ctx.now();
  StreamConsumer* consumer = nullptr;
  std::vector<Reply> claimed, deleted;
  auto it = g->pel.lower_bound(start);
  while (attempts-- && count && it != g->pel.end()) {
    StreamId id = it->first;
    auto entry = s->entries.find(id);
    if (entry == s->entries.end()) {
      ctx.Propagate(ClaimRecord(key, gname, *g, id, it->second));
      auto next = std::next(it);
      DropNack(*g, it);
      it = next;
      deleted.push_back(IdReply(id));
      --count;
      continue;
    }
    StreamNack& nack = it->second;
    if (*minidle && now - nack.delivery_time < *minidle) {
      ++it;
      continue;
    }
    if (!consumer) consumer = &ClaimingConsumer(ctx, *g, cname);
    Reassign(*g, id, nack, *consumer, cname);
    nack.delivery_time = now;
    if (!justid) ++nack.delivery_count;
    claimed.push_back(justid ? IdReply(id) : EntryReply(id, entry->second));
    --count;
    ctx.Propagate(ClaimRecord(key, gname, *g, id, nack));
    ++it;
  }
  StreamId cursor = it == g->pel.end() ? StreamId{} : it->first;
  ctx.NoPropagate();
  ctx.reply = Reply::Array({IdReply(cursor), Reply::Array(std::move(claimed)), Reply::Array(std::move(deleted))});
}

Reply GroupLag(const StreamValue& s, const StreamGroup& g) {
  return OptionalInt(s.Lag(g));
}

Reply EntriesRead(const StreamGroup& g) {
  return g.entries_read == kInvalidEntriesRead ? Reply::Nil() : Reply::Integer(g.entries_read);
}

// Redis's radix tree spends about this many nodes on n 16-byte keys; an estimate.
int64_t RaxNodes(size_t keys) {
  return keys == 0 ? 1 : static_cast<int64_t>(2 * keys);
}

void XInfoStream(CommandContext& ctx, const StreamValue& s) {
  const Argv& a = ctx.argv;
  bool full = a.size() > 3;
  int64_t count = 10;
  if (full) {
    if (a.size() != 4 && a.size() != 6) return SubcommandSyntaxError(ctx, "XINFO");
    if (!IEquals(a[3], "full")) return SubcommandSyntaxError(ctx, "XINFO");
    if (a.size() == 6) {
      if (!IEquals(a[4], "count")) return SubcommandSyntaxError(ctx, "XINFO");
      if (!ArgInt(ctx, a[5], &count)) return;
      if (count < 0) count = 10;
    }
  }
  std::vector<Reply> out;
  auto field = [&](const char* name, Reply v) {
    out.push_back(Reply::Bulk(name));
    out.push_back(std::move(v));
  };
  field("length", Reply::Integer(static_cast<int64_t>(s.length())));
  field("radix-tree-keys", Reply::Integer(static_cast<int64_t>(s.nodes.size())));
  field("radix-tree-nodes", Reply::Integer(RaxNodes(s.nodes.size())));
  field("last-generated-id", IdReply(s.last_id));
  field("max-deleted-entry-id", IdReply(s.max_deleted));
  field("entries-added", Reply::Integer(static_cast<int64_t>(s.entries_added)));
  field("recorded-first-entry-id", IdReply(s.first_id));
  if (!full) {
    field("groups", Reply::Integer(static_cast<int64_t>(s.groups.size())));
    field("first-entry",
          s.entries.empty() ? Reply::Nil() : EntryReply(s.entries.begin()->first, s.entries.begin()->second));
    field("last-entry",
          s.entries.empty() ? Reply::Nil() : EntryReply(s.entries.rbegin()->first, s.entries.rbegin()->second));
    ctx.reply = Reply::Array(std::move(out));
    return;
  }
  std::vector<Reply> entries;
  for (const auto& [id, packed] : s.entries) {
    if (count && static_cast<int64_t>(entries.size()) == count) break;
    entries.push_back(EntryReply(id, packed));
  }
  field("entries", Reply::Array(std::move(entries)));
  std::vector<Reply> groups;
  for (const auto& [name, g] : s.groups) {
    std::vector<Reply> pel;
    for (const auto& [id, nack] : g.pel) {
      if (count && static_cast<int64_t>(pel.size()) == count) break;
      pel.push_back(Reply::Array({IdReply(id), Reply::Bulk(nack.consumer), Reply::Integer(nack.delivery_time),
                                  Reply::Integer(static_cast<int64_t>(nack.delivery_count))}));
    }
    std::vector<Reply> consumers;
    for (const auto& [cname, c] : g.consumers) {
      std::vector<Reply> cpel;
      for (StreamId id : c.pending) {
        if (count && static_cast<int64_t>(cpel.size()) == count) break;
        const StreamNack& nack = g.pel.at(id);
        cpel.push_back(Reply::Array({IdReply(id), Reply::Integer(nack.delivery_time),
                                     Reply::Integer(static_cast<int64_t>(nack.delivery_count))}));
      }
      consumers.push_back(
          Reply::Array({Reply::Bulk("name"), Reply::Bulk(cname), Reply::Bulk("seen-time"), Reply::Integer(c.seen_time),
                        Reply::Bulk("pel-count"), Reply::Integer(static_cast<int64_t>(c.pending.size())),
                        Reply::Bulk("pending"), Reply::Array(std::move(cpel))}));
    }
    groups.push_back(Reply::Array(
        {Reply::Bulk("name"), Reply::Bulk(name), Reply::Bulk("last-delivered-id"), IdReply(g.last_id),
         Reply::Bulk("entries-read"), EntriesRead(g), Reply::Bulk("lag"), GroupLag(s, g), Reply::Bulk("pel-count"),
         Reply::Integer(static_cast<int64_t>(g.pel.size())), Reply::Bulk("pending"), Reply::Array(std::move(pel)),
         Reply::Bulk("consumers"), Reply::Array(std::move(consumers))}));
  }
  field("groups", Reply::Array(std::move(groups)));
  ctx.reply = Reply::Array(std::move(out));
}

void XInfo(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  std::string sub;
  if (!Subcommand(ctx, "XINFO", {{"stream", -3}, {"groups", 3}, {"consumers", 4}, {"help", 2}}, &sub)) return;
  if (sub == "help") {
    return HelpReply(ctx, {"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                           "CONSUMERS <key> <groupname>", "    The consumers of a group, with their pending counts.",
                           "GROUPS <key>", "    The consumer groups of a stream.", "STREAM <key> [FULL [COUNT <count>]",
                           "    The stream's counters and first and last entries; FULL adds entries, PELs, consumers.",
                           "HELP", "    This text."});
  }
  StreamValue* s;
  if (!LookupAs(ctx, a[2], &s)) return;
  if (!s) return ctx.Error("ERR no such key");
  if (sub == "stream") return XInfoStream(ctx, *s);
  if (sub == "groups") {
    std::vector<Reply> out;
    for (const auto& [name, g] : s->groups) {
      out.push_back(Reply::Array({Reply::Bulk("name"), Reply::Bulk(name), Reply::Bulk("consumers"),
                                  Reply::Integer(static_cast<int64_t>(g.consumers.size())), Reply::Bulk("pending"),
                                  Reply::Integer(static_cast<int64_t>(g.pel.size())), Reply::Bulk("last-delivered-id"),
                                  IdReply(g.last_id), Reply::Bulk("entries-read"), EntriesRead(g), Reply::Bulk("lag"),
                                  GroupLag(*s, g)}));
    }
    ctx.reply = Reply::Array(std::move(out));
    return;
  }
  StreamGroup* g = FindGroup(s, a[3]);
  if (!g) return ctx.Error("NOGROUP No such consumer group '" + a[3] + "' for key name '" + a[2] + "'");
  std::vector<Reply> out;
  int64_t now = ctx.now();
  for (const auto& [name, c] : g->consumers) {
    out.push_back(Reply::Array({Reply::Bulk("name"), Reply::Bulk(name), Reply::Bulk("pending"),
                                Reply::Integer(static_cast<int64_t>(c.pending.size())), Reply::Bulk("idle"),
                                Reply::Integer(std::max<int64_t>(0, now - c.seen_time))}));
  }
  ctx.reply = Reply::Array(std::move(out));
}

enum class RefPolicy { kKeepRef, kDelRef, kAcked };

// `[KEEPREF | DELREF | ACKED] IDS numids id...` from argv[first]; false after the error.
bool ParseDeleteIds(CommandContext& ctx, size_t first, RefPolicy* policy, std::vector<StreamId>* ids) {
  const Argv& a = ctx.argv;
  size_t i = first;
  bool policy_given = false;
  for (; i < a.size(); ++i) {
    if (IEquals(a[i], "keepref") || IEquals(a[i], "delref") || IEquals(a[i], "acked")) {
      if (policy_given) {
        ctx.Error(err::kSyntax);
        return false;
      }
      policy_given = true;
      *policy = IEquals(a[i], "keepref")  ? RefPolicy::kKeepRef
                : IEquals(a[i], "delref") ? RefPolicy::kDelRef
                                          : RefPolicy::kAcked;
    } else if (IEquals(a[i], "ids") && i + 1 < a.size()) {
      auto n = ParseInt(a[i + 1]);
      if (!n || *n <= 0) {
        ctx.Error("ERR Number of IDs must be a positive integer");
        return false;
      }
      if (static_cast<size_t>(*n) != a.size() - i - 2) {
        ctx.Error("ERR The `numids` parameter must match the number of arguments");
        return false;
      }
      for (size_t j = i + 2; j < a.size(); ++j) {
        StreamId id;
        if (!IdArg(ctx, a[j], 0, true, &id)) return false;
        ids->push_back(id);
      }
      return true;
    } else {
      ctx.Error(err::kSyntax);
      return false;
    }
  }
  ctx.Error(err::kSyntax);
  return false;
}

// True when some group still needs `id`: pending there, or not yet delivered to it.
bool StillReferenced(const StreamValue& s, StreamId id) {
  for (const auto& [name, g] : s.groups) {
    if (g.pel.count(id) || id > g.last_id) return true;
  }
  return false;
}

// Deletes one entry under a policy: 1 deleted, 2 kept (ACKED, still referenced), -1 absent.
int64_t DeleteWithPolicy(StreamValue& s, StreamId id, RefPolicy policy, bool* first) {
  if (!s.entries.count(id)) return -1;
  if (policy == RefPolicy::kAcked && StillReferenced(s, id)) return 2;
  s.Delete(id);
  if (id == s.first_id) *first = true;
  if (id > s.max_deleted) s.max_deleted = id;
  if (policy == RefPolicy::kDelRef) {
    for (auto& [name, g] : s.groups) {
      auto it = g.pel.find(id);
      if (it != g.pel.end()) DropNack(g, it);
    }
  }
  return 1;
}

void XDelEx(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  RefPolicy policy = RefPolicy::kKeepRef;
  std::vector<StreamId> ids;
  if (!ParseDeleteIds(ctx, 2, &policy, &ids)) return;
  StreamValue* s;
  if (!LookupAs(ctx, a[1], &s)) return;
  std::vector<Reply> out;
  bool first = false, changed = false;
  for (StreamId id : ids) {
    int64_t r = s ? DeleteWithPolicy(*s, id, policy, &first) : -1;
    changed |= r == 1;
    out.push_back(Reply::Integer(r));
  }
  if (changed) {
    if (s->entries.empty() || first) s->UpdateFirstId();
    ctx.Dirty();
  }
  ctx.reply = Reply::Array(std::move(out));
}

void XAckDel(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  RefPolicy policy = RefPolicy::kKeepRef;
  std::vector<StreamId> ids;
  if (!ParseDeleteIds(ctx, 3, &policy, &ids)) return;
  StreamValue* s;
  if (!LookupAs(ctx, a[1], &s)) return;
  if (!s) {  // as XDELEX: -1 per id (Upstash answers a missing key so; @upstash/redis's pipeline relies on it)
    ctx.reply = Reply::Array(std::vector<Reply>(ids.size(), Reply::Integer(-1)));
    return;
  }
  StreamGroup* g = FindGroup(s, a[2]);
  if (!g) return ctx.Error(NoGroupError(a[1], a[2]));
  std::vector<Reply> out;
  bool first = false, changed = false;
  for (StreamId id : ids) {
    auto it = g->pel.find(id);
    if (it == g->pel.end()) {
      out.push_back(Reply::Integer(-1));
      continue;
    }
    DropNack(*g, it);
    changed = true;
    int64_t r = DeleteWithPolicy(*s, id, policy, &first);
    out.push_back(Reply::Integer(r == 2 ? 2 : 1));
  }
  if (changed) {
    if (s->entries.empty() || first) s->UpdateFirstId();
    ctx.Dirty();
  }
  ctx.reply = Reply::Array(std::move(out));
}

}  // namespace

Status RegisterStreamGroupCommands(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "xgroup", .arity = -2, .flags = kWrite, .handler = XGroup},
           CommandSpec{.name = "xack", .arity = -4, .flags = kWrite, .handler = XAck},
           CommandSpec{.name = "xpending", .arity = -3, .flags = kReadOnly, .handler = XPending},
           CommandSpec{.name = "xclaim", .arity = -6, .flags = kWrite, .handler = XClaim},
           CommandSpec{.name = "xautoclaim", .arity = -6, .flags = kWrite, .handler = XAutoClaim},
           CommandSpec{.name = "xinfo", .arity = -2, .flags = kReadOnly, .handler = XInfo},
           CommandSpec{.name = "xdelex", .arity = -5, .flags = kWrite, .handler = XDelEx},
           CommandSpec{.name = "xackdel", .arity = -6, .flags = kWrite, .handler = XAckDel},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv::streams
