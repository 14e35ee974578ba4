// What the sorted-set files share: score and lex ranges as Redis 7.0 parses and walks them,
// and the registration of the commands kept beside zsets.cc.
#pragma once

#include <cmath>
#include <cstdlib>
#include <string>

#include "kv/families/family.h"

namespace stratus::kv {

// A score range: "1.5", "(1.5" (exclusive), "-inf", "+inf".
struct ScoreRange {
  double min = 0, max = 0;
  bool minex = false, maxex = false;
  bool GteMin(double v) const { return minex ? v > min : v >= min; }
  bool LteMax(double v) const { return maxex ? v < max : v <= max; }
  bool Contains(double v) const { return GteMin(v) && LteMax(v); }
  bool Empty() const { return min > max || (min == max && (minex || maxex)); }
};

// As Redis's zslParseRange: strtod over the rest of the item, NaN refused ("(" alone is (0).
inline bool ParseScoreItem(const std::string& s, double* v, bool* ex) {
  const char* p = s.c_str();
  *ex = false;
  if (p[0] == '(') {
    *ex = true;
    ++p;
  }
  char* end;
  *v = std::strtod(p, &end);
  return end[0] == '\0' && !std::isnan(*v);
}

inline bool ParseScoreRange(const std::string& min, const std::string& max, ScoreRange* r) {
  return ParseScoreItem(min, &r->min, &r->minex) && ParseScoreItem(max, &r->max, &r->maxex);
}

// A lex bound: "-" / "+" are the ends, "[x" inclusive, "(x" exclusive.
struct LexBound {
  enum Kind { kMinusInf, kPlusInf, kValue } kind = kValue;
  std::string value;
  bool ex = false;
};

inline bool ParseLexItem(const std::string& s, LexBound* b) {
  if (s.empty()) return false;
  switch (s[0]) {
    case '+':
      if (s.size() != 1) return false;
      b->kind = LexBound::kPlusInf;
      return true;
    case '-':
      if (s.size() != 1) return false;
      b->kind = LexBound::kMinusInf;
      return true;
    case '(':
    case '[':
      b->kind = LexBound::kValue;
      b->ex = s[0] == '(';
      b->value = s.substr(1);
      return true;
    default:
      return false;
  }
}

inline bool LexGteMin(const std::string& v, const LexBound& b) {
  if (b.kind == LexBound::kMinusInf) return true;
  if (b.kind == LexBound::kPlusInf) return false;
  int c = v.compare(b.value);
  return b.ex ? c > 0 : c >= 0;
}

inline bool LexLteMax(const std::string& v, const LexBound& b) {
  if (b.kind == LexBound::kPlusInf) return true;
  if (b.kind == LexBound::kMinusInf) return false;
  int c = v.compare(b.value);
  return b.ex ? c < 0 : c <= 0;
}

// A lex range that can hold nothing: min above max, or equal with an exclusive end.
inline bool LexEmpty(const LexBound& min, const LexBound& max) {
  if (min.kind == LexBound::kPlusInf || max.kind == LexBound::kMinusInf) return true;
  if (min.kind == LexBound::kMinusInf || max.kind == LexBound::kPlusInf) return false;
  int c = min.value.compare(max.value);
  return c > 0 || (c == 0 && (min.ex || max.ex));
}

struct LexRange {
  LexBound min, max;
};

inline bool ParseLexRange(const std::string& min, const std::string& max, LexRange* r) {
  return ParseLexItem(min, &r->min) && ParseLexItem(max, &r->max);
}

inline constexpr std::string_view kNotLexRange = "ERR min or max not valid string range item";

// One element as ZSet::order holds it: (score, member).
using ZEntry = std::pair<double, std::string>;

// The commands kept in zsets_sets.cc (ZUNION ... ZINTERCARD) and zsets_pop.cc (ZPOPMIN ...
// ZSCAN); RegisterZSetFamily adds them.
Status RegisterZSetAlgebraCommands(CommandTable& t);
Status RegisterZSetPopCommands(CommandTable& t);

}  // namespace stratus::kv
