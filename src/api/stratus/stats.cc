#include "api/stratus/stats.h"

#include <charconv>

#include "api/rpc.h"

namespace stratus::api {
namespace {

using Reply = asio::awaitable<http::Response>;
using Verb = http::Verb;

constexpr int64_t kDefaultSeconds = 300;

struct Deps {
  TasksService& service;
  Dispatcher& dispatcher;
};

const char* StateName(QueueState s) {
  switch (s) {
    case QueueState::kRunning:
      return "RUNNING";
    case QueueState::kPaused:
      return "PAUSED";
    case QueueState::kDisabled:
      return "DISABLED";
    case QueueState::kUnspecified:
      break;
  }
  return "STATE_UNSPECIFIED";
}

// A whole number in [1, max] from the query, `fallback` when absent.
StatusOr<int64_t> Whole(const http::RequestContext& ctx, const char* name, int64_t fallback, int64_t max,
                        const std::string& range) {
  const std::string text = ctx.Query(name);
  if (text.empty()) return fallback;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1 || v > max) {
    return InvalidArgument(std::string(name) + " must be a whole number of seconds from 1 to " + range + ", not \"" +
                           text + "\".");
  }
  return v;
}

Json Number(const std::optional<double>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json PointJson(const QueueSeries::Point& p) {
  return {{"time", FormatTimestamp(p.second * kMicrosPerSecond)},
          {"created", p.counts[QueueSeries::kCreated]},
          {"dispatched", p.counts[QueueSeries::kDispatched]},
          {"succeeded", p.counts[QueueSeries::kSucceeded]},
          {"failed", p.counts[QueueSeries::kFailed]},
          {"retried", p.counts[QueueSeries::kRetried]},
          {"deadLettered", p.counts[QueueSeries::kDeadLettered]},
          {"latencyP50", Number(p.latency_p50)},
          {"latencyP95", Number(p.latency_p95)},
          {"latenessP95", Number(p.lateness_p95)},
          {"depth", p.depth},
          {"inFlight", p.in_flight},
          {"oldestAgeSeconds", p.oldest_age_seconds}};
}

Status Untracked(const std::string& queue, const Dispatcher& d) {
  return FailedPrecondition("Queue " + queue + " has no time series: this server keeps them for " +
                            std::to_string(d.options().series_max_queues) + " queues.");
}

Reply QueueStats(Deps& d, http::RequestContext& ctx) {
  auto parsed = Whole(ctx, "seconds", kDefaultSeconds, QueueSeries::kSlots, "3600");
  if (!parsed.ok()) co_return RpcError(ctx.request, parsed.status());
  const int64_t seconds = *parsed;
  auto step = Whole(ctx, "step", 1, seconds, "seconds (" + std::to_string(seconds) + ")");
  if (!step.ok()) co_return RpcError(ctx.request, step.status());
  if (seconds % *step != 0) {
    co_return RpcError(ctx.request, InvalidArgument("seconds (" + std::to_string(seconds) +
                                                    ") must be a multiple of step (" + std::to_string(*step) + ")."));
  }
  std::string name =
      "projects/" + ctx.Param("project") + "/locations/" + ctx.Param("location") + "/queues/" + ctx.Param("queue");
  auto queue = co_await d.service.GetQueue(name);
  if (!queue.ok()) co_return RpcError(ctx.request, queue.status());
  auto series = d.dispatcher.Series(name);
  if (!series) co_return RpcError(ctx.request, Untracked(name, d.dispatcher));
  const Micros now = d.dispatcher.clock().Now();
  Json points = Json::array();
  for (const auto& p : series->Read(now, seconds, *step)) points.push_back(PointJson(p));
  co_return JsonReply(ctx.request, {{"queue", name},
                                    {"now", FormatTimestamp(now)},
                                    {"seconds", seconds},
                                    {"step", *step},
                                    {"points", std::move(points)}});
}

Reply LocationStats(Deps& d, http::RequestContext& ctx) {
  const std::string parent = "projects/" + ctx.Param("project") + "/locations/" + ctx.Param("location");
  Json rows = Json::array();
  const std::string no_filter;  // named: GCC 12 and temporaries in co_await
  std::string token;
  do {
    auto page = co_await d.service.ListQueues(parent, no_filter, 1000, token);
    if (!page.ok()) co_return RpcError(ctx.request, page.status());
    const Micros now = d.dispatcher.clock().Now();
    for (const Queue& q : page->queues) {
      Json row = {{"queue", q.name}, {"state", StateName(q.state)}};
      if (auto series = d.dispatcher.Series(q.name)) {
        // The last 60 seconds (now's included) as one point: counts per minute.
        const QueueSeries::Point p = series->Read(now, 60, 60).at(0);
        row["depth"] = p.depth;
        row["inFlight"] = p.in_flight;
        row["oldestAgeSeconds"] = p.oldest_age_seconds;
        row["createdPerMinute"] = p.counts[QueueSeries::kCreated];
        row["dispatchedPerMinute"] = p.counts[QueueSeries::kDispatched];
        row["succeededPerMinute"] = p.counts[QueueSeries::kSucceeded];
        row["failedPerMinute"] = p.counts[QueueSeries::kFailed];
        row["deadLetteredPerMinute"] = p.counts[QueueSeries::kDeadLettered];
        row["latencyP95"] = Number(p.latency_p95);
        row["tracked"] = true;
      } else {
        row["tracked"] = false;
      }
      rows.push_back(std::move(row));
    }
    token = page->next_page_token;
  } while (!token.empty());
  co_return JsonReply(ctx.request, {{"location", parent}, {"queues", std::move(rows)}});
}

struct Row {
  Verb verb;
  const char* path;
  const char* name;
  const char* permission;  // read-only tokens hold every *.get and *.list
  Reply (*fn)(Deps&, http::RequestContext&);
};

// clang-format off
const Row kRows[] = {
  {Verb::get, "/stratus/v1/projects/{project}/locations/{location}/queues/{queue}/stats", "stratus.queueStats.get",  "stratus.queueStats.get",  QueueStats},
  {Verb::get, "/stratus/v1/projects/{project}/locations/{location}/queueStats",           "stratus.queueStats.list", "stratus.queueStats.list", LocationStats},
};
// clang-format on

}  // namespace

Status RegisterStatsRoutes(http::Router& router, TasksService& service, Dispatcher& dispatcher) {
  auto deps = std::make_shared<Deps>(Deps{service, dispatcher});
  for (const Row& row : kRows) {
    auto fn = row.fn;
    STRATUS_RETURN_IF_ERROR(
        router.Add(http::Route{row.verb, row.path, http::Scope::kApi, row.name,
                               [deps, fn](http::RequestContext& ctx) { return fn(*deps, ctx); }, row.permission}));
  }
  return Status::Ok();
}

}  // namespace stratus::api
