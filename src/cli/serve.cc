#include "cli/serve.h"

#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/access.h"
#include "api/admin/admin.h"
#include "api/audit.h"
#include "api/cloudtasks/routes.h"
#include "api/redis/service.h"
#include "api/request_metrics.h"
#include "api/scheduler/routes.h"
#include "api/stratus/routes.h"
#include "api/stratus/stats.h"
#include "api/ui/ui.h"
#include "auth/oidc.h"
#include "cli/data_dir_lock.h"
#include "cluster/coordinator.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/log.h"
#include "grpc/server.h"
#include "http/server.h"
#include "http/target_policy.h"
#include "scheduler/executor.h"
#include "scheduler/executor_lease.h"
#include "scheduler/postgres/pg_job_store.h"
#include "scheduler/service.h"
#include "scheduler/sqlite_job_store.h"
#include "store/postgres/pg_leases.h"
#include "store/postgres/pg_listener.h"
#include "store/postgres/pg_oidc_keys.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "tasks/engine/dispatcher.h"
#include "tasks/service.h"

namespace stratus::cli {
namespace {

// --api-token is one admin token; --api-token-file lists one or more (api/access.h).
StatusOr<std::vector<api::ApiToken>> LoadTokens(const ServeOptions& o) {
  if (!o.api_token.empty()) {
    return std::vector<api::ApiToken>{api::ApiToken{"api-token", api::TokenScope::kAdmin, o.api_token, true, {}}};
  }
  if (o.api_token_file.empty()) return std::vector<api::ApiToken>();
  std::ifstream in(o.api_token_file);
  if (!in) return InvalidArgument("cannot read --api-token-file " + o.api_token_file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return InvalidArgument("cannot read --api-token-file " + o.api_token_file);
  return api::ParseApiTokens(text, o.api_token_file);
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

// Declaration order is destruction order in reverse: the loops die last, after the store
// has delivered its final callbacks into them.
struct ServeApp::State {
  std::unique_ptr<DataDirLock> lock;  // first: released last
  SystemClock clock;
  std::unique_ptr<http::EventLoops> loops;
  asio::thread_pool blocking{4};
  std::unique_ptr<Store> store;
  SqliteStore* sqlite = nullptr;  // the store when it is the embedded one (its /metrics families)
  std::unique_ptr<TasksService> service;
  // Cloud Scheduler jobs: <data-dir>/scheduler.db, or the cluster's scheduler_jobs table.
  std::unique_ptr<scheduler::JobStore> job_store;
  scheduler::PgJobStore* pg_jobs = nullptr;  // job_store with a PostgreSQL store
  std::unique_ptr<scheduler::SchedulerService> scheduler;
  http::Router router;
  std::unique_ptr<http::Server> server;
  Metrics metrics;
  std::shared_ptr<api::RequestMetrics> request_metrics;  // shared with the server's observe hook
  std::unique_ptr<auth::OidcSigner> oidc;
  std::unique_ptr<Dispatcher> dispatcher;         // after loops: its connections die before their loops
  std::unique_ptr<scheduler::Executor> executor;  // fires the Cloud Scheduler jobs (after loops, as dispatcher)
  std::unique_ptr<scheduler::ExecutorLease> executor_lease;  // in a cluster, instead of executor
  std::unique_ptr<api::redis::RedisService> redis;           // the Upstash Redis REST listener
  std::shared_ptr<http::TlsCredentials> tls;                 // both listeners', when serving HTTPS
  std::unique_ptr<grpcapi::GrpcServer> grpc;                 // the gRPC API; stopped before the loops
  // With a PostgreSQL store (docs/cluster.md): the queue leases, and other nodes' changes.
  // After the dispatcher, which both call into.
  std::unique_ptr<PgLeaseTable> leases;
  std::unique_ptr<cluster::Coordinator> coordinator;
  std::unique_ptr<PgListener> listener;
};

ServeApp::ServeApp(ServeOptions options) : options_(std::move(options)) {}
ServeApp::~ServeApp() {
  Stop();
}

namespace {

// What stratus keeps in the data dir is owner-only (new files follow the process umask, 077);
// files and directories an older version made are tightened here. The data dir itself may be
// one the operator chose and shares, so it is only reported, never changed.
void TightenDataDir(const std::string& data_dir) {
  namespace fs = std::filesystem;
  const fs::path root(data_dir);
  const auto owner_rw = fs::perms::owner_read | fs::perms::owner_write;
  std::error_code ec;
  for (const char* name : {"stratus.db", "stratus.db-wal", "stratus.db-shm", "scheduler.db", "scheduler.db-wal",
                           "scheduler.db-shm", "LOCK"}) {
    fs::permissions(root / name, owner_rw, ec);
  }
  for (const char* sub : {"oidc", "redis"}) {
    const fs::path dir = root / sub;
    if (!fs::is_directory(fs::symlink_status(dir, ec))) continue;
    fs::permissions(dir, fs::perms::owner_all, ec);
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.is_regular_file(ec) && !entry.is_symlink(ec)) fs::permissions(entry.path(), owner_rw, ec);
    }
  }
  fs::perms p = fs::status(root, ec).permissions();
  if (!ec && (p & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none) {
    std::fprintf(stderr,
                 "stratus: warning: --data-dir %s is readable by other users; stratus keeps it 0700 when it "
                 "creates it (chmod 700 it)\n",
                 data_dir.c_str());
  }
}

}  // namespace

Status ServeApp::Start() {
  auto st = std::make_unique<State>();
  std::string host;
  uint16_t port = 0;
  STRATUS_RETURN_IF_ERROR(SplitHostPort(options_.listen, &host, &port));
  STRATUS_ASSIGN_OR_RETURN(auto tokens, LoadTokens(options_));
  auto dedup = ParseHumanDuration(options_.task_dedup_window);
  if (!dedup.ok()) return InvalidArgument("--task-dedup-window: " + dedup.status().message());
  auto reuse = ParseHumanDuration(options_.queue_reuse_window);
  if (!reuse.ok()) return InvalidArgument("--queue-reuse-window: " + reuse.status().message());

  Status dir = CreatePrivateDir(options_.data_dir);
  if (!dir.ok()) return Unavailable("cannot create --data-dir " + options_.data_dir + ": " + dir.message());
  // Before anything in the data dir is opened: a second server would dispatch the same
  // tasks and overwrite the first one's Redis log.
  STRATUS_ASSIGN_OR_RETURN(st->lock, DataDirLock::Acquire(options_.data_dir));
  // The database holds task payloads and headers: owner only, like the keys (files created
  // by an older version are tightened too; new ones follow the process umask, 077).
  TightenDataDir(options_.data_dir);
  auto retention = ParseHumanDuration(options_.dead_letter_retention);
  if (!retention.ok()) return InvalidArgument("--dead-letter-retention: " + retention.status().message());
  auto rotate = ParseHumanDuration(options_.oidc_rotate_after);
  if (!rotate.ok()) return InvalidArgument("--oidc-rotate-after: " + rotate.status().message());
  if (options_.tls_cert.empty() != options_.tls_key.empty()) {
    return InvalidArgument("--tls-cert and --tls-key go together: give both or neither");
  }
  if (!options_.tls_cert.empty()) {
    STRATUS_ASSIGN_OR_RETURN(auto tls, http::TlsCredentials::Load(options_.tls_cert, options_.tls_key));
    st->tls = std::move(tls);
  }
  SetLogEnabled(!options_.no_task_log);
  const StoreOptions store_options{*dedup, *reuse, *retention};
  if (options_.store.empty()) {
    STRATUS_ASSIGN_OR_RETURN(
        auto store,
        SqliteStore::Open((std::filesystem::path(options_.data_dir) / "stratus.db").string(), store_options));
    st->sqlite = store.get();
    st->store = std::move(store);
  } else {
    // Every node of a cluster answers the Redis REST API; an embedded engine's keys would be
    // this node's alone, so a client would see different data depending on the node it hit.
    if (options_.redis_listen != "off" && options_.redis_url.empty() && !options_.redis_per_node) {
      return FailedPrecondition(
          "--store postgres://... with the embedded Redis engine: its keys would live on this node only, so nodes "
          "of one cluster would answer Redis REST calls from different data; give --redis-url redis://HOST:PORT "
          "(a Redis or Valkey every node shares), --redis-per-node to keep a separate embedded engine on each node, "
          "or --redis-listen off");
    }
    STRATUS_ASSIGN_OR_RETURN(auto lease, ParseHumanDuration(options_.lease));
    if (lease < kMicrosPerSecond || lease > 600 * kMicrosPerSecond) {
      return InvalidArgument("--lease wants a duration from 1s to 10m, got '" + options_.lease + "'");
    }
    STRATUS_ASSIGN_OR_RETURN(auto store, PgStore::Open(options_.store, store_options));
    st->leases = std::make_unique<PgLeaseTable>(options_.store);
    cluster::CoordinatorOptions co;
    co.self.id = RandomHex(8);
    co.lease = lease;
    st->coordinator = std::make_unique<cluster::Coordinator>(*st->leases, st->clock, co);
    PgListener::Callbacks cb;
    cb.is_self = [pg = store.get()](int pid) { return pid == pg->writer_backend_pid(); };
    cb.on_change = [state = st.get()](const cluster::Change& c) {
      state->dispatcher->ApplyRemote(c);
      state->executor_lease->OnChange(c);
    };
    cb.on_resync = [state = st.get()] {
      state->dispatcher->ResyncRemote();
      state->executor_lease->Resync();
    };
    st->listener = std::make_unique<PgListener>(options_.store, std::move(cb));
    st->store = std::move(store);
  }

  // The target policy: refused at create for literal addresses, checked per address at delivery.
  auto target_policy = std::make_shared<http::TargetPolicy>();
  if (options_.deny_private_targets) target_policy->DenyPrivate();
  STRATUS_RETURN_IF_ERROR(target_policy->Deny(options_.deny_targets));
  STRATUS_RETURN_IF_ERROR(target_policy->Allow(options_.allow_targets));
  target_policy->DenyDefaultAddresses(http::ResolveBounded("metadata.google.internal", std::chrono::seconds(1)));

  ServiceOptions service_options;
  service_options.check_target_url = [target_policy](std::string_view url) {
    return http::CheckTargetUrl(*target_policy, url);
  };
  service_options.check_target_host = [target_policy](std::string_view host) {
    return http::CheckTargetHost(*target_policy, host);
  };
  service_options.limits.max_dispatches_per_second = options_.max_queue_rate;
  service_options.locations = SplitCommas(options_.locations);
  st->service = std::make_unique<TasksService>(*st->store, st->clock, st->blocking, service_options);

  STRATUS_RETURN_IF_ERROR(api::RegisterCloudTasksRoutes(st->router, *st->service));
  // Cloud Scheduler v1 on the same listener, its jobs in a database of their own (in a
  // cluster, in the shared one: docs/cluster.md, "Cloud Scheduler jobs").
  if (options_.store.empty()) {
    STRATUS_ASSIGN_OR_RETURN(st->job_store, scheduler::SqliteJobStore::Open(
                                                (std::filesystem::path(options_.data_dir) / "scheduler.db").string()));
  } else {
    STRATUS_ASSIGN_OR_RETURN(auto jobs, scheduler::PgJobStore::Open(options_.store));
    st->pg_jobs = jobs.get();
    st->job_store = std::move(jobs);
  }
  scheduler::SchedulerOptions scheduler_options;
  scheduler_options.checks.check_target_url = service_options.check_target_url;
  st->scheduler =
      std::make_unique<scheduler::SchedulerService>(*st->job_store, st->clock, st->blocking, scheduler_options);
  STRATUS_RETURN_IF_ERROR(api::RegisterSchedulerRoutes(st->router, *st->scheduler));
  // The Redis listener starts later; State outlives the routes, so the check reads it then.
  State* state = st.get();
  STRATUS_RETURN_IF_ERROR(
      api::RegisterAdminRoutes(st->router, *st->store, st->blocking, [state]() -> std::optional<Status> {
        if (!state->redis) return std::nullopt;
        return state->redis->Health();
      }));

  size_t threads =
      options_.threads > 0 ? static_cast<size_t>(options_.threads) : std::max(1u, std::thread::hardware_concurrency());
  st->loops = std::make_unique<http::EventLoops>(threads);
  http::ServerOptions server_options;
  server_options.host = host;
  server_options.port = port;
  server_options.max_body_bytes = options_.max_request_bytes;
  server_options.max_connections = options_.max_connections;
  server_options.tls = st->tls;
  STRATUS_ASSIGN_OR_RETURN(auto audit, api::AuditLog::Open(options_.audit_log));
  grpcapi::GrpcServerOptions grpc_options;  // the gRPC API: the same tokens and audit log
  grpc_options.tokens = tokens;
  api::AccessOptions access;
  access.tokens = std::move(tokens);
  access.guard.hosts = api::MakeHostPolicy(host, SplitCommas(options_.allowed_hosts));
  access.router = &st->router;
  access.audit = std::move(audit);
  grpc_options.audit = access.audit;
  st->request_metrics = std::make_shared<api::RequestMetrics>(&st->metrics);
  http::ServerHooks hooks = api::CloudTasksHooks(std::move(access));
  api::MeterRequests(hooks, st->request_metrics);
  st->server = std::make_unique<http::Server>(*st->loops, st->router, std::move(hooks), server_options);
  STRATUS_RETURN_IF_ERROR(st->server->Start());

  // Push delivery: the OIDC issuer defaults to this server's own URL, known once bound.
  const std::string base_url = st->server->url();
  auth::OidcOptions oidc_options;
  oidc_options.key_dir = (std::filesystem::path(options_.data_dir) / "oidc").string();
  oidc_options.pem_file = options_.oidc_key;
  oidc_options.issuer = options_.oidc_issuer.empty() ? base_url : options_.oidc_issuer;
  oidc_options.rotate_after = *rotate;
  if (!options_.store.empty()) {  // one set of keys for the whole cluster (docs/cluster.md, "OIDC keys")
    oidc_options.source = std::make_shared<PgKeySource>(options_.store);
    oidc_options.shared = true;
  }
  STRATUS_ASSIGN_OR_RETURN(auto oidc, auth::OidcSigner::Open(oidc_options, st->clock));
  st->oidc = std::move(oidc);
  DispatchOptions dispatch_options;
  dispatch_options.ca_file = options_.ca_file;
  dispatch_options.delivery.app_engine_url = options_.app_engine_url;
  dispatch_options.delivery.target_policy = target_policy;
  if (!options_.oauth_token_file.empty()) {
    std::ifstream in(options_.oauth_token_file);
    if (!in || !std::getline(in, dispatch_options.delivery.oauth_token)) {
      return InvalidArgument("cannot read --oauth-token-file " + options_.oauth_token_file);
    }
  }
  st->dispatcher =
      std::make_unique<Dispatcher>(*st->store, st->clock, *st->loops, st->oidc.get(), st->metrics, dispatch_options);
  st->service->SetEvents(st->dispatcher.get());
  if (st->coordinator) {
    st->dispatcher->SetCoordinator(st->coordinator.get());
    st->coordinator->SetListener(st->dispatcher.get());
  }
  // The scheduler's executor: on loop 0, with the delivery client's TLS, target policy and signer.
  scheduler::ExecutorOptions executor_options;
  executor_options.ca_file = options_.ca_file;
  executor_options.request.oauth_token = dispatch_options.delivery.oauth_token;
  executor_options.request.target_policy = target_policy;
  if (!st->coordinator) {
    st->executor = std::make_unique<scheduler::Executor>(*st->job_store, st->clock, st->loops->Loop(0), st->blocking,
                                                         st->oidc.get(), st->service.get(), executor_options);
    st->scheduler->SetEvents(st->executor.get());
  } else {
    // One node at a time runs the executor, under the executor lease; a takeover fires a tick
    // the previous holder left unrecorded if it is at most two leases and a minute old.
    const Micros lease = st->coordinator->options().lease;
    executor_options.resume_window = 2 * lease + 60 * kMicrosPerSecond;
    auto make = [state = st.get(), executor_options](int64_t epoch, std::function<void()> fenced) {
      scheduler::ExecutorOptions o = executor_options;
      o.epoch = epoch;
      o.on_fenced = std::move(fenced);
      return std::make_unique<scheduler::Executor>(*state->job_store, state->clock, state->loops->Loop(0),
                                                   state->blocking, state->oidc.get(), state->service.get(), o);
    };
    auto publish = [jobs = st->pg_jobs](const cluster::Change& c) { return jobs->Publish(c); };
    st->executor_lease = std::make_unique<scheduler::ExecutorLease>(
        *st->leases, *st->job_store, st->clock, std::move(make), std::move(publish),
        scheduler::ExecutorLeaseOptions{st->coordinator->options().self.id, lease});
    st->scheduler->SetEvents(st->executor_lease.get());
    st->metrics.AddSource([l = st->executor_lease.get()](std::string* out) { l->AppendMetrics(out); });
  }
  STRATUS_RETURN_IF_ERROR(api::RegisterStratusRoutes(st->router, *st->service));
  STRATUS_RETURN_IF_ERROR(api::RegisterStatsRoutes(st->router, *st->service, *st->dispatcher));
  STRATUS_RETURN_IF_ERROR(api::RegisterOidcRoutes(st->router, *st->oidc, oidc_options.issuer));
  STRATUS_RETURN_IF_ERROR(api::RegisterMetricsRoute(st->router, st->metrics));
  STRATUS_ASSIGN_OR_RETURN(auto ui_mode, api::ui::ParseUiMode(options_.ui));
  STRATUS_RETURN_IF_ERROR(api::ui::RegisterUiRoutes(
      st->router, api::ui::UiOptions{ui_mode, !options_.api_token.empty() || !options_.api_token_file.empty()}));
  st->metrics.AddSource([m = st->request_metrics](std::string* out) { m->AppendMetrics(out); });
  if (st->sqlite) st->metrics.AddSource([store = st->sqlite](std::string* out) { store->AppendMetrics(out); });
  STRATUS_RETURN_IF_ERROR(st->dispatcher->Start());
  if (st->executor) STRATUS_RETURN_IF_ERROR(st->executor->Start());
  if (options_.redis_listen != "off") {
    api::redis::RedisServiceOptions ro;
    if (!options_.redis_listen.empty()) {
      STRATUS_RETURN_IF_ERROR(SplitHostPort(options_.redis_listen, &ro.host, &ro.port));
    } else if (port == 0) {
      ro.port = 0;  // a test binding a free port gets a free Redis port too
    }
    ro.data_dir = options_.data_dir;
    ro.token = options_.redis_token;
    ro.readonly_token = options_.redis_readonly_token;
    ro.token_file = options_.redis_token_file;
    ro.fsync = options_.redis_fsync;
    ro.url = options_.redis_url;
    ro.max_request_bytes = options_.redis_max_request_bytes;
    ro.pool_size = options_.redis_pool_size;
    ro.max_connections = options_.max_connections;
    ro.tls = st->tls;
    ro.allowed_hosts = SplitCommas(options_.allowed_hosts);
    ro.script_timeout_ms = options_.redis_script_timeout_ms;
    ro.script_max_time_ms = options_.redis_script_max_time_ms;
    ro.script_memory_bytes = options_.redis_script_memory_bytes;
    ro.sse_keepalive_ms = options_.redis_sse_keepalive_ms;
    ro.sse_buffer_bytes = options_.redis_sse_buffer_bytes;
    ro.metrics = std::make_shared<api::redis::RedisMetrics>();
    st->metrics.AddSource([m = ro.metrics](std::string* out) { m->AppendMetrics(out); });
    st->redis = std::make_unique<api::redis::RedisService>(st->clock, *st->loops);
    Status rs = st->redis->Start(ro);
    if (!rs.ok()) return Status(rs.code(), "Redis REST API: " + rs.message());
  }
  // Every route is in: the request metrics take the table (read without a lock from now on).
  st->request_metrics->AddRoutes(st->router);
  if (options_.grpc_listen != "off") {
    grpc_options.metrics = st->request_metrics;
    if (!options_.grpc_listen.empty()) {
      if (!SplitHostPort(options_.grpc_listen, &grpc_options.host, &grpc_options.port).ok()) {
        return InvalidArgument("--grpc-listen wants HOST:PORT or off, got '" + options_.grpc_listen + "'");
      }
    } else if (port == 0) {
      grpc_options.port = 0;  // a test binding a free port gets a free gRPC port too
    }
    grpc_options.tls_cert = options_.tls_cert;
    grpc_options.tls_key = options_.tls_key;
    grpc_options.max_message_bytes = options_.max_request_bytes;
    st->grpc = std::make_unique<grpcapi::GrpcServer>(*st->service, *st->loops, grpc_options);
    Status gs = st->grpc->Start();
    if (!gs.ok()) return Status(gs.code(), "gRPC API: " + gs.message());
  }
  st->loops->Start();
  if (st->coordinator) {
    // Listening first: a change committed while a queue is being acquired is not missed.
    st->listener->Start();
    st->coordinator->Start(base_url);
    st->executor_lease->Start();
  }
  state_ = std::move(st);
  return Status::Ok();
}

void ServeApp::Stop() {
  if (!state_) return;
  // First, while the loops run: calls in flight finish on them (the drain).
  if (state_->grpc) state_->grpc->Stop();
  state_->server->Stop();
  if (state_->redis) state_->redis->Stop();
  // Hands the scheduler's executor and this node's queues over while the loops still run the
  // attempts in flight.
  if (state_->executor_lease) state_->executor_lease->Stop();
  if (state_->listener) state_->listener->Stop();
  if (state_->coordinator) state_->coordinator->Stop();
  state_->dispatcher->Stop();
  if (state_->executor) state_->executor->Stop();
  state_->loops->Stop();
  state_->store->Close();
  state_->blocking.join();
  state_.reset();
}

uint16_t ServeApp::port() const {
  return state_ ? state_->server->port() : 0;
}

std::string ServeApp::base_url() const {
  return state_ ? state_->server->url() : "";
}

std::string ServeApp::redis_url() const {
  return state_ && state_->redis ? state_->redis->url() : "";
}

std::string ServeApp::grpc_url() const {
  return state_ && state_->grpc ? state_->grpc->url() : "";
}

std::string ServeApp::redis_banner() const {
  if (!state_ || !state_->redis) return "";
  const auto& r = *state_->redis;
  std::string out = "stratus: Redis REST API on " + r.url() + " (" + r.backend_description() + ")\n";
  // The token is printed once, when this start generated it; never one given by flag or file.
  if (r.token_generated()) {
    out += "stratus: Redis REST token: " + r.token() + " (kept in " + r.generated_token_path() + ")\n";
  } else if (!r.generated_token_path().empty()) {
    out += "stratus: Redis REST token kept in " + r.generated_token_path() + "\n";
  }
  return out;
}

Status ServeApp::ReloadTls() {
  if (!state_ || !state_->tls) return FailedPrecondition("not serving HTTPS (no --tls-cert)");
  STRATUS_RETURN_IF_ERROR(state_->tls->Reload());
  return state_->grpc ? state_->grpc->ReloadTls() : Status::Ok();
}

int RunServe(const ServeOptions& options) {
  // Block the stop signals before any thread starts so only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // Everything the server creates (the database, its WAL, keys, the Redis log) is private.
  ::umask(077);

  ServeApp app(options);
  Status st = app.Start();
  if (!st.ok()) {
    std::cerr << "stratus: " << st.message() << "\n";
    return 1;
  }
  std::string url = app.base_url();
  // Tests parse "stratus: <API name> on <url>" lines and wait for "stratus: ready".
  std::cout << "stratus: Cloud Tasks v2 API on " << url << " (data in "
            << (options.store.empty() ? options.data_dir
                                      : "PostgreSQL " + pg::Redacted(options.store) + " and " + options.data_dir)
            << ")\n"
            << "stratus: try  CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS=" << url
            << "/ CLOUDSDK_AUTH_ACCESS_TOKEN=" << (options.api_token.empty() ? "local" : "<your --api-token>")
            << " gcloud tasks queues list --project=local --location=us-central1\n";
  if (options.api_token.empty() && options.api_token_file.empty()) {
    std::cout << "stratus: no --api-token: the API is open; keep it on loopback\n";
  }
  if (options.ui != "off") {
    std::cout << "stratus: dashboard on " << url << "/ui/" << (options.ui == "read-only" ? " (read-only)" : "") << "\n";
  }
  if (!app.grpc_url().empty()) std::cout << "stratus: Cloud Tasks v2 gRPC API on " << app.grpc_url() << "\n";
  std::cout << app.redis_banner();
  std::cout << "stratus: ready" << std::endl;

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    if (options.tls_cert.empty()) continue;
    Status reloaded = app.ReloadTls();
    if (reloaded.ok()) {
      std::cout << "stratus: SIGHUP, reloaded " << options.tls_cert << " and " << options.tls_key << std::endl;
    } else {
      std::cout << "stratus: SIGHUP: " << reloaded.message() << "; still serving the previous certificate" << std::endl;
    }
  }
  std::cout << "stratus: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", shutting down" << std::endl;
  app.Stop();
  std::cout << "stratus: stopped" << std::endl;
  return 0;
}

}  // namespace stratus::cli
