// stratus's own API beside Cloud Tasks v2 (/stratus/v1): dead letters, permanent-failure
// statuses per queue; and the public OIDC discovery document and JWKS.
#pragma once

#include "auth/oidc.h"
#include "http/router.h"
#include "tasks/engine/metrics.h"
#include "tasks/service.h"

namespace stratus::api {

Status RegisterStratusRoutes(http::Router& router, TasksService& service);
// `/.well-known/openid-configuration` and the JWKS it names.
Status RegisterOidcRoutes(http::Router& router, auth::OidcSigner& signer, const std::string& base_url);
// `/metrics` in Prometheus text format.
Status RegisterMetricsRoute(http::Router& router, Metrics& metrics);

}  // namespace stratus::api
