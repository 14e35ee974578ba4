#include "http/client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>

#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/ssl.hpp>

namespace stratus::http {
namespace bh = beast::http;
using asio::ip::tcp;
using SslStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr size_t kMaxIdlePerOrigin = 256;
constexpr uint32_t kMaxResponseHeader = 64 * 1024;
constexpr size_t kBodyChunk = 16 * 1024;  // the fixed buffer a response body streams through
// Started as lookups need them. getaddrinfo cannot be interrupted, so a slow name server holds a
// thread past the attempt that gave up on it: enough threads that a few slow names cannot starve
// every other lookup.
constexpr size_t kResolverThreads = 32;

bool StartsWithNoCase(std::string_view s, std::string_view p) {
  return s.size() >= p.size() &&
         beast::iequals(beast::string_view(s.data(), p.size()), beast::string_view(p.data(), p.size()));
}

bool IsTokenChar(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// What may appear in a host: unreserved, sub-delims, ':' (IPv6) and '%' (zone, escapes).
bool IsHostChar(unsigned char c) {
  return std::isalnum(c) || std::string_view("-._~!$&'()*+,;=:%").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// Name resolution off the event loops, bounded by the caller's deadline: getaddrinfo cannot be
// interrupted, so a caller that gives up leaves its query to finish (or be skipped) on one of a
// few threads shared by every client, and its answer is dropped.
struct Resolution {
  std::string host;
  std::string port;
  std::atomic<bool> abandoned{false};
  int gai_error = 0;
  std::vector<tcp::endpoint> endpoints;
  std::mutex mu;
  std::function<void()> done;  // posts to the caller's loop; cleared when the caller leaves
};

class ResolverPool {
 public:
  static ResolverPool& Get() {
    static ResolverPool* pool = new ResolverPool();  // never destroyed: its threads may still block
    return *pool;
  }
  void Submit(std::shared_ptr<Resolution> r) {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(r));
    if (idle_ == 0 && threads_ < kResolverThreads) {
      ++threads_;
      std::thread([this] { Run(); }).detach();
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    for (;;) {
      std::shared_ptr<Resolution> r;
      {
        std::unique_lock lock(mu_);
        ++idle_;
        cv_.wait(lock, [&] { return !queue_.empty(); });
        --idle_;
        r = std::move(queue_.front());
        queue_.pop_front();
      }
      if (!r->abandoned.load()) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_ADDRCONFIG;
        addrinfo* res = nullptr;
        r->gai_error = ::getaddrinfo(r->host.c_str(), r->port.c_str(), &hints, &res);
        for (addrinfo* a = res; a; a = a->ai_next) {
          tcp::endpoint ep;
          if (a->ai_addrlen > ep.capacity()) continue;
          std::memcpy(ep.data(), a->ai_addr, a->ai_addrlen);
          ep.resize(a->ai_addrlen);
          r->endpoints.push_back(ep);
        }
        if (res) ::freeaddrinfo(res);
      }
      std::lock_guard lock(r->mu);
      if (r->done) r->done();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Resolution>> queue_;
  size_t threads_ = 0;
  size_t idle_ = 0;
};

// Resolves on the pool; returns false after `timeout` (the query is then abandoned).
asio::awaitable<bool> ResolveWithin(asio::io_context& loop, std::shared_ptr<Resolution> r,
                                    std::chrono::milliseconds timeout) {
  auto timer = std::make_shared<asio::steady_timer>(loop, timeout);
  auto finished = std::make_shared<bool>(false);
  r->done = [&loop, timer, finished] {
    asio::post(loop, [timer, finished] {
      *finished = true;
      timer->cancel();
    });
  };
  struct Abandon {
    Resolution* r;
    ~Abandon() {
      std::lock_guard lock(r->mu);
      r->abandoned = true;
      r->done = nullptr;
    }
  } abandon{r.get()};
  ResolverPool::Get().Submit(r);
  boost::system::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return *finished;
}

template <class Stream>
asio::awaitable<size_t> WriteRequest(Stream& s, const Request& req, boost::system::error_code& ec) {
  bh::request_serializer<bh::string_body> sr(req);
  size_t n = co_await bh::async_write(s, sr, asio::redirect_error(asio::use_awaitable, ec));
  co_return n;
}

}  // namespace

Status CheckRequest(const Url& url, const Request& req) {
  if (url.host.empty()) return InvalidArgument("the request has no host");
  for (unsigned char c : url.host) {
    if (!IsHostChar(c))
      return InvalidArgument("the host '" + Printable(url.host) + "' has a character not allowed there");
  }
  std::string_view target(req.target().data(), req.target().size());
  if (target.empty()) return InvalidArgument("the request has no target");
  for (unsigned char c : target) {
    if (c <= 0x20 || c == 0x7f) {
      return InvalidArgument("the URL path '" + Printable(target) + "' has a space or control character");
    }
  }
  for (const auto& field : req) {
    std::string_view name(field.name_string().data(), field.name_string().size());
    if (name.empty()) return InvalidArgument("a header has an empty name");
    for (unsigned char c : name) {
      if (!IsTokenChar(c)) return InvalidArgument("the header name '" + Printable(name) + "' is not a token");
    }
    std::string_view value(field.value().data(), field.value().size());
    for (unsigned char c : value) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return InvalidArgument("the value of header " + Printable(name) + " has a control character");
      }
    }
  }
  return Status::Ok();
}

Status PrepareRequest(const Url& url, Request* req) {
  if (url.host.size() > 255) return InvalidArgument("the host name is longer than 255 characters");
  try {
    req->set(bh::field::host, url.HostHeader());
    req->target(url.target);
    req->version(11);
    req->keep_alive(true);
    req->prepare_payload();
  } catch (const std::exception& e) {  // Beast refuses oversized fields by throwing
    return InvalidArgument(std::string("the request cannot be built: ") + e.what());
  }
  return CheckRequest(url, *req);
}

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

struct HttpClient::Exchanged {
  ClientResult result;
  size_t bytes_written = 0;
  bool reusable = false;
};

HttpClient::HttpClient(asio::io_context& loop, asio::ssl::context& tls) : loop_(loop), tls_(tls) {}
HttpClient::~HttpClient() = default;

size_t HttpClient::idle_connections() const {
  size_t n = 0;
  for (const auto& [origin, conns] : idle_) n += conns.size();
  return n;
}

std::unique_ptr<HttpClient::Connection> HttpClient::TakeIdle(const std::string& origin) {
  auto it = idle_.find(origin);
  if (it == idle_.end()) return nullptr;
  auto& idle = it->second;
  while (!idle.empty()) {
    std::unique_ptr<Connection> conn = std::move(idle.back());
    idle.pop_back();
    // Anything readable on an idle connection is either the peer closing or bytes no request
    // asked for (a second response): either way the connection cannot carry a new exchange.
    if (conn->buffer.size() != 0) continue;
    if (conn->tls && SSL_pending(conn->tls->native_handle()) > 0) continue;
    pollfd p{conn->lowest().socket().native_handle(), POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) != 0) continue;
    return conn;
  }
  return nullptr;
}

