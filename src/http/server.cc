#include "http/server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <sstream>
#include <utility>

#include "common/log.h"
#include "http/request_reader.h"
#include "http/stream.h"
#include "http/wire.h"

namespace stratus::http {
namespace bh = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;

namespace {

constexpr size_t kReadSize = 64 * 1024;
constexpr std::chrono::seconds kHandshakeTimeout{10};
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::chrono::milliseconds kAcceptBackoff{50};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// A streamed response whose chunk cannot be written within this ends: a client that stopped
// reading does not hold the stream forever.
constexpr std::chrono::seconds kStreamWriteTimeout{30};

}  // namespace

// Holds one of the server's connection slots for a session's life.
class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::shared_ptr<std::atomic<size_t>> count) : count_(std::move(count)) { ++*count_; }
  ConnectionSlot(ConnectionSlot&& other) noexcept = default;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (count_) --*count_;
  }

 private:
  std::shared_ptr<std::atomic<size_t>> count_;
};

namespace {

// The body bytes one request has buffered, charged against the server's bound and given back
// when the request is done with. It shares the counter: a session's frame can be destroyed
// after its Server (when the event loops are torn down), and must not touch freed memory.
class BodyCharge {
 public:
  BodyCharge(std::shared_ptr<std::atomic<size_t>> total, size_t limit) : total_(std::move(total)), limit_(limit) {}
  BodyCharge(const BodyCharge&) = delete;
  BodyCharge& operator=(const BodyCharge&) = delete;
  ~BodyCharge() { *total_ -= charged_; }

  // Charges what the request holds or has declared (Content-Length); false past the bound.
  bool Cover(const Request& req) {
    if (limit_ == 0) return true;
    size_t want = req.body().size();
    auto length = req.find(bh::field::content_length);
    if (length != req.end()) {
      size_t declared = 0;
      std::string_view v(length->value().data(), length->value().size());
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), declared);
      want = std::max(want, ec == std::errc() ? declared : SIZE_MAX);
    }
    if (want <= charged_) return true;
    const size_t more = want - charged_;
    if (more > limit_ || total_->fetch_add(more) + more > limit_) {
      if (more <= limit_) *total_ -= more;
      return false;
    }
    charged_ = want;
    return true;
  }

 private:
  std::shared_ptr<std::atomic<size_t>> total_;
  size_t limit_;
  size_t charged_ = 0;
};

std::string Describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "a non-standard exception";
  }
}

void LogListener(const std::string& listener, const std::string& message) {
  LogJson({{"event", "http.listener"}, {"listener", listener}, {"message", message}});
}

bool OutOfDescriptors(const boost::system::error_code& ec) {
  return ec == boost::system::errc::too_many_files_open || ec == boost::system::errc::too_many_files_open_in_system ||
         ec == boost::system::errc::no_buffer_space || ec == boost::system::errc::not_enough_memory;
}

// A streamed response's state, shared by the stream, its writer and the watcher that reads
// the connection to notice the client going away. All on the connection's loop.
struct StreamState {
  explicit StreamState(const asio::any_io_executor& ex) : done(ex) {}
  bool closed = false;  // the client went away, or a write failed
  bool reading = true;  // the watcher still runs (it reads from the stream)
  std::function<void()> wake;
  asio::steady_timer done;  // cancelled when the watcher ends
};

template <class Stream>
class ChunkWriter final : public StreamWriter {
 public:
  ChunkWriter(Stream& stream, std::shared_ptr<StreamState> state, std::chrono::seconds timeout)
      : stream_(stream), state_(std::move(state)), timeout_(timeout) {}

  asio::awaitable<bool> Write(std::string data) override {
    if (state_->closed) co_return false;
    if (data.empty()) co_return true;
    std::array<char, 20> hex;
    auto [end, unused] = std::to_chars(hex.data(), hex.data() + hex.size(), data.size(), 16);
    std::string chunk(hex.data(), end);
    chunk += "\r\n";
    chunk += data;
    chunk += "\r\n";
    co_return co_await WriteRaw(std::move(chunk));
  }
  bool closed() const override { return state_->closed; }
  void OnClose(std::function<void()> wake) override { state_->wake = std::move(wake); }
  void Abort() override {
    state_->closed = true;
    boost::system::error_code ec;
    beast::get_lowest_layer(stream_).socket().close(ec);  // ends a pending write and the watcher's read
  }

