#include "kv/resp.h"

#include "kv/util.h"

namespace stratus::kv {
namespace {

using Result = RespParser::Result;

// Reads a line ending in CRLF starting at `pos`; sets `line` and advances `pos`.
Result ReadLine(std::string_view in, size_t* pos, std::string_view* line) {
  size_t cr = in.find("\r\n", *pos);
  if (cr == std::string_view::npos) {
    // A lone trailing '\r' may be the start of CRLF; anything else just needs more bytes.
    return Result::kIncomplete;
  }
  *line = in.substr(*pos, cr - *pos);
  *pos = cr + 2;
  return Result::kOk;
}

Result ReadLength(std::string_view line, int64_t* n) {
  auto v = ParseInt(line);
  if (!v) return Result::kError;
  *n = *v;
  return Result::kOk;
}

Result ReadBulkBody(std::string_view in, size_t* pos, int64_t len, std::string* out) {
  if (len < 0 || static_cast<uint64_t>(len) > RespParser::kMaxBulk) return Result::kError;
  size_t n = static_cast<size_t>(len);
  if (in.size() - *pos < n + 2) return Result::kIncomplete;
  if (in[*pos + n] != '\r' || in[*pos + n + 1] != '\n') return Result::kError;
  out->assign(in.substr(*pos, n));
  *pos += n + 2;
  return Result::kOk;
}

Result ParseAt(std::string_view in, size_t* pos, Reply* out, int depth) {
  if (depth > RespParser::kMaxDepth) return Result::kError;
  if (*pos >= in.size()) return Result::kIncomplete;
  char type = in[*pos];
  size_t p = *pos + 1;
  std::string_view line;
  if (Result r = ReadLine(in, &p, &line); r != Result::kOk) return r;
  switch (type) {
    case '+':
      *out = Reply::Status(std::string(line));
      break;
    case '-':
      *out = Reply::Error(std::string(line));
      break;
    case ':': {
      auto v = ParseInt(line);
      if (!v) return Result::kError;
      *out = Reply::Integer(*v);
      break;
    }
    case '$': {
      int64_t len;
      if (ReadLength(line, &len) != Result::kOk) return Result::kError;
      if (len == -1) {
        *out = Reply::Nil();
        break;
      }
      std::string s;
      if (Result r = ReadBulkBody(in, &p, len, &s); r != Result::kOk) return r;
      *out = Reply::Bulk(std::move(s));
      break;
    }
    case '*': {
      int64_t n;
      if (ReadLength(line, &n) != Result::kOk) return Result::kError;
      if (n == -1) {
        *out = Reply::NilArray();
        break;
      }
      if (n < 0 || static_cast<uint64_t>(n) > RespParser::kMaxElements) return Result::kError;
      std::vector<Reply> elems;
      elems.reserve(std::min<size_t>(static_cast<size_t>(n), 1024));
      for (int64_t i = 0; i < n; ++i) {
        Reply e;
        if (Result r = ParseAt(in, &p, &e, depth + 1); r != Result::kOk) return r;
        elems.push_back(std::move(e));
      }
      *out = Reply::Array(std::move(elems));
      break;
    }
    default:
      return Result::kError;
  }
  *pos = p;
  return Result::kOk;
}

}  // namespace

RespParser::Result RespParser::ParseCommand(std::string_view in, std::vector<std::string>* argv, size_t* used) {
  size_t p = 0;
  if (in.empty()) return Result::kIncomplete;
  if (in[0] != '*') return Result::kError;
  p = 1;
  std::string_view line;
  if (Result r = ReadLine(in, &p, &line); r != Result::kOk) return r;
  int64_t n;
  if (ReadLength(line, &n) != Result::kOk || n < 1 || static_cast<uint64_t>(n) > kMaxElements) return Result::kError;
  argv->clear();
  for (int64_t i = 0; i < n; ++i) {
    if (p >= in.size()) return Result::kIncomplete;
    if (in[p] != '$') return Result::kError;
    ++p;
    if (Result r = ReadLine(in, &p, &line); r != Result::kOk) return r;
    int64_t len;
    if (ReadLength(line, &len) != Result::kOk) return Result::kError;
    std::string s;
    if (Result r = ReadBulkBody(in, &p, len, &s); r != Result::kOk) return r;
    argv->push_back(std::move(s));
  }
  *used = p;
  return Result::kOk;
}

RespParser::Result RespParser::ParseReply(std::string_view in, Reply* out, size_t* used) {
  size_t p = 0;
  Result r = ParseAt(in, &p, out, 0);
  if (r == Result::kOk) *used = p;
  return r;
}

}  // namespace stratus::kv
