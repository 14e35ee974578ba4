// The gRPC port's TLS certificate, reloaded on SIGHUP like the REST listeners' (http/tls.h).
//
// grpc++ 1.51 has no public way to swap a running server's certificate, but gRPC core asks a
// "certificate config fetcher" on every TLS handshake whether the certificate changed
// (grpc_ssl_server_credentials_create_options_using_config_fetcher). GrpcTls keeps the PEM
// pair and a generation number; Reload() reads and checks the files and bumps the generation;
// the fetcher hands gRPC the new pair on the next handshake. So connections accepted after a
// successful Reload use the new certificate, open ones keep theirs, and files that fail to
// load leave the current pair in place.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <grpc/grpc_security.h>
#include <grpcpp/security/server_credentials.h>

#include "stratus/status.h"

namespace stratus::grpcapi {

class GrpcTls {
 public:
  // Reads both files; fails with a clear message when either cannot be read or they do not
  // match.
  static StatusOr<std::unique_ptr<GrpcTls>> Load(std::string cert_file, std::string key_file);

  // Reads the files again; on failure keeps the current pair and returns why.
  Status Reload();

  // Credentials for a listening port that ask this object on every handshake. `this` must
  // outlive the grpc::Server they are added to.
  std::shared_ptr<grpc::ServerCredentials> Credentials();

 private:
  GrpcTls(std::string cert_file, std::string key_file);
  struct Pair {
    std::string cert;
    std::string key;
  };
  StatusOr<Pair> Read() const;
  // The fetcher gRPC calls on each handshake (any of its threads).
  static grpc_ssl_certificate_config_reload_status Fetch(void* self, grpc_ssl_server_certificate_config** config);

  const std::string cert_file_;
  const std::string key_file_;
  std::mutex mu_;
  Pair pair_;
  uint64_t generation_ = 1;
  uint64_t served_ = 0;  // the generation gRPC has; 0: none yet
};

}  // namespace stratus::grpcapi
