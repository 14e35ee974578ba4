#include "kv/util.h"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace stratus::kv {

std::optional<int64_t> ParseInt(std::string_view s) {
  constexpr size_t kLongStrSize = 21;
  if (s.empty() || s.size() >= kLongStrSize) return std::nullopt;
  if (s.size() == 1 && s[0] == '0') return 0;
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    if (++i == s.size()) return std::nullopt;
  }
  if (s[i] < '1' || s[i] > '9') return std::nullopt;
  unsigned long long v = static_cast<unsigned long long>(s[i++] - '0');
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    unsigned d = static_cast<unsigned>(s[i] - '0');
    if (v > ULLONG_MAX / 10) return std::nullopt;
    v *= 10;
    if (v > ULLONG_MAX - d) return std::nullopt;
    v += d;
  }
  if (negative) {
    if (v > static_cast<unsigned long long>(-(LLONG_MIN + 1)) + 1) return std::nullopt;
    return static_cast<int64_t>(0 - v);
  }
  if (v > static_cast<unsigned long long>(LLONG_MAX)) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<double> ParseDouble(std::string_view s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  std::string buf(s);  // strtod needs a terminator; an embedded NUL ends the parse early
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(buf.c_str(), &end);
  if (static_cast<size_t>(end - buf.c_str()) != buf.size()) return std::nullopt;
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || std::fpclassify(v) == FP_ZERO)) return std::nullopt;
  if (std::isnan(v)) return std::nullopt;
  return v;
}

std::string FormatDouble(double d) {
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%.17g", d);
  return std::string(buf, static_cast<size_t>(n));
}

namespace {

// A port of Redis 7.0's stringmatchlen_impl; `At` reads the NUL terminator Redis relies on.
struct Matcher {
  bool nocase;
  bool skip_longer = false;

  static char At(const char* p, int len, int i) { return i < len ? p[i] : '\0'; }

  bool Match(const char* pattern, int plen, const char* str, int slen, int nesting) {
    if (nesting > 1000) return false;
    while (plen && slen) {
      switch (pattern[0]) {
        case '*':
          while (plen && At(pattern, plen, 1) == '*') {
            pattern++;
            plen--;
          }
          if (plen == 1) return true;
          while (slen) {
            if (Match(pattern + 1, plen - 1, str, slen, nesting + 1)) return true;
            if (skip_longer) return false;
            str++;
            slen--;
          }
          skip_longer = true;
          return false;
        case '?':
          str++;
          slen--;
          break;
        case '[': {
          pattern++;
          plen--;
          bool negate = At(pattern, plen, 0) == '^';
          if (negate) {
            pattern++;
            plen--;
          }
          bool match = false;
          while (true) {
            if (At(pattern, plen, 0) == '\\' && plen >= 2) {
              pattern++;
              plen--;
              if (pattern[0] == str[0]) match = true;
            } else if (At(pattern, plen, 0) == ']') {
              break;
            } else if (plen == 0) {
              pattern--;
              plen++;
              break;
            } else if (plen >= 3 && pattern[1] == '-') {
              // NOLINTNEXTLINE(bugprone-signed-char-misuse): signed, as Redis compares range bytes
              int start = pattern[0], end = pattern[2], c = str[0];
              if (start > end) std::swap(start, end);
              if (nocase) {
                start = std::tolower(start);
                end = std::tolower(end);
                c = std::tolower(c);
              }
              pattern += 2;
              plen -= 2;
              if (c >= start && c <= end) match = true;
            } else if (!nocase) {
              if (pattern[0] == str[0]) match = true;
            } else if (std::tolower(pattern[0]) == std::tolower(str[0])) {
              match = true;
            }
            pattern++;
            plen--;
          }
          if (negate) match = !match;
          if (!match) return false;
          str++;
          slen--;
          break;
        }
        case '\\':
          if (plen >= 2) {
            pattern++;
            plen--;
          }
          [[fallthrough]];
        default:
          if (!nocase) {
            if (pattern[0] != str[0]) return false;
          } else if (std::tolower(pattern[0]) != std::tolower(str[0])) {
            return false;
          }
          str++;
          slen--;
          break;
      }
      pattern++;
      plen--;
      if (slen == 0) {
        while (plen && *pattern == '*') {
          pattern++;
          plen--;
        }
        break;
      }
    }
    return plen == 0 && slen == 0;
  }
};

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase) {
  Matcher m{nocase};
  return m.Match(pattern.data(), static_cast<int>(pattern.size()), str.data(), static_cast<int>(str.size()), 0);
}

namespace {
// ASCII only, as std::tolower in the "C" locale the server runs in (nothing calls setlocale),
// without a call per byte: it runs for every command name.
char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

}  // namespace stratus::kv