asio::awaitable<std::unique_ptr<HttpClient::Connection>> HttpClient::Connect(const Url& url,
                                                                             std::chrono::milliseconds timeout,
                                                                             const SendOptions& options,
                                                                             ClientResult* failure) {
  auto fail = [&](ClientResult::Failure f, std::string error) {
    failure->failure = f;
    failure->error = std::move(error);
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(url.host, ec);
  if (!ec) {
    endpoints.emplace_back(literal, url.port);
  } else {
    if (options.policy) {
      Status st = options.policy->CheckHost(url.host);
      if (!st.ok()) {
        fail(ClientResult::Failure::kRefused, st.message());
        co_return nullptr;
      }
    }
    auto r = std::make_shared<Resolution>();
    r->host = url.host;
    r->port = std::to_string(url.port);
    bool resolved = co_await ResolveWithin(loop_, r, timeout);
    if (!resolved) {
      fail(ClientResult::Failure::kTimeout, "resolving " + url.host + " took longer than the deadline");
      co_return nullptr;
    }
    if (r->gai_error != 0 || r->endpoints.empty()) {
      fail(ClientResult::Failure::kConnect,
           "cannot resolve " + url.host + ": " + (r->gai_error ? gai_strerror(r->gai_error) : "no address"));
      co_return nullptr;
    }
    endpoints = std::move(r->endpoints);
  }
  // Every address is checked, and only checked addresses are connected to.
  if (options.policy) {
    for (const auto& ep : endpoints) {
      Status st = options.policy->Check(url.host, ep.address());
      if (!st.ok()) {
        fail(ClientResult::Failure::kRefused, st.message());
        co_return nullptr;
      }
    }
  }
  auto conn = std::make_unique<Connection>();
  conn->origin = url.Origin();
  if (url.tls) {
    conn->tls = std::make_unique<SslStream>(loop_, tls_);
  } else {
    conn->plain = std::make_unique<beast::tcp_stream>(loop_);
  }
  beast::tcp_stream& tcp_layer = conn->lowest();
  tcp_layer.expires_at(deadline);
  co_await tcp_layer.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    fail(ec == beast::error::timeout ? ClientResult::Failure::kTimeout : ClientResult::Failure::kConnect,
         "cannot connect to " + url.Origin() + ": " + ec.message());
    co_return nullptr;
  }
  tcp_layer.socket().set_option(tcp::no_delay(true), ec);
  if (url.tls) {
    if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), url.host.c_str())) {
      fail(ClientResult::Failure::kConnect, "cannot set TLS server name");
      co_return nullptr;
    }
    conn->tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
    co_await conn->tls->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      fail(ec == beast::error::timeout ? ClientResult::Failure::kTimeout : ClientResult::Failure::kConnect,
           "TLS handshake with " + url.Origin() + " failed: " + ec.message());
      co_return nullptr;
    }
  }
  co_return conn;
}