  // Bytes as they are (the last chunk), under the write timeout.
  asio::awaitable<bool> WriteRaw(std::string bytes) {
    boost::system::error_code ec;
    auto& tcp_layer = beast::get_lowest_layer(stream_);
    tcp_layer.expires_after(timeout_);  // the watcher's pending read keeps its own (no) deadline
    co_await asio::async_write(stream_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      state_->closed = true;
      co_return false;
    }
    tcp_layer.expires_never();
    co_return true;
  }

 private:
  Stream& stream_;
  std::shared_ptr<StreamState> state_;
  std::chrono::seconds timeout_;
};

// Reads (and drops) what the client sends until it closes, then wakes the stream.
template <class Stream>
asio::awaitable<void> WatchForClose(Stream& stream, std::shared_ptr<StreamState> state) {
  std::array<char, 4096> scratch;
  boost::system::error_code ec;
  while (!ec) {
    co_await stream.async_read_some(asio::buffer(scratch), asio::redirect_error(asio::use_awaitable, ec));
  }
  state->closed = true;
  if (state->wake) state->wake();
  state->reading = false;
  state->done.cancel();
}

template <class Stream>
asio::awaitable<void> ServeStream(Stream& stream, Response& head, StreamBody body, std::string listener) {
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  head.keep_alive(false);
  head.erase(bh::field::content_length);
  head.chunked(true);
  tcp_layer.expires_after(kStreamWriteTimeout);
  bh::response_serializer<bh::string_body> serializer(head);
  co_await bh::async_write_header(stream, serializer, token);
  if (ec) co_return;
  tcp_layer.expires_never();
  auto ex = co_await asio::this_coro::executor;
  auto state = std::make_shared<StreamState>(ex);
  asio::co_spawn(ex, WatchForClose(stream, state), asio::detached);
  ChunkWriter<Stream> writer(stream, state, kStreamWriteTimeout);
  try {
    co_await body(writer);
  } catch (const std::exception& e) {
    LogListener(listener, std::string("a streamed response ended with an error: ") + e.what());
  }
  if (!state->closed) {
    std::string last = "0\r\n\r\n";
    co_await writer.WriteRaw(std::move(last));
  }
  // The watcher reads from `stream`: end it and wait before the stream goes away.
  tcp_layer.cancel();
  while (state->reading) {
    state->done.expires_after(std::chrono::seconds(1));
    co_await state->done.async_wait(token);
  }
}

Response ErrorReply(const ServerHooks& hooks, const Request& req, int status, std::string message) {
  if (hooks.error) return hooks.error(req, status, std::move(message));
  return MakeResponse(req, static_cast<bh::status>(status), std::move(message), "text/plain");
}

}  // namespace

Server::Server(EventLoops& loops, const Router& router, ServerHooks hooks, ServerOptions options)
    : loops_(loops), router_(router), hooks_(std::move(hooks)), options_(std::move(options)) {}

