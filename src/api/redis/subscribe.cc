#include "api/redis/subscribe.h"

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>

#include "api/redis/encoding.h"
#include "http/stream.h"
#include "kv/proxy.h"
#include "kv/resp.h"
#include "kv/util.h"

namespace stratus::api::redis {
namespace {

namespace bh = beast::http;
using asio::ip::tcp;

http::Response JsonError(const http::Request& req, int status, std::string_view message) {
  std::string body = "{\"error\":";
  AppendJsonString(message, &body);
  body += '}';
  return http::MakeResponse(req, static_cast<bh::status>(status), std::move(body), "application/json");
}

// Appends `text` as SSE data: a line break continues on a new "data: " line.
void AppendData(std::string_view text, std::string* out) {
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      *out += "\ndata: ";
    } else {
      *out += c;
    }
  }
}

std::string SseConfirm(std::string_view kind, std::string_view name, int64_t count) {
  std::string out = "data: ";
  out += kind;
  out += ',';
  AppendData(name, &out);
  out += ',';
  out += std::to_string(count);
  out += "\n\n";
  return out;
}

// Messages waiting for one stream. Filled from any thread (the hub's Deliver, under the hub's
// lock), drained on the stream's loop; a push wakes the loop through a posted timer cancel.
class Mailbox final : public kv::PubSubSink, public std::enable_shared_from_this<Mailbox> {
 public:
  Mailbox(const asio::any_io_executor& ex, size_t max_bytes) : ex_(ex), timer_(ex), max_bytes_(max_bytes) {}

  void Deliver(const kv::PubSubMessage& m) override { Push(m); }
  void Push(kv::PubSubMessage m) {
    std::lock_guard lock(mu_);
    if (overflow_ || failed_) return;
    bytes_ += m.channel.size() + m.pattern.size() + m.payload.size() + 32;
    if (bytes_ > max_bytes_) {
      overflow_ = true;
      queue_.clear();
    } else {
      queue_.push_back(std::move(m));
    }
    WakeLocked();
  }
  void Fail(std::string why) {
    std::lock_guard lock(mu_);
    if (!failed_) failed_ = std::move(why);
    WakeLocked();
  }

  struct Batch {
    std::deque<kv::PubSubMessage> messages;
    bool overflow = false;
    std::optional<std::string> failed;
  };
  Batch Take() {
    std::lock_guard lock(mu_);
    Batch b;
    b.messages.swap(queue_);
    bytes_ = 0;
    b.overflow = overflow_;
    b.failed = failed_;
    return b;
  }
  // Loop side only.
  asio::steady_timer& timer() { return timer_; }
  // Called on the loop once the queue overflowed (the stream may be stuck in a write).
  void OnOverflow(std::function<void()> f) { on_overflow_ = std::move(f); }

 private:
  void WakeLocked() {
    if (wake_posted_) return;
    wake_posted_ = true;
    asio::post(ex_, [self = shared_from_this()] {
      bool overflow;
      {
        std::lock_guard lock(self->mu_);
        self->wake_posted_ = false;
        overflow = self->overflow_;
      }
      self->timer_.cancel();
      if (overflow && self->on_overflow_) self->on_overflow_();
    });
  }

  asio::any_io_executor ex_;
  asio::steady_timer timer_;
  const size_t max_bytes_;
  std::mutex mu_;
  std::deque<kv::PubSubMessage> queue_;
  size_t bytes_ = 0;
  bool overflow_ = false;
  std::optional<std::string> failed_;
  bool wake_posted_ = false;
  std::function<void()> on_overflow_;  // loop side
};

// A stream's registration with the embedded hub, removed when the stream ends.
struct HubSubscription {
  std::shared_ptr<kv::PubSubHub> hub;
  uint64_t id = 0;
  HubSubscription() = default;
  HubSubscription(const HubSubscription&) = delete;
  HubSubscription& operator=(const HubSubscription&) = delete;
  ~HubSubscription() {
    if (hub) hub->Unsubscribe(id);
  }
};

// A dedicated subscriber connection to the proxy's backend.
struct RedisFeed {
  explicit RedisFeed(const asio::any_io_executor& ex) : socket(ex) {}
  tcp::socket socket;
  std::string in;
};

struct Stream {
  bool patterns = false;
  std::vector<std::string> names;
  std::vector<int64_t> counts;  // the subscription count after each name (Redis's confirmation)
  std::shared_ptr<Mailbox> mailbox;
  std::unique_ptr<HubSubscription> hub;
  std::shared_ptr<RedisFeed> feed;
  std::chrono::milliseconds keepalive;
};

