// The gRPC messages <-> model conversion (src/grpc/convert.cc): what the REST codec reads from
// JSON, read from the binary messages; what the wire can get wrong refused, never undefined.
#include "grpc/convert.h"

#include <gtest/gtest.h>

#include <limits>

namespace stratus::grpcapi {
namespace {

TEST(GrpcConvert, AQueueRoundTripsEveryField) {
  Queue q;
  q.name = "projects/p/locations/l/queues/q";
  q.rate_limits = RateLimits{12.5, 10, 33};
  q.retry_config = RetryConfig{7, 90'000'000, 250'000, 600'000'000, 4};
  q.state = QueueState::kPaused;
  q.purge_time = 1'700'000'000'123'456;
  q.logging_sampling_ratio = 0.25;
  q.app_engine_routing_override = AppEngineRouting{"svc", "v1", "i", ""};
  pb::Queue msg;
  QueueToProto(q, &msg);
  EXPECT_EQ(msg.retry_config().min_backoff().nanos(), 250'000'000);
  EXPECT_EQ(msg.purge_time().nanos(), 123'456'000);
  auto back = QueueFromProto(msg, "queue");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->name, q.name);
  EXPECT_EQ(back->rate_limits.max_dispatches_per_second, 12.5);
  EXPECT_EQ(back->rate_limits.max_concurrent_dispatches, 33);
  EXPECT_EQ(back->retry_config.max_attempts, 7);
  EXPECT_EQ(back->retry_config.max_retry_duration, 90'000'000);
  EXPECT_EQ(back->retry_config.min_backoff, 250'000);
  EXPECT_EQ(back->retry_config.max_backoff, 600'000'000);
  EXPECT_EQ(back->retry_config.max_doublings, 4);
  EXPECT_EQ(back->state, QueueState::kPaused);
  EXPECT_EQ(back->purge_time, q.purge_time);
  EXPECT_EQ(back->logging_sampling_ratio, 0.25);
  EXPECT_EQ(back->app_engine_routing_override, q.app_engine_routing_override);
}

TEST(GrpcConvert, AnEmptyQueueMessageLeavesEverythingUnsetForTheDefaults) {
  auto q = QueueFromProto(pb::Queue(), "queue");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->rate_limits.max_dispatches_per_second, 0);
  EXPECT_EQ(q->retry_config.max_attempts, 0);
  EXPECT_EQ(q->retry_config.min_backoff, 0);
  EXPECT_EQ(q->state, QueueState::kUnspecified);
  EXPECT_FALSE(q->purge_time.has_value());
  EXPECT_FALSE(q->logging_sampling_ratio.has_value());
}

TEST(GrpcConvert, ATaskKeepsMicrosecondsAndBytesAndBasicDropsTheBody) {
  pb::Task msg;
  msg.set_name("projects/p/locations/l/queues/q/tasks/t");
  auto* h = msg.mutable_http_request();
  h->set_url("https://example.com/x");
  h->set_http_method(pb::PUT);
  (*h->mutable_headers())["X-A"] = "1";
  h->set_body(std::string("\0\1\xff", 3));
  h->mutable_oidc_token()->set_service_account_email("sa@p.iam.gserviceaccount.com");
  msg.mutable_schedule_time()->set_seconds(1'800'000'000);
  msg.mutable_schedule_time()->set_nanos(123'456'789);  // below a microsecond is dropped, as in REST
  msg.mutable_dispatch_deadline()->set_seconds(30);
  auto t = TaskFromProto(msg, "task");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->schedule_time, 1'800'000'000'123'456);
  EXPECT_EQ(t->dispatch_deadline, 30'000'000);
  ASSERT_TRUE(t->http_request);
  EXPECT_EQ(t->http_request->http_method, HttpMethod::kPut);
  EXPECT_EQ(t->http_request->body, std::string("\0\1\xff", 3));
  EXPECT_EQ(t->http_request->headers.at("X-A"), "1");
  ASSERT_TRUE(t->http_request->oidc_token);

  pb::Task full, basic;
  TaskToProto(*t, TaskView::kFull, &full);
  TaskToProto(*t, TaskView::kBasic, &basic);
  EXPECT_EQ(full.http_request().body(), std::string("\0\1\xff", 3));
  EXPECT_EQ(full.view(), pb::Task::FULL);
  EXPECT_TRUE(basic.http_request().body().empty());
  EXPECT_EQ(basic.http_request().headers().at("X-A"), "1");
  EXPECT_EQ(basic.view(), pb::Task::BASIC);
  EXPECT_EQ(full.schedule_time().nanos(), 123'456'000);
}

TEST(GrpcConvert, AnUnspecifiedMethodIsPostAndAnEmptyRelativeUriIsTheRoot) {
  pb::Task msg;
  msg.mutable_http_request()->set_url("http://x/");
  auto t = TaskFromProto(msg, "task");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->http_request->http_method, HttpMethod::kPost);
  pb::Task ae;
  ae.mutable_app_engine_http_request();
  auto a = TaskFromProto(ae, "task");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->app_engine_http_request->relative_uri, "/");
}

TEST(GrpcConvert, TimesOutsideProtobufsRangesAreRefusedNotOverflowed) {
  pb::Task msg;
  msg.mutable_schedule_time()->set_seconds(std::numeric_limits<int64_t>::max());
  auto t = TaskFromProto(msg, "task");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(t.status().message(),
            "Invalid value at 'task.schedule_time' (type.googleapis.com/google.protobuf.Timestamp): out of range.");

  pb::Task neg;
  neg.mutable_dispatch_deadline()->set_seconds(5);
  neg.mutable_dispatch_deadline()->set_nanos(-1);  // mixed signs
  EXPECT_EQ(TaskFromProto(neg, "task").status().code(), Code::kInvalidArgument);

  pb::Queue q;
  q.mutable_retry_config()->mutable_min_backoff()->set_seconds(std::numeric_limits<int64_t>::min());
  auto r = QueueFromProto(q, "queue");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Invalid value at 'queue.retry_config.min_backoff' (type.googleapis.com/google.protobuf.Duration): out of "
            "range.");
}

TEST(GrpcConvert, EnumNumbersOutsideTheEnumAreRefusedAsRestRefusesThem) {
  pb::Task msg;
  msg.mutable_http_request()->set_url("http://x/");
  msg.mutable_http_request()->set_http_method(static_cast<pb::HttpMethod>(99));
  auto t = TaskFromProto(msg, "task");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(
      t.status().message(),
      "Invalid value at 'task.http_request.http_method' (type.googleapis.com/google.cloud.tasks.v2.HttpMethod), 99");
  pb::Queue q;
  q.set_state(static_cast<pb::Queue::State>(7));
  EXPECT_EQ(QueueFromProto(q, "queue").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ViewFromProto(0).value(), TaskView::kBasic);
  EXPECT_EQ(ViewFromProto(2).value(), TaskView::kFull);
  EXPECT_EQ(ViewFromProto(3).status().message(),
            "Invalid value at 'response_view' (type.googleapis.com/google.cloud.tasks.v2.Task.View), \"3\"");
}

TEST(GrpcConvert, MaskPathsJoinAsTheServiceReadsThem) {
  ::google::protobuf::FieldMask mask;
  EXPECT_EQ(MaskToString(mask), "");
  mask.add_paths("rate_limits.max_dispatches_per_second");
  mask.add_paths("retry_config");
  EXPECT_EQ(MaskToString(mask), "rate_limits.max_dispatches_per_second,retry_config");
}

}  // namespace
}  // namespace stratus::grpcapi
