// Outbound HTTP/1.1 client for task delivery: keep-alive connections pooled per origin,
// HTTPS with certificate and host-name verification, one deadline over the whole exchange.
// A client belongs to one event loop and is used only from coroutines on that loop.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl.hpp>

#include "http/message.h"
#include "stratus/status.h"

namespace stratus::http {

struct Url {
  bool tls = false;
  std::string host;
  uint16_t port = 80;
  std::string target = "/";  // path and query
  static StatusOr<Url> Parse(std::string_view url);
  std::string Origin() const;
  std::string HostHeader() const;
};

struct ClientResult {
  enum class Failure { kNone, kConnect, kTimeout, kProtocol };
  Failure failure = Failure::kNone;
  std::string error;  // when failure != kNone
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

// TLS settings shared by every client: system roots plus an optional extra CA file.
std::unique_ptr<asio::ssl::context> MakeTlsContext(const std::string& extra_ca_file, Status* status);

class HttpClient {
 public:
  HttpClient(asio::io_context& loop, asio::ssl::context& tls);
  ~HttpClient();

  // Sends `req` (its Host is set here) and reads the whole response within `timeout`.
  asio::awaitable<ClientResult> Send(const Url& url, Request req, std::chrono::milliseconds timeout);

  size_t idle_connections() const;

 private:
  struct Connection;
  asio::awaitable<ClientResult> Exchange(Connection& conn, const Request& req, std::chrono::milliseconds timeout,
                                         bool* reusable);
  asio::awaitable<std::unique_ptr<Connection>> Connect(const Url& url, std::chrono::milliseconds timeout,
                                                       std::string* error, bool* timed_out);

  asio::io_context& loop_;
  asio::ssl::context& tls_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

}  // namespace stratus::http