// Reads one RESP reply from the feed.
asio::awaitable<StatusOr<kv::Reply>> ReadReply(RedisFeed& feed) {
  std::array<char, 16384> chunk;
  boost::system::error_code ec;
  for (;;) {
    kv::Reply r;
    size_t used = 0;
    auto res = kv::RespParser::ParseReply(feed.in, &r, &used);
    if (res == kv::RespParser::Result::kOk) {
      feed.in.erase(0, used);
      co_return r;
    }
    if (res == kv::RespParser::Result::kError) co_return Unavailable("malformed reply from the Redis server");
    size_t got =
        co_await feed.socket.async_read_some(asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Unavailable(ec.message());
    feed.in.append(chunk.data(), got);
  }
}

asio::awaitable<Status> WriteFeed(RedisFeed& feed, std::string bytes) {
  boost::system::error_code ec;
  co_await asio::async_write(feed.socket, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Unavailable(ec.message());
  co_return Status::Ok();
}

// Connects, authenticates and subscribes; fills stream.counts from the confirmations.
asio::awaitable<Status> OpenFeed(const kv::RedisUrl& url, Stream& stream) {
  auto ex = co_await asio::this_coro::executor;
  auto feed = std::make_shared<RedisFeed>(ex);
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  tcp::resolver resolver(ex);
  std::string port = std::to_string(url.port);
  auto endpoints = co_await resolver.async_resolve(url.host, port, token);
  if (ec) co_return Unavailable("cannot resolve " + url.host + ": " + ec.message());
  co_await asio::async_connect(feed->socket, endpoints, token);
  if (ec) co_return Unavailable(ec.message());
  feed->socket.set_option(tcp::no_delay(true), ec);
  std::string out;
  bool auth = !url.password.empty();
  if (auth) {
    kv::AppendRespCommand(url.user.empty() ? kv::Argv{"AUTH", url.password} : kv::Argv{"AUTH", url.user, url.password},
                          &out);
  }
  kv::Argv sub{stream.patterns ? "PSUBSCRIBE" : "SUBSCRIBE"};
  sub.insert(sub.end(), stream.names.begin(), stream.names.end());
  kv::AppendRespCommand(sub, &out);
  Status written = co_await WriteFeed(*feed, std::move(out));
  STRATUS_RETURN_IF_ERROR_CO(written);
  if (auth) {
    StatusOr<kv::Reply> r = co_await ReadReply(*feed);
    STRATUS_RETURN_IF_ERROR_CO(r.status());
    if (r->is_error()) co_return Unavailable("the Redis server refused the connection setup: " + r->str);
  }
  for (size_t i = 0; i < stream.names.size(); ++i) {
    StatusOr<kv::Reply> r = co_await ReadReply(*feed);
    STRATUS_RETURN_IF_ERROR_CO(r.status());
    if (r->is_error()) co_return Unavailable("the Redis server refused the subscription: " + r->str);
    if (r->type != kv::Reply::Type::kArray || r->elems.size() != 3 || r->elems[2].type != kv::Reply::Type::kInteger) {
      co_return Unavailable("unexpected reply from the Redis server to " + sub[0]);
    }
    stream.counts.push_back(r->elems[2].integer);
  }
  stream.feed = std::move(feed);
  co_return Status::Ok();
}

// Moves the backend's messages into the mailbox until the connection ends.
asio::awaitable<void> PumpFeed(std::shared_ptr<RedisFeed> feed, std::shared_ptr<Mailbox> mailbox) {
  for (;;) {
    StatusOr<kv::Reply> r = co_await ReadReply(*feed);
    if (!r.ok()) {
      mailbox->Fail(r.status().message());
      co_return;
    }
    if (r->type != kv::Reply::Type::kArray || r->elems.empty()) continue;
    const auto& e = r->elems;
    if (e[0].str == "message" && e.size() == 3) {
      mailbox->Push({"", e[1].str, e[2].str});
    } else if (e[0].str == "pmessage" && e.size() == 4) {
      mailbox->Push({e[1].str, e[2].str, e[3].str});
    }
  }
}

asio::awaitable<void> RunStream(std::shared_ptr<Stream> stream, http::StreamWriter& writer) {
  auto ex = co_await asio::this_coro::executor;
  if (stream->feed) asio::co_spawn(ex, PumpFeed(stream->feed, stream->mailbox), asio::detached);
  std::shared_ptr<Mailbox> mailbox = stream->mailbox;
  writer.OnClose([mailbox] { mailbox->timer().cancel(); });
  mailbox->OnOverflow([&writer] { writer.Abort(); });
  std::string head;
  for (size_t i = 0; i < stream->names.size(); ++i) {
    head += SseConfirm(stream->patterns ? "psubscribe" : "subscribe", stream->names[i], stream->counts[i]);
  }
  bool open = co_await writer.Write(std::move(head));
  auto next_keepalive = std::chrono::steady_clock::now() + stream->keepalive;
  while (open && !writer.closed()) {
    Mailbox::Batch batch = mailbox->Take();
    if (batch.overflow || batch.failed) break;  // a subscriber too slow, or the backend gone: end the stream
    if (!batch.messages.empty()) {
      std::string out;
      for (const auto& m : batch.messages) out += SseMessage(m);
      open = co_await writer.Write(std::move(out));
      continue;
    }
    if (std::chrono::steady_clock::now() >= next_keepalive) {
      std::string comment = ": keepalive\n\n";
      open = co_await writer.Write(std::move(comment));
      next_keepalive = std::chrono::steady_clock::now() + stream->keepalive;
      continue;
    }
    boost::system::error_code ec;
    mailbox->timer().expires_at(next_keepalive);
    co_await mailbox->timer().async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  mailbox->OnOverflow(nullptr);  // `writer` ends with this call
  writer.OnClose(nullptr);
  if (stream->feed) {
    boost::system::error_code ec;
    stream->feed->socket.close(ec);  // ends PumpFeed
  }
  stream->hub.reset();  // unsubscribes now, not when the last reference goes
}

asio::awaitable<http::Response> HandleSubscribe(const SubscribeOptions& options, std::optional<kv::RedisUrl> url,
                                                bool patterns, http::RequestContext& ctx) {
  auto stream = std::make_shared<Stream>();
  stream->patterns = patterns;
  stream->keepalive = options.keepalive;
  std::string_view rest = ctx.Param("names");
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string name = http::PercentDecode(rest.substr(0, slash));
    if (!name.empty()) stream->names.push_back(std::move(name));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::string command = patterns ? "psubscribe" : "subscribe";
  if (stream->names.empty()) {
    co_return JsonError(ctx.request, 400, "ERR wrong number of arguments for '" + command + "' command");
  }
  auto ex = co_await asio::this_coro::executor;
  stream->mailbox = std::make_shared<Mailbox>(ex, options.max_buffered_bytes);
  if (options.hub) {
    auto sub = std::make_unique<HubSubscription>();
    sub->hub = options.hub;
    std::vector<std::string> none;
    sub->id = options.hub->Subscribe(stream->mailbox, patterns ? none : stream->names, patterns ? stream->names : none);
    stream->hub = std::move(sub);
    // Redis counts a name given twice once.
    std::vector<std::string> seen;
    for (const auto& n : stream->names) {
      if (std::find(seen.begin(), seen.end(), n) == seen.end()) seen.push_back(n);
      stream->counts.push_back(static_cast<int64_t>(seen.size()));
    }
  } else {
    Status opened = co_await OpenFeed(*url, *stream);
    if (!opened.ok()) {
      co_return JsonError(ctx.request, 503,
                          "ERR the Redis server at " + url->host + ":" + std::to_string(url->port) +
                              " is unavailable: " + opened.message());
    }
  }
  http::Response res = http::MakeResponse(ctx.request, bh::status::ok, "", "text/event-stream");
  res.set(bh::field::cache_control, "no-cache");
  res.set("X-Accel-Buffering", "no");
  ctx.early = http::StreamBody([stream](http::StreamWriter& w) { return RunStream(stream, w); });
  co_return res;
}

}  // namespace

std::string SseMessage(const kv::PubSubMessage& m) {
  std::string out = m.pattern.empty() ? "data: message," : "data: pmessage,";
  if (!m.pattern.empty()) {
    AppendData(m.pattern, &out);
    out += ',';
  }
  AppendData(m.channel, &out);
  out += ',';
  AppendData(m.payload, &out);
  out += "\n\n";
  return out;
}

Status RegisterSubscribeRoutes(http::Router& router, SubscribeOptions options) {
  std::optional<kv::RedisUrl> url;
  if (!options.hub) {
    STRATUS_ASSIGN_OR_RETURN(auto parsed, kv::ParseRedisUrl(options.redis_url));
    url = parsed;
  }
  auto shared = std::make_shared<SubscribeOptions>(std::move(options));
  using http::Scope;
  using V = http::Verb;
  for (bool patterns : {false, true}) {
    auto handler = [shared, url, patterns](http::RequestContext& ctx) {
      return HandleSubscribe(*shared, url, patterns, ctx);
    };
    std::string path = patterns ? "/psubscribe/{names=**}" : "/subscribe/{names=**}";
    std::string name = patterns ? "redis.psubscribe" : "redis.subscribe";
    for (V verb : {V::get, V::post, V::put}) {
      STRATUS_RETURN_IF_ERROR(router.Add({verb, path, Scope::kApi, name, handler}));
    }
  }
  return Status::Ok();
}

}  // namespace stratus::api::redis
