#include "http/server.h"

#include <array>
#include <chrono>

namespace stratus::http {
namespace bh = beast::http;
using asio::ip::tcp;

Server::Server(EventLoops& loops, const Router& router, ServerHooks hooks, ServerOptions options)
    : loops_(loops), router_(router), hooks_(std::move(hooks)), options_(std::move(options)) {}

Server::~Server() {
  Stop();
}

Status Server::Start() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(options_.host, ec);
  if (ec) return InvalidArgument("invalid listen address '" + options_.host + "'");
  tcp::endpoint ep(addr, options_.port);
  acceptor_ = std::make_unique<tcp::acceptor>(loops_.Loop(0));
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_->local_endpoint().port();
  asio::co_spawn(loops_.Loop(0), AcceptLoop(), asio::detached);
  return Status::Ok();
}

void Server::Stop() {
  if (!acceptor_) return;
  asio::post(acceptor_->get_executor(), [a = acceptor_.get()] {
    boost::system::error_code ec;
    a->close(ec);
  });
}

std::string Server::address() const {
  std::string host = options_.host.find(':') != std::string::npos ? "[" + options_.host + "]" : options_.host;
  return host + ":" + std::to_string(port_);
}

asio::awaitable<void> Server::AcceptLoop() {
  while (acceptor_->is_open()) {
    boost::system::error_code ec;
    auto& loop = loops_.Next();
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    tcp::socket socket = co_await acceptor_->async_accept(loop, token);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) break;
      continue;  // EMFILE and friends: keep serving the connections we have
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto session = Session(std::move(socket));
    asio::co_spawn(loop, std::move(session), asio::detached);
  }
}

asio::awaitable<void> Server::Session(tcp::socket socket) {
  boost::system::error_code ec;
  std::string remote;
  auto ep = socket.remote_endpoint(ec);
  if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    bh::request_parser<bh::string_body> parser;
    parser.body_limit(options_.max_body_bytes);
    parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    stream.expires_after(options_.idle_timeout);
    co_await bh::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == bh::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      break;
    }
    Response res;
    bool keep_alive = false;
    if (ec) {
      // Malformed or oversized request: answer once, then close (the stream is out of sync).
      const Request& partial = parser.get();
      int status = ec == bh::error::body_limit ? 413 : (ec == bh::error::header_limit ? 431 : 400);
      std::string what = ec == bh::error::body_limit ? "Request body exceeds the limit of " +
                                                           std::to_string(options_.max_body_bytes) + " bytes."
                                                     : "Malformed HTTP request: " + ec.message() + ".";
      res = hooks_.error(partial, status, what);
    } else {
      const Request& req = parser.get();
      keep_alive = req.keep_alive();
      res = co_await Dispatch(req, remote);
    }
    res.keep_alive(keep_alive);
    res.prepare_payload();
    stream.expires_after(options_.idle_timeout);
    co_await bh::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  // Lingering close: a client still uploading an oversized body would otherwise get a reset
  // instead of our answer. Drain what it sends for a bounded time, then close.
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 16384> scratch;
  stream.expires_after(std::chrono::seconds(2));
  for (size_t drained = 0; !ec && drained < (64u << 20);) {
    drained += co_await stream.async_read_some(asio::buffer(scratch), asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<Response> Server::Dispatch(const Request& req, const std::string& remote) {
  auto start = std::chrono::steady_clock::now();
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  RequestContext ctx{req, target.substr(0, q), {}, {}, remote};
  if (q != std::string_view::npos) ctx.query = ParseQuery(target.substr(q + 1));

  Router::Match m = router_.Find(req.method(), ctx.path, &ctx.params);
  Response res;
  std::string_view route_name;
  if (!m.route) {
    res = m.path_matched
              ? hooks_.error(
                    req, 405,
                    "Method " + std::string(req.method_string()) + " is not allowed for " + std::string(ctx.path) + ".")
              : hooks_.error(req, 404, "The requested URL " + std::string(ctx.path) + " was not found on this server.");
  } else {
    route_name = m.route->name;
    std::optional<Response> denied = hooks_.authorize ? hooks_.authorize(ctx, m.route->scope) : std::nullopt;
    if (denied) {
      res = std::move(*denied);
    } else {
      try {
        res = co_await m.route->handler(ctx);
      } catch (const std::exception& e) {
        res = hooks_.error(req, 500, std::string("Internal error: ") + e.what());
      }
    }
  }
  if (hooks_.observe) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    hooks_.observe(ctx, route_name, static_cast<int>(res.result_int()), secs);
  }
  co_return res;
}

}  // namespace stratus::http
