#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace stratus::http {
namespace ssl = asio::ssl;

namespace {

// The oldest queued OpenSSL error on this thread as text, or the error code's message.
std::string OpenSslError(const boost::system::error_code& ec) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return ec.message();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

TlsCredentials::TlsCredentials(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

StatusOr<std::shared_ptr<TlsCredentials>> TlsCredentials::Load(std::string cert_file, std::string key_file) {
  std::shared_ptr<TlsCredentials> creds(new TlsCredentials(std::move(cert_file), std::move(key_file)));
  STRATUS_ASSIGN_OR_RETURN(auto ctx, creds->Build());
  creds->context_ = std::move(ctx);
  return creds;
}

StatusOr<std::shared_ptr<ssl::context>> TlsCredentials::Build() const {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file_, ec);
  if (ec) return InvalidArgument("cannot load the TLS certificate " + cert_file_ + ": " + OpenSslError(ec));
  ctx->use_private_key_file(key_file_, ssl::context::pem, ec);
  if (ec) return InvalidArgument("cannot load the TLS key " + key_file_ + ": " + OpenSslError(ec));
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return InvalidArgument("the TLS key " + key_file_ + " does not match the certificate " + cert_file_ + ": " +
                           OpenSslError(ec));
  }
  return ctx;
}

Status TlsCredentials::Reload() {
  STRATUS_ASSIGN_OR_RETURN(auto ctx, Build());
  std::lock_guard lock(mu_);
  context_ = std::move(ctx);
  return Status::Ok();
}

std::shared_ptr<ssl::context> TlsCredentials::Current() const {
  std::lock_guard lock(mu_);
  return context_;
}

}  // namespace stratus::http
