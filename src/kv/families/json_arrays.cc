// JSON arrays: JSON.ARRAPPEND, ARRINSERT, ARRLEN, ARRPOP, ARRTRIM, ARRINDEX.
#include <algorithm>

#include "kv/families/json_common.h"

namespace stratus::kv::json {
namespace {

// Parses the JSON values from argv[first] on, refusing any that would nest too deep below
// the deepest array `path` selects.
bool Values(CommandContext& ctx, size_t first, std::vector<JsonDoc>* out) {
  for (size_t i = first; i < ctx.argv.size(); ++i) {
    JsonDoc v;
    if (!ParseValue(ctx, ctx.argv[i], &v)) return false;
    out->push_back(std::move(v));
  }
  return true;
}

bool FitsBelow(CommandContext& ctx, const Location& loc, const std::vector<JsonDoc>& values) {
  for (const JsonDoc& v : values) {
    if (loc.size() + 1 + Depth(v) > kMaxDepth) {
      ctx.Error("ERR recursion limit exceeded");
      return false;
    }
  }
  return true;
}

// The writes: absent key is RedisJSON's error; the data changed when any match did.
template <typename Fn>
void EachArray(CommandContext& ctx, const Path& path, Fn fn) {
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc)) return;
  if (!doc) return ctx.Error(kNoKey);
  bool changed = false;
  ForEachMatch(ctx, doc->doc, path, "array", true, [&](JsonDoc& v, const Location& loc) -> std::optional<Reply> {
    if (!v.is_array()) return std::nullopt;
    size_t before = v.size();
    std::optional<Reply> r = fn(v, loc);
    if (v.size() != before) changed = true;
    return r;
  });
  if (changed) ctx.Dirty();
}

void ArrAppend(CommandContext& ctx) {
  Path path;
  std::vector<JsonDoc> values;
  if (!ParsePath(ctx, ctx.argv[2], &path) || !Values(ctx, 3, &values)) return;
  EachArray(ctx, path, [&](JsonDoc& a, const Location& loc) -> std::optional<Reply> {
    if (!FitsBelow(ctx, loc, values)) return Reply::Nil();
    for (const JsonDoc& v : values) a.push_back(v);
    return Reply::Integer(static_cast<int64_t>(a.size()));
  });
}

void ArrInsert(CommandContext& ctx) {
  Path path;
  int64_t index;
  std::vector<JsonDoc> values;
  if (!ParsePath(ctx, ctx.argv[2], &path) || !ArgInt(ctx, ctx.argv[3], &index) || !Values(ctx, 4, &values)) return;
  EachArray(ctx, path, [&](JsonDoc& a, const Location& loc) -> std::optional<Reply> {
    auto n = static_cast<int64_t>(a.size());
    int64_t at = index < 0 ? index + n : index;
    if (at < 0 || at > n) {
      ctx.Error("ERR index out of bounds");
      return Reply::Nil();
    }
    if (!FitsBelow(ctx, loc, values)) return Reply::Nil();
    auto& arr = a.get_ref<JsonDoc::array_t&>();
    arr.insert(arr.begin() + at, values.begin(), values.end());
    return Reply::Integer(static_cast<int64_t>(a.size()));
  });
}

void ArrLen(CommandContext& ctx) {
  if (ctx.argv.size() > 3) return ctx.Error(ArityError("json.arrlen"));
  Path path;
  if (!ParsePath(ctx, ctx.argv.size() > 2 ? std::string_view(ctx.argv[2]) : ".", &path)) return;
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc) || !doc) return;
  ForEachMatch(ctx, doc->doc, path, "array", false, [](JsonDoc& v, const Location&) -> std::optional<Reply> {
    if (!v.is_array()) return std::nullopt;
    return Reply::Integer(static_cast<int64_t>(v.size()));
  });
}

