#include "stratus/sdk/oidc_verifier.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "common/base64.h"
#include "common/json.h"
#include "sdk/http_sync.h"

namespace stratus::sdk {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxTokenBytes = size_t{16} * 1024;
constexpr int kMinRsaBits = 2048;

// Owns an EVP_PKEY; shared so a key in use survives a JWKS refresh that drops it.
using PublicKey = std::shared_ptr<EVP_PKEY>;

struct DecodedJwt {
  nlohmann::json header;
  nlohmann::json claims;
  std::string signed_part;  // "header.payload", what the signature covers
  std::string signature;
};

Status Reject(std::string why) {
  return Unauthenticated("invalid OIDC token: " + std::move(why));
}

StatusOr<nlohmann::json> DecodeJsonPart(std::string_view part, std::string_view what) {
  auto bytes = Base64Decode(part);
  if (!bytes.ok()) return Reject(std::string(what) + " is not base64url");
  auto json = ParseJsonBody(*bytes);
  if (!json.ok() || !json->is_object() || bytes->empty()) return Reject(std::string(what) + " is not a JSON object");
  return std::move(*json);
}

StatusOr<DecodedJwt> Decode(std::string_view token) {
  if (token.empty()) return Reject("empty token");
  if (token.size() > kMaxTokenBytes) return Reject("token too large");
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Reject("not a compact JWT (header.payload.signature)");
  }
  DecodedJwt jwt;
  auto header = DecodeJsonPart(token.substr(0, dot1), "header");
  if (!header.ok()) return header.status();
  auto claims = DecodeJsonPart(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
  if (!claims.ok()) return claims.status();
  auto signature = Base64Decode(token.substr(dot2 + 1));
  if (!signature.ok()) return Reject("signature is not base64url");
  jwt.header = std::move(*header);
  jwt.claims = std::move(*claims);
  jwt.signed_part = std::string(token.substr(0, dot2));
  jwt.signature = std::move(*signature);
  return jwt;
}

std::string StringClaim(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  return it != claims.end() && it->is_string() ? it->get<std::string>() : "";
}

// A JWK {"kty":"RSA","n":…,"e":…} as an OpenSSL public key; null when it is not one we accept.
PublicKey KeyFromJwk(const nlohmann::json& jwk) {
  if (!jwk.is_object() || jwk.value("kty", "") != "RSA") return nullptr;
  if (jwk.contains("alg") && jwk["alg"] != "RS256") return nullptr;
  if (jwk.contains("use") && jwk["use"] != "sig") return nullptr;
  if (!jwk.contains("n") || !jwk["n"].is_string() || !jwk.contains("e") || !jwk["e"].is_string()) return nullptr;
  auto n = Base64Decode(jwk["n"].get<std::string>());
  auto e = Base64Decode(jwk["e"].get<std::string>());
  if (!n.ok() || !e.ok() || n->empty() || e->empty()) return nullptr;

  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY_CTX* ctx = nullptr;
  EVP_PKEY* pkey = nullptr;
  if (bn_n && bn_e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
    params = OSSL_PARAM_BLD_to_param(bld);
  }
  if (params) ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  if (pkey && EVP_PKEY_get_bits(pkey) < kMinRsaBits) {
    EVP_PKEY_free(pkey);
    pkey = nullptr;
  }
  return pkey ? PublicKey(pkey, EVP_PKEY_free) : nullptr;
}

bool VerifyRs256(EVP_PKEY* key, const std::string& data, const std::string& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

bool AudienceMatches(const nlohmann::json& aud, const std::vector<std::string>& audiences, std::string* matched) {
  auto accept = [&](const nlohmann::json& a) {
    if (!a.is_string()) return false;
    auto s = a.get<std::string>();
    if (std::find(audiences.begin(), audiences.end(), s) == audiences.end()) return false;
    *matched = s;
    return true;
  };
  if (aud.is_array()) return std::any_of(aud.begin(), aud.end(), accept);
  return accept(aud);
}

}  // namespace

struct OidcVerifier::Impl {
  struct IssuerKeys {
    std::map<std::string, PublicKey> by_kid;
    bool loaded = false;
    SteadyClock::time_point fetched_at{};    // of the keys we hold
    SteadyClock::time_point last_attempt{};  // of the last fetch, successful or not
  };

