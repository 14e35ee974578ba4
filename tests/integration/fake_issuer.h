// A fake OIDC issuer for the SDK's verifier and JobServer tests: serves a discovery document
// and a JWKS on 127.0.0.1:<port 0> and misbehaves on request (slow, huge, lying, weak keys,
// failing). RsaKey mints RS256 tokens with OpenSSL.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "auth/oidc.h"
#include "http/event_loops.h"
#include "http/server.h"

namespace stratus::testing {

// An RSA key pair with a kid; Jwk() is its public half as a JWKS entry.
class RsaKey {
 public:
  RsaKey(std::string kid, int bits = 2048, unsigned long exponent = 65537) : kid_(std::move(kid)) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
    BIGNUM* e = BN_new();
    BN_set_word(e, exponent);
    EVP_PKEY* pkey = nullptr;
    if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) == 1 &&
        EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) == 1) {
      EVP_PKEY_generate(ctx, &pkey);
    }
    BN_free(e);
    EVP_PKEY_CTX_free(ctx);
    key_.reset(pkey, EVP_PKEY_free);
  }

  bool ok() const { return key_ != nullptr; }
  const std::string& kid() const { return kid_; }
  std::string Modulus() const { return Param(OSSL_PKEY_PARAM_RSA_N); }
  std::string Exponent() const { return Param(OSSL_PKEY_PARAM_RSA_E); }

  nlohmann::json Jwk() const {
    return {{"kty", "RSA"},
            {"kid", kid_},
            {"alg", "RS256"},
            {"use", "sig"},
            {"n", auth::Base64Url(Modulus())},
            {"e", auth::Base64Url(Exponent())}};
  }

  // A compact JWS over `claims` with {"alg":"RS256","kid":kid} plus `extra_header`.
  std::string Sign(const nlohmann::json& claims, const nlohmann::json& extra_header = nlohmann::json::object()) const {
    nlohmann::json header = {{"alg", "RS256"}, {"kid", kid_}, {"typ", "JWT"}};
    header.update(extra_header);
    std::string input = auth::Base64Url(header.dump()) + "." + auth::Base64Url(claims.dump());
    return input + "." + auth::Base64Url(SignBytes(input));
  }

  std::string SignBytes(const std::string& input) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    std::string sig;
    if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
        EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1) {
      sig.resize(len);
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size());
      sig.resize(len);
    }
    EVP_MD_CTX_free(ctx);
    return sig;
  }

 private:
  std::string Param(const char* name) const {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key_.get(), name, &bn) != 1) return "";
    std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    BN_free(bn);
    return out;
  }

  std::string kid_;
  std::shared_ptr<EVP_PKEY> key_;
};

// Serves GET /.well-known/openid-configuration and GET /jwks.
class FakeIssuer {
 public:
  FakeIssuer() : loops_(1) {
    auto serve = [this](bool jwks) {
      return [this, jwks](http::RequestContext& ctx) -> asio::awaitable<http::Response> { return Answer(ctx, jwks); };
    };
    Status a = router_.Add(http::Route{http::Verb::get, "/.well-known/openid-configuration", http::Scope::kPublic,
                                       "discovery", serve(false)});
    Status b = router_.Add(http::Route{http::Verb::get, "/jwks", http::Scope::kPublic, "jwks", serve(true)});
    ok_ = a.ok() && b.ok();
    http::ServerHooks hooks;
    hooks.error = [](const http::Request& req, int status, std::string message) {
      return http::MakeResponse(req, static_cast<beast::http::status>(status), message, "text/plain");
    };
    server_ = std::make_unique<http::Server>(loops_, router_, hooks, http::ServerOptions{});
    ok_ = ok_ && server_->Start().ok();
    loops_.Start();
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  ~FakeIssuer() {
    server_->Stop();
    loops_.Stop();
  }

  bool ok() const { return ok_; }
  const std::string& url() const { return url_; }

  // What /jwks answers: {"keys": keys} unless SetJwksBody; status 200 unless SetJwksStatus.
  void SetKeys(nlohmann::json keys) {
    std::lock_guard lock(mu_);
    jwks_body_ = nlohmann::json{{"keys", std::move(keys)}}.dump();
  }
  void SetJwksBody(std::string body) {
    std::lock_guard lock(mu_);
    jwks_body_ = std::move(body);
  }
  void SetJwksStatus(int status) {
    std::lock_guard lock(mu_);
    jwks_status_ = status;
  }
  void SetCacheControl(std::string value) {
    std::lock_guard lock(mu_);
    cache_control_ = std::move(value);
  }
  void SetJwksDelay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mu_);
    jwks_delay_ = delay;
  }
  // The discovery document; by default {"issuer": url, "jwks_uri": url + "/jwks"}.
  void SetDiscovery(nlohmann::json doc) {
    std::lock_guard lock(mu_);
    discovery_ = std::move(doc);
  }
  int jwks_hits() const { return jwks_hits_.load(); }
  int jwks_in_flight_max() const { return in_flight_max_.load(); }

 private:
  asio::awaitable<http::Response> Answer(http::RequestContext& ctx, bool jwks) {
    std::string body;
    int status = 200;
    std::string cache_control;
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard lock(mu_);
      if (jwks) {
        body = jwks_body_;
        status = jwks_status_;
        cache_control = cache_control_;
        delay = jwks_delay_;
      } else {
        body = discovery_ ? discovery_->dump() : nlohmann::json{{"issuer", url_}, {"jwks_uri", url_ + "/jwks"}}.dump();
      }
    }
    if (jwks) {
      ++jwks_hits_;
      int now = ++in_flight_;
      int seen = in_flight_max_.load();
      while (now > seen && !in_flight_max_.compare_exchange_weak(seen, now)) {
      }
      if (delay.count() > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_after(delay);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      --in_flight_;
    }
    auto res = http::MakeResponse(ctx.request, static_cast<beast::http::status>(status), body, "application/json");
    if (!cache_control.empty()) res.set(beast::http::field::cache_control, cache_control);
    co_return res;
  }

  http::EventLoops loops_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  bool ok_ = false;
  std::string url_;
  std::mutex mu_;
  std::string jwks_body_ = R"({"keys":[]})";
  int jwks_status_ = 200;
  std::string cache_control_;
  std::chrono::milliseconds jwks_delay_{0};
  std::optional<nlohmann::json> discovery_;
  std::atomic<int> jwks_hits_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> in_flight_max_{0};
};

}  // namespace stratus::testing
