#include "api/ui/ui.h"

#include <map>
#include <memory>

#include "api/rpc.h"
#include "api/ui/assets.h"

namespace stratus::api::ui {
namespace {

using Reply = asio::awaitable<http::Response>;
namespace bh = beast::http;

// Scripts, styles, images and fetches from this origin only; nothing inline, no plugins, no
// frames, no forms, no <base>. The page draws its charts on <canvas>, which needs nothing more.
constexpr char kCsp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string_view ContentType(std::string_view path) {
  auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

// FNV-1a 64: the ETag only has to change when the bytes do.
std::string Etag(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

struct File {
  std::string_view bytes;
  std::string_view content_type;
  std::string etag;
};

http::Response Secured(http::Response res) {
  res.set("Content-Security-Policy", kCsp);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set("Cross-Origin-Resource-Policy", "same-origin");
  return res;
}

http::Response Serve(const http::Request& req, const File& f) {
  if (req[bh::field::if_none_match] == f.etag) {
    http::Response res = http::MakeResponse(req, bh::status::not_modified, "", "");
    res.set(bh::field::etag, f.etag);
    res.set(bh::field::cache_control, "no-cache");
    return Secured(std::move(res));
  }
  http::Response res = http::MakeResponse(req, bh::status::ok, std::string(f.bytes), f.content_type);
  res.set(bh::field::etag, f.etag);
  res.set(bh::field::cache_control, "no-cache");
  return Secured(std::move(res));
}

http::Response NotFound(const http::Request& req) {
  return Secured(http::MakeResponse(req, bh::status::not_found, "Not found\n", "text/plain; charset=utf-8"));
}

struct Files {
  std::map<std::string, File, std::less<>> by_path;
  std::string config;  // /ui/config.json
};

}  // namespace

StatusOr<UiMode> ParseUiMode(std::string_view text) {
  if (text == "on") return UiMode::kOn;
  if (text == "off") return UiMode::kOff;
  if (text == "read-only") return UiMode::kReadOnly;
  return InvalidArgument("--ui must be on, off or read-only, not \"" + std::string(text) + "\"");
}

Status RegisterUiRoutes(http::Router& router, const UiOptions& options) {
  if (options.mode == UiMode::kOff) return Status::Ok();
  auto files = std::make_shared<Files>();
  for (const EmbeddedFile& f : EmbeddedAssets()) {
    files->by_path.emplace(std::string(f.path), File{f.bytes, ContentType(f.path), Etag(f.bytes)});
  }
  if (!files->by_path.count("index.html")) return Internal("the dashboard was built without index.html");
  files->config = DumpJson(
      {{"mode", options.mode == UiMode::kReadOnly ? "read-only" : "on"}, {"tokenRequired", options.token_required}});

  auto file = [files](http::RequestContext& ctx) -> Reply {
    // The remainder is matched against the built-in table only: "..", "%2e" or "/" in it
    // name no entry, so nothing outside the table can be answered.
    auto it = files->by_path.find(ctx.Param("path"));
    if (it == files->by_path.end()) co_return NotFound(ctx.request);
    co_return Serve(ctx.request, it->second);
  };
  auto index = [files](http::RequestContext& ctx) -> Reply {
    co_return Serve(ctx.request, files->by_path.find("index.html")->second);
  };
  auto config = [files](http::RequestContext& ctx) -> Reply {
    http::Response res = http::MakeResponse(ctx.request, bh::status::ok, files->config, "application/json");
    res.set(bh::field::cache_control, "no-store");
    co_return Secured(std::move(res));
  };
  auto redirect = [](http::RequestContext& ctx) -> Reply {
    http::Response res = http::MakeResponse(ctx.request, bh::status::permanent_redirect, "", "");
    res.set(bh::field::location, "/ui/");
    co_return Secured(std::move(res));
  };
  struct Row {
    http::Verb verb;
    const char* path;
    const char* name;
    http::Handler handler;
  };
  // clang-format off
  const Row rows[] = {
    {http::Verb::get,  "/ui",             "ui.redirect", redirect},
    {http::Verb::get,  "/ui/",            "ui.index",    index},
    {http::Verb::get,  "/ui/config.json", "ui.config",   config},
    {http::Verb::get,  "/ui/{path=**}",   "ui.file",     file},
  };
  // clang-format on
  for (const Row& r : rows) {
    STRATUS_RETURN_IF_ERROR(router.Add(http::Route{r.verb, r.path, http::Scope::kPublic, r.name, r.handler}));
  }
  return Status::Ok();
}

}  // namespace stratus::api::ui
