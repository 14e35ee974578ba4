#include "stratus/sdk/oidc_verifier.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "common/json.h"
#include "sdk/http_sync.h"

namespace stratus::sdk {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxTokenBytes = size_t{16} * 1024;
constexpr size_t kMaxDocumentBytes = size_t{1} << 20;  // discovery document, JWKS
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;
constexpr int64_t kMaxTime = int64_t{1} << 53;  // exp, nbf, iat lie in [0, 2^53)
constexpr std::chrono::seconds kMaxFreshness{24 * 3600};
constexpr size_t kQuoted = 32;  // bytes of a token's value quoted in a message

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

// A value from the token for a message: at most kQuoted bytes, printable ASCII only.
std::string Quote(std::string_view value) {
  std::string out = "\"";
  for (size_t i = 0; i < value.size() && i < kQuoted; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    out += c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? static_cast<char>(c) : '?';
  }
  if (value.size() > kQuoted) out += "...";
  return out + "\"";
}

// Base64url without padding (RFC 7515 section 2), canonical: the unused low bits of the last
// character must be zero, so each byte string has exactly one encoding.
std::optional<std::string> DecodeBase64Url(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

StatusOr<nlohmann::json> DecodeJsonPart(std::string_view part, std::string_view what) {
  auto bytes = DecodeBase64Url(part);
  if (!bytes) return Reject(std::string(what) + " is not base64url without padding");
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
  STRATUS_ASSIGN_OR_RETURN(jwt.header, DecodeJsonPart(token.substr(0, dot1), "header"));
  STRATUS_ASSIGN_OR_RETURN(jwt.claims, DecodeJsonPart(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload"));
  auto signature = DecodeBase64Url(token.substr(dot2 + 1));
  if (!signature) return Reject("signature is not base64url without padding");
  jwt.signed_part = std::string(token.substr(0, dot2));
  jwt.signature = std::move(*signature);
  return jwt;
}

std::string StringClaim(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  return it != claims.end() && it->is_string() ? it->get<std::string>() : "";
}

// A NumericDate claim: absent (nullopt, *ok true), or an integer in [0, 2^53) (*ok false otherwise).
std::optional<int64_t> TimeClaim(const nlohmann::json& claims, const char* name, bool* ok) {
  *ok = true;
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v < static_cast<uint64_t>(kMaxTime)) return static_cast<int64_t>(v);
  } else if (it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    if (v >= 0 && v < kMaxTime) return v;
  }
  *ok = false;
  return std::nullopt;
}

// A JWK {"kty":"RSA","n":…,"e":…} as an OpenSSL public key; null when it is not one we accept.
PublicKey KeyFromJwk(const nlohmann::json& jwk) {
  if (!jwk.is_object() || jwk.value("kty", "") != "RSA") return nullptr;
  if (jwk.contains("alg") && jwk["alg"] != "RS256") return nullptr;
  if (jwk.contains("use") && jwk["use"] != "sig") return nullptr;
  if (!jwk.contains("n") || !jwk["n"].is_string() || !jwk.contains("e") || !jwk["e"].is_string()) return nullptr;
  auto n = DecodeBase64Url(jwk["n"].get<std::string>());
  auto e = DecodeBase64Url(jwk["e"].get<std::string>());
  // e = 65537 only: e = 1 makes every signature "valid", e = 3 invites forgeries.
  if (!n || !e || n->empty() || *e != std::string("\x01\x00\x01", 3)) return nullptr;
  size_t lead = n->find_first_not_of('\0');
  if (lead == std::string::npos || (n->size() - lead) * 8 > static_cast<size_t>(kMaxRsaBits)) return nullptr;

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
  if (pkey && (EVP_PKEY_get_bits(pkey) < kMinRsaBits || EVP_PKEY_get_bits(pkey) > kMaxRsaBits)) {
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

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

bool IsLoopbackHost(const std::string& host) {
  std::string h = Lower(host);
  return h == "localhost" || h == "::1" || h == "[::1]" || h.rfind("127.", 0) == 0;
}

// An issuer we may fetch from: https, or http on a loopback address.
Status CheckIssuerUrl(const std::string& issuer) {
  auto url = http::Url::Parse(issuer);
  if (!url.ok()) return InvalidArgument("the issuer " + issuer + " is not a URL: " + url.status().message());
  if (!url->tls && !IsLoopbackHost(url->host)) {
    return InvalidArgument("the issuer " + issuer +
                           " must be https (plain http only on a loopback address, for local development)");
  }
  return Status::Ok();
}

// Where an issuer's discovery document may send us for its keys.
Status CheckJwksUri(const std::string& issuer, const std::string& jwks_uri) {
  auto iss = http::Url::Parse(issuer);
  auto jwks = http::Url::Parse(jwks_uri);
  if (!iss.ok() || !jwks.ok()) return Unavailable("jwks_uri is not a URL");
  const std::string iss_host = Lower(iss->host);
  const std::string jwks_host = Lower(jwks->host);
  const bool same_host = iss_host == jwks_host;
  const bool google = iss_host == "accounts.google.com" && jwks_host == "www.googleapis.com";
  if (!same_host && !google) return Unavailable("jwks_uri is not on the issuer's host");
  if (!jwks->tls && (iss->tls || !IsLoopbackHost(iss->host))) return Unavailable("jwks_uri is not https");
  return Status::Ok();
}

// Cache-Control max-age of a response, when it has one; no-store and no-cache count as 0.
std::optional<std::chrono::seconds> MaxAge(const http::ClientResult& r) {
  for (const auto& [name, value] : r.headers) {
    if (Lower(name) != "cache-control") continue;
    std::string v = Lower(value);
    if (v.find("no-store") != std::string::npos || v.find("no-cache") != std::string::npos) {
      return std::chrono::seconds(0);
    }
    size_t at = v.find("max-age=");
    if (at == std::string::npos) continue;
    int64_t secs = 0;
    size_t i = at + 8;
    bool digits = false;
    for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
      digits = true;
      secs = std::min<int64_t>(secs * 10 + (v[i] - '0'), kMaxFreshness.count());
    }
    if (digits) return std::chrono::seconds(secs);
  }
  return std::nullopt;
}

}  // namespace

struct OidcVerifier::Impl {
  struct IssuerKeys {
    std::map<std::string, PublicKey> by_kid;
    bool loaded = false;
    SteadyClock::time_point fresh_until{};   // past it, refresh in the background
    SteadyClock::time_point usable_until{};  // past it, the keys are dropped
    SteadyClock::time_point last_attempt{};  // of the last fetch asked for
    bool attempted = false;
    bool in_flight = false;   // asked for or running
    uint64_t generation = 0;  // fetches finished, successful or not
  };

  OidcVerifierOptions options;
  std::unique_ptr<internal::SyncHttp> http;
  std::mutex mu;  // guards everything below
  std::condition_variable fetch_wanted;
  std::condition_variable fetch_done;
  std::map<std::string, IssuerKeys> issuers;
  std::deque<std::string> queue;  // issuers to fetch, in order
  bool stopping = false;
  std::thread fetcher;

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    fetch_wanted.notify_all();
    fetch_done.notify_all();
    if (fetcher.joinable()) fetcher.join();
  }

  int64_t Now() const {
    if (options.now_s) return options.now_s();
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  StatusOr<VerifiedToken> Verify(std::string_view token, SteadyClock::time_point deadline);
  Status CheckHeader(const nlohmann::json& header) const;
  Status CheckClaims(const nlohmann::json& claims, VerifiedToken* out) const;
  StatusOr<PublicKey> KeyFor(const std::string& issuer, const std::string& kid, SteadyClock::time_point deadline);
  // Under mu: queues a fetch of `issuer` unless one is in flight or one started too recently.
  bool AskForFetch(const std::string& issuer, IssuerKeys& keys, SteadyClock::time_point now);
  void FetchLoop();
  StatusOr<nlohmann::json> FetchJson(const std::string& url, http::ClientResult* raw);
  // Fetches the issuer's keys and how long they are fresh.
  StatusOr<std::map<std::string, PublicKey>> Fetch(const std::string& issuer, std::chrono::seconds* fresh_for);
};

Status OidcVerifier::Impl::CheckHeader(const nlohmann::json& header) const {
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return Reject("header has no alg");
  if (*alg != "RS256") return Reject("alg " + Quote(alg->get<std::string>()) + " is not accepted (only RS256)");
  // RFC 7515 4.1.11: a recipient must refuse a token whose "crit" names an extension it does
  // not understand; we understand none.
  if (header.contains("crit")) return Reject("header has crit (no JWS extension is supported)");
  auto kid = header.find("kid");
  if (kid == header.end() || !kid->is_string() || kid->get<std::string>().empty()) return Reject("header has no kid");
  return Status::Ok();
}

// aud and the times, before any key is looked up: a token that cannot pass never causes a fetch.
Status OidcVerifier::Impl::CheckClaims(const nlohmann::json& claims, VerifiedToken* out) const {
  auto aud = claims.find("aud");
  if (aud == claims.end() || !AudienceMatches(*aud, options.audiences, &out->audience)) {
    return Reject("audience " + (aud == claims.end() ? std::string("(none)") : Quote(aud->dump())) +
                  " is not accepted");
  }
  const int64_t now = Now();
  const int64_t skew = options.skew.count();
  bool ok = true;
  auto exp = TimeClaim(claims, "exp", &ok);
  if (!ok) return Reject("exp is not an integer in [0, 2^53)");
  if (!exp) return Reject("no exp claim");
  if (now > *exp + skew) return Reject("token expired");
  auto nbf = TimeClaim(claims, "nbf", &ok);
  if (!ok) return Reject("nbf is not an integer in [0, 2^53)");
  if (nbf && now + skew < *nbf) return Reject("token not valid yet (nbf)");
  auto iat = TimeClaim(claims, "iat", &ok);
  if (!ok) return Reject("iat is not an integer in [0, 2^53)");
  if (iat && now + skew < *iat) return Reject("token issued in the future (iat)");
  out->expires_at = *exp;
  out->issued_at = iat.value_or(0);
  return Status::Ok();
}

StatusOr<VerifiedToken> OidcVerifier::Impl::Verify(std::string_view token, SteadyClock::time_point deadline) {
  STRATUS_ASSIGN_OR_RETURN(DecodedJwt jwt, Decode(token));
  STRATUS_RETURN_IF_ERROR(CheckHeader(jwt.header));
  // The issuer is checked before any fetch: keys are only ever fetched from trusted issuers.
  std::string issuer = StringClaim(jwt.claims, "iss");
  if (issuer.empty()) return Reject("no iss claim");
  if (std::find(options.issuers.begin(), options.issuers.end(), issuer) == options.issuers.end()) {
    return Reject("issuer " + Quote(issuer) + " is not trusted");
  }
  VerifiedToken out;
  STRATUS_RETURN_IF_ERROR(CheckClaims(jwt.claims, &out));
  STRATUS_ASSIGN_OR_RETURN(PublicKey key, KeyFor(issuer, jwt.header["kid"].get<std::string>(), deadline));
  if (!VerifyRs256(key.get(), jwt.signed_part, jwt.signature)) return Reject("bad signature");

  out.issuer = std::move(issuer);
  out.subject = StringClaim(jwt.claims, "sub");
  out.email = StringClaim(jwt.claims, "email");
  auto verified = jwt.claims.find("email_verified");
  out.email_verified = verified != jwt.claims.end() && (*verified == true || *verified == "true");
  out.claims = std::move(jwt.claims);
  return out;
}

bool OidcVerifier::Impl::AskForFetch(const std::string& issuer, IssuerKeys& keys, SteadyClock::time_point now) {
  if (keys.in_flight) return true;
  if (keys.attempted && now - keys.last_attempt < options.min_refresh_interval) return false;
  keys.in_flight = true;
  keys.attempted = true;
  keys.last_attempt = now;
  queue.push_back(issuer);
  fetch_wanted.notify_one();
  return true;
}

StatusOr<PublicKey> OidcVerifier::Impl::KeyFor(const std::string& issuer, const std::string& kid,
                                               SteadyClock::time_point deadline) {
  std::unique_lock lock(mu);
  IssuerKeys& keys = issuers[issuer];
  const auto now = SteadyClock::now();
  if (keys.loaded && now >= keys.usable_until) {  // stale too long: fetches have been failing
    keys.by_kid.clear();
    keys.loaded = false;
  }
  auto it = keys.by_kid.find(kid);
  if (it != keys.by_kid.end()) {
    // Known kid: never waits. Stale keys are refreshed behind its back.
    if (now >= keys.fresh_until) AskForFetch(issuer, keys, now);
    return it->second;
  }
  // Unknown kid: a fetch may bring it (key rotation, first use), rate-limited per issuer.
  if (!AskForFetch(issuer, keys, now)) {
    if (!keys.loaded) return Unavailable("the signing keys of the issuer are not available");
    return Reject("unknown kid " + Quote(kid));
  }
  const uint64_t seen = keys.generation;
  fetch_done.wait_until(lock, deadline, [&] { return keys.generation != seen || stopping; });
  it = keys.by_kid.find(kid);
  if (it != keys.by_kid.end()) return it->second;
  if (keys.generation == seen || !keys.loaded) return Unavailable("the signing keys of the issuer are not available");
  return Reject("unknown kid " + Quote(kid));
}

void OidcVerifier::Impl::FetchLoop() {
  std::unique_lock lock(mu);
  for (;;) {
    fetch_wanted.wait(lock, [&] { return stopping || !queue.empty(); });
    if (stopping) return;
    std::string issuer = std::move(queue.front());
    queue.pop_front();
    lock.unlock();
    std::chrono::seconds fresh_for = options.jwks_ttl;
    auto fetched = Fetch(issuer, &fresh_for);
    if (!fetched.ok()) {
      options.logger.Warn("cannot fetch the OIDC signing keys",
                          {{"issuer", issuer}, {"error", fetched.status().message()}});
    }
    lock.lock();
    IssuerKeys& keys = issuers[issuer];
    const auto now = SteadyClock::now();
    if (fetched.ok()) {
      keys.by_kid = std::move(*fetched);
      keys.loaded = true;
      keys.fresh_until = now + std::min(fresh_for, kMaxFreshness);
      keys.usable_until = keys.fresh_until + options.max_stale;
    }
    keys.in_flight = false;
    ++keys.generation;
    fetch_done.notify_all();
  }
}

StatusOr<nlohmann::json> OidcVerifier::Impl::FetchJson(const std::string& url, http::ClientResult* raw) {
  auto parsed = http::Url::Parse(url);
  if (!parsed.ok()) return Unavailable("bad URL " + url + ": " + parsed.status().message());
  http::SendOptions send;
  send.max_body = kMaxDocumentBytes;
  *raw = http->Fetch(*parsed, internal::MakeRequest(http::Verb::get), options.fetch_timeout, send);
  if (raw->failure != http::ClientResult::Failure::kNone) return Unavailable("GET " + url + ": " + raw->error);
  if (raw->status != 200) return Unavailable("GET " + url + " answered HTTP " + std::to_string(raw->status));
  auto json = ParseJsonBody(raw->body);
  if (!json.ok() || !json->is_object()) return Unavailable("GET " + url + ": not a JSON object");
  return std::move(*json);
}

StatusOr<std::map<std::string, PublicKey>> OidcVerifier::Impl::Fetch(const std::string& issuer,
                                                                     std::chrono::seconds* fresh_for) {
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  http::ClientResult raw;
  STRATUS_ASSIGN_OR_RETURN(nlohmann::json discovery, FetchJson(base + "/.well-known/openid-configuration", &raw));
  auto named = discovery.find("issuer");
  if (named == discovery.end() || !named->is_string() || *named != issuer) {
    return Unavailable("the discovery document of " + issuer + " names another issuer");
  }
  auto uri = discovery.find("jwks_uri");
  if (uri == discovery.end() || !uri->is_string())
    return Unavailable("the discovery document of " + issuer + " has no jwks_uri");
  const std::string jwks_uri = uri->get<std::string>();
  if (Status where = CheckJwksUri(issuer, jwks_uri); !where.ok()) {
    return Unavailable("the discovery document of " + issuer + ": " + where.message() + " (" + jwks_uri + ")");
  }
  STRATUS_ASSIGN_OR_RETURN(nlohmann::json jwks, FetchJson(jwks_uri, &raw));
  auto list = jwks.find("keys");
  if (list == jwks.end() || !list->is_array()) return Unavailable("the JWKS of " + issuer + " has no keys");
  if (auto max_age = MaxAge(raw)) *fresh_for = *max_age;

  std::map<std::string, PublicKey> by_kid;
  for (const auto& jwk : *list) {
    if (!jwk.is_object() || !jwk.contains("kid") || !jwk["kid"].is_string()) continue;
    if (PublicKey key = KeyFromJwk(jwk)) by_kid[jwk["kid"].get<std::string>()] = std::move(key);
  }
  return by_kid;
}

StatusOr<std::unique_ptr<OidcVerifier>> OidcVerifier::Create(OidcVerifierOptions options) {
  if (options.issuers.empty()) return InvalidArgument("OidcVerifier needs at least one trusted issuer");
  if (options.audiences.empty()) return InvalidArgument("OidcVerifier needs at least one audience");
  for (const auto& issuer : options.issuers) STRATUS_RETURN_IF_ERROR(CheckIssuerUrl(issuer));
  STRATUS_ASSIGN_OR_RETURN(auto http, internal::SyncHttp::Create(options.ca_file));
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->http = std::move(http);
  Impl* raw = impl.get();
  impl->fetcher = std::thread([raw] {
    pthread_setname_np(pthread_self(), "oidc-keys");
    raw->FetchLoop();
  });
  return std::unique_ptr<OidcVerifier>(new OidcVerifier(std::move(impl)));
}

OidcVerifier::OidcVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OidcVerifier::~OidcVerifier() = default;

StatusOr<VerifiedToken> OidcVerifier::Verify(std::string_view token) {
  return impl_->Verify(token, SteadyClock::now() + impl_->options.key_wait);
}

StatusOr<VerifiedToken> OidcVerifier::Verify(std::string_view token, std::chrono::steady_clock::time_point deadline) {
  return impl_->Verify(token, deadline);
}

}  // namespace stratus::sdk
