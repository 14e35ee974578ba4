#include "auth/oidc.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "common/files.h"

namespace stratus::auth {
namespace fs = std::filesystem;

namespace {

constexpr Micros kTokenReuse = 300LL * kMicrosPerSecond;
constexpr Micros kRetireMargin = 300LL * kMicrosPerSecond;

std::string BnBytes(EVP_PKEY* pkey, const char* param) {
  BIGNUM* bn = nullptr;
  if (!EVP_PKEY_get_bn_param(pkey, param, &bn)) return "";
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string Base64Url(std::string_view data) {
  std::string s = Base64Encode(data);
  for (char& c : s) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

struct OidcSigner::Key {
  EVP_PKEY* pkey = nullptr;
  std::string kid;
  Micros created = 0;
  fs::path file;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

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

EVP_PKEY* ParsePem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return pkey;
}

Status WritePem(EVP_PKEY* pkey, const fs::path& path) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr)) {
    BIO_free(bio);
    return Internal("cannot encode the OIDC key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  Status st = WriteFileAtomic(path.string(), pem, 0600);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!st.ok()) return Unavailable("cannot write the OIDC key: " + st.message());
  return Status::Ok();
}

}  // namespace

OidcSigner::OidcSigner(OidcOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {}
OidcSigner::~OidcSigner() = default;

StatusOr<std::unique_ptr<OidcSigner>> OidcSigner::Open(OidcOptions options, const Clock& clock) {
  std::unique_ptr<OidcSigner> s(new OidcSigner(std::move(options), clock));
  STRATUS_RETURN_IF_ERROR(s->LoadOrCreate());
  return s;
}

Status OidcSigner::LoadOrCreate() {
  if (!options_.pem_file.empty()) {
    auto key = std::make_unique<Key>();
    key->pkey = ParsePem(ReadFile(options_.pem_file));
    if (!key->pkey || EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_RSA) {
      return InvalidArgument("--oidc-key " + options_.pem_file + " is not an RSA private key in PEM form");
    }
    key->kid = KidOf(key->pkey);
    keys_.push_back(std::move(key));
    return Status::Ok();
  }
  std::error_code ec;
  fs::create_directories(options_.key_dir, ec);
  if (ec) return Unavailable("cannot create " + options_.key_dir + ": " + ec.message());
  // Files are named <created-micros>.pem.
  for (const auto& entry : fs::directory_iterator(options_.key_dir)) {
    if (entry.path().extension() != ".pem") continue;
    auto key = std::make_unique<Key>();
    try {
      key->created = std::stoll(entry.path().stem().string());
    } catch (...) {
      continue;
    }
    key->pkey = ParsePem(ReadFile(entry.path()));
    if (!key->pkey) {
      // Never a silent new key: tokens signed with this one would stop verifying.
      return FailedPrecondition("the OIDC signing key " + entry.path().string() +
                                " is empty or not a PEM private key; restore it, or remove it to make a new one");
    }
    key->kid = KidOf(key->pkey);
    key->file = entry.path();
    keys_.push_back(std::move(key));
  }
  std::sort(keys_.begin(), keys_.end(), [](const auto& a, const auto& b) { return a->created < b->created; });
  Micros now = clock_.Now();
  if (keys_.empty() || now - keys_.back()->created >= options_.rotate_after) {
    auto key = std::make_unique<Key>();
    key->pkey = EVP_RSA_gen(2048);
    if (!key->pkey) return Internal("cannot generate an RSA key");
    key->created = now;
    key->kid = KidOf(key->pkey);
    key->file = fs::path(options_.key_dir) / (std::to_string(now) + ".pem");
    STRATUS_RETURN_IF_ERROR(WritePem(key->pkey, key->file));
    keys_.push_back(std::move(key));
  }
  // A key retired by its successor stays published until its last token has expired.
  for (size_t i = 0; i + 1 < keys_.size();) {
    Micros retired_at = keys_[i + 1]->created;
    if (now - retired_at > kTokenLifetime + kRetireMargin) {
      fs::remove(keys_[i]->file, ec);
      keys_.erase(keys_.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
  return Status::Ok();
}

const std::string& OidcSigner::current_kid() const {
  return keys_.back()->kid;
}

StatusOr<std::string> OidcSigner::Sign(const Json& claims) const {
  const Key& key = *keys_.back();
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
  std::lock_guard lock(mu_);
  auto& cached = cache_[{email, audience}];
  if (!cached.token.empty() && now - cached.issued < kTokenReuse) return cached.token;
  int64_t iat = now / kMicrosPerSecond;
  Json claims = {
      {"iss", options_.issuer}, {"aud", audience}, {"sub", email}, {"email", email},
      {"email_verified", true}, {"azp", email},    {"iat", iat},   {"exp", iat + kTokenLifetime / kMicrosPerSecond}};
  STRATUS_ASSIGN_OR_RETURN(auto token, Sign(claims));
  cached = Cached{token, now};
  if (cache_.size() > 10000) cache_.clear();  // bounded: distinct (email, audience) pairs are few
  return token;
}

Json OidcSigner::Jwks() const {
  Json keys = Json::array();
  for (const auto& k : keys_) {
    keys.push_back({{"kty", "RSA"},
                    {"alg", "RS256"},
                    {"use", "sig"},
                    {"kid", k->kid},
                    {"n", Base64Url(BnBytes(k->pkey, OSSL_PKEY_PARAM_RSA_N))},
                    {"e", Base64Url(BnBytes(k->pkey, OSSL_PKEY_PARAM_RSA_E))}});
  }
  return {{"keys", keys}};
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
