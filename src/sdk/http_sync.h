// The SDK's blocking HTTP: one event-loop thread per client object, with a keep-alive
// HttpClient on it. Calls from any thread block until the exchange ends; Spawn runs several
// exchanges at once on the loop (AddBatch).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/asio.h"
#include "http/client.h"

namespace stratus::sdk::internal {

class SyncHttp {
 public:
  // `ca_file` adds a CA for https endpoints.
  static StatusOr<std::unique_ptr<SyncHttp>> Create(const std::string& ca_file);
  ~SyncHttp();

  // Sends and waits. Never call from a coroutine on this client's own loop.
  http::ClientResult Fetch(const http::Url& url, http::Request req, std::chrono::milliseconds timeout,
                           http::SendOptions options = {});
  // Runs `coroutine_factory()` on the loop and waits for it (for several exchanges at once).
  void RunOnLoop(std::function<asio::awaitable<void>()> coroutine_factory);
  // For coroutines already on the loop.
  asio::awaitable<http::ClientResult> FetchAsync(const http::Url& url, http::Request req,
                                                 std::chrono::milliseconds timeout, http::SendOptions options = {});

 private:
  SyncHttp() = default;
  asio::io_context loop_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::unique_ptr<http::HttpClient> client_;
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
};

// A request with a method and, when given, a body with its content type. The target comes
// from the Url it is sent to.
http::Request MakeRequest(http::Verb verb, std::string body = {}, std::string_view content_type = "application/json");

}  // namespace stratus::sdk::internal
