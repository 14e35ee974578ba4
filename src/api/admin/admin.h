// Operational endpoints: /healthz (the process answers) and /readyz (the store answers).
#pragma once

#include "http/router.h"
#include "stratus/store.h"

namespace stratus::api {

Status RegisterAdminRoutes(http::Router& router, Store& store, asio::thread_pool& blocking);

}  // namespace stratus::api
