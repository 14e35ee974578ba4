// The Cloud Tasks v2 gRPC API (docs/grpc.md): google.cloud.tasks.v2.CloudTasks and the
// google.cloud.location.Locations mixin over the same TasksService as the REST API, plus
// grpc.health.v1.Health and server reflection.
//
// Threads: gRPC's own threads receive calls and hand each to an event loop; the service runs
// there as it does for REST, and the reply goes back through the call's reactor (bridge.h).
// No grpc++ type appears here, so the CLI builds against this header alone.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "api/access.h"
#include "http/event_loops.h"
#include "tasks/service.h"

namespace stratus::api {
class AuditLog;
class RequestMetrics;
}  // namespace stratus::api

namespace stratus::grpcapi {

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8124;  // 0: any free port (port() tells which)
  // TLS when both are set (PEM files, read at Start and again by ReloadTls); plaintext (h2c)
  // otherwise.
  std::string tls_cert;
  std::string tls_key;
  std::vector<api::ApiToken> tokens;     // empty: the API is open, as on REST
  std::shared_ptr<api::AuditLog> audit;  // null: no audit lines
  // Where calls are counted (stratus_api_requests_total{transport="grpc"}); null: not counted.
  // Its AddRoutes must have run before Start.
  std::shared_ptr<api::RequestMetrics> metrics;
  size_t max_message_bytes = 8 * 1024 * 1024;  // largest request message accepted
  // How long Stop waits for calls in flight before cancelling them.
  std::chrono::milliseconds drain = std::chrono::seconds(10);
};

class GrpcServer {
 public:
  // `service` and `loops` must outlive Stop().
  GrpcServer(TasksService& service, http::EventLoops& loops, GrpcServerOptions options);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Binds and starts serving. Calls that arrive before the loops run wait for them.
  Status Start();
  // Graceful: health turns NOT_SERVING, new calls are refused, calls in flight finish (up to
  // `drain`, then they are cancelled) while the loops still run. Idempotent.
  void Stop();
  // Reads the certificate and key again (SIGHUP): connections accepted afterwards get the new
  // pair; on failure the current one stays and the error says why.
  Status ReloadTls();

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:8124" (https:// with TLS): the form the ready lines use.
  std::string url() const;
  // "127.0.0.1:8124": what a gRPC client dials.
  std::string target() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  bool tls_ = false;
  std::string host_;
};

}  // namespace stratus::grpcapi
