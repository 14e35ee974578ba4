#include "sdk/http_sync.h"

#include <future>

namespace stratus::sdk::internal {

StatusOr<std::unique_ptr<SyncHttp>> SyncHttp::Create(const std::string& ca_file) {
  std::unique_ptr<SyncHttp> s(new SyncHttp());
  Status status;
  s->tls_ = http::MakeTlsContext(ca_file, &status);
  STRATUS_RETURN_IF_ERROR(status);
  s->client_ = std::make_unique<http::HttpClient>(s->loop_, *s->tls_);
  s->guard_ = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(s->loop_.get_executor());
  s->thread_ = std::thread([p = s.get()] { p->loop_.run(); });
  return s;
}

SyncHttp::~SyncHttp() {
  // The client's idle connections belong to the loop: drop them there, then stop it.
  std::promise<void> done;
  asio::post(loop_, [this, &done] {
    client_.reset();
    done.set_value();
  });
  done.get_future().wait();
  guard_.reset();
  loop_.stop();
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<http::ClientResult> SyncHttp::FetchAsync(const http::Url& url, http::Request req,
                                                         std::chrono::milliseconds timeout, http::SendOptions options) {
  co_return co_await client_->Send(url, std::move(req), timeout, options);
}

http::ClientResult SyncHttp::Fetch(const http::Url& url, http::Request req, std::chrono::milliseconds timeout,
                                   http::SendOptions options) {
  auto fut = asio::co_spawn(loop_, FetchAsync(url, std::move(req), timeout, options), asio::use_future);
  return fut.get();
}

void SyncHttp::RunOnLoop(std::function<asio::awaitable<void>()> coroutine_factory) {
  auto fut = asio::co_spawn(
      loop_, [f = std::move(coroutine_factory)]() -> asio::awaitable<void> { co_await f(); }, asio::use_future);
  fut.get();
}

http::Request MakeRequest(http::Verb verb, std::string body, std::string_view content_type) {
  http::Request req{verb, "/", 11};
  if (!body.empty() || verb == http::Verb::post || verb == http::Verb::patch || verb == http::Verb::put) {
    req.set(beast::http::field::content_type, std::string(content_type));
    req.body() = std::move(body);
    req.prepare_payload();
  }
  req.set(beast::http::field::user_agent, "stratus-sdk/0.1");
  return req;
}

}  // namespace stratus::sdk::internal
