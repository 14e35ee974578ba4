#include "api/admin/admin.h"

#include "common/await.h"

namespace stratus::api {

Status RegisterAdminRoutes(http::Router& router, Store& store, asio::thread_pool& blocking) {
  STRATUS_RETURN_IF_ERROR(router.Add(http::Route{http::Verb::get, "/healthz", http::Scope::kPublic, "admin.healthz",
                                                 [](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
                                                   co_return http::MakeResponse(ctx.request, beast::http::status::ok,
                                                                                "ok\n", "text/plain");
                                                 }}));
  return router.Add(
      http::Route{http::Verb::get, "/readyz", http::Scope::kPublic, "admin.readyz",
                  [&store, &blocking](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
                    // A read through the store proves the database opens and answers.
                    auto read = [&store] { return store.GetQueue("projects/-/locations/-/queues/-"); };
                    auto probe = co_await RunBlocking(blocking, std::move(read));
                    bool ready = probe.ok() || probe.status().code() == Code::kNotFound;
                    co_return http::MakeResponse(
                        ctx.request, ready ? beast::http::status::ok : beast::http::status::service_unavailable,
                        ready ? "ready\n" : "store unavailable: " + probe.status().message() + "\n", "text/plain");
                  }});
}

}  // namespace stratus::api
