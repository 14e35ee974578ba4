#include "kv/json_path.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>

namespace stratus::kv::jsonpath {
namespace {

// Filters nest (a filter's operand path may hold a filter); bound it so a hostile path cannot
// exhaust the stack.
constexpr int kMaxNesting = 32;

bool IsNameChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || c == '-' || c == '$' || c == '@' || u >= 0x80;
}

class Parser {
 public:
  // `shift`: where `s` starts in the text the user sent, so errors point into that text.
  Parser(std::string_view s, int64_t shift) : s_(s), shift_(shift) {}

  Status Fail(std::string_view what) const {
    int64_t at = std::max<int64_t>(static_cast<int64_t>(pos_) + shift_, 0);
    return InvalidArgument("JSONPath syntax error at offset " + std::to_string(at) + ": " + std::string(what));
  }

  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek(size_t ahead = 0) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }
  void SkipSpace() {
    while (!AtEnd() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Eat(char c) {
    if (Peek() != c || AtEnd()) return false;
    ++pos_;
    return true;
  }

  // Segments after `$` or `@`, up to a character that cannot continue a path.
  Status Segments(std::vector<Segment>* out, int depth) {
    if (depth > kMaxNesting) return Fail("filters nested too deeply");
    while (!AtEnd()) {
      char c = Peek();
      if (c == '.') {
        ++pos_;
        Segment seg;
        if (Eat('.')) {
          seg.recursive = true;
          if (Peek() == '[') {
            STRATUS_RETURN_IF_ERROR(Bracket(&seg, depth));
            out->push_back(std::move(seg));
            continue;
          }
        }
        Selector sel;
        if (Eat('*')) {
          sel.kind = Selector::Kind::kWildcard;
        } else {
          size_t start = pos_;
          while (!AtEnd() && IsNameChar(Peek())) ++pos_;
          if (pos_ == start) return Fail("expected a member name");
          sel.name = std::string(s_.substr(start, pos_ - start));
        }
        seg.selectors.push_back(std::move(sel));
        out->push_back(std::move(seg));
      } else if (c == '[') {
        Segment seg;
        STRATUS_RETURN_IF_ERROR(Bracket(&seg, depth));
        out->push_back(std::move(seg));
      } else {
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  Status Quoted(std::string* out) {
    char q = Peek();
    ++pos_;
    while (true) {
      if (AtEnd()) return Fail("unterminated string");
      char c = s_[pos_++];
      if (c == q) return Status::Ok();
      if (c == '\\') {
        if (AtEnd()) return Fail("unterminated string");
        char e = s_[pos_++];
        switch (e) {
          case 'n':
            out->push_back('\n');
            break;
          case 't':
            out->push_back('\t');
            break;
          case 'r':
            out->push_back('\r');
            break;
          case 'b':
            out->push_back('\b');
            break;
          case 'f':
            out->push_back('\f');
            break;
          default:
            out->push_back(e);  // \" \' \\ \/ and anything else stands for itself
        }
      } else {
        out->push_back(c);
      }
    }
  }

  std::optional<int64_t> Integer() {
    size_t start = pos_;
    if (Peek() == '-' || Peek() == '+') ++pos_;
    size_t digits = pos_;
    while (!AtEnd() && std::isdigit(static_cast<unsigned char>(Peek()))) ++pos_;
    if (pos_ == digits || pos_ - digits > 18) {
      pos_ = start;
      return std::nullopt;
    }
    return std::stoll(std::string(s_.substr(start, pos_ - start)));
  }

  // `[ ... ]`: a union of names, indices, slices, `*`, or a single filter.
  Status Bracket(Segment* seg, int depth) {
    ++pos_;  // '['
    while (true) {
      SkipSpace();
      Selector sel;
      char c = Peek();
      if (AtEnd()) return Fail("expected ']'");
      if (c == '\'' || c == '"') {
        STRATUS_RETURN_IF_ERROR(Quoted(&sel.name));
      } else if (c == '*') {
        ++pos_;
        sel.kind = Selector::Kind::kWildcard;
      } else if (c == '?') {
        ++pos_;
        SkipSpace();
        auto f = std::make_shared<FilterExpr>();
        STRATUS_RETURN_IF_ERROR(Or(f.get(), depth + 1));
        sel.kind = Selector::Kind::kFilter;
        sel.filter = std::move(f);
      } else {
        std::optional<int64_t> a = Integer();
        SkipSpace();
        if (Peek() == ':') {
          sel.kind = Selector::Kind::kSlice;
          sel.start = a;
          ++pos_;
          SkipSpace();
          sel.end = Integer();
          SkipSpace();
          if (Eat(':')) {
            SkipSpace();
            std::optional<int64_t> step = Integer();
            if (step) sel.step = *step;
            if (sel.step == 0) return Fail("slice step must not be 0");
          }
        } else if (a) {
          sel.kind = Selector::Kind::kIndex;
          sel.index = *a;
        } else {
          return Fail("expected a name, an index, a slice, '*' or a filter");
        }
      }
      seg->selectors.push_back(std::move(sel));
      SkipSpace();
      if (Eat(']')) return Status::Ok();
      if (!Eat(',')) return Fail("expected ',' or ']'");
    }
  }

  // Filter grammar: or := and ('||' and)*; and := unary ('&&' unary)*;
  // unary := '!' unary | '(' or ')' | comparison; comparison := operand [op operand].
  Status Or(FilterExpr* out, int depth) {
    if (depth > kMaxNesting) return Fail("filters nested too deeply");
    FilterExpr first;
    STRATUS_RETURN_IF_ERROR(And(&first, depth));
    SkipSpace();
    if (!(Peek() == '|' && Peek(1) == '|')) {
      *out = std::move(first);
      return Status::Ok();
    }
    out->op = FilterExpr::Op::kOr;
    out->kids.push_back(std::move(first));
    while (Peek() == '|' && Peek(1) == '|') {
      pos_ += 2;
      FilterExpr next;
      STRATUS_RETURN_IF_ERROR(And(&next, depth));
      out->kids.push_back(std::move(next));
      SkipSpace();
    }
    return Status::Ok();
  }

  Status And(FilterExpr* out, int depth) {
    FilterExpr first;
    STRATUS_RETURN_IF_ERROR(Unary(&first, depth));
    SkipSpace();
    if (!(Peek() == '&' && Peek(1) == '&')) {
      *out = std::move(first);
      return Status::Ok();
    }
    out->op = FilterExpr::Op::kAnd;
    out->kids.push_back(std::move(first));
    while (Peek() == '&' && Peek(1) == '&') {
      pos_ += 2;
      FilterExpr next;
      STRATUS_RETURN_IF_ERROR(Unary(&next, depth));
      out->kids.push_back(std::move(next));
      SkipSpace();
    }
    return Status::Ok();
  }

  Status Unary(FilterExpr* out, int depth) {
    if (depth > kMaxNesting) return Fail("filters nested too deeply");
    SkipSpace();
    if (Peek() == '!' && Peek(1) != '=') {
      ++pos_;
      out->op = FilterExpr::Op::kNot;
      out->kids.emplace_back();
      return Unary(&out->kids.back(), depth + 1);
    }
    if (Eat('(')) {
      STRATUS_RETURN_IF_ERROR(Or(out, depth + 1));
      SkipSpace();
      if (!Eat(')')) return Fail("expected ')'");
      return Status::Ok();
    }
    FilterExpr left;
    STRATUS_RETURN_IF_ERROR(Operand(&left, depth));
    SkipSpace();
    FilterExpr::Op op;
    std::string_view rest = s_.substr(std::min(pos_, s_.size()));
    size_t len = 2;
    if (rest.starts_with("==")) {
      op = FilterExpr::Op::kEq;
    } else if (rest.starts_with("!=")) {
      op = FilterExpr::Op::kNe;
    } else if (rest.starts_with("<=")) {
      op = FilterExpr::Op::kLe;
    } else if (rest.starts_with(">=")) {
      op = FilterExpr::Op::kGe;
    } else if (rest.starts_with("=~")) {
      op = FilterExpr::Op::kMatch;
    } else if (rest.starts_with("<")) {
      op = FilterExpr::Op::kLt;
      len = 1;
    } else if (rest.starts_with(">")) {
      op = FilterExpr::Op::kGt;
      len = 1;
    } else {
      // An existence test: a path alone.
      if (left.op != FilterExpr::Op::kRelative && left.op != FilterExpr::Op::kAbsolute) {
        return Fail("expected a comparison operator");
      }
      *out = std::move(left);
      return Status::Ok();
    }
    pos_ += len;
    SkipSpace();
    FilterExpr right;
    STRATUS_RETURN_IF_ERROR(Operand(&right, depth));
    out->op = op;
    out->kids.push_back(std::move(left));
    out->kids.push_back(std::move(right));
    return Status::Ok();
  }

  Status Operand(FilterExpr* out, int depth) {
    SkipSpace();
    char c = Peek();
    if (AtEnd()) return Fail("expected an operand");
    if (c == '@' || c == '$') {
      ++pos_;
      out->op = c == '@' ? FilterExpr::Op::kRelative : FilterExpr::Op::kAbsolute;
      return Segments(&out->segments, depth + 1);
    }
    out->op = FilterExpr::Op::kLiteral;
    if (c == '\'' || c == '"') {
      std::string s;
      STRATUS_RETURN_IF_ERROR(Quoted(&s));
      out->literal = std::move(s);
      return Status::Ok();
    }
    std::string_view rest = s_.substr(pos_);
    for (auto [word, value] :
         {std::pair<std::string_view, JsonDoc>{"true", true}, {"false", false}, {"null", nullptr}}) {
      if (rest.starts_with(word)) {
        pos_ += word.size();
        out->literal = value;
        return Status::Ok();
      }
    }
    size_t start = pos_;
    while (!AtEnd() && (std::isdigit(static_cast<unsigned char>(Peek())) || Peek() == '-' || Peek() == '+' ||
                        Peek() == '.' || Peek() == 'e' || Peek() == 'E')) {
      ++pos_;
    }
    if (pos_ == start) return Fail("expected an operand");
    JsonDoc num = JsonDoc::parse(s_.substr(start, pos_ - start), nullptr, false);
    if (!num.is_number()) {
      pos_ = start;
      return Fail("expected a number");
    }
    out->literal = std::move(num);
    return Status::Ok();
  }

 private:
  size_t pos_ = 0;
  std::string_view s_;
  int64_t shift_;
};

// Array index or slice bounds, normalised to the array's size.
std::optional<size_t> NormaliseIndex(int64_t i, size_t n) {
  auto size = static_cast<int64_t>(n);
  if (i < 0) i += size;
  if (i < 0 || i >= size) return std::nullopt;
  return static_cast<size_t>(i);
}

Location Child(const Location& loc, std::string key) {
  Location l = loc;
  l.push_back(Step{false, std::move(key), 0});
  return l;
}
Location Child(const Location& loc, size_t index) {
  Location l = loc;
  l.push_back(Step{true, {}, index});
  return l;
}

bool Truthy(const FilterExpr& e, const JsonDoc& at, const JsonDoc& root);

std::vector<const JsonDoc*> Values(const FilterExpr& e, const JsonDoc& at, const JsonDoc& root) {
  if (e.op == FilterExpr::Op::kLiteral) return {&e.literal};
  const JsonDoc& base = e.op == FilterExpr::Op::kRelative ? at : root;
  std::vector<const JsonDoc*> out;
  for (const Location& loc : Find(e.segments, base)) {
    if (const JsonDoc* v = Resolve(base, loc)) out.push_back(v);
  }
  return out;
}

bool Compare(FilterExpr::Op op, const JsonDoc& a, const JsonDoc& b) {
  using Op = FilterExpr::Op;
  if (op == Op::kMatch) {
    // Bounded so a hostile pattern or subject cannot make std::regex recurse without end.
    constexpr size_t kMaxRegexChars = 256;
    if (!a.is_string() || !b.is_string()) return false;
    const auto& subject = a.get_ref<const std::string&>();
    const auto& pattern = b.get_ref<const std::string&>();
    if (subject.size() > kMaxRegexChars || pattern.size() > kMaxRegexChars) return false;
    try {
      return std::regex_search(subject, std::regex(pattern, std::regex::ECMAScript));
    } catch (const std::exception&) {
      return false;
    }
  }
  bool numbers = a.is_number() && b.is_number();
  bool same_kind = numbers || (a.type() == b.type());
  switch (op) {
    case Op::kEq:
      return same_kind && a == b;
    case Op::kNe:
      return !(same_kind && a == b);
    default:
      break;
  }
  if (!same_kind || !(numbers || a.is_string())) return false;
  switch (op) {
    case Op::kLt:
      return a < b;
    case Op::kLe:
      return a <= b;
    case Op::kGt:
      return a > b;
    case Op::kGe:
      return a >= b;
    default:
      return false;
  }
}

bool Truthy(const FilterExpr& e, const JsonDoc& at, const JsonDoc& root) {
  using Op = FilterExpr::Op;
  switch (e.op) {
    case Op::kOr:
      return std::any_of(e.kids.begin(), e.kids.end(), [&](const FilterExpr& k) { return Truthy(k, at, root); });
    case Op::kAnd:
      return std::all_of(e.kids.begin(), e.kids.end(), [&](const FilterExpr& k) { return Truthy(k, at, root); });
    case Op::kNot:
      return !Truthy(e.kids[0], at, root);
    case Op::kLiteral:
      return !e.literal.is_null() && e.literal != false;
    case Op::kRelative:
    case Op::kAbsolute:
      return !Values(e, at, root).empty();
    default: {
      auto left = Values(e.kids[0], at, root);
      auto right = Values(e.kids[1], at, root);
      for (const JsonDoc* a : left) {
        for (const JsonDoc* b : right) {
          if (Compare(e.op, *a, *b)) return true;
        }
      }
      return false;
    }
  }
}

void Select(const std::vector<Selector>& sels, const JsonDoc& node, const Location& loc, const JsonDoc& root,
            std::vector<Location>* out) {
  for (const Selector& sel : sels) {
    switch (sel.kind) {
      case Selector::Kind::kName:
        if (node.is_object() && node.contains(sel.name)) out->push_back(Child(loc, sel.name));
        break;
      case Selector::Kind::kIndex:
        if (node.is_array()) {
          if (auto i = NormaliseIndex(sel.index, node.size())) out->push_back(Child(loc, *i));
        }
        break;
      case Selector::Kind::kWildcard:
        if (node.is_array()) {
          for (size_t i = 0; i < node.size(); ++i) out->push_back(Child(loc, i));
        } else if (node.is_object()) {
          for (const auto& [k, v] : node.items()) out->push_back(Child(loc, k));
        }
        break;
      case Selector::Kind::kSlice: {
        if (!node.is_array()) break;
        auto n = static_cast<int64_t>(node.size());
        auto clamp = [n](int64_t i, int64_t lo, int64_t hi) { return std::clamp(i < 0 ? i + n : i, lo, hi); };
        if (sel.step > 0) {
          int64_t a = sel.start ? clamp(*sel.start, 0, n) : 0;
          int64_t b = sel.end ? clamp(*sel.end, 0, n) : n;
          for (int64_t i = a; i < b; i += sel.step) out->push_back(Child(loc, static_cast<size_t>(i)));
        } else {
          int64_t a = sel.start ? clamp(*sel.start, -1, n - 1) : n - 1;
          int64_t b = sel.end ? clamp(*sel.end, -1, n - 1) : -1;
          for (int64_t i = a; i > b; i += sel.step) out->push_back(Child(loc, static_cast<size_t>(i)));
        }
        break;
      }
      case Selector::Kind::kFilter:
        if (node.is_array()) {
          for (size_t i = 0; i < node.size(); ++i) {
            if (Truthy(*sel.filter, node[i], root)) out->push_back(Child(loc, i));
          }
        } else if (node.is_object()) {
          for (const auto& [k, v] : node.items()) {
            if (Truthy(*sel.filter, v, root)) out->push_back(Child(loc, k));
          }
        }
        break;
    }
  }
}

// `..`: the matches below each child first, then this value's own.
void Descend(const std::vector<Selector>& sels, const JsonDoc& node, const Location& loc, const JsonDoc& root,
             std::vector<Location>* out) {
  if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) Descend(sels, node[i], Child(loc, i), root, out);
  } else if (node.is_object()) {
    for (const auto& [k, v] : node.items()) Descend(sels, v, Child(loc, k), root, out);
  }
  Select(sels, node, loc, root, out);
}

}  // namespace

bool Path::IsStatic() const {
  for (const Segment& seg : segments) {
    if (seg.recursive || seg.selectors.size() != 1) return false;
    auto k = seg.selectors[0].kind;
    if (k != Selector::Kind::kName && k != Selector::Kind::kIndex) return false;
  }
  return true;
}

StatusOr<Path> Parse(std::string_view text) {
  Path path;
  std::string body;
  int64_t shift = 0;
  if (!text.empty() && text[0] == '$') {
    body = std::string(text.substr(1));
    shift = 1;
    path.text = std::string(text);
  } else {
    path.legacy = true;
    if (text.empty() || text == ".") {
      body.clear();
    } else if (text[0] == '.' || text[0] == '[') {
      body = std::string(text);
    } else {
      body = "." + std::string(text);
      shift = -1;
    }
    path.text = "$" + body;
  }
  Parser p(body, shift);
  STRATUS_RETURN_IF_ERROR(p.Segments(&path.segments, 0));
  if (!p.AtEnd()) return p.Fail("unexpected character");
  return path;
}

std::vector<Location> Find(const std::vector<Segment>& segments, const JsonDoc& root) {
  std::vector<Location> cur{Location{}};
  for (const Segment& seg : segments) {
    std::vector<Location> next;
    for (const Location& loc : cur) {
      const JsonDoc* node = Resolve(root, loc);
      if (!node) continue;
      if (seg.recursive) {
        Descend(seg.selectors, *node, loc, root, &next);
      } else {
        Select(seg.selectors, *node, loc, root, &next);
      }
    }
    cur = std::move(next);
    if (cur.empty()) break;
  }
  return cur;
}

std::vector<Location> Find(const Path& path, const JsonDoc& root) {
  return Find(path.segments, root);
}

const JsonDoc* Resolve(const JsonDoc& root, const Location& loc) {
  const JsonDoc* v = &root;
  for (const Step& s : loc) {
    if (s.is_index) {
      if (!v->is_array() || s.index >= v->size()) return nullptr;
      v = &(*v)[s.index];
    } else {
      if (!v->is_object()) return nullptr;
      auto it = v->find(s.key);
      if (it == v->end()) return nullptr;
      v = &*it;
    }
  }
  return v;
}

JsonDoc* Resolve(JsonDoc& root, const Location& loc) {
  return const_cast<JsonDoc*>(Resolve(static_cast<const JsonDoc&>(root), loc));
}

}  // namespace stratus::kv::jsonpath