Server::~Server() {
  Stop();
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
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
  if (!ec) acceptor_->non_blocking(true, ec);  // ShedPendingConnection accepts directly
  if (ec) {
    return Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_->local_endpoint().port();
  if (reserve_fd_ < 0) reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  Request probe;
  probe.version(11);
  Response busy = ErrorReply(hooks_, probe, 503,
                             "The server is at its connection limit (" + std::to_string(options_.max_connections) +
                                 " open connections); try again later.");
  busy.keep_alive(false);
  busy.prepare_payload();
  std::ostringstream text;
  text << busy;
  busy_reply_ = text.str();
  asio::co_spawn(loops_.Loop(0), AcceptLoop(), [listener = address()](const std::exception_ptr& e) {
    if (e) LogListener(listener, "the accept loop stopped: " + Describe(e));
  });
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

std::string Server::url() const {
  return (options_.tls ? "https://" : "http://") + address();
}

asio::awaitable<void> Server::AcceptLoop() {
  asio::steady_timer backoff(acceptor_->get_executor());
  bool out_of_fds = false;  // log each condition once, when it starts
  bool at_limit = false;
  while (acceptor_->is_open()) {
    boost::system::error_code ec;
    auto& loop = loops_.Next();
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    tcp::socket socket = co_await acceptor_->async_accept(loop, token);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) break;
      if (OutOfDescriptors(ec)) {
        if (!out_of_fds) {
          LogListener(address(), "out of file descriptors (" + ec.message() +
                                     "): closing new connections until some close; raise the limit (ulimit -n)");
          out_of_fds = true;
        }
        // The pending connection would wake this loop again at once: accept it with the
        // reserve descriptor and close it (the client sees a close), then wait a little.
        ShedPendingConnection();
        backoff.expires_after(kAcceptBackoff);
        co_await backoff.async_wait(token);
      }
      continue;  // ECONNABORTED and friends concern one connection only
    }
    if (out_of_fds) {
      LogListener(address(), "file descriptors available again");
      out_of_fds = false;
    }
    if (connections_->load() >= options_.max_connections) {
      if (!at_limit) {
        LogListener(address(), "at the connection limit (--max-connections " +
                                   std::to_string(options_.max_connections) + "): refusing new connections");
        at_limit = true;
      }
      RefuseAtCapacity(socket);
      continue;
    }
    at_limit = false;
    socket.set_option(tcp::no_delay(true), ec);
    auto session = Session(std::move(socket), ConnectionSlot(connections_));
    asio::co_spawn(loop, std::move(session), [listener = address()](const std::exception_ptr& e) {
      if (e) LogListener(listener, "a connection ended with an error: " + Describe(e));
    });
  }
}

