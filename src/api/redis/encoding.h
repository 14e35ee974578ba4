// The Upstash wire forms: request bodies into commands, replies into JSON (optionally
// with every string base64-encoded) or raw RESP2.
#pragma once

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

// {"result":...} for a reply (an error reply gives {"error":"..."}).
void AppendResultJson(const kv::Reply& reply, bool base64, std::string* out);
// A JSON string literal; invalid UTF-8 becomes U+FFFD.
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace stratus::api::redis
