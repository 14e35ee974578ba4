// Lua 5.1 string patterns for the script sandbox: string.find, string.match, string.gmatch and
// string.gsub, plus a memory-aware string.rep. Written for stratus from the behaviour the Lua 5.1
// reference manual documents (§5.4 and the pattern rules of §5.4.1): classes %a %c %d %l %p %s
// %u %w %x %z and their upper-case complements, %<punct> escapes, sets [...] with ranges, classes
// and ^, '.', single-byte items with * + - ?, the ^ and $ anchors (special only at the very start
// and very end of a pattern, and ^ not at all in gmatch), captures, position captures,
// back-references %1-%9, %bxy and %f[set].
//
// How it works: a pattern is translated once into a short program (a flat array of Steps kept in
// a Lua userdata, so a Lua error unwinding past it leaks nothing), and a backtracking matcher
// walks that program over the subject. Every byte class, however written, becomes a 256-bit
// set. A pattern mistake is not reported when the pattern is read but when the matcher first
// reaches the faulty item (a kFail step), as Lua does: string.find('b', 'a%') is nil, not an
// error. The matcher counts its work and calls PatternLimits::check every kStepsPerCheck units,
// so SCRIPT KILL and the time limit stop a runaway backtrack; it recurses only at choice points
// (a quantifier or a capture) and never more than kMaxDepth deep, and a repetition walks the
// subject in a loop, so a long subject does not grow the C stack.
#include "kv/lua_patterns.h"

#include <cstdint>
#include <cstring>
#include <utility>

extern "C" {
#include <lua5.1/lauxlib.h>
}

namespace stratus::kv {
namespace {

constexpr int kMaxCaptures = 32;               // as LUA_MAXCAPTURES
constexpr int kMaxDepth = 200;                 // nested choice points before "pattern too complex"
constexpr unsigned kStepsPerCheck = 1u << 14;  // matcher work between two limit checks
constexpr ptrdiff_t kStillOpen = -1;           // Capture::length of a capture not yet closed
constexpr ptrdiff_t kPositionOnly = -2;        // Capture::length of a () capture

// ---------------------------------------------------------------------------------------------
// Byte sets and the named classes.

struct ByteSet {
  uint64_t words[4] = {0, 0, 0, 0};

