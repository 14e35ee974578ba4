// Outbound HTTP/1.1 client for task delivery and the SDK: keep-alive connections pooled per
// origin, HTTPS with certificate and host-name verification, one deadline over the whole
// exchange (name resolution included). A client belongs to one event loop and is used only
// from coroutines on that loop.
//
// Guarantees:
//  * A request is written only if it is exactly one well-formed request (CheckRequest): no
//    control characters in the target or header values, header names are tokens.
//  * A connection goes back to the pool only when its exchange was read to the end (the whole
//    response parsed, keep-alive, nothing left over), and is checked again before reuse (a
//    pooled connection with unread bytes or a closed peer is dropped).
//  * A request is re-sent on a fresh connection only when nothing of it can have reached the
//    target (the pooled connection was closed before writing, or its write failed with no byte
//    written); any other failure ends the exchange.
//  * The response body is read through a fixed buffer: at most SendOptions::max_body bytes are
//    kept, whatever Content-Length says.
//  * With a TargetPolicy, every resolved address is checked and the connection is made only to
//    the checked addresses (no second resolution).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl.hpp>

#include "http/message.h"
#include "http/target_policy.h"
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
  // kRefused: nothing was sent, because the request is malformed (CheckRequest) or the target
  // policy denies the target; `error` says why.
  enum class Failure { kNone, kConnect, kTimeout, kProtocol, kRefused };
  Failure failure = Failure::kNone;
  std::string error;  // when failure != kNone
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;             // at most SendOptions::max_body bytes of it
  bool body_truncated = false;  // the body was longer than what was kept
};

struct SendOptions {
  size_t max_body = 16 * 1024 * 1024;  // bytes of the response body kept
  // Past max_body: true reads on and discards the rest (task delivery: a 200 with a large body
  // is a success); false fails the exchange (kProtocol) and drops the connection.
  bool discard_excess_body = false;
  const TargetPolicy* policy = nullptr;  // nullptr: any address
};

// OK when `req` and `url` make exactly one well-formed HTTP/1.1 request: the target is printable
// ASCII with no spaces, header names are tokens, header values have no control characters but
// tab. INVALID_ARGUMENT naming the field otherwise.
Status CheckRequest(const Url& url, const Request& req);
// What Send does before writing: Host, target, HTTP/1.1, keep-alive, Content-Length, then
// CheckRequest.
Status PrepareRequest(const Url& url, Request* req);

// TLS settings shared by every client: system roots plus an optional extra CA file.
std::unique_ptr<asio::ssl::context> MakeTlsContext(const std::string& extra_ca_file, Status* status);

class HttpClient {
 public:
  HttpClient(asio::io_context& loop, asio::ssl::context& tls);
  ~HttpClient();

  // Sends `req` (its Host is set here) and reads the whole response within `timeout`.
  asio::awaitable<ClientResult> Send(const Url& url, Request req, std::chrono::milliseconds timeout,
                                     SendOptions options = {});

  size_t idle_connections() const;

 private:
  struct Connection;
  struct Exchanged;
  asio::awaitable<Exchanged> Exchange(Connection& conn, const Request& req, std::chrono::milliseconds timeout,
                                      const SendOptions& options);
  asio::awaitable<std::unique_ptr<Connection>> Connect(const Url& url, std::chrono::milliseconds timeout,
                                                       const SendOptions& options, ClientResult* failure);
  // A pooled connection for `origin` that is still open and has nothing unread, or nullptr.
  std::unique_ptr<Connection> TakeIdle(const std::string& origin);

  asio::io_context& loop_;
  asio::ssl::context& tls_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

}  // namespace stratus::http
