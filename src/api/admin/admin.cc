#include "api/admin/admin.h"

#include "common/await.h"
#include "common/json.h"

namespace stratus::api {

Status RegisterAdminRoutes(http::Router& router, Store& store, asio::thread_pool& blocking,
                           const HealthCheck& redis_health) {
  STRATUS_RETURN_IF_ERROR(router.Add(http::Route{http::Verb::get, "/healthz", http::Scope::kPublic, "admin.healthz",
                                                 [](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
                                                   co_return http::MakeResponse(ctx.request, beast::http::status::ok,
                                                                                "ok\n", "text/plain");
                                                 }}));
  return router.Add(
      http::Route{http::Verb::get, "/readyz", http::Scope::kPublic, "admin.readyz",
                  [&store, &blocking, redis_health](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
                    // {"ready": bool, "checks": {"store": "ok" | reason, "redis": "ok" | reason}}
                    auto probe = [&store] { return store.Health(); };
                    Status store_health = co_await RunBlocking(blocking, std::move(probe));
                    Json checks = Json::object();
                    bool ready = store_health.ok();
                    checks["store"] = store_health.ok() ? "ok" : store_health.message();
                    if (std::optional<Status> r = redis_health ? redis_health() : std::nullopt) {
                      ready = ready && r->ok();
                      checks["redis"] = r->ok() ? "ok" : r->message();
                    }
                    Json body = {{"ready", ready}, {"checks", checks}};
                    co_return http::MakeResponse(
                        ctx.request, ready ? beast::http::status::ok : beast::http::status::service_unavailable,
                        body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n", "application/json");
                  }});
}

}  // namespace stratus::api
