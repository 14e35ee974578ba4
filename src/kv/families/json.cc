// JSON documents (RedisJSON's commands as Upstash serves them): JSON.SET, GET, MGET, MSET, DEL,
// FORGET, TYPE, STRLEN, STRAPPEND, OBJKEYS, OBJLEN, NUMINCRBY, NUMMULTBY, TOGGLE, CLEAR, MERGE,
// RESP; the ARR* commands are in json_arrays.cc. Every command is deterministic, so each logs
// as sent.
#include <algorithm>
#include <cmath>
#include <limits>

#include "common/json.h"
#include "kv/families/json_common.h"

namespace stratus::kv::json {

const char* JsonTypeName(const JsonDoc& v) {
  switch (v.type()) {
    case JsonDoc::value_t::object:
      return "object";
    case JsonDoc::value_t::array:
      return "array";
    case JsonDoc::value_t::string:
      return "string";
    case JsonDoc::value_t::number_integer:
    case JsonDoc::value_t::number_unsigned:
      return "integer";
    case JsonDoc::value_t::number_float:
      return "number";
    case JsonDoc::value_t::boolean:
      return "boolean";
    default:
      return "null";
  }
}

size_t Depth(const JsonDoc& v) {
  if (!v.is_structured()) return 0;
  size_t d = 0;
  for (const auto& c : v) d = std::max(d, Depth(c));
  return d + 1;
}

bool ParseValue(CommandContext& ctx, std::string_view text, JsonDoc* out) {
  if (!JsonNestingWithin(text, static_cast<int>(kMaxDepth))) {
    ctx.Error("ERR recursion limit exceeded");
    return false;
  }
  try {
    *out = JsonDoc::parse(text);
  } catch (const JsonDoc::parse_error& e) {
    // serde's wording (RedisJSON's parser): the line and column of the first bad byte.
    size_t at = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(at), '\n'));
    size_t nl = text.substr(0, at).rfind('\n');
    size_t column = nl == std::string_view::npos ? at + 1 : at - nl;
    ctx.Error("ERR expected value at line " + std::to_string(line) + " column " + std::to_string(column));
    return false;
  }
  return true;
}

bool ParsePath(CommandContext& ctx, std::string_view text, Path* out) {
  auto p = jsonpath::Parse(text);
  if (!p.ok()) {
    ctx.Error("ERR " + p.status().message());
    return false;
  }
  *out = std::move(*p);
  return true;
}

std::string NoPath(const Path& p) {
  return "ERR Path '" + p.text + "' does not exist";
}

std::string WrongType(std::string_view expected, const JsonDoc& found) {
  return "WRONGTYPE wrong type of path value - expected " + std::string(expected) + " but found " + JsonTypeName(found);
}

bool Lookup(CommandContext& ctx, std::string_view key, JsonValue** out) {
  return LookupAs<JsonValue>(ctx, key, out);
}

std::vector<size_t> MutationOrder(const std::vector<Location>& locs) {
  std::vector<size_t> order(locs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto less = [](const Location& a, const Location& b) {
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
      if (a[i].is_index != b[i].is_index) return a[i].is_index < b[i].is_index;
      if (a[i].is_index ? a[i].index != b[i].index : a[i].key != b[i].key) {
        return a[i].is_index ? a[i].index < b[i].index : a[i].key < b[i].key;
      }
    }
    return a.size() < b.size();
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return less(locs[y], locs[x]); });
  return order;
}

namespace {

Reply Bulk(const JsonDoc& v) {
  return Reply::Bulk(JsonDump(v));
}

// JSON.GET's INDENT / NEWLINE / SPACE.
struct Format {
  std::string indent, newline, space;
  bool Compact() const { return indent.empty() && newline.empty() && space.empty(); }
};

void Write(const JsonDoc& v, const Format& f, size_t level, std::string* out) {
  if (!v.is_structured() || v.empty()) {
    *out += JsonDump(v);
    return;
  }
  bool obj = v.is_object();
  out->push_back(obj ? '{' : '[');
  bool first = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!first) out->push_back(',');
    first = false;
    *out += f.newline;
    for (size_t i = 0; i <= level; ++i) *out += f.indent;
    if (obj) {
      *out += JsonDump(JsonDoc(it.key()));
      out->push_back(':');
      *out += f.space;
    }
    Write(*it, f, level + 1, out);
  }
  *out += f.newline;
  for (size_t i = 0; i < level; ++i) *out += f.indent;
  out->push_back(obj ? '}' : ']');
}

