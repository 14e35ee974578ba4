// The Upstash Redis REST protocol (what @upstash/redis speaks), on its own listener:
//   POST /            ["set","k","v"]             -> {"result":"OK"}
//   POST /pipeline    [["incr","a"],["get","a"]]  -> [{"result":1},{"result":"1"}]
//   POST /multi-exec  the same, as one transaction
//   GET|POST|PUT /set/k/v/EX/100?NX               the path form; a POST body is the value after the path arguments
// Auth: `Authorization: Bearer TOKEN` or `?_token=TOKEN`; the read-only token runs read
// commands only. Reference: docs/redis.md.
#pragma once

#include <string>

#include "http/router.h"
#include "http/server.h"
#include "kv/backend.h"

namespace stratus::api::redis {

struct UpstashTokens {
  std::string token;           // full access; never empty
  std::string readonly_token;  // empty: none
};

// Errors as {"error":"..."}; 401 for a missing or wrong token.
http::ServerHooks UpstashHooks(UpstashTokens tokens);
Status RegisterUpstashRoutes(http::Router& router, kv::Backend& backend, const UpstashTokens& tokens);

}  // namespace stratus::api::redis