void Server::ShedPendingConnection() {
  if (reserve_fd_ >= 0) {
    ::close(reserve_fd_);
    reserve_fd_ = -1;
  }
  int fd = ::accept4(acceptor_->native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd >= 0) ::close(fd);
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void Server::RefuseAtCapacity(tcp::socket& socket) {
  boost::system::error_code ec;
  if (!options_.tls) {  // a TLS client would not understand plain bytes
    const int fd = socket.native_handle();
    (void)::send(fd, busy_reply_.data(), busy_reply_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    // Unread request bytes would turn the close into a reset that can discard the 503.
    char scratch[4096];
    for (int i = 0; i < 16 && ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; ++i) {
    }
  }
  socket.close(ec);
}

asio::awaitable<void> Server::Session(tcp::socket socket, ConnectionSlot slot) {
  (void)slot;  // released when the session's frame is destroyed
  try {
    boost::system::error_code ec;
    std::string remote;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    beast::tcp_stream stream(std::move(socket));
    if (options_.tls) {
      co_await SessionTls(std::move(stream), remote);
      co_return;
    }
    beast::flat_buffer buffer;
    co_await Serve(stream, buffer, remote);
    // Lingering close: a client still uploading an oversized body would otherwise get a reset
    // instead of our answer. Drain what it sends for a bounded time, then close.
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 16384> scratch;
    stream.expires_after(kLingerTimeout);
    for (size_t drained = 0; !ec && drained < (64u << 20);) {
      drained += co_await stream.async_read_some(asio::buffer(scratch), asio::redirect_error(asio::use_awaitable, ec));
    }
  } catch (const std::exception& e) {
    LogListener(address(), std::string("a connection ended with an error: ") + e.what());
  }
}

asio::awaitable<void> Server::SessionTls(beast::tcp_stream stream, const std::string& remote) {
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  beast::flat_buffer buffer;
  stream.expires_after(kHandshakeTimeout);
  size_t n = co_await stream.async_read_some(buffer.prepare(kReadSize), token);
  if (ec) co_return;
  buffer.commit(n);
  if (static_cast<const unsigned char*>(buffer.data().data())[0] != 0x16) {  // not a TLS handshake record
    Request probe;
    probe.version(11);
    Response res = ErrorReply(hooks_, probe, 400, "This port serves HTTPS; the request came as plain HTTP.");
    res.keep_alive(false);
    res.prepare_payload();
    co_await bh::async_write(stream, res, token);
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    co_return;
  }
  std::shared_ptr<ssl::context> context = options_.tls->Current();  // outlives `tls` below
  beast::ssl_stream<beast::tcp_stream> tls(std::move(stream), *context);
  size_t used = co_await tls.async_handshake(ssl::stream_base::server, buffer.data(), token);
  if (ec) co_return;
  buffer.consume(used);
  co_await Serve(tls, buffer, remote);
  beast::get_lowest_layer(tls).expires_after(kLingerTimeout);
  co_await tls.async_shutdown(token);
}

template <class Stream>
asio::awaitable<void> Server::Serve(Stream& stream, beast::flat_buffer& buffer, const std::string& remote) {
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  for (;;) {
    RequestReader reader(options_.max_header_bytes, options_.max_body_bytes);
    bool sent_continue = false;
    bool header_checked = false;
    std::any early;
    std::optional<Response> refused;  // by the header hook or the body bound
    BodyCharge charge(buffered_body_, options_.max_buffered_body_bytes);
    tcp_layer.expires_after(options_.idle_timeout);
    for (;;) {
      buffer.consume(reader.Put(buffer.data()));
      if (reader.failed()) break;
      if (!header_checked && reader.state() != RequestReader::State::kHeader) {
        header_checked = true;
        if (hooks_.header) refused = co_await hooks_.header(reader.request(), &early);
        if (refused) break;
      }
      if (header_checked && !charge.Cover(reader.request())) {
        refused = ErrorReply(hooks_, reader.request(), 503,
                             "The server is buffering too many request bodies; try again later.");
        refused->set(bh::field::retry_after, "1");
        break;
      }
      if (reader.done()) break;
      if (!sent_continue && reader.WantsContinue()) {
        sent_continue = true;
        co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()), token);
        if (ec) co_return;
      }
      size_t n = co_await stream.async_read_some(buffer.prepare(beast::read_size(buffer, kReadSize)), token);
      // Closed, reset or idle past the timeout: there is nobody to answer.
      if (ec) co_return;
      buffer.commit(n);
    }
    Response res;
    bool keep_alive = false;
    if (reader.failed()) {
      // Malformed or oversized: answer once, then close (the stream is out of sync).
      res = ErrorReply(hooks_, reader.request(), reader.error_status(), reader.error_message());
    } else if (refused) {
      res = std::move(*refused);  // the body is unread: close after answering
    } else {
      const Request& req = reader.request();
      keep_alive = req.keep_alive();
      StreamBody body;
      StreamBody* body_out = &body;
      res = co_await Dispatch(req, remote, std::move(early), body_out);
      if (body && res.result() == bh::status::ok) {
        co_await ServeStream(stream, res, std::move(body), address());
        co_return;  // a streamed response ends the connection
      }
    }
    res.keep_alive(keep_alive);
    res.prepare_payload();
    tcp_layer.expires_after(options_.idle_timeout);
    if (!res.chunked()) {
      std::string wire = WireBytes(res);
      co_await asio::async_write(stream, asio::buffer(wire), token);
    } else {
      co_await bh::async_write(stream, res, token);
    }
    if (ec || !keep_alive) co_return;
  }
}

asio::awaitable<Response> Server::Dispatch(const Request& req, const std::string& remote, std::any early,
                                           StreamBody* stream) {
  auto start = std::chrono::steady_clock::now();
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  RequestContext ctx{req, target.substr(0, q), {}, {}, remote};
  ctx.early = std::move(early);
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
        if (auto* body = std::any_cast<StreamBody>(&ctx.early); body && stream) *stream = std::move(*body);
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
