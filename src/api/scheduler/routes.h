// The Cloud Scheduler v1 REST surface: one row per method in routes.cc.
#pragma once

#include "http/router.h"
#include "scheduler/service.h"

namespace stratus::api {

// The jobs methods. The locations mixin (/v1/projects/{p}/locations[/{l}]) is the same path
// Cloud Tasks' v1 mixin rows answer (api/cloudtasks/routes.cc): both list --locations, so
// Cloud Scheduler clients are served by those rows.
Status RegisterSchedulerRoutes(http::Router& router, stratus::scheduler::SchedulerService& service);

}  // namespace stratus::api
