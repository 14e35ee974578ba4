// Who may call the API: with a token configured, every kApi route needs
// `Authorization: Bearer TOKEN` (what gcloud and the Google clients send) or
// `x-goog-api-key: TOKEN` (the clients' API-key mode). Without one, the API is open.
#pragma once

#include <optional>
#include <string>

#include "http/server.h"

namespace stratus::api {

// Server hooks for the Cloud Tasks listener: google.rpc.Status errors and token checks.
http::ServerHooks CloudTasksHooks(std::optional<std::string> api_token);

// Constant-time comparison for secrets.
bool SecretEquals(std::string_view a, std::string_view b);

}  // namespace stratus::api
