// `stratus serve` options, each declared once in options.cc's table with its default and
// help text; the same table feeds the flags and the --help output.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "stratus/status.h"

namespace stratus::cli {

struct ServeOptions {
  std::string listen = "127.0.0.1:8123";
  std::string data_dir = "./stratus-data";
  std::string store;         // empty: the embedded SQLite store in data_dir; else a PostgreSQL conninfo
  std::string lease = "5s";  // with a PostgreSQL store: the queue lease (a dead node's queues move within it)
  std::string api_token;
  std::string api_token_file;
  int threads = 0;  // 0: one event loop per core
  std::string task_dedup_window = "1h";
  std::string queue_reuse_window = "0s";
  double max_queue_rate = 500;
  std::string locations = "us-central1";
  size_t max_request_bytes = 8 * 1024 * 1024;
  // Push delivery (docs/delivery.md).
  std::string dead_letter_retention = "7d";
  std::string oidc_issuer;  // empty: the server's own base URL
  std::string oidc_key;     // PEM file; empty: a key generated in <data-dir>/oidc
  std::string oidc_rotate_after = "30d";
  std::string ca_file;
  std::string app_engine_url;
  std::string oauth_token_file;
  bool no_task_log = false;
  // Where deliveries may go (src/http/target_policy.h).
  std::string allow_targets;
  std::string deny_targets;
  bool deny_private_targets = false;
  // The Upstash Redis REST API (docs/redis.md).
  std::string redis_listen;  // empty: 127.0.0.1:8079, or port 0 when --listen has port 0
  // The Cloud Tasks v2 gRPC API (docs/grpc.md).
  std::string grpc_listen;  // empty: 127.0.0.1:8124, or port 0 when --listen has port 0; "off"
  std::string redis_token;
  std::string redis_readonly_token;
  std::string redis_token_file;
  std::string redis_fsync = "everysec";
  std::string redis_url;  // empty: the embedded engine
  // --redis-per-node: with --store postgres, the embedded engine anyway, each node its own keys.
  bool redis_per_node = false;
  size_t redis_max_request_bytes = 10 * 1024 * 1024;
  int redis_pool_size = 64;
  // HTTPS on both listeners (PEM files, reloaded on SIGHUP); both or neither.
  std::string tls_cert;
  std::string tls_key;
  size_t max_connections = 10000;  // per listener
  // Access (api/access.h, api/audit.h).
  std::string allowed_hosts;  // comma-separated; empty: loopback names on a loopback --listen, else any
  std::string audit_log;      // empty: audit lines on stderr only
  int redis_script_timeout_ms = 5000;
  int redis_script_max_time_ms = 0;
  size_t redis_script_memory_bytes = 64 * 1024 * 1024;
  std::string ui = "on";                        // the dashboard at /ui/: on, off or read-only (docs/dashboard.md)
  int redis_sse_keepalive_ms = 15000;           // a comment on /subscribe streams this often
  size_t redis_sse_buffer_bytes = 1024 * 1024;  // a subscriber this far behind is disconnected
};

void AddServeOptions(CLI::App& app, ServeOptions& options);

// "127.0.0.1:8123", "[::1]:0", ":8123" (all interfaces)
Status SplitHostPort(const std::string& text, std::string* host, uint16_t* port);

}  // namespace stratus::cli
