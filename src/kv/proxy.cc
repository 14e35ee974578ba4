#include "kv/proxy.h"

#include <openssl/sha.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>

#include "kv/pubsub.h"
#include "kv/resp.h"
#include "kv/util.h"

namespace stratus::kv {
namespace {

using asio::ip::tcp;

// Commands that cannot work over stateless REST (connection state, blocking, pub/sub).
bool Unsupported(std::string_view lower) {
  if (lower == "xread" || lower == "xreadgroup") return false;  // the REST layer refuses their BLOCK form only
  static const std::vector<std::string_view> kDenied = {
      "multi",        "exec",     "discard",  "watch",     "unwatch",    "select",     "auth",
      "hello",        "quit",     "reset",    "subscribe", "psubscribe", "ssubscribe", "unsubscribe",
      "punsubscribe", "monitor",  "sync",     "psync",     "blpop",      "brpop",      "blmove",
      "brpoplpush",   "bzpopmin", "bzpopmax", "blmpop",    "bzmpop",     "xread",      "xreadgroup",
      "client",       "shutdown", "debug",    "replicaof", "slaveof",    "wait",       "failover"};
  for (auto d : kDenied) {
    if (lower == d) return true;
  }
  return false;
}

std::string Sha1Hex(std::string_view s) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace

std::optional<std::string> TranslateScriptForRedis(std::string_view body) {
  if (body.substr(0, 5) != "#!lua") return std::nullopt;
  size_t end = body.find('\n');
  if (end == std::string_view::npos) return std::nullopt;  // Redis's own error for it
  std::string_view line = body.substr(0, end);
  // The shebang's words are separated by spaces; only a flags= word changes.
  std::string out;
  bool changed = false;
  for (size_t from = 0; from <= line.size();) {
    size_t sp = line.find(' ', from);
    std::string_view word = line.substr(from, sp == std::string_view::npos ? std::string_view::npos : sp - from);
    if (word.substr(0, 6) == "flags=") {
      std::string kept;
      std::string_view list = word.substr(6);
      for (size_t f = 0; f <= list.size() && !list.empty();) {
        size_t comma = list.find(',', f);
        std::string_view flag = list.substr(f, comma == std::string_view::npos ? std::string_view::npos : comma - f);
        if (flag == "allow-key-locking") {
          changed = true;
        } else {
          if (!kept.empty()) kept += ',';
          kept += flag;
        }
        if (comma == std::string_view::npos) break;
        f = comma + 1;
      }
      if (!kept.empty()) out += (out.empty() ? "" : " ") + ("flags=" + kept);
    } else if (!word.empty()) {
      if (!out.empty()) out += ' ';
      out += word;
    }
    if (sp == std::string_view::npos) break;
    from = sp + 1;
  }
  if (!changed) return std::nullopt;
  out.append(body.substr(end));  // the newline stays, so line numbers in errors stay right
  return out;
}

struct ProxyBackend::Conn {
  explicit Conn(const asio::any_io_executor& ex) : socket(ex), chunk(16384) {}
  tcp::socket socket;
  std::string in;           // bytes read and not yet parsed
  std::vector<char> chunk;  // read buffer, kept with the pooled connection (not in a coroutine frame)
};

StatusOr<RedisUrl> ParseRedisUrl(const std::string& url) {
  RedisUrl out;
  std::string_view s = url;
  if (s.rfind("rediss://", 0) == 0) {
    return InvalidArgument("--redis-url: rediss:// (TLS) is not supported yet; use redis:// or a local TLS tunnel");
  }
  if (s.rfind("redis://", 0) != 0) return InvalidArgument("--redis-url must start with redis://, got '" + url + "'");
  s.remove_prefix(8);
  size_t slash = s.find('/');
  std::string_view authority = s.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : s.substr(slash + 1);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      out.password = std::string(userinfo);
    } else {
      out.user = std::string(userinfo.substr(0, colon));
      out.password = std::string(userinfo.substr(colon + 1));
    }
  }
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return InvalidArgument("--redis-url: bad IPv6 host in '" + url + "'");
    out.host = std::string(host.substr(1, close - 1));
    host.remove_prefix(close + 1);
  } else {
    size_t colon = host.rfind(':');
    out.host = std::string(host.substr(0, colon));
    host = colon == std::string_view::npos ? std::string_view() : host.substr(colon);
  }
  if (!host.empty()) {
    if (host.front() != ':') return InvalidArgument("--redis-url: bad port in '" + url + "'");
    host.remove_prefix(1);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(host.data(), host.data() + host.size(), v);
    if (ec != std::errc() || end != host.data() + host.size() || v == 0 || v > 65535) {
      return InvalidArgument("--redis-url: bad port in '" + url + "'");
    }
    out.port = static_cast<uint16_t>(v);
  }
  if (out.host.empty()) return InvalidArgument("--redis-url: no host in '" + url + "'");
  if (!path.empty()) {
    auto db = ParseInt(path);
    if (!db || *db < 0 || *db > 1 << 20) return InvalidArgument("--redis-url: bad database number in '" + url + "'");
    out.db = static_cast<int>(*db);
  }
  return out;
}

