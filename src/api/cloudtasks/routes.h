// The Cloud Tasks v2 REST surface: one row per method in routes.cc.
#pragma once

#include "http/router.h"
#include "tasks/service.h"

namespace stratus::api {

Status RegisterCloudTasksRoutes(http::Router& router, TasksService& service);

}  // namespace stratus::api
