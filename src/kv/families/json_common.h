// What the JSON.* commands share (families/json.cc, families/json_arrays.cc): argument parsing
// with RedisJSON's error texts, and applying a command to every location a path selects.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/families/family.h"
#include "kv/json_path.h"
#include "kv/json_value.h"

namespace stratus::kv::json {

using jsonpath::Location;
using jsonpath::Path;

// RedisJSON's nesting limit: documents never grow deeper than this.
inline constexpr size_t kMaxDepth = 128;

inline constexpr std::string_view kNoKey = "ERR could not perform this operation on a key that doesn't exist";

// "object", "array", "string", "integer", "number", "boolean" or "null".
const char* JsonTypeName(const JsonDoc& v);
// How deep `v` nests (a scalar is 0, [] is 1).
size_t Depth(const JsonDoc& v);

// A JSON text argument; on failure sets RedisJSON-style error and returns false.
bool ParseValue(CommandContext& ctx, std::string_view text, JsonDoc* out);
bool ParsePath(CommandContext& ctx, std::string_view text, Path* out);

// "ERR Path '$.x' does not exist"
std::string NoPath(const Path& p);
// "WRONGTYPE wrong type of path value - expected string but found integer"
std::string WrongType(std::string_view expected, const JsonDoc& found);

// The document under a key: nullptr when absent (and true), false on WRONGTYPE.
bool Lookup(CommandContext& ctx, std::string_view key, JsonValue** out);

// Matches in the order writes should touch them: deeper locations and higher indices first,
// so a change to one never moves another.
std::vector<size_t> MutationOrder(const std::vector<Location>& locs);

// Applies `fn` to every value `path` selects. fn returns nullopt when the value has the wrong
// type. JSONPath answers an array (nil for a wrong type); a legacy path answers its first
// match's reply, a WRONGTYPE error naming `expected` or NoPath when nothing matches.
template <typename Fn>
void ForEachMatch(CommandContext& ctx, JsonDoc& root, const Path& path, std::string_view expected, bool mutates,
                  Fn fn) {
  std::vector<Location> locs = jsonpath::Find(path, root);
  if (path.legacy && locs.empty()) return ctx.Error(NoPath(path));
  std::vector<std::optional<Reply>> replies(locs.size());
  std::vector<size_t> order;
  if (mutates) {
    order = MutationOrder(locs);
  } else {
    for (size_t i = 0; i < locs.size(); ++i) order.push_back(i);
  }
  for (size_t i : order) {
    JsonDoc* v = jsonpath::Resolve(root, locs[i]);
    if (!v) continue;
    if (path.legacy && i != 0) {
      fn(*v, locs[i]);  // a legacy path answers for its first match but changes them all
      continue;
    }
    replies[i] = fn(*v, locs[i]);  // nullopt leaves *v as it was
    if (path.legacy && !replies[i]) return ctx.Error(WrongType(expected, *v));
    if (ctx.reply.is_error()) return;
  }
  if (path.legacy) {
    ctx.reply = std::move(*replies[0]);
    return;
  }
  std::vector<Reply> out;
  out.reserve(replies.size());
  for (auto& r : replies) out.push_back(r ? std::move(*r) : Reply::Nil());
  ctx.reply = Reply::Array(std::move(out));
}

// The ARR* rows (families/json_arrays.cc).
Status AddArrayCommands(CommandTable& table);

}  // namespace stratus::kv::json
