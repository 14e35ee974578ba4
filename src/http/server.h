// An HTTP/1.1 server: one acceptor, connections spread over the event loops, keep-alive,
// limits on header and body size, an idle timeout. Protocol-specific answers (error bodies,
// authentication) come from the ServerHooks the API layer supplies.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "http/event_loops.h"
#include "http/router.h"

namespace stratus::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port
  size_t max_body_bytes = 8 * 1024 * 1024;
  size_t max_header_bytes = 128 * 1024;
  std::chrono::seconds idle_timeout{75};
};

struct ServerHooks {
  // Renders an error in the protocol's own format (google.rpc.Status JSON, Upstash JSON).
  std::function<Response(const Request&, int http_status, std::string message)> error;
  // Checks credentials for a route's scope; returns a response to send instead, or nullopt.
  std::function<std::optional<Response>(const RequestContext&, Scope)> authorize;
  // Called after each request with the route name ("" when unrouted), status and duration.
  std::function<void(const RequestContext&, std::string_view route, int status, double seconds)> observe;
};

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

 private:
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Session(asio::ip::tcp::socket socket);
  asio::awaitable<Response> Dispatch(const Request& req, const std::string& remote);

  EventLoops& loops_;
  const Router& router_;
  ServerHooks hooks_;
  ServerOptions options_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
};

}  // namespace stratus::http
