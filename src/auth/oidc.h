// OIDC identity tokens for tasks with an oidcToken: RS256 JWTs with a `kid`, signed by a
// key generated on first start and kept in a key source (auth/key_source.h: the data dir, or
// the cluster's database), or loaded from a PEM file, and published as a JWKS with an
// OpenID discovery document so targets can verify them.
//
// Rotation: when the newest key is older than `rotate_after`, a new one is made (at start,
// and at each refresh while running); a retired key stays in the JWKS for one token lifetime
// (1 h) plus a margin, so every token it signed still verifies, and is deleted after that.
// With a shared source (`publish_lead` > 0) a new key is published that long before it signs,
// so every node has it in its JWKS before any node's token names it.
//
// Keys are re-read from the source every `refresh` (a background thread), so a key another
// node made reaches this node's JWKS and signing without a restart. Token and Jwks never do
// I/O and are safe from any thread.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/key_source.h"
#include "common/clock.h"
#include "common/json.h"

namespace stratus::auth {

struct OidcOptions {
  std::string key_dir;   // <data-dir>/oidc (used when `source` is null)
  std::string pem_file;  // use this key instead of generated ones (no source, no rotation)
  std::string issuer;    // the iss claim and the discovery document's issuer
  Micros rotate_after = 30LL * 86400 * kMicrosPerSecond;
  std::shared_ptr<KeySource> source;  // null: MakeFileKeySource(key_dir)
  bool shared = false;                // `source` is shared by several nodes (publish before signing)
};

class OidcSigner {
 public:
  static constexpr Micros kTokenLifetime = 3600LL * kMicrosPerSecond;
  static constexpr Micros kRetireMargin = 300LL * kMicrosPerSecond;

  // How often the keys are re-read: a twentieth of rotate_after, from 1 s to 60 s.
  static Micros RefreshPeriod(Micros rotate_after);
  // How long before it signs a new key of a shared source is published: two refresh periods
  // (every node has re-read the table at least once by then) plus a second.
  static Micros PublishLead(Micros rotate_after);

  // Loads the keys (making the first, or a rotated one, when due) and starts the refresh.
  static StatusOr<std::unique_ptr<OidcSigner>> Open(OidcOptions options, const Clock& clock);
  ~OidcSigner();

  // An ID token for a service account and audience: iss, aud, sub, email, email_verified,
  // azp, iat, exp = iat + 1 h. Tokens are reused for up to 5 minutes per (email, audience)
  // while the signing key stays the same.
  StatusOr<std::string> Token(const std::string& service_account_email, const std::string& audience);

  Json Jwks() const;
  Json Discovery(const std::string& jwks_uri) const;
  const std::string& issuer() const { return options_.issuer; }
  std::string current_kid() const;

  // Re-reads the source now, rotating and forgetting keys when due (what the refresh thread
  // does every RefreshPeriod). The keys held stay in use when it fails.
  Status Refresh();

 private:
  struct Key;
  struct KeySet;
  OidcSigner(OidcOptions options, const Clock& clock);
  Status LoadPemFile();
  // The changes due on `keys` at `now`: a new key, keys retired long enough.
  StatusOr<KeyChanges> Decide(const std::vector<StoredKey>& keys, Micros now) const;
  Status Install(const std::vector<StoredKey>& keys);
  std::shared_ptr<const KeySet> Snapshot() const;
  std::shared_ptr<const Key> SigningKey(Micros now) const;
  StatusOr<std::string> Sign(const Key& key, const Json& claims) const;
  void RefreshLoop();

  OidcOptions options_;
  const Clock& clock_;
  mutable std::mutex keys_mu_;
  std::shared_ptr<const KeySet> keys_;  // replaced whole by Install
  std::mutex mu_;                       // the token cache
  struct Cached {
    std::string token;
    std::string kid;
    Micros issued = 0;
  };
  std::map<std::pair<std::string, std::string>, Cached> cache_;
  std::mutex refresh_mu_;
  std::condition_variable refresh_cv_;
  bool stopping_ = false;
  std::thread refresher_;
};

// Base64url without padding, as JWTs use.
std::string Base64Url(std::string_view data);
// The kid stratus gives an RSA private key in PEM: the first 8 bytes of SHA-256 over its
// modulus, hex. INVALID_ARGUMENT when `pem` is not an RSA private key.
StatusOr<std::string> KidOfPem(const std::string& pem);

}  // namespace stratus::auth
