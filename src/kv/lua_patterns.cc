// Lua 5.1's pattern matcher (lstrlib.c: same classes, captures, anchors, %b, %f and back
// references) with a step budget. Lua errors are longjmps: the functions here keep only
// plain data on their frames, so nothing is skipped when a check raises.
#include "kv/lua_patterns.h"

#include <cctype>
#include <cstring>

extern "C" {
#include <lua5.1/lauxlib.h>
}

namespace stratus::kv {
namespace {

constexpr char kEsc = '%';
constexpr const char* kSpecials = "^$*+?.([%-";
constexpr int kMaxCaptures = 32;
constexpr int kMaxMatchDepth = 200;            // nested match() calls (Lua 5.2's MAXCCALLS)
constexpr unsigned kStepsPerCheck = 1u << 14;  // matcher steps between limit checks
constexpr ptrdiff_t kCapUnfinished = -1;
constexpr ptrdiff_t kCapPosition = -2;

struct MatchState {
  const char* src_init;
  const char* src_end;
  const char* p_end;
  lua_State* L;
  PatternLimits* limits;
  int level;
  int depth;
  unsigned steps;
  struct {
    const char* init;
    ptrdiff_t len;
  } capture[kMaxCaptures];
};

inline int U(char c) {
  return static_cast<unsigned char>(c);
}

void Tick(MatchState* ms, unsigned cost) {
  ms->steps += cost;
  if (ms->steps >= kStepsPerCheck) {
    ms->steps = 0;
    if (ms->limits->check) ms->limits->check(ms->L);
  }
}

PatternLimits* Limits(lua_State* L, int upvalue) {
  return static_cast<PatternLimits*>(lua_touserdata(L, lua_upvalueindex(upvalue)));
}

void InitState(MatchState* ms, lua_State* L, PatternLimits* limits, const char* s, size_t ls, const char* p_end) {
  ms->L = L;
  ms->limits = limits;
  ms->src_init = s;
  ms->src_end = s + ls;
  ms->p_end = p_end;
  ms->level = 0;
  ms->depth = kMaxMatchDepth;
  ms->steps = 0;
}

int CheckCapture(MatchState* ms, int l) {
  l -= '1';
  if (l < 0 || l >= ms->level || ms->capture[l].len == kCapUnfinished)
    return luaL_error(ms->L, "invalid capture index");
  return l;
}

int CaptureToClose(MatchState* ms) {
  int level = ms->level;
  for (level--; level >= 0; level--)
    if (ms->capture[level].len == kCapUnfinished) return level;
  return luaL_error(ms->L, "invalid pattern capture");
}

const char* ClassEnd(MatchState* ms, const char* p) {
  switch (*p++) {
    case kEsc:
      if (p >= ms->p_end) luaL_error(ms->L, "malformed pattern (ends with '%%')");
      return p + 1;
    case '[':
      if (*p == '^') p++;
      do {  // look for a ']'
        if (p >= ms->p_end) luaL_error(ms->L, "malformed pattern (missing ']')");
        if (*(p++) == kEsc && p < ms->p_end) p++;  // skip escapes (e.g. '%]')
      } while (*p != ']');
      return p + 1;
    default:
      return p;
  }
}

int MatchClass(int c, int cl) {
  int res;
  switch (std::tolower(cl)) {
    case 'a':
      res = std::isalpha(c);
      break;
    case 'c':
      res = std::iscntrl(c);
      break;
    case 'd':
      res = std::isdigit(c);
      break;
    case 'l':
      res = std::islower(c);
      break;
    case 'p':
      res = std::ispunct(c);
      break;
    case 's':
      res = std::isspace(c);
      break;
    case 'u':
      res = std::isupper(c);
      break;
    case 'w':
      res = std::isalnum(c);
      break;
    case 'x':
      res = std::isxdigit(c);
      break;
    case 'z':
      res = (c == 0);
      break;
    default:
      return cl == c;
  }
  if (std::isupper(cl)) res = !res;
  return res;
}

int MatchBracketClass(int c, const char* p, const char* ec) {
  int sig = 1;
  if (*(p + 1) == '^') {
    sig = 0;
    p++;  // skip the '^'
  }
  while (++p < ec) {
    if (*p == kEsc) {
      p++;
      if (MatchClass(c, U(*p))) return sig;
    } else if (*(p + 1) == '-' && p + 2 < ec) {
      p += 2;
      if (U(*(p - 2)) <= c && c <= U(*p)) return sig;
    } else if (U(*p) == c) {
      return sig;
    }
  }
  return !sig;
}

int SingleMatch(MatchState* ms, const char* s, const char* p, const char* ep) {
  if (s >= ms->src_end) return 0;
  int c = U(*s);
  switch (*p) {
    case '.':
      return 1;
    case kEsc:
      return MatchClass(c, U(*(p + 1)));
    case '[':
      return MatchBracketClass(c, p, ep - 1);
    default:
      return U(*p) == c;
  }
}

const char* Match(MatchState* ms, const char* s, const char* p);

const char* MatchBalance(MatchState* ms, const char* s, const char* p) {
  if (p + 1 >= ms->p_end) luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
  if (s >= ms->src_end || *s != *p) return nullptr;
  int b = *p;
  int e = *(p + 1);
  int cont = 1;
  const char* start = s;
  while (++s < ms->src_end) {
    if (*s == e) {
      if (--cont == 0) {
        Tick(ms, static_cast<unsigned>(s - start));
        return s + 1;
      }
    } else if (*s == b) {
      cont++;
    }
  }
  Tick(ms, static_cast<unsigned>(s - start));
  return nullptr;
}

const char* MaxExpand(MatchState* ms, const char* s, const char* p, const char* ep) {
  ptrdiff_t i = 0;
  while (SingleMatch(ms, s + i, p, ep)) i++;
  Tick(ms, static_cast<unsigned>(i));
  while (i >= 0) {  // try with the maximum repetitions, then fewer
    const char* res = Match(ms, s + i, ep + 1);
    if (res) return res;
    i--;
  }
  return nullptr;
}

const char* MinExpand(MatchState* ms, const char* s, const char* p, const char* ep) {
  for (;;) {
    const char* res = Match(ms, s, ep + 1);
    if (res != nullptr) return res;
    if (SingleMatch(ms, s, p, ep)) {
      s++;
    } else {
      return nullptr;
    }
  }
}

const char* StartCapture(MatchState* ms, const char* s, const char* p, ptrdiff_t what) {
  int level = ms->level;
  if (level >= kMaxCaptures) luaL_error(ms->L, "too many captures");
  ms->capture[level].init = s;
  ms->capture[level].len = what;
  ms->level = level + 1;
  const char* res = Match(ms, s, p);
  if (res == nullptr) ms->level--;  // undo the capture
  return res;
}

const char* EndCapture(MatchState* ms, const char* s, const char* p) {
  int l = CaptureToClose(ms);
  ms->capture[l].len = s - ms->capture[l].init;
  const char* res = Match(ms, s, p);
  if (res == nullptr) ms->capture[l].len = kCapUnfinished;
  return res;
}

const char* MatchCapture(MatchState* ms, const char* s, int l) {
  l = CheckCapture(ms, l);
  size_t len = static_cast<size_t>(ms->capture[l].len);
  Tick(ms, static_cast<unsigned>(len));
  if (static_cast<size_t>(ms->src_end - s) >= len && std::memcmp(ms->capture[l].init, s, len) == 0) return s + len;
  return nullptr;
}

const char* Match(MatchState* ms, const char* s, const char* p) {
  if (ms->depth-- == 0) luaL_error(ms->L, "pattern too complex");
  Tick(ms, 1);
init:
  if (p != ms->p_end) {
    switch (*p) {
      case '(':
        if (*(p + 1) == ')') {
          s = StartCapture(ms, s, p + 2, kCapPosition);
        } else {
          s = StartCapture(ms, s, p + 1, kCapUnfinished);
        }
        break;
      case ')':
        s = EndCapture(ms, s, p + 1);
        break;
      case '$':
        if (p + 1 != ms->p_end) goto dflt;
        s = (s == ms->src_end) ? s : nullptr;
        break;
      case kEsc:
        switch (*(p + 1)) {
          case 'b':
            s = MatchBalance(ms, s, p + 2);
            if (s != nullptr) {
              p += 4;
              goto init;
            }
            break;
          case 'f': {
            p += 2;
            if (*p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
            const char* ep = ClassEnd(ms, p);
            char previous = (s == ms->src_init) ? '\0' : *(s - 1);
            char current = (s < ms->src_end) ? *s : '\0';
            if (!MatchBracketClass(U(previous), p, ep - 1) && MatchBracketClass(U(current), p, ep - 1)) {
              p = ep;
              goto init;
            }
            s = nullptr;
            break;
          }
          case '0':
          case '1':
          case '2':
          case '3':
          case '4':
          case '5':
          case '6':
          case '7':
          case '8':
          case '9':
            s = MatchCapture(ms, s, U(*(p + 1)));
            if (s != nullptr) {
              p += 2;
              goto init;
            }
            break;
          default:
            goto dflt;
        }
        break;
      default:
      dflt : {
        const char* ep = ClassEnd(ms, p);  // Lua strings end with '\0', so *ep is readable
        if (!SingleMatch(ms, s, p, ep)) {
          if (*ep == '*' || *ep == '?' || *ep == '-') {  // accept empty
            p = ep + 1;
            goto init;
          }
          s = nullptr;
        } else {
          switch (*ep) {
            case '?': {
              const char* res = Match(ms, s + 1, ep + 1);
              if (res != nullptr) {
                s = res;
              } else {
                p = ep + 1;
                goto init;
              }
              break;
            }
            case '+':
              s = MaxExpand(ms, s + 1, p, ep);
              break;
            case '*':
              s = MaxExpand(ms, s, p, ep);
              break;
            case '-':
              s = MinExpand(ms, s, p, ep);
              break;
            default:
              s++;
              p = ep;
              goto init;
          }
        }
        break;
      }
    }
  }
  ms->depth++;
  return s;
}

void PushOneCapture(MatchState* ms, int i, const char* s, const char* e) {
  if (i >= ms->level) {
    if (i == 0) {
      lua_pushlstring(ms->L, s, static_cast<size_t>(e - s));  // the whole match
    } else {
      luaL_error(ms->L, "invalid capture index");
    }
  } else {
    ptrdiff_t l = ms->capture[i].len;
    if (l == kCapUnfinished) luaL_error(ms->L, "unfinished capture");
    if (l == kCapPosition) {
      lua_pushinteger(ms->L, ms->capture[i].init - ms->src_init + 1);
    } else {
      lua_pushlstring(ms->L, ms->capture[i].init, static_cast<size_t>(l));
    }
  }
}

int PushCaptures(MatchState* ms, const char* s, const char* e) {
  int nlevels = (ms->level == 0 && s) ? 1 : ms->level;
  luaL_checkstack(ms->L, nlevels, "too many captures");
  for (int i = 0; i < nlevels; i++) PushOneCapture(ms, i, s, e);
  return nlevels;
}

ptrdiff_t PosRelative(ptrdiff_t pos, size_t len) {
  if (pos < 0) pos += static_cast<ptrdiff_t>(len) + 1;
  return pos >= 0 ? pos : 0;
}

int FindAux(lua_State* L, bool find) {
  PatternLimits* limits = Limits(L, 1);
  size_t l1, l2;
  const char* s = luaL_checklstring(L, 1, &l1);
  const char* p = luaL_checklstring(L, 2, &l2);
  ptrdiff_t init = PosRelative(luaL_optinteger(L, 3, 1), l1) - 1;
  if (init < 0) {
    init = 0;
  } else if (static_cast<size_t>(init) > l1) {
    init = static_cast<ptrdiff_t>(l1);
  }
  if (find && (lua_toboolean(L, 4) || std::strpbrk(p, kSpecials) == nullptr)) {
    // A plain search: memmem is linear (two-way), Lua 5.1's loop is not.
    const void* s2 = l2 == 0 ? s + init : memmem(s + init, l1 - static_cast<size_t>(init), p, l2);
    if (s2) {
      const char* at = static_cast<const char*>(s2);
      lua_pushinteger(L, at - s + 1);
      lua_pushinteger(L, static_cast<lua_Integer>(at - s + static_cast<ptrdiff_t>(l2)));
      return 2;
    }
  } else {
    MatchState ms;
    const char* p_end = p + l2;
    bool anchor = (*p == '^');
    if (anchor) p++;
    const char* s1 = s + init;
    InitState(&ms, L, limits, s, l1, p_end);
    do {
      ms.level = 0;
      ms.depth = kMaxMatchDepth;
      const char* res = Match(&ms, s1, p);
      if (res != nullptr) {
        if (find) {
          lua_pushinteger(L, s1 - s + 1);  // start
          lua_pushinteger(L, res - s);     // end
          return PushCaptures(&ms, nullptr, nullptr) + 2;
        }
        return PushCaptures(&ms, s1, res);
      }
    } while (s1++ < ms.src_end && !anchor);
  }
  lua_pushnil(L);  // not found
  return 1;
}

int Find(lua_State* L) {
  return FindAux(L, true);
}
int MatchFn(lua_State* L) {
  return FindAux(L, false);
}

int GmatchAux(lua_State* L) {
  MatchState ms;
  size_t ls, lp;
  const char* s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char* p = lua_tolstring(L, lua_upvalueindex(2), &lp);
  InitState(&ms, L, Limits(L, 4), s, ls, p + lp);
  for (const char* src = s + static_cast<size_t>(lua_tointeger(L, lua_upvalueindex(3))); src <= ms.src_end; src++) {
    ms.level = 0;
    ms.depth = kMaxMatchDepth;
    const char* e = Match(&ms, src, p);
    if (e != nullptr) {
      lua_Integer newstart = e - s;
      if (e == src) newstart++;  // empty match: go at least one position
      lua_pushinteger(L, newstart);
      lua_replace(L, lua_upvalueindex(3));
      return PushCaptures(&ms, src, e);
    }
  }
  return 0;  // not found
}

int Gmatch(lua_State* L) {
  luaL_checkstring(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 2);
  lua_pushinteger(L, 0);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushcclosure(L, GmatchAux, 4);
  return 1;
}

void AddS(MatchState* ms, luaL_Buffer* b, const char* s, const char* e) {
  size_t l;
  const char* news = lua_tolstring(ms->L, 3, &l);
  for (size_t i = 0; i < l; i++) {
    if (news[i] != kEsc) {
      luaL_addchar(b, news[i]);
    } else {
      i++;  // skip the escape; a trailing '%' adds the string's terminating '\0', as 5.1 does
      if (!std::isdigit(U(news[i]))) {
        luaL_addchar(b, news[i]);
      } else if (news[i] == '0') {
        luaL_addlstring(b, s, static_cast<size_t>(e - s));
      } else {
        PushOneCapture(ms, news[i] - '1', s, e);
        luaL_addvalue(b);
      }
    }
  }
}

void AddValue(MatchState* ms, luaL_Buffer* b, const char* s, const char* e) {
  lua_State* L = ms->L;
  switch (lua_type(L, 3)) {
    case LUA_TNUMBER:
    case LUA_TSTRING:
      AddS(ms, b, s, e);
      return;
    case LUA_TFUNCTION: {
      lua_pushvalue(L, 3);
      int n = PushCaptures(ms, s, e);
      lua_call(L, n, 1);
      break;
    }
    case LUA_TTABLE:
      PushOneCapture(ms, 0, s, e);
      lua_gettable(L, 3);
      break;
  }
  if (!lua_toboolean(L, -1)) {  // nil or false: keep the original text
    lua_pop(L, 1);
    lua_pushlstring(L, s, static_cast<size_t>(e - s));
  } else if (!lua_isstring(L, -1)) {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  }
  luaL_addvalue(b);
}

int Gsub(lua_State* L) {
  PatternLimits* limits = Limits(L, 1);
  size_t srcl, lp;
  const char* src = luaL_checklstring(L, 1, &srcl);
  const char* p = luaL_checklstring(L, 2, &lp);
  const char* p_end = p + lp;
  int tr = lua_type(L, 3);
  int max_s = luaL_optint(L, 4, static_cast<int>(srcl + 1));
  bool anchor = (*p == '^');
  if (anchor) p++;
  luaL_argcheck(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                "string/function/table expected");
  int n = 0;
  MatchState ms;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  InitState(&ms, L, limits, src, srcl, p_end);
  while (n < max_s) {
    ms.level = 0;
    ms.depth = kMaxMatchDepth;
    const char* e = Match(&ms, src, p);
    if (e) {
      n++;
      AddValue(&ms, &b, src, e);
    }
    if (e && e > src) {
      src = e;
    } else if (src < ms.src_end) {
      luaL_addchar(&b, *src++);
    } else {
      break;
    }
    if (anchor) break;
  }
  luaL_addlstring(&b, src, static_cast<size_t>(ms.src_end - src));
  luaL_pushresult(&b);
  lua_pushinteger(L, n);  // number of substitutions
  return 2;
}

int Rep(lua_State* L) {
  PatternLimits* limits = Limits(L, 1);
  size_t l;
  const char* s = luaL_checklstring(L, 1, &l);
  lua_Integer n = luaL_checkinteger(L, 2);
  if (n <= 0 || l == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  if (static_cast<double>(l) * static_cast<double>(n) > static_cast<double>(limits->max_string_bytes)) {
    return luaL_error(L, "string.rep: a result of %f bytes is over the script memory limit",
                      static_cast<double>(l) * static_cast<double>(n));
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (lua_Integer i = 1; i <= n; ++i) {
    luaL_addlstring(&b, s, l);
    if (i % 65536 == 0 && limits->check) limits->check(L);
  }
  luaL_pushresult(&b);
  return 1;
}

}  // namespace

void InstallSafeStringFunctions(lua_State* L, int lib, PatternLimits* limits) {
  if (lib < 0) lib = lua_gettop(L) + lib + 1;
  const struct {
    const char* name;
    lua_CFunction fn;
  } fns[] = {{"find", Find}, {"match", MatchFn}, {"gmatch", Gmatch}, {"gsub", Gsub}, {"rep", Rep}};
  for (const auto& f : fns) {
    lua_pushstring(L, f.name);
    lua_pushlightuserdata(L, limits);
    lua_pushcclosure(L, f.fn, 1);
    lua_rawset(L, lib);
  }
}

}  // namespace stratus::kv
