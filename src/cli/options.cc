#include "cli/options.h"

#include <charconv>

namespace stratus::cli {

void AddServeOptions(CLI::App& app, ServeOptions& o) {
  // clang-format off
  app.add_option("--listen", o.listen, "HOST:PORT of the Cloud Tasks API (port 0 picks a free one)")->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "Directory for the database and keys (created if missing)")->capture_default_str();
  app.add_option("--api-token", o.api_token, "Require 'Authorization: Bearer TOKEN' on every API call");
  app.add_option("--api-token-file", o.api_token_file, "Read the API token from this file");
  app.add_option("--threads", o.threads, "Event loops (0: one per core)")->capture_default_str()->check(CLI::Range(0, 256));
  app.add_option("--task-dedup-window", o.task_dedup_window, "How long a deleted or finished task's name stays taken")->capture_default_str();
  app.add_option("--queue-reuse-window", o.queue_reuse_window, "How long a deleted queue's name stays taken (Google: 7d)")->capture_default_str();
  app.add_option("--max-queue-rate", o.max_queue_rate, "Highest maxDispatchesPerSecond a queue may set (Google: 500)")->capture_default_str()->check(CLI::Range(1.0, 1e6));
  app.add_option("--locations", o.locations, "Comma-separated locations that locations.list reports")->capture_default_str();
  app.add_option("--max-request-bytes", o.max_request_bytes, "Largest request body accepted")->capture_default_str()->check(CLI::Range(size_t{1024}, size_t{1} << 30));
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
