#include "api/redis/service.h"

#include <filesystem>
#include <fstream>

#include "api/access.h"
#include "api/redis/subscribe.h"
#include "api/redis/upstash.h"
#include "common/files.h"
#include "common/ids.h"
#include "http/server.h"
#include "kv/backend.h"
#include "kv/engine.h"
#include "kv/proxy.h"

namespace stratus::api::redis {
namespace {

StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!in) return InvalidArgument("cannot read the token file " + path);
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return InvalidArgument("the token file " + path + " is empty");
  return token;
}

}  // namespace

struct RedisService::State {
  RedisServiceOptions options;
  std::string token;
  std::string generated_path;
  bool token_generated = false;
  std::unique_ptr<kv::Engine> engine;
  std::unique_ptr<kv::Backend> backend;
  std::unique_ptr<kv::Backend> metered;  // over `backend`, when counting commands
  http::Router router;
  std::unique_ptr<http::Server> server;
};

RedisService::RedisService(const Clock& clock, http::EventLoops& loops) : clock_(clock), loops_(loops) {}
RedisService::~RedisService() {
  Stop();
}

Status RedisService::Start(const RedisServiceOptions& options) {
  auto st = std::make_unique<State>();
  st->options = options;
  std::filesystem::path dir = std::filesystem::path(options.data_dir) / "redis";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create " + dir.string() + ": " + ec.message());

  if (!options.token.empty()) {
    st->token = options.token;
  } else if (!options.token_file.empty()) {
    STRATUS_ASSIGN_OR_RETURN(auto t, ReadTokenFile(options.token_file));
    st->token = t;
  } else {
    std::string path = (dir / "token").string();
    if (std::filesystem::exists(path)) {
      auto t = ReadTokenFile(path);
      if (!t.ok()) {
        return Status(t.status().code(),
                      t.status().message() + " (remove it to generate a new token, or give one with --redis-token)");
      }
      st->token = *t;
    } else {
      st->token = RandomHex(24);
      Status w = WriteFileAtomic(path, st->token + "\n");
      if (!w.ok()) return Unavailable("cannot keep the Redis token: " + w.message());
      st->token_generated = true;
    }
    st->generated_path = path;
  }

  if (options.url.empty()) {
    STRATUS_ASSIGN_OR_RETURN(auto fsync, kv::ParseFsyncPolicy(options.fsync));
    st->engine = std::make_unique<kv::Engine>(clock_);
    kv::EngineOptions eo;
    eo.log_path = (dir / "appendonly.log").string();
    eo.fsync = fsync;
    eo.script_busy_after = std::chrono::milliseconds(options.script_timeout_ms);
    eo.script.max_time = std::chrono::milliseconds(options.script_max_time_ms);
    eo.script.memory_bytes = options.script_memory_bytes;
    Status opened = st->engine->Open(eo);
    if (opened.code() == Code::kDataLoss) {
      return Status(Code::kDataLoss,
                    opened.message() + ". Nothing was changed. To start, drop everything from that byte on (" +
                        "a backup copy is kept) with: stratus redis-check-log --fix " + options.data_dir);
    }
    STRATUS_RETURN_IF_ERROR(opened);
    st->backend = std::make_unique<kv::EmbeddedBackend>(*st->engine);
  } else {
    STRATUS_ASSIGN_OR_RETURN(
        auto proxy, kv::ProxyBackend::Create(options.url, loops_.size(), static_cast<size_t>(options.pool_size)));
    st->backend = std::move(proxy);
  }

  UpstashTokens tokens{st->token, options.readonly_token};
  if (options.metrics) st->metered = std::make_unique<MeteredBackend>(*st->backend, options.metrics);
  SubscribeOptions sub;
  if (st->engine) sub.hub = st->engine->pubsub();
  sub.redis_url = options.url;
  sub.keepalive = std::chrono::milliseconds(options.sse_keepalive_ms);
  sub.max_buffered_bytes = options.sse_buffer_bytes;
  STRATUS_RETURN_IF_ERROR(RegisterSubscribeRoutes(st->router, std::move(sub)));
  STRATUS_RETURN_IF_ERROR(RegisterUpstashRoutes(st->router, st->metered ? *st->metered : *st->backend, tokens));
  http::ServerOptions so;
  so.host = options.host;
  so.port = options.port;
  so.max_body_bytes = options.max_request_bytes;
  so.max_connections = options.max_connections;
  so.tls = options.tls;
  RequestGuard guard{MakeHostPolicy(options.host, options.allowed_hosts)};
  st->server = std::make_unique<http::Server>(loops_, st->router, GuardedHooks(UpstashHooks(tokens), guard), so);
  STRATUS_RETURN_IF_ERROR(st->server->Start());
  state_ = std::move(st);
  return Status::Ok();
}

void RedisService::Stop() {
  if (!state_) return;
  state_->server->Stop();
  // The engine closes (final fsync) after the loops stop; ServeApp stops the loops first.
}

std::string RedisService::url() const {
  return state_ ? state_->server->url() : "";
}

const std::string& RedisService::token() const {
  static const std::string kEmpty;
  return state_ ? state_->token : kEmpty;
}

bool RedisService::token_generated() const {
  return state_ && state_->token_generated;
}

const std::string& RedisService::generated_token_path() const {
  static const std::string kEmpty;
  return state_ ? state_->generated_path : kEmpty;
}

Status RedisService::Health() const {
  return state_ && state_->backend ? state_->backend->Health() : Status::Ok();
}

std::string RedisService::backend_description() const {
  if (!state_) return "";
  if (!state_->options.url.empty()) return "proxy to " + kv::RedactUrl(state_->options.url);
  return "embedded engine, fsync " + state_->options.fsync;
}

}  // namespace stratus::api::redis
