// The Redis REST listener as one unit: its token (given, read from a file, or generated
// once and kept in the data dir), its backend (the embedded engine with its log in
// <data-dir>/redis/, or the proxy to --redis-url), its routes and its http::Server on the
// shared event loops.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/redis/metrics.h"
#include "common/clock.h"
#include "http/event_loops.h"
#include "http/tls.h"
#include "stratus/status.h"

namespace stratus::api::redis {

struct RedisServiceOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8079;
  std::string data_dir;
  std::string token;
  std::string readonly_token;
  std::string token_file;
  std::string fsync = "everysec";
  std::string url;  // empty: embedded
  size_t max_request_bytes = 10 * 1024 * 1024;
  int pool_size = 16;
  size_t max_connections = 10000;
  std::shared_ptr<http::TlsCredentials> tls;  // null: plain HTTP
  std::vector<std::string> allowed_hosts;     // --allowed-hosts (api/access.h: MakeHostPolicy)
  // Lua scripts (embedded engine): the busy threshold, a hard limit (0: none), the heap cap.
  int script_timeout_ms = 5000;
  int script_max_time_ms = 0;
  size_t script_memory_bytes = 64 * 1024 * 1024;
  // /subscribe and /psubscribe streams: the keep-alive interval, how far behind a subscriber may fall.
  int sse_keepalive_ms = 15000;
  size_t sse_buffer_bytes = 1024 * 1024;
  std::shared_ptr<RedisMetrics> metrics;  // counts every command run; null: none
};

class RedisService {
 public:
  RedisService(const Clock& clock, http::EventLoops& loops);
  ~RedisService();

  // Loads or generates the token, opens the backend, binds the listener.
  Status Start(const RedisServiceOptions& options);
  void Stop();

  std::string url() const;
  const std::string& token() const;
  // Where a generated token is kept ("" when the token came from a flag or file).
  const std::string& generated_token_path() const;
  // True when this start generated the token (the first start on a data dir).
  bool token_generated() const;
  std::string backend_description() const;
  // The backend's readiness (kv::Backend::Health), for /readyz.
  Status Health() const;

 private:
  struct State;
  const Clock& clock_;
  http::EventLoops& loops_;
  std::unique_ptr<State> state_;
};

}  // namespace stratus::api::redis
