// /stratus/v1 per-queue time series (docs/operations.md, "Per-queue time series (JSON)"):
// GET .../queues/{q}/stats?seconds=N&step=S, one queue's last N seconds from its QueueSeries;
// GET .../locations/{l}/queueStats, one summary row per queue of the location.
#pragma once

#include "http/router.h"
#include "tasks/engine/dispatcher.h"
#include "tasks/engine/series.h"
#include "tasks/service.h"

namespace stratus::api {

Status RegisterStatsRoutes(http::Router& router, TasksService& service, Dispatcher& dispatcher);

}  // namespace stratus::api