std::string Serialize(const JsonDoc& v, const Format& f) {
  if (f.Compact()) return JsonDump(v);
  std::string out;
  Write(v, f, 0, &out);
  return out;
}

// What one path answers for JSON.GET / JSON.MGET: the array of matches (JSONPath) or the
// first match (legacy; nullopt when there is none).
std::optional<JsonDoc> Select(const Path& path, const JsonDoc& root) {
  std::vector<Location> locs = jsonpath::Find(path, root);
  if (path.legacy) {
    if (locs.empty()) return std::nullopt;
    return *jsonpath::Resolve(root, locs[0]);
  }
  JsonDoc arr = JsonDoc::array();
  for (const Location& l : locs) arr.push_back(*jsonpath::Resolve(root, l));
  return arr;
}

// Writes `value` at every match of `path`, or adds it as a new member when the path's last
// step names a member missing from objects its parent path selects. False: nothing written.
bool SetAt(CommandContext& ctx, JsonValue& doc, const Path& path, const JsonDoc& value, bool nx, bool xx) {
  size_t depth = Depth(value);
  std::vector<Location> locs = jsonpath::Find(path, doc.doc);
  if (!locs.empty()) {
    if (nx) return false;
    for (const Location& l : locs) {
      if (l.size() + depth > kMaxDepth) {
        ctx.Error("ERR recursion limit exceeded");
        return false;
      }
    }
    for (size_t i : MutationOrder(locs)) {
      if (JsonDoc* v = jsonpath::Resolve(doc.doc, locs[i])) *v = value;
    }
    return true;
  }
  if (xx || path.segments.empty()) return false;
  const jsonpath::Segment& last = path.segments.back();
  if (last.recursive || last.selectors.size() != 1 || last.selectors[0].kind != jsonpath::Selector::Kind::kName) {
    return false;
  }
  std::vector<jsonpath::Segment> parent(path.segments.begin(), path.segments.end() - 1);
  std::vector<Location> parents = jsonpath::Find(parent, doc.doc);
  for (const Location& l : parents) {
    if (l.size() + 1 + depth > kMaxDepth) {
      ctx.Error("ERR recursion limit exceeded");
      return false;
    }
  }
  bool wrote = false;
  for (const Location& l : parents) {
    JsonDoc* p = jsonpath::Resolve(doc.doc, l);
    if (!p || !p->is_object()) continue;
    (*p)[last.selectors[0].name] = value;
    wrote = true;
  }
  return wrote;
}

void Set(CommandContext& ctx) {
  Path path;
  JsonDoc value;
  if (!ParsePath(ctx, ctx.argv[2], &path) || !ParseValue(ctx, ctx.argv[3], &value)) return;
  bool nx = false, xx = false;
  for (size_t i = 4; i < ctx.argv.size(); ++i) {
    std::string opt = Lower(ctx.argv[i]);
    if (opt == "nx" && !xx) {
      nx = true;
    } else if (opt == "xx" && !nx) {
      xx = true;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc)) return;
  if (!doc) {
    if (!path.IsRoot()) return ctx.Error("ERR new objects must be created at the root");
    if (xx) return;  // nil
    ctx.db.Set(ctx.argv[1], JsonValue{std::move(value)});
    ctx.Dirty();
    ctx.reply = Reply::Ok();
    return;
  }
  if (!SetAt(ctx, *doc, path, value, nx, xx)) return;  // nil, or the error SetAt set
  ctx.Dirty();
  ctx.reply = Reply::Ok();
}

