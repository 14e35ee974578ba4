// `stratus serve`: assembles the store, the service, the routes and the listeners, and
// shuts them down in the order that keeps every acknowledged write.
#pragma once

#include <memory>

#include "cli/options.h"

namespace stratus::cli {

class ServeApp {
 public:
  explicit ServeApp(ServeOptions options);
  ~ServeApp();

  // Opens the data dir and the store, binds the listener; errors are for the operator.
  Status Start();
  // Stops accepting, finishes what the store holds, closes the store.
  void Stop();
  uint16_t port() const;
  std::string base_url() const;
  // The Upstash Redis REST listener ("" when off) and its banner lines.
  std::string redis_url() const;
  std::string grpc_url() const;  // "http://127.0.0.1:8124"; empty with --grpc-listen off
  std::string redis_banner() const;
  // Reads --tls-cert and --tls-key again for new connections; on failure the old ones stay.
  Status ReloadTls();

 private:
  struct State;
  ServeOptions options_;
  std::unique_ptr<State> state_;
};

// The `serve` subcommand: runs until SIGINT or SIGTERM.
int RunServe(const ServeOptions& options);

}  // namespace stratus::cli
