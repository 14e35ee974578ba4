// stratus/sdk/oidc_verifier.h — verifies the OIDC ID tokens a queue sends with each task.
//
// RS256 only. The issuer must be on the allow-list; its discovery document
// ({issuer}/.well-known/openid-configuration) names the JWKS, which is fetched, cached, and
// fetched again when a token names a kid it does not hold (rate-limited, so a flood of forged
// kids cannot hammer the issuer). `aud` must be one of the audiences; `exp` and `nbf` are
// checked with a small skew.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "stratus/status.h"

namespace stratus::sdk {

struct OidcVerifierOptions {
  std::vector<std::string> issuers;    // e.g. "http://127.0.0.1:8123", "https://accounts.google.com"
  std::vector<std::string> audiences;  // usually the service URL
  std::chrono::seconds skew{60};
  std::chrono::seconds jwks_ttl{3600};
  std::chrono::seconds min_refresh_interval{5};  // between fetches caused by unknown kids
  std::chrono::milliseconds fetch_timeout{5000};
  std::string ca_file;             // extra CA for https issuers
  std::function<int64_t()> now_s;  // seconds since the epoch; the system clock by default
};

struct VerifiedToken {
  std::string issuer;
  std::string subject;
  std::string email;
  std::string audience;
  nlohmann::json claims;
};

class OidcVerifier {
 public:
  static StatusOr<std::unique_ptr<OidcVerifier>> Create(OidcVerifierOptions options);
  ~OidcVerifier();

  // `token` is the compact JWT (without "Bearer "). kUnauthenticated with the reason on failure.
  StatusOr<VerifiedToken> Verify(std::string_view token);

 private:
  struct Impl;
  explicit OidcVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stratus::sdk