void Get(CommandContext& ctx) {
  Format f;
  std::vector<std::string_view> texts;
  for (size_t i = 2; i < ctx.argv.size(); ++i) {
    std::string opt = Lower(ctx.argv[i]);
    std::string* field = opt == "indent"    ? &f.indent
                         : opt == "newline" ? &f.newline
                         : opt == "space"   ? &f.space
                                            : nullptr;
    if (field && i + 1 < ctx.argv.size()) {
      *field = ctx.argv[++i];
    } else if (opt == "noescape") {
      continue;  // RedisJSON 1's option, accepted and ignored as RedisJSON 2 does
    } else {
      texts.push_back(ctx.argv[i]);
    }
  }
  std::vector<Path> paths(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    if (!ParsePath(ctx, texts[i], &paths[i])) return;
  }
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc)) return;
  if (!doc) return;  // nil
  if (paths.empty()) {
    ctx.reply = Reply::Bulk(Serialize(doc->doc, f));
    return;
  }
  if (paths.size() == 1) {
    std::optional<JsonDoc> v = Select(paths[0], doc->doc);
    if (!v) return ctx.Error(NoPath(paths[0]));
    ctx.reply = Reply::Bulk(Serialize(*v, f));
    return;
  }
  // Several paths: an object keyed by each path as sent; arrays throughout unless all are legacy.
  bool all_legacy = std::all_of(paths.begin(), paths.end(), [](const Path& p) { return p.legacy; });
  JsonDoc out = JsonDoc::object();
  for (size_t i = 0; i < paths.size(); ++i) {
    Path p = paths[i];
    p.legacy = all_legacy;
    std::optional<JsonDoc> v = Select(p, doc->doc);
    if (!v) return ctx.Error(NoPath(p));
    out[std::string(texts[i])] = std::move(*v);
  }
  ctx.reply = Reply::Bulk(Serialize(out, f));
}

void MGet(CommandContext& ctx) {
  Path path;
  if (!ParsePath(ctx, ctx.argv.back(), &path)) return;
  std::vector<Reply> out;
  for (size_t i = 1; i + 1 < ctx.argv.size(); ++i) {
    Entry* e = ctx.db.Find(ctx.argv[i]);
    const JsonValue* doc = e ? std::get_if<JsonValue>(&e->value) : nullptr;
    std::optional<JsonDoc> v = doc ? Select(path, doc->doc) : std::nullopt;
    out.push_back(v ? Bulk(*v) : Reply::Nil());
  }
  ctx.reply = Reply::Array(std::move(out));
}

void MSet(CommandContext& ctx) {
  if ((ctx.argv.size() - 1) % 3 != 0) return ctx.Error(ArityError("json.mset"));
  struct Triple {
    std::string_view key;
    Path path;
    JsonDoc value;
  };
  std::vector<Triple> triples;
  for (size_t i = 1; i < ctx.argv.size(); i += 3) {
    Triple t{ctx.argv[i], {}, {}};
    if (!ParsePath(ctx, ctx.argv[i + 1], &t.path) || !ParseValue(ctx, ctx.argv[i + 2], &t.value)) return;
    JsonValue* doc;
    if (!Lookup(ctx, t.key, &doc)) return;
    bool created_earlier =
        std::any_of(triples.begin(), triples.end(), [&](const Triple& o) { return o.key == t.key && o.path.IsRoot(); });
    if (!doc && !created_earlier && !t.path.IsRoot()) return ctx.Error("ERR new objects must be created at the root");
    triples.push_back(std::move(t));
  }
  for (Triple& t : triples) {
    JsonValue* doc;
    if (!Lookup(ctx, t.key, &doc)) return;
    if (!doc) {
      ctx.db.Set(t.key, JsonValue{std::move(t.value)});
    } else if (!SetAt(ctx, *doc, t.path, t.value, false, false) && ctx.reply.is_error()) {
      ctx.Dirty();  // earlier triples changed the data; the log replays to the same state
      return;
    }
  }
  ctx.Dirty();
  ctx.reply = Reply::Ok();
}

// The path argument at `index`, or `fallback` when the command was sent without it.
bool OptionalPath(CommandContext& ctx, size_t index, std::string_view fallback, Path* out) {
  return ParsePath(ctx, index < ctx.argv.size() ? std::string_view(ctx.argv[index]) : fallback, out);
}

