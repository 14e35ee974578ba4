// An HTTP/1.1 server: one acceptor, connections spread over the event loops, keep-alive,
// limits on header and body size and on connections, an idle timeout, HTTPS when given
// TlsCredentials. Protocol-specific answers (error bodies, authentication) come from the
// ServerHooks the API layer supplies.
//
// What a connection cannot break: every parse error is answered (4xx) and the connection
// closed (RequestReader); an exception from a handler becomes a 500, and one from anywhere
// else in a session is logged and ends only that connection. At the file-descriptor limit
// the acceptor backs off and sheds pending connections through a reserve descriptor; at
// --max-connections it answers 503 and closes. Each condition is logged once per episode.
#pragma once

#include <any>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/event_loops.h"
#include "http/router.h"
#include "http/stream.h"
#include "http/tls.h"

namespace stratus::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port
  size_t max_body_bytes = size_t{8} * 1024 * 1024;
  size_t max_header_bytes = size_t{128} * 1024;
  std::chrono::seconds idle_timeout{75};
  // Open connections at most; one more is answered 503 (plain HTTP) or closed.
  size_t max_connections = 10000;
  // Request body bytes buffered at once over all connections; 0: no bound. A request that
  // would pass it is answered 503 with Retry-After and its connection closed.
  size_t max_buffered_body_bytes = 0;
  // Serve HTTPS with these; null serves plain HTTP.
  std::shared_ptr<TlsCredentials> tls;
};

struct ServerHooks {
  // Renders an error in the protocol's own format (google.rpc.Status JSON, Upstash JSON).
  std::function<Response(const Request&, int http_status, std::string message)> error;
  // Checks credentials for a route's scope; returns a response to send instead, or nullopt.
  std::function<std::optional<Response>(const RequestContext&, Scope)> authorize;
  // Called once a request's header is in, before its body is read (and before a 100 Continue):
  // a response to send instead, after which the connection closes, or nullopt to read on.
  // What it leaves in `early` reaches the route's handler as RequestContext::early.
  std::function<asio::awaitable<std::optional<Response>>(const Request& header, std::any* early)> header;
  // Called after each request with the route name ("" when unrouted), status and duration.
  std::function<void(const RequestContext&, std::string_view route, int status, double seconds)> observe;
};

class ConnectionSlot;

// The accept loop runs on loop 0 and refers to the server: stop the EventLoops before the
// Server is destroyed (serve.cc and the SDK's JobServer do).
class Server {
 public:
  Server(EventLoops& loops, const Router& router, ServerHooks hooks, ServerOptions options);
  ~Server();

  // Binds and starts accepting; fails when the address is taken or invalid.
  Status Start();
  // Stops accepting; open connections end with their loops.
  void Stop();
  uint16_t port() const { return port_; }
  std::string address() const;
  // "http://HOST:PORT" or "https://HOST:PORT".
  std::string url() const;
  // Open connections now.
  size_t connections() const { return connections_->load(); }

 private:
  asio::awaitable<void> AcceptLoop();
  // EMFILE/ENFILE: frees the reserve descriptor to accept and close one pending connection.
  void ShedPendingConnection();
  void RefuseAtCapacity(asio::ip::tcp::socket& socket);
  asio::awaitable<void> Session(asio::ip::tcp::socket socket, ConnectionSlot slot);
  asio::awaitable<void> SessionTls(beast::tcp_stream stream, const std::string& remote);
  template <class Stream>
  asio::awaitable<void> Serve(Stream& stream, beast::flat_buffer& buffer, const std::string& remote);
  // Routes one request; a handler that streams its answer leaves the StreamBody in *stream.
  asio::awaitable<Response> Dispatch(const Request& req, const std::string& remote, std::any early, StreamBody* stream);

  EventLoops& loops_;
  const Router& router_;
  ServerHooks hooks_;
  ServerOptions options_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  int reserve_fd_ = -1;
  std::string busy_reply_;  // the 503 sent at max_connections
  // Shared with the sessions, whose frames may outlive the Server when the loops are destroyed.
  std::shared_ptr<std::atomic<size_t>> connections_ = std::make_shared<std::atomic<size_t>>(0);
  std::shared_ptr<std::atomic<size_t>> buffered_body_ = std::make_shared<std::atomic<size_t>>(0);
};

}  // namespace stratus::http