std::string RedactUrl(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  size_t colon = url.find(':', scheme + 3);
  size_t start = colon != std::string::npos && colon < at ? colon + 1 : scheme + 3;
  return url.substr(0, start) + "***" + url.substr(at);
}

ProxyBackend::ProxyBackend(RedisUrl url, size_t pool_size) : url_(std::move(url)), pool_size_(pool_size) {}
ProxyBackend::~ProxyBackend() = default;

StatusOr<std::unique_ptr<ProxyBackend>> ProxyBackend::Create(const std::string& url, size_t, size_t pool_size) {
  STRATUS_ASSIGN_OR_RETURN(auto parsed, ParseRedisUrl(url));
  auto backend = std::unique_ptr<ProxyBackend>(new ProxyBackend(parsed, pool_size));
  STRATUS_RETURN_IF_ERROR(RegisterAllFamilies(backend->table_));
  return backend;
}

std::optional<Reply> ProxyBackend::Refuse(const Argv& argv, bool readonly) const {
  if (argv.empty()) return Reply::Error("ERR empty command");
  std::string lower = ToLower(argv[0]);
  if (Unsupported(lower)) return Reply::Error("ERR the command '" + lower + "' is not supported over the REST API");
  if (readonly) {
    const CommandSpec* spec = table_.Find(lower);
    if (!spec || (spec->flags & (kWrite | kDenyReadOnlyToken))) {
      return Reply::Error("NOPERM this user has no permissions to run the '" + lower + "' command");
    }
  }
  return std::nullopt;
}

namespace {

asio::awaitable<Status> WriteAll(tcp::socket& socket, const std::string& bytes) {
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  auto buffer = asio::buffer(bytes);
  co_await asio::async_write(socket, buffer, token);
  if (ec) co_return Unavailable(ec.message());
  co_return Status::Ok();
}

// Reads `n` replies in order.
asio::awaitable<Status> ReadReplies(tcp::socket& socket, std::string& in, std::vector<char>& chunk, size_t n,
                                    std::vector<Reply>* out) {
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  size_t pos = 0;
  while (out->size() < n) {
    Reply r;
    size_t used = 0;
    auto res = RespParser::ParseReply(std::string_view(in).substr(pos), &r, &used);
    if (res == RespParser::Result::kOk) {
      pos += used;
      out->push_back(std::move(r));
      continue;
    }
    if (res == RespParser::Result::kError) co_return Unavailable("malformed reply from the Redis server");
    auto buffer = asio::buffer(chunk);
    size_t got = co_await socket.async_read_some(buffer, token);
    if (ec) co_return Unavailable(ec.message());
    in.append(chunk.data(), got);
  }
  in.erase(0, pos);
  co_return Status::Ok();
}

}  // namespace

asio::awaitable<StatusOr<std::unique_ptr<ProxyBackend::Conn>>> ProxyBackend::Acquire() {
  auto ex = co_await asio::this_coro::executor;
  const void* key = &asio::query(ex, asio::execution::context);
  {
    std::lock_guard lock(mu_);
    auto& idle = idle_[key];
    while (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      // A pooled connection the server closed meanwhile (a restart, an idle timeout)
      // reads as EOF without blocking: drop it rather than fail the request on it.
      char probe;
      ssize_t n = ::recv(c->socket.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) co_return std::move(c);
    }
  }
  auto conn = std::make_unique<Conn>(ex);
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  tcp::resolver resolver(ex);
  std::string port = std::to_string(url_.port);
  auto endpoints = co_await resolver.async_resolve(url_.host, port, token);
  if (ec) co_return Unavailable("cannot resolve " + url_.host + ": " + ec.message());
  co_await asio::async_connect(conn->socket, endpoints, token);
  if (ec) co_return Unavailable(ec.message());
  conn->socket.set_option(tcp::no_delay(true), ec);
  std::string hello;
  size_t expect = 0;
  if (!url_.password.empty()) {
    Argv auth = url_.user.empty() ? Argv{"AUTH", url_.password} : Argv{"AUTH", url_.user, url_.password};
    AppendRespCommand(auth, &hello);
    ++expect;
  }
  if (url_.db != 0) {
    AppendRespCommand({"SELECT", std::to_string(url_.db)}, &hello);
    ++expect;
  }
  if (expect) {
    Status st = co_await WriteAll(conn->socket, hello);
    STRATUS_RETURN_IF_ERROR_CO(st);
    std::vector<Reply> replies;
    st = co_await ReadReplies(conn->socket, conn->in, conn->chunk, expect, &replies);
    STRATUS_RETURN_IF_ERROR_CO(st);
    for (const auto& r : replies) {
      if (r.is_error()) co_return Unavailable("the Redis server refused the connection setup: " + r.str);
    }
  }
  co_return std::move(conn);
}

