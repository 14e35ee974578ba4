#include "cli/serve.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/access.h"
#include "api/admin/admin.h"
#include "api/cloudtasks/routes.h"
#include "common/clock.h"
#include "http/server.h"
#include "store/sqlite/sqlite_store.h"
#include "tasks/service.h"

namespace stratus::cli {
namespace {

StatusOr<std::optional<std::string>> LoadToken(const ServeOptions& o) {
  if (!o.api_token.empty()) return std::optional<std::string>(o.api_token);
  if (o.api_token_file.empty()) return std::optional<std::string>();
  std::ifstream in(o.api_token_file);
  std::string token;
  if (!in || !std::getline(in, token)) return InvalidArgument("cannot read --api-token-file " + o.api_token_file);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return InvalidArgument("--api-token-file " + o.api_token_file + " is empty");
  return std::optional<std::string>(token);
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
  SystemClock clock;
  std::unique_ptr<http::EventLoops> loops;
  asio::thread_pool blocking{4};
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<TasksService> service;
  http::Router router;
  std::unique_ptr<http::Server> server;
};

ServeApp::ServeApp(ServeOptions options) : options_(std::move(options)) {}
ServeApp::~ServeApp() { Stop(); }

Status ServeApp::Start() {
  auto st = std::make_unique<State>();
  std::string host;
  uint16_t port = 0;
  STRATUS_RETURN_IF_ERROR(SplitHostPort(options_.listen, &host, &port));
  auto token = LoadToken(options_);
  if (!token.ok()) return token.status();
  auto dedup = ParseHumanDuration(options_.task_dedup_window);
  if (!dedup.ok()) return InvalidArgument("--task-dedup-window: " + dedup.status().message());
  auto reuse = ParseHumanDuration(options_.queue_reuse_window);
  if (!reuse.ok()) return InvalidArgument("--queue-reuse-window: " + reuse.status().message());

  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) return Unavailable("cannot create --data-dir " + options_.data_dir + ": " + ec.message());
  auto store = SqliteStore::Open((std::filesystem::path(options_.data_dir) / "stratus.db").string(),
                                 StoreOptions{*dedup, *reuse});
  if (!store.ok()) return store.status();
  st->store = std::move(*store);

  ServiceOptions service_options;
  service_options.limits.max_dispatches_per_second = options_.max_queue_rate;
  service_options.locations = SplitCommas(options_.locations);
  st->service = std::make_unique<TasksService>(*st->store, st->clock, st->blocking, service_options);

  STRATUS_RETURN_IF_ERROR(api::RegisterCloudTasksRoutes(st->router, *st->service));
  STRATUS_RETURN_IF_ERROR(api::RegisterAdminRoutes(st->router, *st->store, st->blocking));

  size_t threads = options_.threads > 0 ? static_cast<size_t>(options_.threads)
                                        : std::max(1u, std::thread::hardware_concurrency());
  st->loops = std::make_unique<http::EventLoops>(threads);
  http::ServerOptions server_options;
  server_options.host = host;
  server_options.port = port;
  server_options.max_body_bytes = options_.max_request_bytes;
  st->server = std::make_unique<http::Server>(*st->loops, st->router, api::CloudTasksHooks(*token), server_options);
  STRATUS_RETURN_IF_ERROR(st->server->Start());
  st->loops->Start();
  state_ = std::move(st);
  return Status::Ok();
}

void ServeApp::Stop() {
  if (!state_) return;
  state_->server->Stop();
  state_->loops->Stop();
  state_->store->Close();
  state_->blocking.join();
  state_.reset();
}

uint16_t ServeApp::port() const { return state_ ? state_->server->port() : 0; }

std::string ServeApp::base_url() const { return state_ ? "http://" + state_->server->address() : ""; }

int RunServe(const ServeOptions& options) {
  // Block the stop signals before any thread starts so only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  ServeApp app(options);
  Status st = app.Start();
  if (!st.ok()) {
    std::cerr << "stratus: " << st.message() << "\n";
    return 1;
  }
  std::string url = app.base_url();
  // Tests parse "stratus: <API name> on <url>" lines and wait for "stratus: ready".
  std::cout << "stratus: Cloud Tasks v2 API on " << url << " (data in " << options.data_dir << ")\n"
            << "stratus: try  CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS=" << url
            << "/ CLOUDSDK_AUTH_ACCESS_TOKEN=" << (options.api_token.empty() ? "local" : "<your --api-token>")
            << " gcloud tasks queues list --project=local --location=us-central1\n";
  if (options.api_token.empty() && options.api_token_file.empty()) {
    std::cout << "stratus: no --api-token: the API is open; keep it on loopback\n";
  }
  std::cout << "stratus: ready" << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "stratus: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", shutting down" << std::endl;
  app.Stop();
  std::cout << "stratus: stopped" << std::endl;
  return 0;
}

}  // namespace stratus::cli
