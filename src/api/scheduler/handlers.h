// Handlers of the Cloud Scheduler v1 REST methods: decode the request, call the service,
// encode the reply. One function per method.
#pragma once

#include "http/message.h"
#include "scheduler/service.h"

namespace stratus::api::scheduler {

using Reply = asio::awaitable<http::Response>;
using Service = stratus::scheduler::SchedulerService;

Reply ListJobs(Service& s, http::RequestContext& ctx);
Reply CreateJob(Service& s, http::RequestContext& ctx);
Reply GetJob(Service& s, http::RequestContext& ctx);
Reply PatchJob(Service& s, http::RequestContext& ctx);
Reply DeleteJob(Service& s, http::RequestContext& ctx);
Reply PauseJob(Service& s, http::RequestContext& ctx);
Reply ResumeJob(Service& s, http::RequestContext& ctx);
Reply RunJob(Service& s, http::RequestContext& ctx);

}  // namespace stratus::api::scheduler