  OidcVerifierOptions options;
  std::unique_ptr<internal::SyncHttp> http;
  std::mutex mu;        // guards issuers
  std::mutex fetch_mu;  // one fetch at a time: concurrent misses wait for it, not the issuer
  std::map<std::string, IssuerKeys> issuers;

  int64_t Now() const {
    if (options.now_s) return options.now_s();
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  StatusOr<VerifiedToken> Verify(std::string_view token);
  Status CheckHeader(const nlohmann::json& header) const;
  Status CheckTimes(const nlohmann::json& claims) const;
  StatusOr<PublicKey> KeyFor(const std::string& issuer, const std::string& kid);
  // The cached key, or null; *may_fetch says whether a fetch is allowed now.
  PublicKey Cached(const std::string& issuer, const std::string& kid, bool* may_fetch);
  StatusOr<nlohmann::json> FetchJson(const std::string& url);
  Status Refresh(const std::string& issuer);
};

Status OidcVerifier::Impl::CheckHeader(const nlohmann::json& header) const {
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return Reject("header has no alg");
  if (*alg != "RS256") return Reject("alg " + alg->get<std::string>() + " is not accepted (only RS256)");
  auto kid = header.find("kid");
  if (kid == header.end() || !kid->is_string() || kid->get<std::string>().empty()) return Reject("header has no kid");
  return Status::Ok();
}

Status OidcVerifier::Impl::CheckTimes(const nlohmann::json& claims) const {
  const int64_t now = Now();
  const int64_t skew = options.skew.count();
  auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number()) return Reject("no exp claim");
  if (now > exp->get<int64_t>() + skew) return Reject("token expired");
  auto nbf = claims.find("nbf");
  if (nbf != claims.end() && (!nbf->is_number() || now + skew < nbf->get<int64_t>())) {
    return Reject("token not valid yet (nbf)");
  }
  auto iat = claims.find("iat");
  if (iat != claims.end() && (!iat->is_number() || now + skew < iat->get<int64_t>())) {
    return Reject("token issued in the future (iat)");
  }
  return Status::Ok();
}

StatusOr<VerifiedToken> OidcVerifier::Impl::Verify(std::string_view token) {
  auto jwt = Decode(token);
  if (!jwt.ok()) return jwt.status();
  STRATUS_RETURN_IF_ERROR(CheckHeader(jwt->header));
  // The issuer is checked before any fetch: keys are only ever fetched from trusted issuers.
  std::string issuer = StringClaim(jwt->claims, "iss");
  if (issuer.empty()) return Reject("no iss claim");
  if (std::find(options.issuers.begin(), options.issuers.end(), issuer) == options.issuers.end()) {
    return Reject("issuer " + issuer + " is not trusted");
  }
  auto key = KeyFor(issuer, jwt->header["kid"].get<std::string>());
  if (!key.ok()) return key.status();
  if (!VerifyRs256(key->get(), jwt->signed_part, jwt->signature)) return Reject("bad signature");

  VerifiedToken out;
  auto aud = jwt->claims.find("aud");
  if (aud == jwt->claims.end() || !AudienceMatches(*aud, options.audiences, &out.audience)) {
    return Reject("audience " + (aud == jwt->claims.end() ? std::string("(none)") : aud->dump()) + " is not accepted");
  }
  STRATUS_RETURN_IF_ERROR(CheckTimes(jwt->claims));
  out.issuer = std::move(issuer);
  out.subject = StringClaim(jwt->claims, "sub");
  out.email = StringClaim(jwt->claims, "email");
  out.claims = std::move(jwt->claims);
  return out;
}

PublicKey OidcVerifier::Impl::Cached(const std::string& issuer, const std::string& kid, bool* may_fetch) {
  std::lock_guard lock(mu);
  const auto now = SteadyClock::now();
  IssuerKeys& keys = issuers[issuer];
  const bool stale = !keys.loaded || now - keys.fetched_at >= options.jwks_ttl;
  const bool attempted_recently =
      keys.last_attempt != SteadyClock::time_point{} && now - keys.last_attempt < options.min_refresh_interval;
  auto it = keys.by_kid.find(kid);
  PublicKey found = it == keys.by_kid.end() ? nullptr : it->second;
  // Stale keys are refreshed whatever the kid; an unknown kid triggers a fetch at most once
  // per min_refresh_interval (a failed fetch is rate-limited the same way).
  *may_fetch = (stale || !found) && !attempted_recently;
  return found;
}

StatusOr<PublicKey> OidcVerifier::Impl::KeyFor(const std::string& issuer, const std::string& kid) {
  bool may_fetch = false;
  PublicKey key = Cached(issuer, kid, &may_fetch);
  if (key && !may_fetch) return key;
  // A miss waits for any fetch in progress (the first request after start must not be
  // turned away while another thread is loading the keys), then looks again.
  std::lock_guard fetch_lock(fetch_mu);
  key = Cached(issuer, kid, &may_fetch);
  if (may_fetch) {
    Status refreshed = Refresh(issuer);
    key = Cached(issuer, kid, &may_fetch);
    if (!refreshed.ok() && !key)
      return Unauthenticated("cannot fetch the signing keys of " + issuer + ": " + refreshed.message());
  }
  if (key) return key;
  return Reject("unknown kid " + kid + " for issuer " + issuer);
}

StatusOr<nlohmann::json> OidcVerifier::Impl::FetchJson(const std::string& url) {
  auto parsed = http::Url::Parse(url);
  if (!parsed.ok()) return InvalidArgument("bad URL " + url + ": " + parsed.status().message());
  http::ClientResult r = http->Fetch(*parsed, internal::MakeRequest(http::Verb::get), options.fetch_timeout);
  if (r.failure != http::ClientResult::Failure::kNone) return Unavailable("GET " + url + ": " + r.error);
  if (r.status != 200) return Unavailable("GET " + url + " answered HTTP " + std::to_string(r.status));
  auto json = ParseJsonBody(r.body);
  if (!json.ok() || !json->is_object()) return Unavailable("GET " + url + ": not a JSON object");
  return std::move(*json);
}

Status OidcVerifier::Impl::Refresh(const std::string& issuer) {
  {
    std::lock_guard lock(mu);
    issuers[issuer].last_attempt = SteadyClock::now();
  }
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto discovery = FetchJson(base + "/.well-known/openid-configuration");
  if (!discovery.ok()) return discovery.status();
  auto uri = discovery->find("jwks_uri");
  if (uri == discovery->end() || !uri->is_string())
    return Unavailable("the discovery document of " + issuer + " has no jwks_uri");
  auto jwks = FetchJson(uri->get<std::string>());
  if (!jwks.ok()) return jwks.status();
  auto list = jwks->find("keys");
  if (list == jwks->end() || !list->is_array()) return Unavailable("the JWKS of " + issuer + " has no keys");

  std::map<std::string, PublicKey> by_kid;
  for (const auto& jwk : *list) {
    if (!jwk.is_object() || !jwk.contains("kid") || !jwk["kid"].is_string()) continue;
    if (PublicKey key = KeyFromJwk(jwk)) by_kid[jwk["kid"].get<std::string>()] = std::move(key);
  }
  std::lock_guard lock(mu);
  IssuerKeys& keys = issuers[issuer];
  keys.by_kid = std::move(by_kid);
  keys.loaded = true;
  keys.fetched_at = SteadyClock::now();
  return Status::Ok();
}

StatusOr<std::unique_ptr<OidcVerifier>> OidcVerifier::Create(OidcVerifierOptions options) {
  if (options.issuers.empty()) return InvalidArgument("OidcVerifier needs at least one trusted issuer");
  if (options.audiences.empty()) return InvalidArgument("OidcVerifier needs at least one audience");
  auto http = internal::SyncHttp::Create(options.ca_file);
  if (!http.ok()) return http.status();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->http = std::move(*http);
  return std::unique_ptr<OidcVerifier>(new OidcVerifier(std::move(impl)));
}

OidcVerifier::OidcVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OidcVerifier::~OidcVerifier() = default;

StatusOr<VerifiedToken> OidcVerifier::Verify(std::string_view token) {
  return impl_->Verify(token);
}

}  // namespace stratus::sdk
