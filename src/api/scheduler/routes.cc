#include "api/scheduler/routes.h"

#include "api/scheduler/handlers.h"

namespace stratus::api {
namespace {

using Verb = http::Verb;
using HandlerFn = scheduler::Reply (*)(scheduler::Service&, http::RequestContext&);

struct Row {
  Verb verb;
  const char* path;  // below kLoc
  const char* name;
  const char* permission;  // the IAM permission Google checks
  HandlerFn fn;
};

constexpr char kLoc[] = "/v1/projects/{project}/locations/{location}";

// clang-format off
const Row kRows[] = {
  {Verb::get,    "/jobs",            "scheduler.jobs.list",   "cloudscheduler.jobs.list",   scheduler::ListJobs},
  {Verb::post,   "/jobs",            "scheduler.jobs.create", "cloudscheduler.jobs.create", scheduler::CreateJob},
  {Verb::get,    "/jobs/{job}",      "scheduler.jobs.get",    "cloudscheduler.jobs.get",    scheduler::GetJob},
  {Verb::patch,  "/jobs/{job}",      "scheduler.jobs.patch",  "cloudscheduler.jobs.update", scheduler::PatchJob},
  {Verb::delete_,"/jobs/{job}",      "scheduler.jobs.delete", "cloudscheduler.jobs.delete", scheduler::DeleteJob},
  {Verb::post,   "/jobs/{job}:pause",  "scheduler.jobs.pause",  "cloudscheduler.jobs.pause",  scheduler::PauseJob},
  {Verb::post,   "/jobs/{job}:resume", "scheduler.jobs.resume", "cloudscheduler.jobs.resume", scheduler::ResumeJob},
  {Verb::post,   "/jobs/{job}:run",    "scheduler.jobs.run",    "cloudscheduler.jobs.run",    scheduler::RunJob},
};
// clang-format on

}  // namespace

Status RegisterSchedulerRoutes(http::Router& router, stratus::scheduler::SchedulerService& service) {
  for (const Row& row : kRows) {
    HandlerFn fn = row.fn;
    STRATUS_RETURN_IF_ERROR(router.Add(
        http::Route{row.verb, std::string(kLoc) + row.path, http::Scope::kApi, row.name,
                    [&service, fn](http::RequestContext& ctx) { return fn(service, ctx); }, row.permission}));
  }
  return Status::Ok();
}

}  // namespace stratus::api
