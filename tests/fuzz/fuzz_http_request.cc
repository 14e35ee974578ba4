// Raw bytes as an HTTP request, through what a connection does with them: the server's reader, the
// Cloud Tasks route table, and the matched handler run to completion against a real
// TasksService over a real SqliteStore. Invariants: nothing crashes or throws, every answer has a
// 2xx/4xx/5xx status and a JSON body, and every error body is a google.rpc.Status whose code is
// the HTTP status.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "api/access.h"
#include "api/cloudtasks/routes.h"
#include "common/asio.h"
#include "common/clock.h"
#include "common/json.h"
#include "http/request_reader.h"
#include "http/router.h"
#include "store/sqlite/sqlite_store.h"
#include "tasks/service.h"

namespace {

namespace bh = stratus::beast::http;
namespace asio = stratus::asio;
namespace http = stratus::http;
using stratus::Json;

constexpr size_t kMaxHeaderBytes = 128 * 1024;  // as http::ServerOptions
constexpr size_t kMaxBodyBytes = 8 * 1024 * 1024;

[[noreturn]] void Fail(const std::string& what, const http::Response* res = nullptr) {
  std::fprintf(stderr, "fuzz_http_request: %s\n", what.c_str());
  if (res) std::fprintf(stderr, "  status %u, body: %s\n", res->result_int(), res->body().c_str());
  std::abort();
}

// One server for the whole run: the store keeps what earlier inputs created, as a live one would.
struct World {
  stratus::FakeClock clock{1795322121000000};  // 2026-11-22T04:35:21Z
  asio::io_context io;
  asio::thread_pool blocking{2};
  std::unique_ptr<stratus::SqliteStore> store;
  std::unique_ptr<stratus::TasksService> service;
  http::Router router;
  http::ServerHooks hooks = stratus::api::CloudTasksHooks(std::nullopt);
};

std::string MakeTempDir() {
  std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
  std::string tmpl = base + "/stratus-fuzz-XXXXXX";
  if (!mkdtemp(tmpl.data())) Fail("mkdtemp failed");
  return tmpl;
}

World& TheWorld() {
  static World* world = [] {
    auto* w = new World;
    static const std::string dir = MakeTempDir();
    std::atexit([] { std::filesystem::remove_all(dir); });
    auto store = stratus::SqliteStore::Open(dir + "/stratus.db", stratus::StoreOptions{});
    if (!store.ok()) Fail("cannot open the store: " + store.status().ToString());
    w->store = std::move(*store);
    w->service = std::make_unique<stratus::TasksService>(*w->store, w->clock, w->blocking, stratus::ServiceOptions{});
    stratus::Status st = stratus::api::RegisterCloudTasksRoutes(w->router, *w->service);
    if (!st.ok()) Fail("cannot register routes: " + st.ToString());
    return w;
  }();
  return *world;
}

// Runs an awaitable to completion on the world's io_context (store callbacks post back to it).
http::Response RunToCompletion(World& w, asio::awaitable<http::Response> op) {
  std::optional<http::Response> res;
  std::exception_ptr error;
  bool done = false;
  w.io.restart();
  auto guard = asio::make_work_guard(w.io);
  asio::co_spawn(w.io, std::move(op), [&](std::exception_ptr e, http::Response r) {
    error = e;
    if (!e) res = std::move(r);
    done = true;
  });
  while (!done) {
    if (w.io.run_one() == 0) Fail("io_context stopped before the handler finished");
  }
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      Fail(std::string("handler threw: ") + e.what());
    } catch (...) {
      Fail("handler threw a non-std exception");
    }
  }
  return std::move(*res);
}

void CheckResponse(const http::Response& res) {
  unsigned status = res.result_int();
  unsigned cls = status / 100;
  if (cls != 2 && cls != 4 && cls != 5) Fail("status outside 2xx/4xx/5xx", &res);
  auto type = res[bh::field::content_type];
  if (type.substr(0, 16) != "application/json") Fail("reply is not application/json", &res);
  Json body = Json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) Fail("reply body is not a JSON object", &res);
  if (cls == 2) return;
  const auto error = body.find("error");
  if (error == body.end() || !error->is_object()) Fail("error reply without an error object", &res);
  const auto code = error->find("code");
  if (code == error->end() || !code->is_number_integer() || code->get<int64_t>() != static_cast<int64_t>(status)) {
    Fail("error.code differs from the HTTP status", &res);
  }
  const auto message = error->find("message");
  const auto name = error->find("status");
  if (message == error->end() || !message->is_string() || name == error->end() || !name->is_string()) {
    Fail("error reply without message or status", &res);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = TheWorld();
  w.clock.Advance(1'000'000);

  // The server's own reader: Beast's parser plus the checks it lacks (oversized fields,
  // Transfer-Encoding, Host), so a seed that would abort a connection aborts here too.
  http::RequestReader reader(kMaxHeaderBytes, kMaxBodyBytes);
  asio::const_buffer buf(data, size);
  while (!reader.done() && !reader.failed()) {
    size_t used = reader.Put(buf);
    buf += used;
    if (used == 0) break;
  }
  if (!reader.done() && !reader.failed()) reader.PutEof();

  if (reader.failed()) {
    // What the server answers before closing a connection it cannot parse.
    http::Response res = w.hooks.error(reader.request(), reader.error_status(), reader.error_message());
    res.prepare_payload();
    CheckResponse(res);
    return 0;
  }

  const http::Request& req = reader.request();
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  http::RequestContext ctx{req, target.substr(0, q), {}, {}, "fuzz"};
  if (q != std::string_view::npos) ctx.query = http::ParseQuery(target.substr(q + 1));

  http::Router::Match m = w.router.Find(req.method(), ctx.path, &ctx.params);
  http::Response res;
  if (!m.route) {
    res = m.path_matched ? w.hooks.error(req, 405, "Method not allowed for " + std::string(ctx.path) + ".")
                         : w.hooks.error(req, 404, "The requested URL " + std::string(ctx.path) + " was not found.");
  } else {
    if (auto denied = w.hooks.authorize(ctx, m.route->scope)) Fail("open server refused a request", &*denied);
    auto op = m.route->handler(ctx);
    res = RunToCompletion(w, std::move(op));
  }
  res.prepare_payload();
  CheckResponse(res);
  if (std::getenv("STRATUS_FUZZ_VERBOSE")) {  // to see what the seeds reach
    std::fprintf(stderr, "%s %.*s -> %u %s\n", m.route ? m.route->name.c_str() : "-", static_cast<int>(ctx.path.size()),
                 ctx.path.data(), res.result_int(), res.body().c_str());
  }
  return 0;
}
