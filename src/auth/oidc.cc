#include "auth/oidc.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "common/thread_name.h"

namespace stratus::auth {

namespace {

constexpr Micros kTokenReuse = 300LL * kMicrosPerSecond;

std::string BnBytes(EVP_PKEY* pkey, const char* param) {
  BIGNUM* bn = nullptr;
  if (!EVP_PKEY_get_bn_param(pkey, param, &bn)) return "";
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

std::string ReadFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// kid: the first 8 bytes of SHA-256 over the modulus, hex.
std::string KidOf(EVP_PKEY* pkey) {
  std::string n = BnBytes(pkey, OSSL_PKEY_PARAM_RSA_N);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(n.data()), n.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string kid;
  for (int i = 0; i < 8; ++i) {
    kid += kHex[digest[i] >> 4];
    kid += kHex[digest[i] & 15];
  }
  return kid;
}

// An RSA private key, or null.
EVP_PKEY* ParsePem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  return pkey;
}

StatusOr<std::string> EncodePem(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr)) {
    BIO_free(bio);
    return Internal("cannot encode the OIDC key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

}  // namespace

std::string Base64Url(std::string_view data) {
  std::string s = Base64Encode(data);
  for (char& c : s) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

namespace {

// The public half of an RSA key as a JWK for the JWKS.
Json JwkOf(EVP_PKEY* pkey, const std::string& kid) {
  return {{"kty", "RSA"},
          {"alg", "RS256"},
          {"use", "sig"},
          {"kid", kid},
          {"n", Base64Url(BnBytes(pkey, OSSL_PKEY_PARAM_RSA_N))},
          {"e", Base64Url(BnBytes(pkey, OSSL_PKEY_PARAM_RSA_E))}};
}

}  // namespace

StatusOr<std::string> KidOfPem(const std::string& pem) {
  EVP_PKEY* pkey = ParsePem(pem);
  if (!pkey) return InvalidArgument("not an RSA private key in PEM form");
  std::string kid = KidOf(pkey);
  EVP_PKEY_free(pkey);
  return kid;
}

struct OidcSigner::Key {
  EVP_PKEY* pkey = nullptr;
  std::string kid;
  Micros created = 0;
  Micros signs_from = 0;
  Json jwk;
  ~Key() { EVP_PKEY_free(pkey); }
};

// The published keys, ordered by signs_from; the signing key is the last whose time came.
struct OidcSigner::KeySet {
  std::vector<std::shared_ptr<const Key>> keys;
  Json jwks;
};

Micros OidcSigner::RefreshPeriod(Micros rotate_after) {
  return std::clamp<Micros>(rotate_after / 20, kMicrosPerSecond, 60 * kMicrosPerSecond);
}

Micros OidcSigner::PublishLead(Micros rotate_after) {
  return 2 * RefreshPeriod(rotate_after) + kMicrosPerSecond;
}

OidcSigner::OidcSigner(OidcOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {}

OidcSigner::~OidcSigner() {
  {
    std::lock_guard lock(refresh_mu_);
    stopping_ = true;
  }
  refresh_cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

StatusOr<std::unique_ptr<OidcSigner>> OidcSigner::Open(OidcOptions options, const Clock& clock) {
  std::unique_ptr<OidcSigner> s(new OidcSigner(std::move(options), clock));
  if (!s->options_.pem_file.empty()) {
    STRATUS_RETURN_IF_ERROR(s->LoadPemFile());
    return s;
  }
  if (!s->options_.source) s->options_.source = MakeFileKeySource(s->options_.key_dir);
  STRATUS_RETURN_IF_ERROR(s->Refresh());
  s->refresher_ = std::thread([p = s.get()] { p->RefreshLoop(); });
  return s;
}

Status OidcSigner::LoadPemFile() {
  auto key = std::make_shared<Key>();
  key->pkey = ParsePem(ReadFile(options_.pem_file));
  if (!key->pkey) return InvalidArgument("--oidc-key " + options_.pem_file + " is not an RSA private key in PEM form");
  key->kid = KidOf(key->pkey);
  key->jwk = JwkOf(key->pkey, key->kid);
  auto set = std::make_shared<KeySet>();
  set->jwks = {{"keys", Json::array({key->jwk})}};
  set->keys.push_back(std::move(key));
  std::lock_guard lock(keys_mu_);
  keys_ = std::move(set);
  return Status::Ok();
}

namespace {

bool RotationDue(const std::vector<StoredKey>& keys, Micros now, Micros rotate_after) {
  if (keys.empty()) return true;
  Micros newest = 0;
  for (const auto& k : keys) newest = std::max(newest, k.created);
  return now - newest >= rotate_after;
}

// Keys whose successor has signed for longer than a token lives: no valid token names them.
std::vector<std::string> Forgettable(std::vector<StoredKey> keys, Micros now) {
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.signs_from < b.signs_from; });
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    Micros retired_at = keys[i + 1].signs_from;
    if (now - retired_at > OidcSigner::kTokenLifetime + OidcSigner::kRetireMargin) out.push_back(keys[i].kid);
  }
  return out;
}

}  // namespace

StatusOr<KeyChanges> OidcSigner::Decide(const std::vector<StoredKey>& keys, Micros now) const {
  KeyChanges changes;
  changes.remove = Forgettable(keys, now);
  if (RotationDue(keys, now, options_.rotate_after)) {
    EVP_PKEY* pkey = EVP_RSA_gen(2048);
    if (!pkey) return Internal("cannot generate an RSA key");
    StoredKey key;
    key.kid = KidOf(pkey);
    auto pem = EncodePem(pkey);
    EVP_PKEY_free(pkey);
    if (!pem.ok()) return pem.status();
    key.pem = std::move(*pem);
    key.created = now;
    // The first key signs at once (no node has another); a successor waits until every
    // node of a shared source has re-read the keys and publishes it.
    key.signs_from = keys.empty() || !options_.shared ? now : now + PublishLead(options_.rotate_after);
    changes.add.push_back(std::move(key));
  }
  return changes;
}

Status OidcSigner::Refresh() {
  KeySource& source = *options_.source;
  STRATUS_ASSIGN_OR_RETURN(auto keys, source.Load());
  Micros now = clock_.Now();
  if (RotationDue(keys, now, options_.rotate_after) || !Forgettable(keys, now).empty()) {
    // Decided again under the source's exclusion: another node may have rotated meanwhile.
    STRATUS_ASSIGN_OR_RETURN(
        keys, source.Update([this](const std::vector<StoredKey>& current) { return Decide(current, clock_.Now()); }));
  }
  if (keys.empty()) return Internal("no OIDC signing key in " + source.Where());
  return Install(keys);
}

Status OidcSigner::Install(const std::vector<StoredKey>& stored) {
  std::shared_ptr<const KeySet> old = Snapshot();
  auto set = std::make_shared<KeySet>();
  for (const StoredKey& s : stored) {
    std::shared_ptr<const Key> reuse;
    if (old) {
      for (const auto& k : old->keys) {
        if (k->kid == s.kid && k->created == s.created && k->signs_from == s.signs_from) reuse = k;
      }
    }
    if (!reuse) {
      auto key = std::make_shared<Key>();
      key->pkey = ParsePem(s.pem);
      // Never a silent new key: tokens signed with this one would stop verifying.
      if (!key->pkey) {
        return FailedPrecondition("the OIDC signing key " + s.kid + " in " + options_.source->Where() +
                                  " is empty or not an RSA private key in PEM form; restore it, or remove it to make a "
                                  "new one");
      }
      key->kid = KidOf(key->pkey);
      if (key->kid != s.kid) {
        return FailedPrecondition("the OIDC signing key " + s.kid + " in " + options_.source->Where() +
                                  " is another key (kid " + key->kid + ")");
      }
      key->created = s.created;
      key->signs_from = s.signs_from;
      key->jwk = JwkOf(key->pkey, key->kid);
      reuse = std::move(key);
    }
    set->keys.push_back(std::move(reuse));
  }
  std::stable_sort(set->keys.begin(), set->keys.end(),
                   [](const auto& a, const auto& b) { return a->signs_from < b->signs_from; });
  Json keys = Json::array();
  for (const auto& k : set->keys) keys.push_back(k->jwk);
  set->jwks = {{"keys", std::move(keys)}};
  std::lock_guard lock(keys_mu_);
  keys_ = std::move(set);
  return Status::Ok();
}

void OidcSigner::RefreshLoop() {
  NameThisThread("oidc-keys");
  const auto period = std::chrono::microseconds(RefreshPeriod(options_.rotate_after));
  bool failing = false;
  std::unique_lock lock(refresh_mu_);
  while (!refresh_cv_.wait_for(lock, period, [this] { return stopping_; })) {
    lock.unlock();
    Status st = Refresh();
    // Once per outage, not once per period; never any key material (messages carry kids only).
    if (!st.ok() && !failing) {
      std::fprintf(stderr, "stratus: warning: cannot refresh the OIDC signing keys (%s); signing with the keys held\n",
                   st.message().c_str());
    } else if (st.ok() && failing) {
      std::fprintf(stderr, "stratus: OIDC signing keys refreshed again\n");
    }
    failing = !st.ok();
    lock.lock();
  }
}

std::shared_ptr<const OidcSigner::KeySet> OidcSigner::Snapshot() const {
  std::lock_guard lock(keys_mu_);
  return keys_;
}

std::shared_ptr<const OidcSigner::Key> OidcSigner::SigningKey(Micros now) const {
  auto set = Snapshot();
  std::shared_ptr<const Key> out = set->keys.front();
  for (const auto& k : set->keys) {
    if (k->signs_from <= now) out = k;
  }
  return out;
}

std::string OidcSigner::current_kid() const {
  return SigningKey(clock_.Now())->kid;
}

StatusOr<std::string> OidcSigner::Sign(const Key& key, const Json& claims) const {
  Json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", key.kid}};
  std::string input = Base64Url(header.dump()) + "." + Base64Url(claims.dump());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return Internal("cannot sign an OIDC token");
  return input + "." + Base64Url(sig);
}

StatusOr<std::string> OidcSigner::Token(const std::string& email, const std::string& audience) {
  Micros now = clock_.Now();
  std::shared_ptr<const Key> key = SigningKey(now);
  std::lock_guard lock(mu_);
  auto& cached = cache_[{email, audience}];
  if (!cached.token.empty() && cached.kid == key->kid && now - cached.issued < kTokenReuse) return cached.token;
  int64_t iat = now / kMicrosPerSecond;
  Json claims = {
      {"iss", options_.issuer}, {"aud", audience}, {"sub", email}, {"email", email},
      {"email_verified", true}, {"azp", email},    {"iat", iat},   {"exp", iat + kTokenLifetime / kMicrosPerSecond}};
  STRATUS_ASSIGN_OR_RETURN(auto token, Sign(*key, claims));
  cached = Cached{token, key->kid, now};
  if (cache_.size() > 10000) cache_.clear();  // bounded: distinct (email, audience) pairs are few
  return token;
}

Json OidcSigner::Jwks() const {
  return Snapshot()->jwks;
}

Json OidcSigner::Discovery(const std::string& jwks_uri) const {
  return {{"issuer", options_.issuer},
          {"jwks_uri", jwks_uri},
          {"id_token_signing_alg_values_supported", {"RS256"}},
          {"response_types_supported", {"id_token"}},
          {"subject_types_supported", {"public"}},
          {"claims_supported", {"aud", "azp", "email", "email_verified", "exp", "iat", "iss", "sub"}}};
}

}  // namespace stratus::auth
