// What the stream commands (streams.cc, streams_groups.cc) share: id arguments with Redis's
// error, entry replies, and the records that log a consumer group's PEL changes.
#pragma once

#include <string>

#include "kv/families/family.h"
#include "kv/stream_value.h"

namespace stratus::kv::streams {

inline bool IdArg(CommandContext& ctx, std::string_view arg, uint64_t missing_seq, bool strict, StreamId* out) {
  auto p = ParseStreamId(arg, missing_seq, strict, false, false);
  if (!p) {
    ctx.Error(kInvalidStreamId);
    return false;
  }
  *out = p->id;
  return true;
}

// A range bound: `-`, `+`, an incomplete id, or `(id` (exclusive, moved to the next or
// previous id).
inline bool RangeArg(CommandContext& ctx, std::string_view arg, bool is_start, StreamId* out) {
  auto p = ParseStreamId(arg, is_start ? 0 : UINT64_MAX, false, false, true);
  if (!p) {
    ctx.Error(kInvalidStreamId);
    return false;
  }
  *out = p->id;
  if (p->exclusive && !(is_start ? out->Incr() : out->Decr())) {
    ctx.Error(is_start ? "ERR invalid start ID for the interval" : "ERR invalid end ID for the interval");
    return false;
  }
  return true;
}

inline Reply IdReply(StreamId id) {
  return Reply::Bulk(id.ToString());
}

inline Reply EntryReply(StreamId id, const std::string& packed) {
  std::vector<Reply> fields;
  for (auto& f : UnpackFields(packed)) fields.push_back(Reply::Bulk(std::move(f)));
  return Reply::Array({IdReply(id), Reply::Array(std::move(fields))});
}

inline Reply OptionalInt(std::optional<int64_t> v) {
  return v ? Reply::Integer(*v) : Reply::Nil();
}

// Redis's `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID last`:
// the record that rebuilds one PEL entry exactly (or drops it when the entry is gone).
inline Argv ClaimRecord(const std::string& key, const std::string& group, const StreamGroup& g, StreamId id,
                        const StreamNack& nack) {
  return {"XCLAIM",     key,
          group,        nack.consumer,
          "0",          id.ToString(),
          "TIME",       std::to_string(nack.delivery_time),
          "RETRYCOUNT", std::to_string(nack.delivery_count),
          "FORCE",      "JUSTID",
          "LASTID",     g.last_id.ToString()};
}

inline Argv SetIdRecord(const std::string& key, const std::string& group, const StreamGroup& g) {
  return {"XGROUP", "SETID", key, group, g.last_id.ToString(), "ENTRIESREAD", std::to_string(g.entries_read)};
}

// Removes one PEL entry from the group and its consumer.
inline void DropNack(StreamGroup& g, std::map<StreamId, StreamNack>::iterator it) {
  auto c = g.consumers.find(it->second.consumer);
  if (c != g.consumers.end()) c->second.pending.erase(it->first);
  g.pel.erase(it);
}

inline std::string NoGroupError(std::string_view key, std::string_view group) {
  return "NOGROUP No such key '" + std::string(key) + "' or consumer group '" + std::string(group) + "'";
}

void HelpReply(CommandContext& ctx, std::initializer_list<const char*> lines);
// Finds a subcommand (name, arity as the command table has it); false after Redis's error.
bool Subcommand(CommandContext& ctx, std::string_view container,
                std::initializer_list<std::pair<std::string_view, int>> subs, std::string* name);

Status RegisterStreamGroupCommands(CommandTable& t);

}  // namespace stratus::kv::streams
