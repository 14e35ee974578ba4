// The metadata-server token source: Cloud Run and GCE hand out the service account's access
// token at a fixed local URL; it is cached until a minute before it expires.
#include "stratus/sdk/token_source.h"

#include <nlohmann/json.hpp>

#include "sdk/http_sync.h"

namespace stratus::sdk {

struct MetadataServerTokenSource::Impl {
  std::string base_url;
  std::chrono::milliseconds timeout;
  std::unique_ptr<internal::SyncHttp> http;
  std::mutex mu;
  std::string token;
  std::chrono::steady_clock::time_point refresh_at{};
};

namespace {
constexpr std::string_view kTokenPath = "/computeMetadata/v1/instance/service-accounts/default/token";
constexpr auto kEarlyRefresh = std::chrono::seconds(60);
}  // namespace

MetadataServerTokenSource::MetadataServerTokenSource(std::string base_url, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  impl_->base_url = std::move(base_url);
  impl_->timeout = timeout;
}

MetadataServerTokenSource::~MetadataServerTokenSource() = default;

StatusOr<std::string> MetadataServerTokenSource::Token() {
  std::lock_guard lock(impl_->mu);
  auto now = std::chrono::steady_clock::now();
  if (!impl_->token.empty() && now < impl_->refresh_at) return impl_->token;
  if (!impl_->http) {
    STRATUS_ASSIGN_OR_RETURN(impl_->http, internal::SyncHttp::Create(""));
  }
  STRATUS_ASSIGN_OR_RETURN(auto url, http::Url::Parse(impl_->base_url + std::string(kTokenPath)));
  auto req = internal::MakeRequest(http::Verb::get);
  req.set("Metadata-Flavor", "Google");
  auto res = impl_->http->Fetch(url, std::move(req), impl_->timeout);
  if (res.failure != http::ClientResult::Failure::kNone) {
    return Unavailable("metadata server unreachable at " + impl_->base_url + ": " + res.error);
  }
  if (res.status != 200) {
    return Unavailable("metadata server answered " + std::to_string(res.status) + ": " + res.body.substr(0, 200));
  }
  auto doc = nlohmann::json::parse(res.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("access_token") || !doc["access_token"].is_string()) {
    return Unavailable("metadata server answered without an access_token");
  }
  int64_t expires_in = doc.value("expires_in", int64_t{300});
  impl_->token = doc["access_token"].get<std::string>();
  impl_->refresh_at = now + std::chrono::seconds(expires_in) - kEarlyRefresh;
  return impl_->token;
}

}  // namespace stratus::sdk
