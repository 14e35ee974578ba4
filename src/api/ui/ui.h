// The web dashboard at /ui/ (docs/dashboard.md): static files built into the binary, served
// as public routes (they hold no data; the page reads everything through the token-checked
// JSON APIs, sending the token the user typed as an Authorization header).
//
// Every /ui/ response carries a Content-Security-Policy that allows scripts, styles and
// fetches from this server only (no inline script, no plugins, no framing), and
// X-Content-Type-Options: nosniff. Files are answered with an ETag and
// `Cache-Control: no-cache` (revalidated, 304 when unchanged).
#pragma once

#include <string_view>

#include "http/router.h"
#include "stratus/status.h"

namespace stratus::api::ui {

enum class UiMode {
  kOff,       // no /ui/ routes: 404 like any unknown path
  kOn,        // the dashboard, with its controls
  kReadOnly,  // the dashboard without any control that changes something
};

// "on", "off", "read-only".
StatusOr<UiMode> ParseUiMode(std::string_view text);

struct UiOptions {
  UiMode mode = UiMode::kOn;
  bool token_required = false;  // the API wants a token: the page asks for one
};

// GET /ui (redirect to /ui/), /ui/ (index.html), /ui/config.json (the mode and whether a
// token is required), /ui/{file}. Nothing is added when the mode is kOff.
Status RegisterUiRoutes(http::Router& router, const UiOptions& options);

}  // namespace stratus::api::ui
