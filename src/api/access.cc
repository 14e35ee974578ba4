#include "api/access.h"

#include "api/rpc.h"

namespace stratus::api {

bool SecretEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || b.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

http::ServerHooks CloudTasksHooks(std::optional<std::string> api_token) {
  http::ServerHooks hooks;
  hooks.error = [](const http::Request& req, int status, std::string message) {
    return RpcErrorForHttpStatus(req, status, std::move(message));
  };
  hooks.authorize = [token = std::move(api_token)](const http::RequestContext& ctx,
                                                   http::Scope scope) -> std::optional<http::Response> {
    if (scope == http::Scope::kPublic || !token) return std::nullopt;
    auto auth_field = ctx.request[beast::http::field::authorization];
    std::string_view auth(auth_field.data(), auth_field.size());
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() > kBearer.size() &&
        beast::iequals(beast::string_view(auth.data(), kBearer.size()),
                       beast::string_view(kBearer.data(), kBearer.size())) &&
        SecretEquals(auth.substr(kBearer.size()), *token)) {
      return std::nullopt;
    }
    auto key = ctx.request["x-goog-api-key"];
    if (SecretEquals(std::string_view(key.data(), key.size()), *token)) return std::nullopt;
    return RpcError(ctx.request,
                    Unauthenticated("Request had invalid authentication credentials. Expected OAuth 2 access token, "
                                    "login cookie or other valid authentication credential."));
  };
  return hooks;
}

}  // namespace stratus::api
