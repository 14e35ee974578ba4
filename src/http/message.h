// HTTP message types and the per-request context that handlers see. The http layer knows
// nothing of Cloud Tasks, Redis or the store: it parses, routes and writes messages.
#pragma once

#include <any>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/asio.h"
#include "stratus/status.h"

namespace stratus::http {

using Request = beast::http::request<beast::http::string_body>;
using Response = beast::http::response<beast::http::string_body>;
using Verb = beast::http::verb;

// Decodes %XX escapes (and '+' as space when `plus_is_space`); invalid escapes stay as-is.
std::string PercentDecode(std::string_view s, bool plus_is_space = false);
struct QueryParam {
  std::string key;
  std::string value;
  bool has_value = false;  // "?NX" has none, "?EX=100" has one
};
// Splits "a=1&NX&b=%20" into decoded parameters, in the order sent.
std::vector<QueryParam> ParseQueryList(std::string_view query);
// The same as a map; a repeated key keeps its last value.
std::map<std::string, std::string> ParseQuery(std::string_view query);

struct RequestContext {
  const Request& request;
  std::string_view path;                      // the target without its query string
  std::map<std::string, std::string> query;   // decoded query parameters
  std::map<std::string, std::string> params;  // path-template variables, decoded
  std::string remote;                         // peer address, for logs
  // Set by the authorize hook when the caller may make the server sign only as some service
  // accounts (iam.serviceAccounts.actAs): OK, or the refusal to send for `email`. Unset: any
  // account (no credentials configured, or a credential allowed any). The hook takes the
  // context const, hence mutable.
  mutable std::function<Status(const std::string& email)> act_as = {};
  // What ServerHooks::header learnt from the request's header (empty without that hook).
  std::any early = {};

  const std::string& Param(const std::string& name) const;
  // Returns "" when the parameter is absent.
  std::string Query(const std::string& name) const;
};

Response MakeResponse(const Request& req, beast::http::status status, std::string body, std::string_view content_type);

}  // namespace stratus::http
