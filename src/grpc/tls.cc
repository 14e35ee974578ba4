#include "grpc/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <fstream>
#include <sstream>

namespace stratus::grpcapi {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no PEM data";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

StatusOr<std::string> ReadAll(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  if (!in || s.str().empty()) return InvalidArgument(std::string("cannot read the TLS ") + what + " " + path);
  return s.str();
}

// The checks REST's TlsCredentials makes (http/tls.cc), on the bytes gRPC will be given: a
// certificate and a private key that parse, and match.
Status Check(const std::string& cert, const std::string& key, const std::string& cert_file,
             const std::string& key_file) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> cb(BIO_new_mem_buf(cert.data(), static_cast<int>(cert.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> x509(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr), X509_free);
  if (!ctx || !x509 || SSL_CTX_use_certificate(ctx.get(), x509.get()) != 1) {
    return InvalidArgument("cannot load the TLS certificate " + cert_file + ": " + OpenSslError());
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> kb(BIO_new_mem_buf(key.data(), static_cast<int>(key.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr),
                                                           EVP_PKEY_free);
  if (!pkey || SSL_CTX_use_PrivateKey(ctx.get(), pkey.get()) != 1) {
    return InvalidArgument("cannot load the TLS key " + key_file + ": " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return InvalidArgument("the TLS key " + key_file + " does not match the certificate " + cert_file + ": " +
                           OpenSslError());
  }
  return Status::Ok();
}

// Server credentials over a core grpc_server_credentials object: grpc++ adds a listening port
// through AddPortToServer, which is all a port needs.
class FetchingCredentials final : public grpc::ServerCredentials {
 public:
  explicit FetchingCredentials(grpc_server_credentials* creds) : creds_(creds) {}
  ~FetchingCredentials() override { grpc_server_credentials_release(creds_); }
  FetchingCredentials(const FetchingCredentials&) = delete;
  FetchingCredentials& operator=(const FetchingCredentials&) = delete;

  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>& /*processor*/) override {}

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), creds_);
  }

  grpc_server_credentials* creds_;
};

}  // namespace

GrpcTls::GrpcTls(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

StatusOr<std::unique_ptr<GrpcTls>> GrpcTls::Load(std::string cert_file, std::string key_file) {
  std::unique_ptr<GrpcTls> tls(new GrpcTls(std::move(cert_file), std::move(key_file)));
  STRATUS_ASSIGN_OR_RETURN(tls->pair_, tls->Read());
  return tls;
}

StatusOr<GrpcTls::Pair> GrpcTls::Read() const {
  Pair p;
  STRATUS_ASSIGN_OR_RETURN(p.cert, ReadAll(cert_file_, "certificate"));
  STRATUS_ASSIGN_OR_RETURN(p.key, ReadAll(key_file_, "key"));
  STRATUS_RETURN_IF_ERROR(Check(p.cert, p.key, cert_file_, key_file_));
  return p;
}

Status GrpcTls::Reload() {
  STRATUS_ASSIGN_OR_RETURN(Pair p, Read());
  std::lock_guard lock(mu_);
  pair_ = std::move(p);
  ++generation_;
  return Status::Ok();
}

grpc_ssl_certificate_config_reload_status GrpcTls::Fetch(void* self, grpc_ssl_server_certificate_config** config) {
  auto* tls = static_cast<GrpcTls*>(self);
  std::lock_guard lock(tls->mu_);
  if (tls->served_ == tls->generation_) return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  grpc_ssl_pem_key_cert_pair pair{tls->pair_.key.c_str(), tls->pair_.cert.c_str()};
  // gRPC 1.51 insists on root certificates in a fetched config, though it asks clients for no
  // certificate (GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE) and so never uses them: the chain
  // itself is valid PEM and is what they get.
  *config = grpc_ssl_server_certificate_config_create(tls->pair_.cert.c_str(), &pair, 1);  // gRPC owns it
  if (*config == nullptr) return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
  tls->served_ = tls->generation_;
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

std::shared_ptr<grpc::ServerCredentials> GrpcTls::Credentials() {
  grpc_ssl_server_credentials_options* options = grpc_ssl_server_credentials_create_options_using_config_fetcher(
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, &GrpcTls::Fetch, this);
  return std::make_shared<FetchingCredentials>(grpc_ssl_server_credentials_create_with_options(options));
}

}  // namespace stratus::grpcapi
