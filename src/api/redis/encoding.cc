#include "api/redis/encoding.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/base64.h"
#include "common/json.h"

namespace stratus::api::redis {
namespace {

StatusOr<std::string> ArgumentOf(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return v.get<std::string>();
    case Json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case Json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case Json::value_t::number_float: {
      double d = v.get<double>();
      // JavaScript prints integral doubles without a fraction: 60.0 -> "60".
      if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0) {
        return std::to_string(static_cast<int64_t>(d));
      }
      return v.dump();
    }
    case Json::value_t::boolean:
      return std::string(v.get<bool>() ? "true" : "false");
    default:
      return InvalidArgument("ERR command arguments must be strings, numbers or booleans, got " +
                             std::string(v.type_name()));
  }
}

StatusOr<kv::Argv> CommandOf(const Json& j) {
  if (!j.is_array()) return InvalidArgument("ERR the command must be a JSON array, like [\"set\",\"key\",\"value\"]");
  if (j.empty()) return InvalidArgument("ERR empty command");
  kv::Argv argv;
  argv.reserve(j.size());
  for (const auto& v : j) {
    STRATUS_ASSIGN_OR_RETURN(auto a, ArgumentOf(v));
    argv.push_back(std::move(a));
  }
  return argv;
}

// A command is one level of array and a pipeline two; the limit is the Cloud Tasks API's,
// checked on the bytes before parsing (common/json.h).
StatusOr<Json> Parse(std::string_view body) {
  if (!JsonNestingWithin(body, kMaxJsonDepth)) {
    return InvalidArgument("ERR the request body is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("ERR the request body is not valid JSON");
  return j;
}

bool ValidUtf8At(std::string_view s, size_t i, size_t* len) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else
    return false;
  if (i + n > s.size()) return false;
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return false;
  *len = n;
  return true;
}

void AppendValue(const kv::Reply& r, bool base64, std::string* out) {
  using T = kv::Reply::Type;
  switch (r.type) {
    case T::kNil:
    case T::kNilArray:
      *out += "null";
      return;
    case T::kInteger:
      *out += std::to_string(r.integer);
      return;
    case T::kStatus:
    case T::kBulk:
    case T::kError:  // an error nested in an array (EXEC inside a script); never encoded
      if (base64 && r.type != T::kError)
        AppendJsonString(Base64Encode(r.str), out);
      else
        AppendJsonString(r.str, out);
      return;
    case T::kArray:
      *out += '[';
      for (size_t i = 0; i < r.elems.size(); ++i) {
        if (i) *out += ',';
        AppendValue(r.elems[i], base64, out);
      }
      *out += ']';
      return;
  }
}

// The fast path's reader: JSON whitespace, punctuation and strings of printable ASCII with
// no escapes. Anything else (numbers, escapes, other bytes, empty arrays) is left to the full
// parser, so every body it reads parses to the same commands there.
class FastReader {
 public:
  explicit FastReader(std::string_view s) : s_(s) {}

  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool Eat(char c) {
    SkipSpace();
    if (i_ >= s_.size() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool AtEnd() {
    SkipSpace();
    return i_ == s_.size();
  }
  // ["a","b",...] with at least one string.
  bool Command(kv::Argv* out) {
    if (!Eat('[')) return false;
    out->reserve(4);  // most commands have at most 4 arguments: one allocation
    do {
      SkipSpace();
      if (i_ >= s_.size() || s_[i_] != '"') return false;
      size_t start = ++i_;
      while (i_ < s_.size()) {
        auto c = static_cast<unsigned char>(s_[i_]);
        if (c == '"') break;
        if (c < 0x20 || c >= 0x7f || c == '\\') return false;
        ++i_;
      }
      if (i_ >= s_.size()) return false;
      out->emplace_back(s_.substr(start, i_ - start));
      ++i_;
    } while (Eat(','));
    return Eat(']');
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::optional<kv::Argv> ParseCommandJsonFast(std::string_view body) {
  FastReader r(body);
  kv::Argv argv;
  if (!r.Command(&argv) || !r.AtEnd()) return std::nullopt;
  return argv;
}

std::optional<std::vector<kv::Argv>> ParsePipelineJsonFast(std::string_view body) {
  FastReader r(body);
  std::vector<kv::Argv> out;
  // Each command opens a bracket: at most that many commands (one allocation for the list).
  out.reserve(std::min<size_t>(static_cast<size_t>(std::count(body.begin(), body.end(), '[')), 4096));
  if (!r.Eat('[')) return std::nullopt;
  do {
    if (!r.Command(&out.emplace_back())) return std::nullopt;
  } while (r.Eat(','));
  if (!r.Eat(']') || !r.AtEnd()) return std::nullopt;
  return out;
}

StatusOr<kv::Argv> ParseCommandJson(std::string_view body) {
  if (auto fast = ParseCommandJsonFast(body)) return std::move(*fast);
  return ParseCommandJsonFull(body);
}

StatusOr<std::vector<kv::Argv>> ParsePipelineJson(std::string_view body) {
  if (auto fast = ParsePipelineJsonFast(body)) return std::move(*fast);
  return ParsePipelineJsonFull(body);
}

StatusOr<kv::Argv> ParseCommandJsonFull(std::string_view body) {
  STRATUS_ASSIGN_OR_RETURN(auto j, Parse(body));
  return CommandOf(j);
}

StatusOr<std::vector<kv::Argv>> ParsePipelineJsonFull(std::string_view body) {
  STRATUS_ASSIGN_OR_RETURN(auto j, Parse(body));
  if (!j.is_array())
    return InvalidArgument(
        "ERR the body must be a JSON array of commands, like [[\"set\",\"k\",\"v\"],[\"get\",\"k\"]]");
  if (j.empty()) return InvalidArgument("ERR empty pipeline");
  std::vector<kv::Argv> out;
  out.reserve(j.size());
  for (const auto& c : j) {
    if (!c.is_array())
      return InvalidArgument(
          "ERR the body must be a JSON array of commands, like [[\"set\",\"k\",\"v\"],[\"get\",\"k\"]]");
    STRATUS_ASSIGN_OR_RETURN(auto argv, CommandOf(c));
    out.push_back(std::move(argv));
  }
  return out;
}

void AppendJsonString(std::string_view s, std::string* out) {
  *out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          *out += "\\\"";
          break;
        case '\\':
          *out += "\\\\";
          break;
        case '\n':
          *out += "\\n";
          break;
        case '\r':
          *out += "\\r";
          break;
        case '\t':
          *out += "\\t";
          break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            *out += buf;
          } else {
            *out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    size_t len;
    if (ValidUtf8At(s, i, &len)) {
      out->append(s.substr(i, len));
      i += len;
    } else {
      *out += "\xef\xbf\xbd";
      ++i;
    }
  }
  *out += '"';
}

void AppendResultJson(const kv::Reply& reply, bool base64, std::string* out) {
  if (reply.is_error()) {
    *out += "{\"error\":";
    AppendJsonString(reply.str, out);
    *out += '}';
    return;
  }
  *out += "{\"result\":";
  AppendValue(reply, base64, out);
  *out += '}';
}

}  // namespace stratus::api::redis