void Del(CommandContext& ctx) {
  if (ctx.argv.size() > 3) return ctx.Error(ArityError(Lower(ctx.argv[0])));
  Path path;
  if (!OptionalPath(ctx, 2, "$", &path)) return;
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc)) return;
  if (!doc) {
    ctx.reply = Reply::Integer(0);
    return;
  }
  if (path.IsRoot()) {
    ctx.db.Erase(ctx.argv[1]);
    ctx.Dirty();
    ctx.reply = Reply::Integer(1);
    return;
  }
  std::vector<Location> locs = jsonpath::Find(path, doc->doc);
  int64_t n = 0;
  for (size_t i : MutationOrder(locs)) {
    Location parent_loc(locs[i].begin(), locs[i].end() - 1);
    JsonDoc* parent = jsonpath::Resolve(doc->doc, parent_loc);
    if (!parent || locs[i].empty()) continue;
    const jsonpath::Step& s = locs[i].back();
    if (s.is_index && parent->is_array() && s.index < parent->size()) {
      parent->erase(s.index);
      ++n;
    } else if (!s.is_index && parent->is_object()) {
      n += static_cast<int64_t>(parent->erase(s.key));
    }
  }
  if (n) ctx.Dirty();
  ctx.reply = Reply::Integer(n);
}

// The commands reading one thing per match. Absent key: nil.
template <typename Fn>
void ReadEach(CommandContext& ctx, std::string_view expected, Fn fn) {
  if (ctx.argv.size() > 3) return ctx.Error(ArityError(Lower(ctx.argv[0])));
  Path path;
  if (!OptionalPath(ctx, 2, ".", &path)) return;
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc) || !doc) return;
  ForEachMatch(ctx, doc->doc, path, expected, false, [&](JsonDoc& v, const Location&) { return fn(v); });
}

void Type(CommandContext& ctx) {
  if (ctx.argv.size() > 3) return ctx.Error(ArityError("json.type"));
  Path path;
  if (!OptionalPath(ctx, 2, ".", &path)) return;
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc) || !doc) return;
  std::vector<Location> locs = jsonpath::Find(path, doc->doc);
  if (path.legacy) {
    if (!locs.empty()) ctx.reply = Reply::Bulk(JsonTypeName(*jsonpath::Resolve(doc->doc, locs[0])));
    return;
  }
  std::vector<Reply> out;
  out.reserve(locs.size());
  for (const Location& l : locs) out.push_back(Reply::Bulk(JsonTypeName(*jsonpath::Resolve(doc->doc, l))));
  ctx.reply = Reply::Array(std::move(out));
}

void StrLen(CommandContext& ctx) {
  ReadEach(ctx, "string", [](const JsonDoc& v) -> std::optional<Reply> {
    if (!v.is_string()) return std::nullopt;
    return Reply::Integer(static_cast<int64_t>(v.get_ref<const std::string&>().size()));
  });
}

void ObjLen(CommandContext& ctx) {
  ReadEach(ctx, "object", [](const JsonDoc& v) -> std::optional<Reply> {
    if (!v.is_object()) return std::nullopt;
    return Reply::Integer(static_cast<int64_t>(v.size()));
  });
}

void ObjKeys(CommandContext& ctx) {
  ReadEach(ctx, "object", [](const JsonDoc& v) -> std::optional<Reply> {
    if (!v.is_object()) return std::nullopt;
    std::vector<Reply> keys;
    for (const auto& [k, child] : v.items()) keys.push_back(Reply::Bulk(k));
    return Reply::Array(std::move(keys));
  });
}

Reply Resp(const JsonDoc& v) {
  switch (v.type()) {
    case JsonDoc::value_t::null:
      return Reply::Nil();
    case JsonDoc::value_t::boolean:
      return Reply::Status(v.get<bool>() ? "true" : "false");
    case JsonDoc::value_t::number_integer:
      return Reply::Integer(v.get<int64_t>());
    case JsonDoc::value_t::number_unsigned: {
      auto u = v.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Reply::Integer(static_cast<int64_t>(u));
      return Bulk(v);
    }
    case JsonDoc::value_t::number_float:
      return Bulk(v);
    case JsonDoc::value_t::string:
      return Reply::Bulk(v.get<std::string>());
    case JsonDoc::value_t::array: {
      std::vector<Reply> out{Reply::Status("[")};
      for (const auto& c : v) out.push_back(Resp(c));
      return Reply::Array(std::move(out));
    }
    default: {
      std::vector<Reply> out{Reply::Status("{")};
      for (const auto& [k, c] : v.items()) {
        out.push_back(Reply::Bulk(k));
        out.push_back(Resp(c));
      }
      return Reply::Array(std::move(out));
    }
  }
}

void RespCmd(CommandContext& ctx) {
  ReadEach(ctx, "", [](const JsonDoc& v) -> std::optional<Reply> { return Resp(v); });
}