// JSON.ARRPOP key [path [index]]: the index is clamped into the array; an empty array pops nil.
void ArrPop(CommandContext& ctx) {
  if (ctx.argv.size() > 4) return ctx.Error(ArityError("json.arrpop"));
  Path path;
  int64_t index = -1;
  if (!ParsePath(ctx, ctx.argv.size() > 2 ? std::string_view(ctx.argv[2]) : ".", &path)) return;
  if (ctx.argv.size() > 3 && !ArgInt(ctx, ctx.argv[3], &index)) return;
  EachArray(ctx, path, [&](JsonDoc& a, const Location&) -> std::optional<Reply> {
    if (a.empty()) return Reply::Nil();
    auto n = static_cast<int64_t>(a.size());
    int64_t at = std::clamp(index < 0 ? index + n : index, int64_t{0}, n - 1);
    Reply r = Reply::Bulk(JsonDump(a[static_cast<size_t>(at)]));
    a.erase(static_cast<size_t>(at));
    return r;
  });
}

// JSON.ARRTRIM key path start stop: keeps [start, stop] (both inclusive, negative from the end).
void ArrTrim(CommandContext& ctx) {
  Path path;
  int64_t start, stop;
  if (!ParsePath(ctx, ctx.argv[2], &path) || !ArgInt(ctx, ctx.argv[3], &start) || !ArgInt(ctx, ctx.argv[4], &stop)) {
    return;
  }
  EachArray(ctx, path, [&](JsonDoc& a, const Location&) -> std::optional<Reply> {
    auto n = static_cast<int64_t>(a.size());
    int64_t b = start < 0 ? std::max<int64_t>(start + n, 0) : start;
    int64_t e = stop < 0 ? stop + n : std::min(stop, n - 1);
    auto& arr = a.get_ref<JsonDoc::array_t&>();
    if (n == 0 || b >= n || b > e) {
      arr.clear();
    } else {
      arr.erase(arr.begin() + e + 1, arr.end());
      arr.erase(arr.begin(), arr.begin() + b);
    }
    return Reply::Integer(static_cast<int64_t>(arr.size()));
  });
}

// JSON.ARRINDEX key path value [start [stop]]: stop is exclusive; 0 or beyond the end means
// the end; negative values count from the end.
void ArrIndex(CommandContext& ctx) {
  if (ctx.argv.size() > 6) return ctx.Error(ArityError("json.arrindex"));
  Path path;
  JsonDoc needle;
  int64_t start = 0, stop = 0;
  if (!ParsePath(ctx, ctx.argv[2], &path) || !ParseValue(ctx, ctx.argv[3], &needle)) return;
  if (ctx.argv.size() > 4 && !ArgInt(ctx, ctx.argv[4], &start)) return;
  if (ctx.argv.size() > 5 && !ArgInt(ctx, ctx.argv[5], &stop)) return;
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc) || !doc) return;
  ForEachMatch(ctx, doc->doc, path, "array", false, [&](JsonDoc& a, const Location&) -> std::optional<Reply> {
    if (!a.is_array()) return std::nullopt;
    auto n = static_cast<int64_t>(a.size());
    int64_t b = start < 0 ? std::max<int64_t>(start + n, 0) : start;
    int64_t e = stop == 0 || stop > n ? n : stop < 0 ? std::max<int64_t>(stop + n, 0) : stop;
    for (int64_t i = b; i < e; ++i) {
      const JsonDoc& v = a[static_cast<size_t>(i)];
      if (v.type() == needle.type() || (v.is_number() && needle.is_number())) {
        if (v == needle) return Reply::Integer(i);
      }
    }
    return Reply::Integer(-1);
  });
}

}  // namespace

Status AddArrayCommands(CommandTable& table) {
  const CommandSpec rows[] = {
      {"json.arrappend", -4, kWrite, ArrAppend}, {"json.arrinsert", -5, kWrite, ArrInsert},
      {"json.arrlen", -2, kReadOnly, ArrLen},    {"json.arrpop", -2, kWrite, ArrPop},
      {"json.arrtrim", 5, kWrite, ArrTrim},      {"json.arrindex", -4, kReadOnly, ArrIndex},
  };
  for (const auto& r : rows) STRATUS_RETURN_IF_ERROR(table.Add(r));
  return Status::Ok();
}

}  // namespace stratus::kv::json
