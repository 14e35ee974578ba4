// stratus/sdk/oidc_verifier.h — verifies the OIDC ID tokens a queue sends with each task.
//
// What a token must be (anything else is refused, kUnauthenticated):
// - a compact JWS of at most 16 KiB whose three parts are base64url without padding (RFC 7515
//   section 2: no '+', '/' or '='); the header is {"alg":"RS256","kid":…} with no "crit"
//   (this verifier understands no JWS extension, so any "crit" is refused) and no other alg;
// - `iss` on the allow-list, `aud` (a string or an array) naming one of the audiences;
// - `exp` present, and `exp`, `nbf`, `iat` (when present) integers in [0, 2^53): a float such
//   as 1.0 or 1e300, a negative or a larger number is refused; exp and nbf are checked with
//   `skew`, and iat may not lie more than `skew` in the future;
// - signed by a key from the issuer's JWKS.
//
// Keys. The issuer's discovery document ({issuer}/.well-known/openid-configuration) must
// name the issuer exactly as configured and a `jwks_uri` over https on the issuer's host
// (for https://accounts.google.com also www.googleapis.com, where Google serves its keys);
// plain http is accepted only when the issuer itself is http on a loopback address (local
// development). A JWK is used only when it is {"kty":"RSA"} with e = 65537 and a modulus of
// 2048 to 8192 bits (and "alg", "use" absent or RS256, sig); other keys are skipped.
// Documents larger than 1 MiB are refused.
//
// Fetching. One thread of the verifier does every fetch, one at a time. The keys are fresh
// for the JWKS response's Cache-Control max-age (capped at 24 h; `jwks_ttl` without one).
// A token with a kid we hold is verified at once, never waiting for a fetch; when the keys are
// no longer fresh it also asks for a refresh in the background. A kid we do not hold asks for
// a fetch, at most one per `min_refresh_interval` per issuer (5 s by default), and waits for
// it until its deadline. A fetch that fails keeps the keys we hold usable for `max_stale` past
// their freshness, then drops them. Fetch errors go to `logger`, never into a result.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "stratus/sdk/log.h"
#include "stratus/status.h"

namespace stratus::sdk {

struct OidcVerifierOptions {
  std::vector<std::string> issuers;    // e.g. "http://127.0.0.1:8123", "https://accounts.google.com"
  std::vector<std::string> audiences;  // usually the service URL
  std::chrono::seconds skew{60};
  std::chrono::seconds jwks_ttl{3600};            // freshness when the JWKS has no Cache-Control max-age
  std::chrono::seconds min_refresh_interval{5};   // between two fetch attempts for one issuer
  std::chrono::seconds max_stale{3600};           // keys stay usable this long past freshness if fetches fail
  std::chrono::milliseconds fetch_timeout{5000};  // each of the two GETs (discovery, JWKS)
  std::chrono::milliseconds key_wait{5000};       // how long Verify(token) waits for a fetch
  std::string ca_file;                            // extra CA for https issuers
  std::function<int64_t()> now_s;                 // seconds since the epoch; the system clock by default
  Logger logger;                                  // fetch failures (stderr by default)
};

// The verified claims of a token.
struct VerifiedToken {
  std::string issuer;           // iss
  std::string subject;          // sub ("" when absent)
  std::string email;            // email ("" when absent)
  bool email_verified = false;  // email_verified is true (or "true")
  std::string audience;         // the `aud` entry that matched one of the audiences
  int64_t expires_at = 0;       // exp, seconds since the epoch
  int64_t issued_at = 0;        // iat (0 when absent)
  nlohmann::json claims;        // the whole payload
};

class OidcVerifier {
 public:
  static StatusOr<std::unique_ptr<OidcVerifier>> Create(OidcVerifierOptions options);
  ~OidcVerifier();

  // `token` is the compact JWT (without "Bearer "). kUnauthenticated with the reason when the
  // token is refused; kUnavailable when its issuer's keys could not be had by the deadline
  // (a fetch failed or is still running). Messages quote at most 32 bytes of any value the
  // token carried, with control characters replaced. Thread-safe.
  StatusOr<VerifiedToken> Verify(std::string_view token);  // waits up to key_wait
  // Waits for a fetch no later than `deadline`; a deadline already past never blocks (a
  // fetch the token needs is still started).
  StatusOr<VerifiedToken> Verify(std::string_view token, std::chrono::steady_clock::time_point deadline);

 private:
  struct Impl;
  explicit OidcVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stratus::sdk
