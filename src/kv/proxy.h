// The proxy backend: Upstash requests run on a real Redis or Valkey (`--redis-url`).
// Connections are pooled per event loop and checked out for one request at a time, so two
// concurrent requests never share one (the bug of SRH #25). A /pipeline is written as one
// RESP pipeline; a /multi-exec is MULTI, the commands and EXEC on one connection. A dead
// server answers Unavailable (503); the next request dials again, so recovery is automatic.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/backend.h"

namespace stratus::kv {

struct RedisUrl {
  std::string host;
  uint16_t port = 6379;
  std::string user;
  std::string password;
  int db = 0;
};
// redis://[user:pass@]host:port[/db]; rediss:// (TLS) is refused with a clear error.
StatusOr<RedisUrl> ParseRedisUrl(const std::string& url);
// The URL with its password replaced by "***", for logs and banners.
std::string RedactUrl(const std::string& url);

// A script body as a real Redis accepts it: Upstash's `allow-key-locking` shebang flag (which
// Redis 7 refuses as an unexpected flag) is dropped, the other flags are kept. nullopt when the
// body needs no change.
std::optional<std::string> TranslateScriptForRedis(std::string_view body);

class ProxyBackend final : public Backend {
 public:
  static StatusOr<std::unique_ptr<ProxyBackend>> Create(const std::string& url, size_t loops, size_t pool_size);
  ~ProxyBackend() override;
  asio::awaitable<StatusOr<BatchResult>> Run(std::vector<Argv> commands, BatchMode mode, bool readonly) override;

 private:
  struct Conn;
  ProxyBackend(RedisUrl url, size_t pool_size);
  asio::awaitable<StatusOr<std::unique_ptr<Conn>>> Acquire();
  void Release(std::unique_ptr<Conn> conn);
  std::optional<Reply> Refuse(const Argv& argv, bool readonly) const;
  // Script translation (TranslateScriptForRedis): rewrites EVAL/SCRIPT LOAD bodies and the
  // shas of EVALSHA/SCRIPT EXISTS in `argv`, remembering which sha the client computed for
  // which sha the server knows. For a translated SCRIPT LOAD, the client's sha (its reply).
  std::optional<std::string> TranslateScripts(Argv& argv);

  RedisUrl url_;
  size_t pool_size_;
  CommandTable table_;  // to classify commands for the read-only token
  std::mutex mu_;
  std::map<const void*, std::vector<std::unique_ptr<Conn>>> idle_;  // by io_context
  std::map<std::string, std::string> translated_sha_;               // client's sha -> server's (under mu_)
};

}  // namespace stratus::kv
