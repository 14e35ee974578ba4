// The gRPC messages (google.cloud.tasks.v2, generated from proto/) <-> the model types.
//
// The mirror of tasks/codec.h for the binary transport: the same model in, the same model
// out, so REST and gRPC share one TasksService, one validation and one set of error texts.
// Reading follows QueueFromJson/TaskFromJson field for field: proto3 zero values are
// "unset" (the service applies the defaults), output-only fields are read and the service
// decides what a request may set. Only what the wire itself can get wrong is checked here:
// Timestamps and Durations outside protobuf's ranges.
#pragma once

#include "google/cloud/tasks/v2/cloudtasks.pb.h"
#include "stratus/model.h"

namespace stratus::grpcapi {

namespace pb = ::google::cloud::tasks::v2;

// `field` names the message in errors ("queue", "task").
StatusOr<Queue> QueueFromProto(const pb::Queue& in, std::string_view field);
void QueueToProto(const Queue& queue, pb::Queue* out);

StatusOr<Task> TaskFromProto(const pb::Task& in, std::string_view field);
// BASIC leaves out the request bodies, as TaskToJson does.
void TaskToProto(const Task& task, TaskView view, pb::Task* out);

// A request's response_view: unspecified is BASIC; a value outside the enum is refused with
// the text REST gives an unknown responseView.
StatusOr<TaskView> ViewFromProto(int view);

// google.protobuf.FieldMask paths ("rate_limits.max_dispatches_per_second") as the comma list
// the service's ApplyUpdateMask reads (it accepts snake_case and lowerCamel alike).
std::string MaskToString(const ::google::protobuf::FieldMask& mask);

}  // namespace stratus::grpcapi