// The commands changing one thing per match. Absent key: RedisJSON's error.
template <typename Fn>
void WriteEach(CommandContext& ctx, const Path& path, std::string_view expected, Fn fn) {
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc)) return;
  if (!doc) return ctx.Error(kNoKey);
  bool changed = false;
  ForEachMatch(ctx, doc->doc, path, expected, true, [&](JsonDoc& v, const Location& loc) {
    std::optional<Reply> r = fn(v, loc);
    if (r && !ctx.reply.is_error()) changed = true;
    return r;
  });
  if (changed) ctx.Dirty();
}

void StrAppend(CommandContext& ctx) {
  if (ctx.argv.size() > 4) return ctx.Error(ArityError("json.strappend"));
  Path path;
  JsonDoc value;
  if (!OptionalPath(ctx, ctx.argv.size() == 4 ? 2 : ctx.argv.size(), ".", &path)) return;
  if (!ParseValue(ctx, ctx.argv.back(), &value)) return;
  if (!value.is_string()) return ctx.Error(WrongType("string", value));
  const auto& tail = value.get_ref<const std::string&>();
  WriteEach(ctx, path, "string", [&](JsonDoc& v, const Location&) -> std::optional<Reply> {
    if (!v.is_string()) return std::nullopt;
    auto& s = v.get_ref<std::string&>();
    s += tail;
    return Reply::Integer(static_cast<int64_t>(s.size()));
  });
}

// NUMINCRBY / NUMMULTBY: integers stay integers while the result fits; otherwise doubles.
void NumOp(CommandContext& ctx, bool multiply) {
  Path path;
  JsonDoc by;
  if (!ParsePath(ctx, ctx.argv[2], &path) || !ParseValue(ctx, ctx.argv[3], &by)) return;
  if (!by.is_number()) return ctx.Error(WrongType("number", by));
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc)) return;
  if (!doc) return ctx.Error(kNoKey);
  std::vector<Location> locs = jsonpath::Find(path, doc->doc);
  if (path.legacy && locs.empty()) return ctx.Error(NoPath(path));
  JsonDoc results = JsonDoc::array();
  for (size_t i = 0; i < locs.size(); ++i) results.push_back(nullptr);
  bool changed = false;
  for (size_t i : MutationOrder(locs)) {
    JsonDoc* v = jsonpath::Resolve(doc->doc, locs[i]);
    if (!v || !v->is_number()) {
      if (path.legacy && i == 0) {
        if (changed) ctx.Dirty();  // the matches already changed replay with the command
        return ctx.Error(WrongType("number", v ? *v : JsonDoc()));
      }
      continue;
    }
    JsonDoc out;
    int64_t a, b, r;
    bool ints = (v->is_number_integer() && by.is_number_integer());
    if (ints && (v->is_number_unsigned() || by.is_number_unsigned())) {
      ints = v->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
             by.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    }
    if (ints) {
      a = v->get<int64_t>();
      b = by.get<int64_t>();
      ints = !(multiply ? __builtin_mul_overflow(a, b, &r) : __builtin_add_overflow(a, b, &r));
    }
    if (ints) {
      out = r;
    } else {
      double d = multiply ? v->get<double>() * by.get<double>() : v->get<double>() + by.get<double>();
      if (!std::isfinite(d)) {
        if (changed) ctx.Dirty();
        return ctx.Error("ERR result is not a number");
      }
      out = d;
    }
    *v = out;
    results[i] = std::move(out);
    changed = true;
  }
  if (changed) ctx.Dirty();
  ctx.reply = Bulk(path.legacy ? results[0] : results);
}

void NumIncrBy(CommandContext& ctx) {
  NumOp(ctx, false);
}
void NumMultBy(CommandContext& ctx) {
  NumOp(ctx, true);
}

void Toggle(CommandContext& ctx) {
  if (ctx.argv.size() > 3) return ctx.Error(ArityError("json.toggle"));
  Path path;
  if (!OptionalPath(ctx, 2, ".", &path)) return;
  WriteEach(ctx, path, "boolean", [&](JsonDoc& v, const Location&) -> std::optional<Reply> {
    if (!v.is_boolean()) return std::nullopt;
    bool now = !v.get<bool>();
    v = now;
    if (path.legacy) return Reply::Bulk(now ? "true" : "false");
    return Reply::Integer(now ? 1 : 0);
  });
}

