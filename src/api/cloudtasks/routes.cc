#include "api/cloudtasks/routes.h"

#include "api/cloudtasks/handlers.h"

namespace stratus::api {
namespace {

using Verb = http::Verb;
using HandlerFn = cloudtasks::Reply (*)(TasksService&, http::RequestContext&);

struct Row {
  Verb verb;
  const char* path;
  const char* name;
  const char* permission;  // the IAM permission Google checks; "*" for none (testIamPermissions)
  HandlerFn fn;
};

constexpr char kLoc[] = "/v2/projects/{project}/locations/{location}";

// clang-format off
const Row kRows[] = {
  {Verb::get,    "/v2/projects/{project}/locations",                      "locations.list",               "cloudtasks.locations.list",        cloudtasks::ListLocations},
  {Verb::get,    "",                                                      "locations.get",                "cloudtasks.locations.get",         cloudtasks::GetLocation},
  // The Node client's location mixin calls the v1 paths.
  {Verb::get,    "/v1/projects/{project}/locations",                      "locations.list.v1",            "cloudtasks.locations.list",        cloudtasks::ListLocations},
  {Verb::get,    "/v1/projects/{project}/locations/{location}",           "locations.get.v1",             "cloudtasks.locations.get",         cloudtasks::GetLocation},
  {Verb::get,    "/queues",                                               "queues.list",                  "cloudtasks.queues.list",           cloudtasks::ListQueues},
  {Verb::post,   "/queues",                                               "queues.create",                "cloudtasks.queues.create",         cloudtasks::CreateQueue},
  {Verb::get,    "/queues/{queue}",                                       "queues.get",                   "cloudtasks.queues.get",            cloudtasks::GetQueue},
  {Verb::patch,  "/queues/{queue}",                                       "queues.patch",                 "cloudtasks.queues.update",         cloudtasks::PatchQueue},
  {Verb::delete_,"/queues/{queue}",                                       "queues.delete",                "cloudtasks.queues.delete",         cloudtasks::DeleteQueue},
  {Verb::post,   "/queues/{queue}:purge",                                 "queues.purge",                 "cloudtasks.queues.purge",          cloudtasks::PurgeQueue},
  {Verb::post,   "/queues/{queue}:pause",                                 "queues.pause",                 "cloudtasks.queues.pause",          cloudtasks::PauseQueue},
  {Verb::post,   "/queues/{queue}:resume",                                "queues.resume",                "cloudtasks.queues.resume",         cloudtasks::ResumeQueue},
  {Verb::post,   "/queues/{queue}:getIamPolicy",                          "queues.getIamPolicy",          "cloudtasks.queues.getIamPolicy",   cloudtasks::GetIamPolicy},
  {Verb::post,   "/queues/{queue}:setIamPolicy",                          "queues.setIamPolicy",          "cloudtasks.queues.setIamPolicy",   cloudtasks::SetIamPolicy},
  {Verb::post,   "/queues/{queue}:testIamPermissions",                    "queues.testIamPermissions",    "*",                                cloudtasks::TestIamPermissions},
  {Verb::get,    "/queues/{queue}/tasks",                                 "tasks.list",                   "cloudtasks.tasks.list",            cloudtasks::ListTasks},
  {Verb::post,   "/queues/{queue}/tasks",                                 "tasks.create",                 "cloudtasks.tasks.create",          cloudtasks::CreateTask},
  {Verb::get,    "/queues/{queue}/tasks/{task}",                          "tasks.get",                    "cloudtasks.tasks.get",             cloudtasks::GetTask},
  {Verb::delete_,"/queues/{queue}/tasks/{task}",                          "tasks.delete",                 "cloudtasks.tasks.delete",          cloudtasks::DeleteTask},
  {Verb::post,   "/queues/{queue}/tasks/{task}:run",                      "tasks.run",                    "cloudtasks.tasks.run",             cloudtasks::RunTask},
  {Verb::post,   "/queues/{queue}/tasks:buffer",                          "tasks.buffer",                 "cloudtasks.tasks.create",          cloudtasks::BufferTask},
  {Verb::post,   "/queues/{queue}/tasks/{task}:buffer",                   "tasks.buffer.id",              "cloudtasks.tasks.create",          cloudtasks::BufferTask},
};
// clang-format on

}  // namespace

Status RegisterCloudTasksRoutes(http::Router& router, TasksService& service) {
  for (const Row& row : kRows) {
    // Paths are relative to a location unless they are absolute.
    std::string path = std::string(row.path).rfind("/v", 0) == 0 ? row.path : std::string(kLoc) + row.path;
    HandlerFn fn = row.fn;
    STRATUS_RETURN_IF_ERROR(router.Add(
        http::Route{row.verb, path, http::Scope::kApi, row.name,
                    [&service, fn](http::RequestContext& ctx) { return fn(service, ctx); }, row.permission}));
  }
  return Status::Ok();
}

}  // namespace stratus::api