  bool Has(unsigned char c) const { return (words[c >> 6] >> (c & 63)) & 1; }
  void Add(unsigned char c) { words[c >> 6] |= uint64_t{1} << (c & 63); }
  void AddRange(unsigned char lo, unsigned char hi) {
    for (unsigned c = lo; c <= hi; ++c) Add(static_cast<unsigned char>(c));
  }
  void AddAll(const ByteSet& other) {
    for (int i = 0; i < 4; ++i) words[i] |= other.words[i];
  }
  void Invert() {
    for (uint64_t& w : words) w = ~w;
  }
};

// The C locale's ctype classes, spelled out so the result never depends on the process locale.
bool InClass(char letter, unsigned c) {
  switch (letter) {
    case 'a':
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    case 'c':
      return c < 32 || c == 127;
    case 'd':
      return c >= '0' && c <= '9';
    case 'l':
      return c >= 'a' && c <= 'z';
    case 'p':
      return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    case 's':
      return c == ' ' || (c >= 9 && c <= 13);
    case 'u':
      return c >= 'A' && c <= 'Z';
    case 'w':
      return InClass('a', c) || InClass('d', c);
    case 'x':
      return InClass('d', c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    case 'z':
      return c == 0;
  }
  return false;
}

// The set a class letter names (upper case: the complement), or nullptr when `letter` is not a
// class letter and "%<letter>" just means the byte itself.
const ByteSet* NamedClass(char letter) {
  static const struct Table {
    ByteSet sets[26 * 2];
    bool known[26] = {};
    Table() {
      for (char l : {'a', 'c', 'd', 'l', 'p', 's', 'u', 'w', 'x', 'z'}) {
        int i = l - 'a';
        known[i] = true;
        for (unsigned c = 0; c < 256; ++c) {
          if (InClass(l, c)) sets[i].Add(static_cast<unsigned char>(c));
        }
        sets[26 + i] = sets[i];
        sets[26 + i].Invert();
      }
    }
  } table;
  if (letter >= 'a' && letter <= 'z' && table.known[letter - 'a']) return &table.sets[letter - 'a'];
  if (letter >= 'A' && letter <= 'Z' && table.known[letter - 'A']) return &table.sets[26 + letter - 'A'];
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// The program a pattern becomes.

enum class Op : uint8_t {
  kByte,      // one byte equal to `a`, repeated as `repeat` says
  kAnyByte,   // '.', repeated
  kSetByte,   // one byte in `set`, repeated
  kLiteral,   // the `length` bytes at `offset` in the program's byte pool, once
  kBalanced,  // %b with opener `a` and closer `b`
  kFrontier,  // %f: the byte before is not in `set` and the byte here is
  kBackref,   // %1-%9: the text of capture `index` again
  kOpen,      // '('
  kPosition,  // '()'
  kClose,     // ')'
  kAtEnd,     // a final '$'
  kFail,      // a malformed item: raise `message` when the matcher gets here
  kSucceed,   // the end of the pattern
};

enum class Repeat : uint8_t { kOnce, kOptional, kGreedy, kGreedyOneOrMore, kLazy };

struct Step {
  Op op = Op::kSucceed;
  Repeat repeat = Repeat::kOnce;
  unsigned char a = 0, b = 0;
  int index = 0;
  uint32_t offset = 0, length = 0;
  union {
    const ByteSet* set;
    const char* message;
  };
  Step() : set(nullptr) {}
};

// Header of the userdata; the steps, the sets and the byte pool follow it.
struct Program {
  size_t steps = 0, sets = 0, bytes = 0;
  Step* step_array() { return reinterpret_cast<Step*>(this + 1); }
  ByteSet* set_array() { return reinterpret_cast<ByteSet*>(step_array() + steps); }
  char* byte_pool() { return reinterpret_cast<char*>(set_array() + sets); }
};
static_assert(sizeof(Program) % alignof(Step) == 0 && sizeof(Step) % alignof(ByteSet) == 0);

// Reads a pattern into steps. Run twice: once with no storage to size the program, then to
// fill it; both runs make the same decisions.
class Translator {
 public:
  Translator(const char* pattern, size_t length, Program* out) : p_(pattern), end_(pattern + length), out_(out) {}

  void Run() {
    while (p_ < end_) {
      if (!Item()) return;  // a kFail step ends the program: nothing after it can be reached
    }
    Emit(Step());
  }

  size_t steps() const { return steps_; }
  size_t sets() const { return sets_; }
  size_t bytes() const { return bytes_; }

 private:
  // Translates the item at p_; false after a malformed one.
  bool Item() {
    Step s;
    switch (*p_) {
      case '(':
        if (p_ + 1 < end_ && p_[1] == ')') {
          s.op = Op::kPosition;
          p_ += 2;
        } else {
          s.op = Op::kOpen;
          ++p_;
        }
        Emit(s);
        return true;
      case ')':
        s.op = Op::kClose;
        ++p_;
        Emit(s);
        return true;
      case '$':
        if (p_ + 1 == end_) {
          s.op = Op::kAtEnd;
          ++p_;
          Emit(s);
          return true;
        }
        return SingleByte('$', 1);
      case '.':
        s.op = Op::kAnyByte;
        ++p_;
        return WithRepeat(s);
      case '[':
        return Set(&s) && WithRepeat(s);
      case '%':
        return Escape();
      default:
        return SingleByte(*p_, 1);
    }
  }

  bool Escape() {
    if (p_ + 1 == end_) return Fail("malformed pattern (ends with '%')");
    char c = p_[1];
    Step s;
    if (c == 'b') {
      if (end_ - p_ < 4) return Fail("malformed pattern (missing arguments to '%b')");
      s.op = Op::kBalanced;
      s.a = static_cast<unsigned char>(p_[2]);
      s.b = static_cast<unsigned char>(p_[3]);
      p_ += 4;
      Emit(s);
      return true;
    }
    if (c == 'f') {
      p_ += 2;
      if (p_ == end_ || *p_ != '[') return Fail("missing '[' after '%f' in pattern");
      if (!Set(&s)) return false;
      s.op = Op::kFrontier;
      Emit(s);
      return true;
    }
    if (c >= '0' && c <= '9') {
      s.op = Op::kBackref;
      s.index = c - '1';  // %0 gives -1, refused when reached
      p_ += 2;
      Emit(s);
      return true;
    }
    if (const ByteSet* named = NamedClass(c)) {
      s.op = Op::kSetByte;
      s.set = named;
      p_ += 2;
      return WithRepeat(s);
    }
    return SingleByte(c, 2);  // %. %% %[ ...: the byte itself
  }

  // '[' at p_: the set up to its ']' (a ']' right after '[' or "[^" is a member), into s->set.
  bool Set(Step* s) {
    const char* q = p_ + 1;
    bool negated = q < end_ && *q == '^';
    if (negated) ++q;
    const char* first = q;
    for (;;) {
      if (q == end_) return Fail("malformed pattern (missing ']')");
      if (*q++ == '%' && q < end_) ++q;
      if (q < end_ && *q == ']') break;
    }
    const char* close = q;
    ByteSet* set = NewSet();
    for (const char* r = first; r < close; ++r) {
      if (*r == '%') {
        ++r;
        if (const ByteSet* named = NamedClass(*r)) {
          set->AddAll(*named);
        } else {
          set->Add(static_cast<unsigned char>(*r));
        }
      } else if (r + 2 < close && r[1] == '-') {
        set->AddRange(static_cast<unsigned char>(r[0]), static_cast<unsigned char>(r[2]));
        r += 2;
      } else {
        set->Add(static_cast<unsigned char>(*r));
      }
    }
    if (negated) set->Invert();
    s->op = Op::kSetByte;
    s->set = set;
    p_ = close + 1;
    return true;
  }

  // A plain byte `c` written with `width` pattern bytes: joins the preceding literal run unless
  // a quantifier follows.
  bool SingleByte(char c, int width) {
    p_ += width;
    if (p_ < end_ && IsQuantifier(*p_)) {
      Step s;
      s.op = Op::kByte;
      s.a = static_cast<unsigned char>(c);
      return WithRepeat(s);
    }
    if (!last_was_literal_) {
      Step s;
      s.op = Op::kLiteral;
      s.offset = static_cast<uint32_t>(bytes_);
      Emit(s);
      last_was_literal_ = true;
    }
    if (out_) {
      out_->byte_pool()[bytes_] = c;
      ++out_->step_array()[steps_ - 1].length;
    }
    ++bytes_;
    return true;
  }

  static bool IsQuantifier(char c) { return c == '*' || c == '+' || c == '-' || c == '?'; }

  bool WithRepeat(Step s) {
    if (p_ < end_ && IsQuantifier(*p_)) {
      switch (*p_++) {
        case '*':
          s.repeat = Repeat::kGreedy;
          break;
        case '+':
          s.repeat = Repeat::kGreedyOneOrMore;
          break;
        case '-':
          s.repeat = Repeat::kLazy;
          break;
        default:
          s.repeat = Repeat::kOptional;
      }
    }
    Emit(s);
    return true;
  }

  bool Fail(const char* message) {
    Step s;
    s.op = Op::kFail;
    s.message = message;
    Emit(s);
    return false;
  }

  ByteSet* NewSet() {
    ByteSet* set = out_ ? &out_->set_array()[sets_] : &scratch_;
    ++sets_;
    *set = ByteSet();
    return set;
  }
  void Emit(const Step& s) {
    if (out_) out_->step_array()[steps_] = s;
    ++steps_;
    last_was_literal_ = false;
  }

  const char* p_;
  const char* end_;
  Program* out_;
  size_t steps_ = 0, sets_ = 0, bytes_ = 0;
  bool last_was_literal_ = false;
  ByteSet scratch_;
};

// Translates `pattern` into a program held by a new userdata on top of the stack.
Program* Translate(lua_State* L, const char* pattern, size_t length) {
  Translator sizing(pattern, length, nullptr);
  sizing.Run();
  size_t size = sizeof(Program) + sizing.steps() * sizeof(Step) + sizing.sets() * sizeof(ByteSet) + sizing.bytes();
  auto* program = static_cast<Program*>(lua_newuserdata(L, size));
  program->steps = sizing.steps();
  program->sets = sizing.sets();
  program->bytes = sizing.bytes();
  Translator(pattern, length, program).Run();
  return program;
}

// ---------------------------------------------------------------------------------------------
// The matcher. Everything here is plain data: a Lua error (a pattern mistake, a kill) unwinds
// through these frames with longjmp.

struct Capture {
  const char* start;
  ptrdiff_t length;  // kStillOpen, kPositionOnly or the captured length
};

struct Matcher {
  lua_State* L;
  PatternLimits* limits;
  const char* subject;
  const char* subject_end;
  const Step* program;
  const char* pool;  // the program's literal bytes
  unsigned budget;   // work left before the next limit check
  int depth;         // choice points still allowed on the C stack
  int captures;
  Capture capture[kMaxCaptures];
};

void Charge(Matcher* m, size_t work) {
  if (work < m->budget) {
    m->budget -= static_cast<unsigned>(work);
    return;
  }
  m->budget = kStepsPerCheck;
  if (m->limits->check) m->limits->check(m->L);  // raises when the script must stop
}

bool Accepts(const Step& s, unsigned char c) {
  switch (s.op) {
    case Op::kByte:
      return c == s.a;
    case Op::kAnyByte:
      return true;
    default:
      return s.set->Has(c);
  }
}

const char* Walk(Matcher* m, const char* at, const Step* step);

// Tries the rest of the program from `step` at `at`, one level deeper.
const char* Branch(Matcher* m, const char* at, const Step* step) {
  if (m->depth == 0) luaL_error(m->L, "pattern too complex");
  --m->depth;
  const char* end = Walk(m, at, step);
  ++m->depth;
  return end;
}

// A repeated single-byte step at `at`; the match's end or nullptr.
const char* Repetition(Matcher* m, const char* at, const Step* step) {
  const Step& s = *step;
  const char* limit = m->subject_end;
  switch (s.repeat) {
    case Repeat::kGreedy:
    case Repeat::kGreedyOneOrMore: {
      size_t run = 0;
      while (at + run < limit && Accepts(s, static_cast<unsigned char>(at[run]))) ++run;
      Charge(m, run);
      size_t least = s.repeat == Repeat::kGreedy ? 0 : 1;
      if (run < least) return nullptr;
      for (size_t n = run;; --n) {  // longest first, giving back one byte at a time
        if (const char* end = Branch(m, at + n, step + 1)) return end;
        if (n == least) return nullptr;
        Charge(m, 1);
      }
    }
    case Repeat::kLazy:
      for (;;) {  // shortest first, taking one more byte at a time
        if (const char* end = Branch(m, at, step + 1)) return end;
        if (at == limit || !Accepts(s, static_cast<unsigned char>(*at))) return nullptr;
        ++at;
        Charge(m, 1);
      }
    case Repeat::kOnce:
    case Repeat::kOptional:
      break;  // handled in Walk
  }
  return nullptr;
}

const char* Walk(Matcher* m, const char* at, const Step* step) {
  const char* limit = m->subject_end;
  for (;; ++step) {
    Charge(m, 1);
    const Step& s = *step;
    switch (s.op) {
      case Op::kSucceed:
        return at;
      case Op::kFail:
        luaL_error(m->L, "%s", s.message);
        return nullptr;
      case Op::kAtEnd:
        return at == limit ? at : nullptr;
      case Op::kLiteral:
        if (static_cast<size_t>(limit - at) < s.length || std::memcmp(at, m->pool + s.offset, s.length) != 0) {
          return nullptr;
        }
        Charge(m, s.length);
        at += s.length;
        break;
      case Op::kByte:
      case Op::kAnyByte:
      case Op::kSetByte:
        if (s.repeat == Repeat::kOptional) {  // with the byte, then (same loop) without it
          if (at < limit && Accepts(s, static_cast<unsigned char>(*at))) {
            if (const char* end = Branch(m, at + 1, step + 1)) return end;
          }
          break;
        }
        if (s.repeat != Repeat::kOnce) return Repetition(m, at, step);
        if (at == limit || !Accepts(s, static_cast<unsigned char>(*at))) return nullptr;
        ++at;
        break;
      case Op::kBalanced: {
        if (at == limit || static_cast<unsigned char>(*at) != s.a) return nullptr;
        int open = 1;
        const char* q = at + 1;
        for (; q < limit; ++q) {
          auto c = static_cast<unsigned char>(*q);
          if (c == s.b) {
            if (--open == 0) break;
          } else if (c == s.a) {
            ++open;
          }
        }
        Charge(m, static_cast<size_t>(q - at));
        if (q == limit) return nullptr;
        at = q + 1;
        break;
      }
      case Op::kFrontier: {
        auto before = static_cast<unsigned char>(at == m->subject ? '\0' : at[-1]);
        auto here = static_cast<unsigned char>(at == limit ? '\0' : *at);
        if (s.set->Has(before) || !s.set->Has(here)) return nullptr;
        break;
      }
      case Op::kBackref: {
        if (s.index < 0 || s.index >= m->captures || m->capture[s.index].length == kStillOpen) {
          luaL_error(m->L, "invalid capture index");
        }
        const Capture& c = m->capture[s.index];
        if (c.length == kPositionOnly) return nullptr;  // a position has no text to repeat
        auto n = static_cast<size_t>(c.length);
        if (static_cast<size_t>(limit - at) < n || std::memcmp(at, c.start, n) != 0) return nullptr;
        Charge(m, n);
        at += n;
        break;
      }
      case Op::kOpen:
      case Op::kPosition: {
        if (m->captures == kMaxCaptures) luaL_error(m->L, "too many captures");
        m->capture[m->captures++] = {at, s.op == Op::kOpen ? kStillOpen : kPositionOnly};
        const char* end = Branch(m, at, step + 1);
        if (!end) --m->captures;
        return end;
      }
      case Op::kClose: {
        int i = m->captures - 1;
        while (i >= 0 && m->capture[i].length != kStillOpen) --i;
        if (i < 0) luaL_error(m->L, "invalid pattern capture");
        m->capture[i].length = at - m->capture[i].start;
        const char* end = Branch(m, at, step + 1);
        if (!end) m->capture[i].length = kStillOpen;
        return end;
      }
    }
  }
}

// Upvalue 1 of each library function (and of gmatch's iterator) is the PatternLimits.
PatternLimits* LimitsOf(lua_State* L) {
  return static_cast<PatternLimits*>(lua_touserdata(L, lua_upvalueindex(1)));
}

void StartMatcher(Matcher* m, lua_State* L, const char* subject, size_t length, Program* program) {
  m->L = L;
  m->limits = LimitsOf(L);
  m->subject = subject;
  m->subject_end = subject + length;
  m->program = program->step_array();
  m->pool = program->byte_pool();
  m->budget = kStepsPerCheck;
  m->captures = 0;
}

// One attempt to match the whole program starting exactly at `at`.
const char* MatchHere(Matcher* m, const char* at) {
  m->captures = 0;
  m->depth = kMaxDepth;
  return Branch(m, at, m->program);
}

// ---------------------------------------------------------------------------------------------
// Captures as Lua values.

// Pushes capture `i` (0-based) of a match spanning [start, end); with no captures at all,
// capture 0 is the whole match.
void PushCapture(Matcher* m, int i, const char* start, const char* end) {
  if (i >= m->captures) {
    if (i != 0) luaL_error(m->L, "invalid capture index");
    lua_pushlstring(m->L, start, static_cast<size_t>(end - start));
    return;
  }
  const Capture& c = m->capture[i];
  if (c.length == kStillOpen) luaL_error(m->L, "unfinished capture");
  if (c.length == kPositionOnly) {
    lua_pushinteger(m->L, static_cast<lua_Integer>(c.start - m->subject) + 1);
  } else {
    lua_pushlstring(m->L, c.start, static_cast<size_t>(c.length));
  }
}

// Pushes every capture; with none, the whole match when `whole` (match, gmatch, gsub's
// callbacks) or nothing (find). Returns how many values it pushed.
int PushCaptures(Matcher* m, const char* start, const char* end, bool whole) {
  int n = m->captures == 0 && whole ? 1 : m->captures;
  luaL_checkstack(m->L, n, "too many captures");
  for (int i = 0; i < n; ++i) PushCapture(m, i, start, end);
  return n;
}

// ---------------------------------------------------------------------------------------------
// The library functions.

// A 1-based (negative: from the end) start argument as a 0-based offset within [0, length].
size_t StartOffset(lua_Integer position, size_t length) {
  auto n = static_cast<lua_Integer>(length);
  if (position < 0) position += n + 1;
  if (position < 1) return 0;
  return position - 1 > n ? length : static_cast<size_t>(position - 1);
}

// Whether string.find must treat `p` as a pattern rather than as plain text.
bool HasPatternSyntax(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    switch (p[i]) {
      case '^':
      case '$':
      case '*':
      case '+':
      case '?':
      case '.':
      case '(':
      case '[':
      case '%':
      case '-':
        return true;
    }
  }
  return false;
}

// string.find (find = true) and string.match.
int Search(lua_State* L, bool find) {
  size_t length, plength;
  const char* subject = luaL_checklstring(L, 1, &length);
  const char* pattern = luaL_checklstring(L, 2, &plength);
  size_t from = StartOffset(luaL_optinteger(L, 3, 1), length);
  if (find && (lua_toboolean(L, 4) || !HasPatternSyntax(pattern, plength))) {
    const char* hit = subject + from;
    if (plength > 0) {
      hit = static_cast<const char*>(memmem(subject + from, length - from, pattern, plength));
      if (!hit) {
        lua_pushnil(L);
        return 1;
      }
    }
    lua_pushinteger(L, static_cast<lua_Integer>(hit - subject) + 1);
    lua_pushinteger(L, static_cast<lua_Integer>(hit - subject + plength));
    return 2;
  }
  bool anchored = plength > 0 && pattern[0] == '^';
  if (anchored) ++pattern, --plength;
  Program* program = Translate(L, pattern, plength);
  Matcher m;
  StartMatcher(&m, L, subject, length, program);
  for (const char* at = subject + from;; ++at) {
    if (const char* end = MatchHere(&m, at)) {
      if (!find) return PushCaptures(&m, at, end, true);
      lua_pushinteger(L, static_cast<lua_Integer>(at - subject) + 1);
      lua_pushinteger(L, static_cast<lua_Integer>(end - subject));
      return 2 + PushCaptures(&m, nullptr, nullptr, false);
    }
    if (anchored || at == m.subject_end) break;
  }
  lua_pushnil(L);
  return 1;
}

int Find(lua_State* L) {
  return Search(L, true);
}
int Match(lua_State* L) {
  return Search(L, false);
}

// The iterator string.gmatch returns. Upvalues: limits, subject, program, next offset. A
// leading '^' is an ordinary byte here (an anchor would stop the iteration).
int GmatchNext(lua_State* L) {
  size_t length;
  const char* subject = lua_tolstring(L, lua_upvalueindex(2), &length);
  auto* program = static_cast<Program*>(lua_touserdata(L, lua_upvalueindex(3)));
  lua_Integer next = lua_tointeger(L, lua_upvalueindex(4));
  Matcher m;
  StartMatcher(&m, L, subject, length, program);
  for (auto offset = static_cast<size_t>(next); offset <= length; ++offset) {
    const char* at = subject + offset;
    if (const char* end = MatchHere(&m, at)) {
      // After an empty match, the next try starts one byte further on.
      lua_pushinteger(L, static_cast<lua_Integer>(end - subject) + (end == at ? 1 : 0));
      lua_replace(L, lua_upvalueindex(4));
      return PushCaptures(&m, at, end, true);
    }
  }
  return 0;
}

int Gmatch(lua_State* L) {
  size_t plength;
  luaL_checkstring(L, 1);
  const char* pattern = luaL_checklstring(L, 2, &plength);
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  Translate(L, pattern, plength);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, GmatchNext, 4);
  return 1;
}

// Appends gsub's replacement (argument 3) for the match [start, end).
void AddReplacement(Matcher* m, luaL_Buffer* b, const char* start, const char* end) {
  lua_State* L = m->L;
  switch (lua_type(L, 3)) {
    case LUA_TFUNCTION: {
      lua_pushvalue(L, 3);
      int n = PushCaptures(m, start, end, true);
      lua_call(L, n, 1);
      break;
    }
    case LUA_TTABLE:
      PushCapture(m, 0, start, end);
      lua_gettable(L, 3);
      break;
    default: {  // a string (or a number, read as one): %0-%9 name captures, %<other> is <other>
      size_t n;
      const char* text = lua_tolstring(L, 3, &n);
      for (size_t i = 0; i < n; ++i) {
        if (text[i] != '%') {
          luaL_addchar(b, text[i]);
          continue;
        }
        ++i;  // a '%' that ends the text takes the string's terminating '\0', as in Lua 5.1
        char c = text[i];
        if (c < '0' || c > '9') {
          luaL_addchar(b, c);
        } else if (c == '0') {
          luaL_addlstring(b, start, static_cast<size_t>(end - start));
        } else {
          PushCapture(m, c - '1', start, end);
          luaL_addvalue(b);
        }
      }
      return;
    }
  }
  if (!lua_toboolean(L, -1)) {  // nil or false: the match stays as it was
    lua_pop(L, 1);
    lua_pushlstring(L, start, static_cast<size_t>(end - start));
  } else if (!lua_isstring(L, -1)) {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  }
  luaL_addvalue(b);
}

int Gsub(lua_State* L) {
  size_t length, plength;
  const char* subject = luaL_checklstring(L, 1, &length);
  const char* pattern = luaL_checklstring(L, 2, &plength);
  int kind = lua_type(L, 3);
  lua_Integer most = luaL_optinteger(L, 4, static_cast<lua_Integer>(length) + 1);
  luaL_argcheck(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE, 3,
                "string/function/table expected");
  bool anchored = plength > 0 && pattern[0] == '^';
  if (anchored) ++pattern, --plength;
  Program* program = Translate(L, pattern, plength);
  Matcher m;
  StartMatcher(&m, L, subject, length, program);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  const char* at = subject;
  lua_Integer done = 0;
  while (done < most) {
    const char* end = MatchHere(&m, at);
    if (end) {
      ++done;
      AddReplacement(&m, &b, at, end);
    }
    if (end && end > at) {
      at = end;
    } else if (at < m.subject_end) {
      luaL_addchar(&b, *at++);  // no match here, or an empty one: keep this byte and move on
    } else {
      break;
    }
    if (anchored) break;
  }
  luaL_addlstring(&b, at, static_cast<size_t>(m.subject_end - at));
  luaL_pushresult(&b);
  lua_pushinteger(L, done);
  return 2;
}

// string.rep, refusing a result over the script memory limit before building any of it.
int Rep(lua_State* L) {
  PatternLimits* limits = LimitsOf(L);
  size_t length;
  const char* s = luaL_checklstring(L, 1, &length);
  lua_Integer times = luaL_checkinteger(L, 2);
  if (times <= 0 || length == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  double total = static_cast<double>(length) * static_cast<double>(times);
  if (total > static_cast<double>(limits->max_string_bytes)) {
    return luaL_error(L, "string.rep: a result of %f bytes is over the script memory limit", total);
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (lua_Integer i = 1; i <= times; ++i) {
    luaL_addlstring(&b, s, length);
    if (i % 65536 == 0 && limits->check) limits->check(L);
  }
  luaL_pushresult(&b);
  return 1;
}

}  // namespace

void InstallSafeStringFunctions(lua_State* L, int lib, PatternLimits* limits) {
  if (lib < 0) lib = lua_gettop(L) + lib + 1;
  const std::pair<const char*, lua_CFunction> functions[] = {
      {"find", Find}, {"match", Match}, {"gmatch", Gmatch}, {"gsub", Gsub}, {"rep", Rep}};
  for (const auto& [name, function] : functions) {
    lua_pushstring(L, name);
    lua_pushlightuserdata(L, limits);
    lua_pushcclosure(L, function, 1);
    lua_rawset(L, lib);
  }
}

}  // namespace stratus::kv
