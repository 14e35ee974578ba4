// Handlers of the Cloud Tasks v2 REST methods: decode the request, call the service,
// encode the reply. One function per method.
#pragma once

#include "http/message.h"
#include "tasks/service.h"

namespace stratus::api::cloudtasks {

using Reply = asio::awaitable<http::Response>;

Reply ListLocations(TasksService& s, http::RequestContext& ctx);
Reply GetLocation(TasksService& s, http::RequestContext& ctx);

Reply ListQueues(TasksService& s, http::RequestContext& ctx);
Reply CreateQueue(TasksService& s, http::RequestContext& ctx);
Reply GetQueue(TasksService& s, http::RequestContext& ctx);
Reply PatchQueue(TasksService& s, http::RequestContext& ctx);
Reply DeleteQueue(TasksService& s, http::RequestContext& ctx);
Reply PurgeQueue(TasksService& s, http::RequestContext& ctx);
Reply PauseQueue(TasksService& s, http::RequestContext& ctx);
Reply ResumeQueue(TasksService& s, http::RequestContext& ctx);
Reply GetIamPolicy(TasksService& s, http::RequestContext& ctx);
Reply SetIamPolicy(TasksService& s, http::RequestContext& ctx);
Reply TestIamPermissions(TasksService& s, http::RequestContext& ctx);

Reply ListTasks(TasksService& s, http::RequestContext& ctx);
Reply CreateTask(TasksService& s, http::RequestContext& ctx);
Reply GetTask(TasksService& s, http::RequestContext& ctx);
Reply DeleteTask(TasksService& s, http::RequestContext& ctx);
Reply RunTask(TasksService& s, http::RequestContext& ctx);
Reply BufferTask(TasksService& s, http::RequestContext& ctx);

}  // namespace stratus::api::cloudtasks