void ProxyBackend::Release(std::unique_ptr<Conn> conn) {
  const void* key = &asio::query(conn->socket.get_executor(), asio::execution::context);
  std::lock_guard lock(mu_);
  auto& idle = idle_[key];
  if (idle.size() < pool_size_) idle.push_back(std::move(conn));
}

std::optional<std::string> ProxyBackend::TranslateScripts(Argv& argv) {
  if (argv.size() < 2 || argv[0].size() < 4) return std::nullopt;
  std::string lower = ToLower(argv[0]);
  auto translate_body = [&](std::string& body) -> std::optional<std::string> {
    auto t = TranslateScriptForRedis(body);
    if (!t) return std::nullopt;
    std::string client_sha = Sha1Hex(body);
    std::string server_sha = Sha1Hex(*t);
    body = std::move(*t);
    std::lock_guard lock(mu_);
    if (translated_sha_.size() >= 10000) translated_sha_.clear();  // bounded; a miss is NOSCRIPT, then EVAL again
    translated_sha_[client_sha] = std::move(server_sha);
    return client_sha;
  };
  auto map_sha = [&](std::string& sha) {
    std::lock_guard lock(mu_);
    auto it = translated_sha_.find(ToLower(sha));
    if (it != translated_sha_.end()) sha = it->second;
  };
  if (lower == "eval" || lower == "eval_ro") {
    translate_body(argv[1]);
  } else if (lower == "evalsha" || lower == "evalsha_ro") {
    map_sha(argv[1]);
  } else if (lower == "script" && argv.size() >= 3) {
    std::string sub = ToLower(argv[1]);
    if (sub == "load") return translate_body(argv[2]);
    if (sub == "exists") {
      for (size_t i = 2; i < argv.size(); ++i) map_sha(argv[i]);
    }
  }
  return std::nullopt;
}

asio::awaitable<StatusOr<BatchResult>> ProxyBackend::Run(std::vector<Argv> commands, BatchMode mode, bool readonly) {
  BatchResult out;
  // SCRIPT LOAD of a translated body answers the sha of what the client sent: {index, sha}.
  std::vector<std::pair<size_t, std::string>> loaded_sha;
  bool multi = mode == BatchMode::kMulti;
  std::vector<std::optional<Reply>> refused(commands.size());
  bool any_sent = false;
  for (size_t i = 0; i < commands.size(); ++i) {
    refused[i] = Refuse(commands[i], readonly);
    if (refused[i] && multi) {
      out.abort = Reply::Error("EXECABORT Transaction discarded because of previous errors.");
      co_return out;
    }
    any_sent = any_sent || !refused[i];
    if (!refused[i]) {
      if (auto sha = TranslateScripts(commands[i])) loaded_sha.emplace_back(i, std::move(*sha));
    }
  }
  if (!any_sent) {
    for (auto& r : refused) out.replies.push_back(std::move(*r));
    co_return out;
  }
  std::string request;
  size_t expect = 0;
  if (multi) {
    AppendRespCommand({"MULTI"}, &request);
    ++expect;
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    if (refused[i]) continue;
    AppendRespCommand(commands[i], &request);
    ++expect;
  }
  if (multi) {
    AppendRespCommand({"EXEC"}, &request);
    ++expect;
  }
  auto acquired = co_await Acquire();
  std::string where = url_.host + ":" + std::to_string(url_.port);
  if (!acquired.ok())
    co_return Unavailable("ERR the Redis server at " + where + " is unavailable: " + acquired.status().message());
  std::unique_ptr<Conn> conn = std::move(*acquired);
  Status st = co_await WriteAll(conn->socket, request);
  std::vector<Reply> replies;
  if (st.ok()) st = co_await ReadReplies(conn->socket, conn->in, conn->chunk, expect, &replies);
  if (!st.ok()) co_return Unavailable("ERR the Redis server at " + where + " is unavailable: " + st.message());
  Release(std::move(conn));
  if (multi) {
    Reply& exec = replies.back();
    if (exec.type == Reply::Type::kError) {
      out.abort = std::move(exec);
    } else if (exec.type != Reply::Type::kArray) {
      out.abort = Reply::Error("EXECABORT Transaction discarded");
    } else {
      out.replies = std::move(exec.elems);
      for (auto& [i, sha] : loaded_sha) {
        if (i < out.replies.size() && out.replies[i].type == Reply::Type::kBulk) out.replies[i].str = std::move(sha);
      }
    }
    co_return out;
  }
  size_t next = 0;
  for (size_t i = 0; i < commands.size(); ++i) {
    out.replies.push_back(refused[i] ? std::move(*refused[i]) : std::move(replies[next++]));
  }
  for (auto& [i, sha] : loaded_sha) {
    if (out.replies[i].type == Reply::Type::kBulk) out.replies[i].str = std::move(sha);
  }
  co_return out;
}

}  // namespace stratus::kv
