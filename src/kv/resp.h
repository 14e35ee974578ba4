// RESP2 parsing, for the append-only log (commands) and the proxy (replies). The parser
// never throws and never reads past its input: incomplete input says so, and malformed
// input is an error (fuzzed by tests/fuzz/fuzz_redis_request.cc).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "kv/reply.h"

namespace stratus::kv {

class RespParser {
 public:
  enum class Result { kOk, kIncomplete, kError };
  static constexpr size_t kMaxBulk = 512u * 1024 * 1024;
  static constexpr size_t kMaxElements = 1u << 24;
  static constexpr int kMaxDepth = 64;

  // One command: an array of bulk strings. `used` is the bytes consumed on kOk.
  static Result ParseCommand(std::string_view in, std::vector<std::string>* argv, size_t* used);
  // One reply of any type.
  static Result ParseReply(std::string_view in, Reply* out, size_t* used);
};

}  // namespace stratus::kv
