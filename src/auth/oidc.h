// OIDC identity tokens for tasks with an oidcToken: RS256 JWTs with a `kid`, signed by a
// key generated on first start and kept in the data dir (or loaded from a PEM file), and
// published as a JWKS with an OpenID discovery document so targets can verify them.
//
// Rotation: when the current key is older than `rotate_after`, a new one is generated at
// start; a retired key stays in the JWKS for one token lifetime (1 h) plus a margin, so every
// token it signed still verifies, and is deleted after that.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"

namespace stratus::auth {

struct OidcOptions {
  std::string key_dir;   // <data-dir>/oidc
  std::string pem_file;  // use this key instead of generated ones
  std::string issuer;    // the iss claim and the discovery document's issuer
  Micros rotate_after = 30LL * 86400 * kMicrosPerSecond;
};

class OidcSigner {
 public:
  static constexpr Micros kTokenLifetime = 3600LL * kMicrosPerSecond;

  static StatusOr<std::unique_ptr<OidcSigner>> Open(OidcOptions options, const Clock& clock);
  ~OidcSigner();

  // An ID token for a service account and audience: iss, aud, sub, email, email_verified,
  // azp, iat, exp = iat + 1 h. Tokens are reused for up to 5 minutes per (email, audience).
  StatusOr<std::string> Token(const std::string& service_account_email, const std::string& audience);

  Json Jwks() const;
  Json Discovery(const std::string& jwks_uri) const;
  const std::string& issuer() const { return options_.issuer; }
  const std::string& current_kid() const;

 private:
  struct Key;
  OidcSigner(OidcOptions options, const Clock& clock);
  Status LoadOrCreate();
  StatusOr<std::string> Sign(const Json& claims) const;

  OidcOptions options_;
  const Clock& clock_;
  std::vector<std::unique_ptr<Key>> keys_;  // published keys; the last is the signing key
  std::mutex mu_;
  struct Cached {
    std::string token;
    Micros issued = 0;
  };
  std::map<std::pair<std::string, std::string>, Cached> cache_;
};

// Base64url without padding, as JWTs use.
std::string Base64Url(std::string_view data);

}  // namespace stratus::auth
