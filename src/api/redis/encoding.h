// The Upstash wire forms: request bodies into commands, replies into JSON (optionally
// with every string base64-encoded) or raw RESP2.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/command.h"
#include "kv/reply.h"
#include "stratus/status.h"

namespace stratus::api::redis {

// `["set","k",1,true]` -> {"set","k","1","true"}. Numbers print as JavaScript would.
StatusOr<kv::Argv> ParseCommandJson(std::string_view body);
// `[["set","k","v"],["get","k"]]`
StatusOr<std::vector<kv::Argv>> ParsePipelineJson(std::string_view body);

// The two paths the parsers above take, apart for the tests and the fuzzer that hold them
// equal. The fast one reads only arrays of plain printable-ASCII strings without escapes
// (nullopt for anything else, which the full JSON parser then reads); the full one is the
// reference for every body, errors included.
std::optional<kv::Argv> ParseCommandJsonFast(std::string_view body);
std::optional<std::vector<kv::Argv>> ParsePipelineJsonFast(std::string_view body);
StatusOr<kv::Argv> ParseCommandJsonFull(std::string_view body);
StatusOr<std::vector<kv::Argv>> ParsePipelineJsonFull(std::string_view body);

// {"result":...} for a reply (an error reply gives {"error":"..."}).
void AppendResultJson(const kv::Reply& reply, bool base64, std::string* out);
// A JSON string literal; invalid UTF-8 becomes U+FFFD.
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace stratus::api::redis