void Clear(CommandContext& ctx) {
  if (ctx.argv.size() > 3) return ctx.Error(ArityError("json.clear"));
  Path path;
  if (!OptionalPath(ctx, 2, "$", &path)) return;
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc)) return;
  if (!doc) return ctx.Error(kNoKey);
  int64_t n = 0;
  for (const Location& l : jsonpath::Find(path, doc->doc)) {
    JsonDoc* v = jsonpath::Resolve(doc->doc, l);
    if (!v) continue;
    if (v->is_object()) {
      *v = JsonDoc::object();
    } else if (v->is_array()) {
      *v = JsonDoc::array();
    } else if (v->is_number()) {
      *v = 0;
    } else {
      continue;
    }
    ++n;
  }
  if (n) ctx.Dirty();
  ctx.reply = Reply::Integer(n);
}

// JSON.MERGE key path value: RFC 7396 at every match (a null patch deletes the match); a
// missing last member is created as JSON.SET would.
void Merge(CommandContext& ctx) {
  Path path;
  JsonDoc patch;
  if (!ParsePath(ctx, ctx.argv[2], &path) || !ParseValue(ctx, ctx.argv[3], &patch)) return;
  JsonValue* doc;
  if (!Lookup(ctx, ctx.argv[1], &doc)) return;
  if (!doc) {
    if (!path.IsRoot()) return ctx.Error("ERR new objects must be created at the root");
    JsonDoc v;
    v.merge_patch(patch);
    ctx.db.Set(ctx.argv[1], JsonValue{std::move(v)});
    ctx.Dirty();
    ctx.reply = Reply::Ok();
    return;
  }
  std::vector<Location> locs = jsonpath::Find(path, doc->doc);
  ctx.reply = Reply::Ok();
  if (locs.empty()) {
    if (patch.is_null()) return;
    JsonDoc v;
    v.merge_patch(patch);
    if (SetAt(ctx, *doc, path, v, false, false)) ctx.Dirty();
    return;
  }
  size_t depth = Depth(patch);
  for (const Location& l : locs) {
    if (l.size() + depth > kMaxDepth) return ctx.Error("ERR recursion limit exceeded");
  }
  for (size_t i : MutationOrder(locs)) {
    const Location& l = locs[i];
    if (patch.is_null() && !l.empty()) {
      JsonDoc* parent = jsonpath::Resolve(doc->doc, Location(l.begin(), l.end() - 1));
      if (!parent) continue;
      if (l.back().is_index && parent->is_array() && l.back().index < parent->size()) parent->erase(l.back().index);
      if (!l.back().is_index && parent->is_object()) parent->erase(l.back().key);
      continue;
    }
    if (JsonDoc* v = jsonpath::Resolve(doc->doc, l)) v->merge_patch(patch);
  }
  ctx.Dirty();
}

}  // namespace
}  // namespace stratus::kv::json

namespace stratus::kv {

Status RegisterJsonFamily(CommandTable& table) {
  using namespace json;  // NOLINT(google-build-using-namespace)
  const CommandSpec rows[] = {
      {"json.set", -4, kWrite, Set},
      {"json.get", -2, kReadOnly, Get},
      {"json.mget", -3, kReadOnly, MGet},
      {"json.mset", -4, kWrite, MSet},
      {"json.del", -2, kWrite, Del},
      {"json.forget", -2, kWrite, Del},
      {"json.type", -2, kReadOnly, Type},
      {"json.strlen", -2, kReadOnly, StrLen},
      {"json.strappend", -3, kWrite, StrAppend},
      {"json.objkeys", -2, kReadOnly, ObjKeys},
      {"json.objlen", -2, kReadOnly, ObjLen},
      {"json.numincrby", 4, kWrite, NumIncrBy},
      {"json.nummultby", 4, kWrite, NumMultBy},
      {"json.toggle", -2, kWrite, Toggle},
      {"json.clear", -2, kWrite, Clear},
      {"json.merge", 4, kWrite, Merge},
      {"json.resp", -2, kReadOnly, RespCmd},
  };
  for (const auto& r : rows) STRATUS_RETURN_IF_ERROR(table.Add(r));
  return AddArrayCommands(table);
}

}  // namespace stratus::kv
