#include "cli/options.h"

#include <charconv>

namespace stratus::cli {

void AddServeOptions(CLI::App& app, ServeOptions& o) {
  // clang-format off
  app.add_option("--listen", o.listen, "HOST:PORT of the Cloud Tasks API (port 0 picks a free one)")->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "Directory for the database and keys (created if missing)")->capture_default_str();
  app.add_option("--store", o.store, "Keep queues and tasks in PostgreSQL: postgres://USER@HOST:PORT/DB, postgresql://..., or libpq's 'host=... dbname=...' (the password from PGPASSWORD or ~/.pgpass, never on the command line). Default: SQLite in --data-dir");
  app.add_option("--lease", o.lease, "With a PostgreSQL store: how long a node's lease on a queue lasts unrenewed (1s to 10m); a dead node's queues move to the others within it (docs/cluster.md)")->capture_default_str();
  app.add_option("--api-token", o.api_token, "Require 'Authorization: Bearer TOKEN' on every API call");
  app.add_option("--api-token-file", o.api_token_file, "Read API tokens from this file: one token alone (admin), or lines 'NAME admin|enqueue|read-only TOKEN [serviceAccounts=a@x,b@y]'");
  app.add_option("--allowed-hosts", o.allowed_hosts, "Comma-separated Host names the APIs answer to besides loopback ones ('.example.com' adds subdomains, '*' any; default on a non-loopback --listen: any)");
  app.add_option("--audit-log", o.audit_log, "Append one JSON line per queue change and dead-letter action to this file (0600); always also on stderr");
  app.add_option("--threads", o.threads, "Event loops (0: one per core)")->capture_default_str()->check(CLI::Range(0, 256));
  app.add_option("--task-dedup-window", o.task_dedup_window, "How long a deleted or finished task's name stays taken")->capture_default_str();
  app.add_option("--queue-reuse-window", o.queue_reuse_window, "How long a deleted queue's name stays taken (Google: 7d)")->capture_default_str();
  app.add_option("--max-queue-rate", o.max_queue_rate, "Highest maxDispatchesPerSecond a queue may set (Google: 500)")->capture_default_str()->check(CLI::Range(1.0, 1e6));
  app.add_option("--locations", o.locations, "Comma-separated locations that locations.list reports")->capture_default_str();
  app.add_option("--max-request-bytes", o.max_request_bytes, "Largest request body accepted")->capture_default_str()->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  app.add_option("--dead-letter-retention", o.dead_letter_retention, "How long dead letters are kept")->capture_default_str();
  app.add_option("--oidc-issuer", o.oidc_issuer, "The iss claim of OIDC tokens (default: this server's base URL)");
  app.add_option("--oidc-key", o.oidc_key, "RSA private key (PEM) that signs OIDC tokens (default: generated in the data dir)");
  app.add_option("--oidc-rotate-after", o.oidc_rotate_after, "Make a new OIDC signing key when the current one is older (checked at start and while running; give every node of a cluster the same)")->capture_default_str();
  app.add_option("--ca-file", o.ca_file, "Extra CA certificates (PEM) trusted for HTTPS targets");
  app.add_option("--app-engine-url", o.app_engine_url, "Base URL that App Engine tasks are delivered to");
  app.add_option("--oauth-token-file", o.oauth_token_file, "File whose first line is the bearer token sent for oauthToken tasks");
  app.add_flag("--no-task-log", o.no_task_log, "Do not write JSON task-event lines to stderr");
  app.add_option("--allow-targets", o.allow_targets, "Comma-separated CIDRs and host names tasks may be delivered to, even inside a denied range (the more specific entry wins)");
  app.add_option("--deny-targets", o.deny_targets, "Comma-separated CIDRs and host names tasks may not be delivered to (link-local and cloud metadata are always denied)");
  app.add_flag("--deny-private-targets", o.deny_private_targets, "Also deny private, shared and loopback addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, 127/8, ::1)");
  app.add_option("--redis-listen", o.redis_listen, "HOST:PORT of the Upstash Redis REST API (default 127.0.0.1:8079; port 0 when --listen has port 0; 'off' disables it)");
  app.add_option("--grpc-listen", o.grpc_listen, "HOST:PORT of the Cloud Tasks v2 gRPC API (default 127.0.0.1:8124; port 0 when --listen has port 0; 'off' disables it)");
  app.add_option("--redis-token", o.redis_token, "Bearer token for the Redis REST API (default: generated once, kept in the data dir)");
  app.add_option("--redis-readonly-token", o.redis_readonly_token, "A second token that may run read commands only");
  app.add_option("--redis-token-file", o.redis_token_file, "Read the Redis REST token from this file");
  app.add_option("--redis-fsync", o.redis_fsync, "When the embedded Redis log is fsynced: everysec or always (answer after fsync)")->capture_default_str()->check(CLI::IsMember({"everysec", "always"}));
  app.add_option("--redis-url", o.redis_url, "Proxy to a real Redis/Valkey: redis://[user:pass@]host:port[/db] (default: the embedded engine)");
  app.add_flag("--redis-per-node", o.redis_per_node, "With --store postgres://...: run the embedded Redis engine anyway, its keys separate on each node (default: refused; use --redis-url for keys every node shares)");
  app.add_option("--redis-max-request-bytes", o.redis_max_request_bytes, "Largest Redis REST request body accepted")->capture_default_str()->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  app.add_option("--redis-pool-size", o.redis_pool_size, "Idle connections kept per event loop to the --redis-url server")->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--tls-cert", o.tls_cert, "Certificate chain (PEM) to serve both APIs over HTTPS; needs --tls-key; reloaded on SIGHUP");
  app.add_option("--tls-key", o.tls_key, "Private key (PEM) for --tls-cert; reloaded on SIGHUP");
  app.add_option("--max-connections", o.max_connections, "Open connections per listener; more are answered 503 and closed")->capture_default_str()->check(CLI::Range(size_t{1}, size_t{1} << 24));
  app.add_option("--redis-script-timeout", o.redis_script_timeout_ms, "Milliseconds a Lua script runs before other commands get BUSY and SCRIPT KILL may stop it (Redis's lua-time-limit)")->capture_default_str()->check(CLI::Range(1, 3600000));
  app.add_option("--redis-script-max-time", o.redis_script_max_time_ms, "Milliseconds after which any Lua script is stopped, even one that wrote (0: never, as in Redis)")->capture_default_str()->check(CLI::Range(0, 86400000));
  app.add_option("--redis-script-memory", o.redis_script_memory_bytes, "Bytes the Lua interpreter may hold; a script needing more fails with 'not enough memory'")->capture_default_str()->check(CLI::Range(size_t{1} << 20, size_t{1} << 32));
  app.add_option("--ui", o.ui, "The web dashboard at /ui/: on, off (404) or read-only (shows everything, offers no change)")->capture_default_str()->check(CLI::IsMember({"on", "off", "read-only"}));
  app.add_option("--redis-sse-keepalive", o.redis_sse_keepalive_ms, "ms between keep-alive comments on /subscribe and /psubscribe streams")->capture_default_str()->check(CLI::Range(10, 3600000));
  app.add_option("--redis-sse-buffer", o.redis_sse_buffer_bytes, "Bytes of messages a /subscribe stream may fall behind before it is disconnected")->capture_default_str()->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  // clang-format on
}

Status SplitHostPort(const std::string& text, std::string* host, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("--listen wants HOST:PORT, got '" + text + "'");
  std::string h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  std::string p = text.substr(colon + 1);
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || end != p.data() + p.size() || v > 65535) {
    return InvalidArgument("invalid port in '" + text + "'");
  }
  *host = h;
  *port = static_cast<uint16_t>(v);
  return Status::Ok();
}

}  // namespace stratus::cli
