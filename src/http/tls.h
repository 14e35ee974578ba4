// Server-side TLS for the listeners: a certificate chain and a private key (PEM files) in an
// SSL context that each new connection takes a reference to. Reload() reads the files again
// (on SIGHUP): connections accepted afterwards use the new certificate, open ones keep the
// one they started with, and a file that fails to load leaves the current one in place.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl.hpp>

#include "common/asio.h"
#include "stratus/status.h"

namespace stratus::http {

class TlsCredentials {
 public:
  // Fails with a clear message when either file cannot be read or they do not match.
  static StatusOr<std::shared_ptr<TlsCredentials>> Load(std::string cert_file, std::string key_file);

  // Reads both files again; on failure keeps the current context and returns why.
  Status Reload();
  // The context for a new connection; it stays alive while the connection holds it.
  std::shared_ptr<asio::ssl::context> Current() const;

  const std::string& cert_file() const { return cert_file_; }
  const std::string& key_file() const { return key_file_; }

 private:
  TlsCredentials(std::string cert_file, std::string key_file);
  StatusOr<std::shared_ptr<asio::ssl::context>> Build() const;

  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<asio::ssl::context> context_;
};

}  // namespace stratus::http
