// JSONPath as JSON.* reads it (RedisJSON's dialect): `$` paths select any number of values;
// legacy paths (`.`, `.a.b`, `a[0]`) are parsed the same way but their commands answer one
// value and fail when nothing matches.
//
// Supported: `$`, `.name`, `['name']` / `["name"]`, `[n]`, `[-n]`, `[*]`, `.*`, recursive
// descent `..name` / `..*` / `..[...]`, slices `[a:b:c]`, unions `[0,2,'x']`, and filters
// `[?(@.x > 1 && @.y == "s")]` with == != < <= > >= =~, && || !, parentheses, existence tests
// (`?(@.x)`), literals (numbers, strings, true, false, null) and `@`/`$` paths as operands.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/json_value.h"
#include "stratus/status.h"

namespace stratus::kv::jsonpath {

struct FilterExpr;

struct Selector {
  enum class Kind : uint8_t { kName, kIndex, kWildcard, kSlice, kFilter };
  Kind kind = Kind::kName;
  std::string name;                   // kName
  int64_t index = 0;                  // kIndex; negative counts from the end
  std::optional<int64_t> start, end;  // kSlice
  int64_t step = 1;
  std::shared_ptr<const FilterExpr> filter;  // kFilter
};

struct Segment {
  bool recursive = false;           // `..`: this segment's selectors apply at every depth
  std::vector<Selector> selectors;  // more than one: a union
};

struct FilterExpr {
  enum class Op : uint8_t { kOr, kAnd, kNot, kEq, kNe, kLt, kLe, kGt, kGe, kMatch, kLiteral, kRelative, kAbsolute };
  Op op = Op::kLiteral;
  std::vector<FilterExpr> kids;   // operands of the logical and comparison operators
  JsonDoc literal;                // kLiteral
  std::vector<Segment> segments;  // kRelative (@...) and kAbsolute ($...)
};

struct Path {
  bool legacy = false;
  std::vector<Segment> segments;
  std::string text;  // as error messages show it: `$`-form ("$.a" for the legacy ".a")

  bool IsRoot() const { return segments.empty(); }
  // True when the path names at most one location: no wildcard, recursion, slice, union or filter.
  bool IsStatic() const;
};

// One step from a value to a child: a member name or an array index.
struct Step {
  bool is_index = false;
  std::string key;
  size_t index = 0;
};
using Location = std::vector<Step>;

// Parses a JSONPath (starts with `$`) or a legacy path. Errors say what is wrong and where.
StatusOr<Path> Parse(std::string_view text);

// Every location `path` selects in `root`, in match order. Recursive descent lists deeper
// matches before shallower ones (as Upstash answers).
std::vector<Location> Find(const Path& path, const JsonDoc& root);
std::vector<Location> Find(const std::vector<Segment>& segments, const JsonDoc& root);

// The value at `loc`, or nullptr when the location no longer exists.
const JsonDoc* Resolve(const JsonDoc& root, const Location& loc);
JsonDoc* Resolve(JsonDoc& root, const Location& loc);

}  // namespace stratus::kv::jsonpath
