// The RPCs of the gRPC API, one row each: the names it is known by (its gRPC method, the REST
// method it mirrors, the IAM permission its REST route checks) and its handler, the coroutine
// that turns the decoded request message into TasksService calls and the result into the reply
// message or a status.
//
// server.cc serves every row through the bridge (auth, audit, metrics around the handler);
// tests/fuzz/fuzz_grpc_request.cc calls the same handlers on messages parsed from fuzz input,
// so the fuzzer drives exactly what a call runs between grpc++'s decode and its encode.
//
// A handler takes its Call by value and the messages by pointer: they belong to the call and
// stay valid until the handler's coroutine ends. It only writes `*resp` and returns the
// status; a non-OK status means the reply message is not sent.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/asio.h"
#include "google/cloud/location/locations.pb.h"
#include "google/cloud/tasks/v2/cloudtasks.pb.h"
#include "google/iam/v1/iam_policy.pb.h"
#include "stratus/status.h"
#include "tasks/service.h"

namespace stratus::grpcapi {

namespace pb = ::google::cloud::tasks::v2;
namespace iam = ::google::iam::v1;
namespace loc = ::google::cloud::location;
using ::google::protobuf::Empty;

// What a handler gets besides its messages: the service, and the actAs check of the token
// that called (empty: any account).
struct Call {
  TasksService* service;
  std::function<Status(const std::string&)> act_as;
};

template <typename Req, typename Resp>
struct Rpc {
  const char* name;        // the gRPC method, "CreateTask" (also the metrics' method label)
  const char* rest_name;   // the REST method, "tasks.create" (audit lines)
  const char* permission;  // what a scoped token needs, as on the REST route ("*": any token)
  asio::awaitable<Status> (*handler)(Call, const Req*, Resp*);
  // What the call acts on (audit lines, the queue a task call refuses for).
  const std::string& (*resource)(const Req&);
  // What an auth refusal names instead of the resource, when REST's route names another
  // field (a create's `parent`); null: the resource's queue, or the resource.
  const std::string& (*refused_resource)(const Req&) = nullptr;
  // The service accounts the request names, checked against the token's actAs list.
  std::vector<std::string> (*accounts)(const Req&) = nullptr;
};

extern const Rpc<loc::ListLocationsRequest, loc::ListLocationsResponse> kListLocations;
extern const Rpc<loc::GetLocationRequest, loc::Location> kGetLocation;
extern const Rpc<pb::ListQueuesRequest, pb::ListQueuesResponse> kListQueues;
extern const Rpc<pb::GetQueueRequest, pb::Queue> kGetQueue;
extern const Rpc<pb::CreateQueueRequest, pb::Queue> kCreateQueue;
extern const Rpc<pb::UpdateQueueRequest, pb::Queue> kUpdateQueue;
extern const Rpc<pb::DeleteQueueRequest, Empty> kDeleteQueue;
extern const Rpc<pb::PurgeQueueRequest, pb::Queue> kPurgeQueue;
extern const Rpc<pb::PauseQueueRequest, pb::Queue> kPauseQueue;
extern const Rpc<pb::ResumeQueueRequest, pb::Queue> kResumeQueue;
extern const Rpc<iam::GetIamPolicyRequest, iam::Policy> kGetIamPolicy;
extern const Rpc<iam::SetIamPolicyRequest, iam::Policy> kSetIamPolicy;
extern const Rpc<iam::TestIamPermissionsRequest, iam::TestIamPermissionsResponse> kTestIamPermissions;
extern const Rpc<pb::ListTasksRequest, pb::ListTasksResponse> kListTasks;
extern const Rpc<pb::GetTaskRequest, pb::Task> kGetTask;
extern const Rpc<pb::CreateTaskRequest, pb::Task> kCreateTask;
extern const Rpc<pb::DeleteTaskRequest, Empty> kDeleteTask;
extern const Rpc<pb::RunTaskRequest, pb::Task> kRunTask;

}  // namespace stratus::grpcapi