namespace {

// Reads one response through a fixed buffer, keeping at most options.max_body bytes of its body.
template <class Stream>
asio::awaitable<void> ReadResponse(Stream& s, beast::flat_buffer& buffer, bool head, const SendOptions& options,
                                   ClientResult* result, bool* complete, boost::system::error_code& ec) {
  bh::response_parser<bh::buffer_body> parser;
  parser.header_limit(kMaxResponseHeader);
  // What is kept is bounded below; the rest streams past. (Not boost::none: Beast 1.74 compares
  // a Content-Length against an empty optional and refuses every body.)
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (head) parser.skip(true);
  co_await bh::async_read_header(s, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  auto chunk = std::make_unique<char[]>(kBodyChunk);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.get();
    parser.get().body().size = kBodyChunk;
    co_await bh::async_read(s, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == bh::error::need_buffer) ec = {};
    const size_t got = kBodyChunk - parser.get().body().size;
    const size_t room = options.max_body - std::min(options.max_body, result->body.size());
    result->body.append(chunk.get(), std::min(got, room));
    if (got > room) {
      result->body_truncated = true;
      if (!options.discard_excess_body) {
        ec = bh::error::body_limit;
        co_return;
      }
    }
    if (ec) co_return;
  }
  const auto& res = parser.get();
  result->status = static_cast<int>(res.result_int());
  for (const auto& field : res) result->headers[std::string(field.name_string())] = std::string(field.value());
  *complete = res.keep_alive() && res.result_int() != 101;
}

}  // namespace

asio::awaitable<HttpClient::Exchanged> HttpClient::Exchange(Connection& conn, const Request& req,
                                                            std::chrono::milliseconds timeout,
                                                            const SendOptions& options) {
  Exchanged x;
  boost::system::error_code ec;
  conn.lowest().expires_after(timeout);
  const bool head = req.method() == bh::verb::head;
  bool complete = false;
  if (conn.tls) {
    x.bytes_written = co_await WriteRequest(*conn.tls, req, ec);
    if (!ec) co_await ReadResponse(*conn.tls, conn.buffer, head, options, &x.result, &complete, ec);
  } else {
    x.bytes_written = co_await WriteRequest(*conn.plain, req, ec);
    if (!ec) co_await ReadResponse(*conn.plain, conn.buffer, head, options, &x.result, &complete, ec);
  }
  if (ec) {
    x.result.failure = ec == beast::error::timeout ? ClientResult::Failure::kTimeout : ClientResult::Failure::kProtocol;
    x.result.error = ec == bh::error::body_limit
                         ? "response body larger than " + std::to_string(options.max_body) + " bytes"
                         : ec.message();
    x.result.status = 0;
    x.result.headers.clear();
    co_return x;
  }
  // Reusable only when this exchange was read to its end and nothing follows it.
  x.reusable = complete && conn.buffer.size() == 0;
  co_return x;
}

asio::awaitable<ClientResult> HttpClient::Send(const Url& url, Request req, std::chrono::milliseconds timeout,
                                               SendOptions options) {
  if (Status st = PrepareRequest(url, &req); !st.ok()) {
    ClientResult r;
    r.failure = ClientResult::Failure::kRefused;
    r.error = "request not sent: " + st.message();
    co_return r;
  }
  const std::string origin = url.Origin();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto remaining = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
  };

  for (;;) {
    std::unique_ptr<Connection> conn = TakeIdle(origin);
    const bool reused = conn != nullptr;
    if (!conn) {
      ClientResult failure;
      conn = co_await Connect(url, remaining(), options, &failure);
      if (!conn) co_return failure;
    }
    Exchanged x = co_await Exchange(*conn, req, remaining(), options);
    // A pooled connection the peer closed just before the write: nothing of the request left,
    // so it goes again on another connection. Once any byte was written it may have arrived,
    // and sending it again could deliver it twice.
    if (x.result.failure == ClientResult::Failure::kProtocol && reused && x.bytes_written == 0) continue;
    if (x.result.failure == ClientResult::Failure::kNone && x.reusable) {
      auto& pool = idle_[origin];
      if (pool.size() < kMaxIdlePerOrigin) {
        conn->lowest().expires_never();
        pool.push_back(std::move(conn));
      }
    }
    co_return std::move(x.result);
  }
}

}  // namespace stratus::http
