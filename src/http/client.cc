#include "http/client.h"

#include <charconv>

#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/ssl.hpp>

namespace stratus::http {
namespace bh = beast::http;
using asio::ip::tcp;
using SslStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr size_t kMaxIdlePerOrigin = 256;
constexpr size_t kMaxResponseBody = 16 * 1024 * 1024;

bool StartsWithNoCase(std::string_view s, std::string_view p) {
  return s.size() >= p.size() &&
         beast::iequals(beast::string_view(s.data(), p.size()), beast::string_view(p.data(), p.size()));
}

}  // namespace

StatusOr<Url> Url::Parse(std::string_view s) {
  Url u;
  if (StartsWithNoCase(s, "https://")) {
    u.tls = true;
    u.port = 443;
    s.remove_prefix(8);
  } else if (StartsWithNoCase(s, "http://")) {
    s.remove_prefix(7);
  } else {
    return InvalidArgument("URL must start with http:// or https://");
  }
  size_t end = s.find_first_of("/?#");
  std::string_view authority = s.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view() : s.substr(end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument("bad IPv6 host in URL");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgument("URL has no host");
  u.host = std::string(host);
  if (!port.empty()) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535)
      return InvalidArgument("bad port in URL");
    u.port = static_cast<uint16_t>(p);
  }
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  if (rest.empty() || rest.front() == '?') {
    u.target = "/" + std::string(rest);
  } else {
    u.target = std::string(rest);
  }
  return u;
}

std::string Url::Origin() const {
  return (tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

std::string Url::HostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if ((tls && port != 443) || (!tls && port != 80)) h += ":" + std::to_string(port);
  return h;
}

std::unique_ptr<asio::ssl::context> MakeTlsContext(const std::string& extra_ca_file, Status* status) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (!extra_ca_file.empty()) {
    ctx->load_verify_file(extra_ca_file, ec);
    if (ec) {
      *status = InvalidArgument("cannot load CA file " + extra_ca_file + ": " + ec.message());
      return nullptr;
    }
  }
  ctx->set_verify_mode(asio::ssl::verify_peer);
  *status = Status::Ok();
  return ctx;
}

struct HttpClient::Connection {
  std::string origin;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<SslStream> tls;
  beast::flat_buffer buffer;
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

HttpClient::HttpClient(asio::io_context& loop, asio::ssl::context& tls) : loop_(loop), tls_(tls) {}
HttpClient::~HttpClient() = default;

size_t HttpClient::idle_connections() const {
  size_t n = 0;
  for (const auto& [origin, conns] : idle_) n += conns.size();
  return n;
}

asio::awaitable<std::unique_ptr<HttpClient::Connection>> HttpClient::Connect(const Url& url,
                                                                             std::chrono::milliseconds timeout,
                                                                             std::string* error, bool* timed_out) {
  boost::system::error_code ec;
  tcp::resolver resolver(loop_);
  std::string port = std::to_string(url.port);
  auto results = co_await resolver.async_resolve(url.host, port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    *error = "cannot resolve " + url.host + ": " + ec.message();
    co_return nullptr;
  }
  auto conn = std::make_unique<Connection>();
  conn->origin = url.Origin();
  if (url.tls) {
    conn->tls = std::make_unique<SslStream>(loop_, tls_);
  } else {
    conn->plain = std::make_unique<beast::tcp_stream>(loop_);
  }
  beast::tcp_stream& tcp_layer = conn->lowest();
  tcp_layer.expires_after(timeout);
  co_await tcp_layer.async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    *timed_out = ec == beast::error::timeout;
    *error = "cannot connect to " + url.Origin() + ": " + ec.message();
    co_return nullptr;
  }
  tcp_layer.socket().set_option(tcp::no_delay(true), ec);
  if (url.tls) {
    if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), url.host.c_str())) {
      *error = "cannot set TLS server name";
      co_return nullptr;
    }
    conn->tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
    co_await conn->tls->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      *timed_out = ec == beast::error::timeout;
      *error = "TLS handshake with " + url.Origin() + " failed: " + ec.message();
      co_return nullptr;
    }
  }
  co_return conn;
}

asio::awaitable<ClientResult> HttpClient::Exchange(Connection& conn, const Request& req,
                                                   std::chrono::milliseconds timeout, bool* reusable) {
  ClientResult result;
  boost::system::error_code ec;
  conn.lowest().expires_after(timeout);
  bh::response_parser<bh::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  if (conn.tls) {
    co_await bh::async_write(*conn.tls, req, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_await bh::async_read(*conn.tls, conn.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await bh::async_write(*conn.plain, req, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_await bh::async_read(*conn.plain, conn.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    *reusable = false;
    result.failure = ec == beast::error::timeout ? ClientResult::Failure::kTimeout : ClientResult::Failure::kProtocol;
    result.error = ec.message();
    co_return result;
  }
  auto& res = parser.get();
  result.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    result.headers[std::string(field.name_string())] = std::string(field.value());
  }
  result.body = std::move(res.body());
  *reusable = res.keep_alive();
  co_return result;
}

asio::awaitable<ClientResult> HttpClient::Send(const Url& url, Request req, std::chrono::milliseconds timeout) {
  req.set(bh::field::host, url.HostHeader());
  req.target(url.target);
  req.version(11);
  req.keep_alive(true);
  req.prepare_payload();
  const std::string origin = url.Origin();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto remaining = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
  };

  // A pooled connection may have been closed by the peer while idle: a failure before any
  // response on a reused connection is retried once on a fresh one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> conn;
    bool reused = false;
    auto& idle = idle_[origin];
    if (attempt == 0 && !idle.empty()) {
      conn = std::move(idle.back());
      idle.pop_back();
      reused = true;
    } else {
      std::string error;
      bool timed_out = false;
      auto t = remaining();
      conn = co_await Connect(url, t, &error, &timed_out);
      if (!conn) {
        ClientResult r;
        r.failure = timed_out ? ClientResult::Failure::kTimeout : ClientResult::Failure::kConnect;
        r.error = error;
        co_return r;
      }
    }
    bool reusable = false;
    auto t = remaining();
    ClientResult r = co_await Exchange(*conn, req, t, &reusable);
    if (r.failure == ClientResult::Failure::kProtocol && reused) continue;
    if (r.failure == ClientResult::Failure::kNone && reusable) {
      auto& pool = idle_[origin];
      if (pool.size() < kMaxIdlePerOrigin) {
        conn->lowest().expires_never();
        pool.push_back(std::move(conn));
      }
    }
    co_return r;
  }
  ClientResult r;
  r.failure = ClientResult::Failure::kConnect;
  r.error = "connection to " + origin + " failed";
  co_return r;
}

}  // namespace stratus::http
