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
  std::string api_token;
  std::string api_token_file;
  int threads = 0;  // 0: one event loop per core
  std::string task_dedup_window = "1h";
  std::string queue_reuse_window = "0s";
  double max_queue_rate = 500;
  std::string locations = "us-central1";
  size_t max_request_bytes = 8 * 1024 * 1024;
};

void AddServeOptions(CLI::App& app, ServeOptions& options);

// "127.0.0.1:8123", "[::1]:0", ":8123" (all interfaces)
Status SplitHostPort(const std::string& text, std::string* host, uint16_t* port);

}  // namespace stratus::cli
