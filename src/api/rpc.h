// google.rpc.Status replies for the Cloud Tasks API.
#pragma once

#include "common/json.h"
#include "http/message.h"
#include "stratus/status.h"

namespace stratus::api {

// {"error":{"code":<http>,"message":"...","status":"NOT_FOUND"}} with the matching HTTP status.
http::Response RpcError(const http::Request& req, const Status& status);
// For transport-level failures (unknown path, malformed HTTP, oversized body).
http::Response RpcErrorForHttpStatus(const http::Request& req, int http_status, std::string message);
// 200 with a JSON body (invalid UTF-8 in echoed input is replaced, never thrown).
http::Response JsonReply(const http::Request& req, const Json& body);
std::string DumpJson(const Json& j);

}  // namespace stratus::api
