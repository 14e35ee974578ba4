// A Redis reply as a small tree: what a command answers, before any wire format. The
// Upstash front end renders it as JSON, the differential test and the proxy as RESP2.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stratus::kv {

struct Reply {
  enum class Type : uint8_t { kNil, kNilArray, kStatus, kError, kInteger, kBulk, kArray };

  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;           // status, error (with its "ERR "/"WRONGTYPE " prefix) or bulk
  std::vector<Reply> elems;  // array

  static Reply Nil() { return {}; }
  static Reply NilArray() { return Reply{Type::kNilArray, 0, {}, {}}; }
  static Reply Status(std::string s) { return Reply{Type::kStatus, 0, std::move(s), {}}; }
  static Reply Ok() { return Status("OK"); }
  static Reply Error(std::string s) { return Reply{Type::kError, 0, std::move(s), {}}; }
  static Reply Integer(int64_t v) { return Reply{Type::kInteger, v, {}, {}}; }
  static Reply Bulk(std::string s) { return Reply{Type::kBulk, 0, std::move(s), {}}; }
  static Reply Array(std::vector<Reply> v = {}) { return Reply{Type::kArray, 0, {}, std::move(v)}; }

  bool is_error() const { return type == Type::kError; }
  bool operator==(const Reply& o) const {
    return type == o.type && integer == o.integer && str == o.str && elems == o.elems;
  }
};

// RESP2 encoding ("+OK\r\n", "$3\r\nfoo\r\n", ...).
void AppendResp(const Reply& r, std::string* out);
// Encodes a command as a RESP array of bulk strings.
void AppendRespCommand(const std::vector<std::string>& argv, std::string* out);
// The same with argv[0] replaced by `name`.
void AppendRespCommand(std::string_view name, const std::vector<std::string>& argv, std::string* out);

// Rewrites one large value as `CMD key item...` records of at most 128 items each (emit
// pushes one item's arguments), so no single log record grows with the value.
template <typename Range, typename Emit>
void AppendChunked(const char* cmd, const std::string& key, const Range& items, Emit emit, std::string* out) {
  constexpr size_t kChunk = 128;
  std::vector<std::string> a{cmd, key};
  size_t n = 0;
  for (const auto& item : items) {
    emit(item, a);
    if (++n == kChunk) {
      AppendRespCommand(a, out);
      a.resize(2);
      n = 0;
    }
  }
  if (a.size() > 2) AppendRespCommand(a, out);
}
// A readable rendering for test failures.
std::string DebugString(const Reply& r);

// Shared error texts, exactly as Redis 7 writes them.
namespace err {
inline constexpr std::string_view kSyntax = "ERR syntax error";
inline constexpr std::string_view kWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kMinMaxNotFloat = "ERR min or max is not a float";
inline constexpr std::string_view kInvalidCursor = "ERR invalid cursor";
}  // namespace err

inline Reply ErrorReply(std::string_view text) {
  return Reply::Error(std::string(text));
}

}  // namespace stratus::kv
