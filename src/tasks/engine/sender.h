// Where the engine's requests go: the outbound HTTP client in the server, a fake in the
// engine's unit tests (tests/unit/engine_runner_test.cc). One Sender per event loop, used only
// from coroutines on that loop.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "http/client.h"

namespace stratus {

class Sender {
 public:
  virtual ~Sender() = default;
  // Sends one request and reads its answer within `timeout` (http::HttpClient::Send).
  virtual asio::awaitable<http::ClientResult> Send(const http::Url& url, http::Request req,
                                                   std::chrono::milliseconds timeout, http::SendOptions options) = 0;
};

// Makes the Sender of one loop.
using SenderFactory = std::function<std::unique_ptr<Sender>(asio::io_context& loop)>;

// The real one: http::HttpClient with the given TLS settings.
class HttpSender final : public Sender {
 public:
  HttpSender(asio::io_context& loop, asio::ssl::context& tls) : client_(loop, tls) {}
  asio::awaitable<http::ClientResult> Send(const http::Url& url, http::Request req, std::chrono::milliseconds timeout,
                                           http::SendOptions options) override {
    return client_.Send(url, std::move(req), timeout, options);
  }

 private:
  http::HttpClient client_;
};

}  // namespace stratus
