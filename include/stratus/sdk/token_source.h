// stratus/sdk/token_source.h — where TaskQueue gets the bearer token for the Cloud Tasks API
// itself (not the OIDC token of the tasks). stratus needs none, or its --api-token; Google's
// endpoint needs an OAuth access token, which on Cloud Run comes from the metadata server.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "stratus/status.h"

namespace stratus::sdk {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A token valid for at least the next minute.
  virtual StatusOr<std::string> Token() = 0;
};

// Always the same token (stratus's --api-token, or a token from the environment).
class StaticTokenSource : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
  StatusOr<std::string> Token() override { return token_; }

 private:
  std::string token_;
};

// The Cloud Run / GCE metadata server:
//   GET {base}/computeMetadata/v1/instance/service-accounts/default/token
//   Metadata-Flavor: Google   ->   {"access_token":"…","expires_in":3599,"token_type":"Bearer"}
// The token is cached until a minute before it expires.
class MetadataServerTokenSource : public TokenSource {
 public:
  explicit MetadataServerTokenSource(std::string base_url = "http://metadata.google.internal",
                                     std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  ~MetadataServerTokenSource() override;
  StatusOr<std::string> Token() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stratus::sdk
