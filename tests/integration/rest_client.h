// Blocking JSON-over-HTTP calls for integration tests (the SDK's SyncHttp underneath).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "sdk/http_sync.h"

namespace stratus::testing {

struct RestReply {
  int status = 0;  // 0: no answer
  nlohmann::json body;
  std::map<std::string, std::string> headers;
};

class RestClient {
 public:
  RestClient() {
    auto h = sdk::internal::SyncHttp::Create("");
    EXPECT_TRUE(h.ok());
    http_ = std::move(h).value();
  }
  RestReply Call(http::Verb verb, const std::string& url, const nlohmann::json& body = nullptr,
                 const std::map<std::string, std::string>& headers = {}) {
    auto u = http::Url::Parse(url);
    EXPECT_TRUE(u.ok()) << url;
    auto req = sdk::internal::MakeRequest(verb, body.is_null() ? std::string() : body.dump());
    for (const auto& [k, v] : headers) req.set(k, v);
    auto res = http_->Fetch(*u, std::move(req), std::chrono::seconds(10));
    RestReply r;
    if (res.failure != http::ClientResult::Failure::kNone) return r;
    r.status = res.status;
    r.headers = res.headers;
    r.body = nlohmann::json::parse(res.body, nullptr, false);
    if (r.body.is_discarded()) r.body = res.body;
    return r;
  }
  RestReply Get(const std::string& url) { return Call(http::Verb::get, url); }
  RestReply Post(const std::string& url, const nlohmann::json& body = nlohmann::json::object()) {
    return Call(http::Verb::post, url, body);
  }

 private:
  std::unique_ptr<sdk::internal::SyncHttp> http_;
};

}  // namespace stratus::testing
