// Operational endpoints: /healthz (the process answers) and /readyz (the store and the Redis
// engine can serve: 200, or 503 with a JSON body naming each part that cannot and why).
#pragma once

#include <functional>
#include <optional>

#include "http/router.h"
#include "stratus/store.h"

namespace stratus::api {

// `redis_health` (cheap, non-blocking) reports the Redis REST backend; nullopt (or no function)
// when the Redis listener is off, and /readyz then leaves it out.
using HealthCheck = std::function<std::optional<Status>()>;
Status RegisterAdminRoutes(http::Router& router, Store& store, asio::thread_pool& blocking,
                           const HealthCheck& redis_health = {});

}  // namespace stratus::api
