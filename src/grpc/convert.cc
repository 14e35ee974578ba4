#include "grpc/convert.h"

#include <google/protobuf/util/time_util.h>

namespace stratus::grpcapi {
namespace {

using ::google::protobuf::Duration;
using ::google::protobuf::Timestamp;
using ::google::protobuf::util::TimeUtil;

Status OutOfRange(std::string_view field, std::string_view type) {
  return InvalidArgument("Invalid value at '" + std::string(field) + "' (type.googleapis.com/google.protobuf." +
                         std::string(type) + "): out of range.");
}

// protobuf's own bounds (0001-01-01 to 9999-12-31, nanos 0..999999999): inside them the
// microseconds fit in an int64 with room to spare.
StatusOr<Micros> FromTimestamp(const Timestamp& t, std::string_view field) {
  if (t.seconds() < TimeUtil::kTimestampMinSeconds || t.seconds() > TimeUtil::kTimestampMaxSeconds || t.nanos() < 0 ||
      t.nanos() > 999'999'999) {
    return OutOfRange(field, "Timestamp");
  }
  return t.seconds() * 1'000'000 + t.nanos() / 1000;
}

StatusOr<Micros> FromDuration(const Duration& d, std::string_view field) {
  const bool mixed_signs = (d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0);
  if (d.seconds() < TimeUtil::kDurationMinSeconds || d.seconds() > TimeUtil::kDurationMaxSeconds ||
      d.nanos() < -999'999'999 || d.nanos() > 999'999'999 || mixed_signs) {
    return OutOfRange(field, "Duration");
  }
  return d.seconds() * 1'000'000 + d.nanos() / 1000;
}

void ToTimestamp(Micros us, Timestamp* out) {
  int64_t s = us / 1'000'000;
  int64_t rem = us % 1'000'000;
  if (rem < 0) {
    rem += 1'000'000;
    --s;
  }
  out->set_seconds(s);
  out->set_nanos(static_cast<int32_t>(rem * 1000));
}

void ToDuration(Micros us, Duration* out) {
  out->set_seconds(us / 1'000'000);
  out->set_nanos(static_cast<int32_t>((us % 1'000'000) * 1000));
}

std::string Path(std::string_view parent, std::string_view field) {
  return std::string(parent) + "." + std::string(field);
}

AppEngineRouting RoutingFromProto(const pb::AppEngineRouting& r) {
  return AppEngineRouting{r.service(), r.version(), r.instance(), r.host()};
}

void RoutingToProto(const AppEngineRouting& r, pb::AppEngineRouting* out) {
  out->set_service(r.service);
  out->set_version(r.version);
  out->set_instance(r.instance);
  out->set_host(r.host);
}

// proto3 enums are open: a number outside the enum arrives as it was sent. REST refuses it
// in the same words (common/json.cc InvalidValue).
Status CheckEnum(int value, int max, std::string_view field, std::string_view type) {
  if (value >= 0 && value <= max) return Status::Ok();
  return InvalidArgument("Invalid value at '" + std::string(field) + "' (type.googleapis.com/" + std::string(type) +
                         "), " + std::to_string(value));
}

constexpr char kMethodType[] = "google.cloud.tasks.v2.HttpMethod";

// A task's http_method: HTTP_METHOD_UNSPECIFIED leaves the default, POST.
StatusOr<HttpMethod> TaskMethod(int m, std::string_view field) {
  STRATUS_RETURN_IF_ERROR(CheckEnum(m, 7, field, kMethodType));
  return m == 0 ? HttpMethod::kPost : static_cast<HttpMethod>(m);
}

StatusOr<Attempt> AttemptFromProto(const pb::Attempt& a, const std::string& field) {
  Attempt out;
  if (a.has_schedule_time()) {
    STRATUS_ASSIGN_OR_RETURN(out.schedule_time, FromTimestamp(a.schedule_time(), Path(field, "schedule_time")));
  }
  if (a.has_dispatch_time()) {
    STRATUS_ASSIGN_OR_RETURN(out.dispatch_time, FromTimestamp(a.dispatch_time(), Path(field, "dispatch_time")));
  }
  if (a.has_response_time()) {
    STRATUS_ASSIGN_OR_RETURN(out.response_time, FromTimestamp(a.response_time(), Path(field, "response_time")));
  }
  if (a.has_response_status()) {
    const int c = a.response_status().code();
    out.response_status = (c <= 0 || c > 16) ? Status() : Status(static_cast<Code>(c), a.response_status().message());
  }
  return out;
}

void AttemptToProto(const Attempt& a, pb::Attempt* out) {
  if (a.schedule_time) ToTimestamp(a.schedule_time, out->mutable_schedule_time());
  if (a.dispatch_time) ToTimestamp(a.dispatch_time, out->mutable_dispatch_time());
  if (a.response_time) ToTimestamp(a.response_time, out->mutable_response_time());
  if (a.response_status) {
    auto* s = out->mutable_response_status();
    s->set_code(static_cast<int32_t>(a.response_status->code()));
    s->set_message(a.response_status->message());
  }
}

}  // namespace

StatusOr<Queue> QueueFromProto(const pb::Queue& in, std::string_view field) {
  Queue q;
  // Zero means "unset" in proto3, as in QueueFromJson: ApplyQueueDefaults fills these.
  q.rate_limits = RateLimits{0, 0, 0};
  q.retry_config = RetryConfig{0, 0, 0, 0, 0};
  q.name = in.name();
  if (in.has_rate_limits()) {
    const auto& r = in.rate_limits();
    q.rate_limits = RateLimits{r.max_dispatches_per_second(), r.max_burst_size(), r.max_concurrent_dispatches()};
  }
  if (in.has_retry_config()) {
    const auto& r = in.retry_config();
    const std::string at = Path(field, "retry_config");
    RetryConfig& c = q.retry_config;
    c.max_attempts = r.max_attempts();
    c.max_doublings = r.max_doublings();
    if (r.has_max_retry_duration()) {
      STRATUS_ASSIGN_OR_RETURN(c.max_retry_duration,
                               FromDuration(r.max_retry_duration(), Path(at, "max_retry_duration")));
    }
    if (r.has_min_backoff()) {
      STRATUS_ASSIGN_OR_RETURN(c.min_backoff, FromDuration(r.min_backoff(), Path(at, "min_backoff")));
    }
    if (r.has_max_backoff()) {
      STRATUS_ASSIGN_OR_RETURN(c.max_backoff, FromDuration(r.max_backoff(), Path(at, "max_backoff")));
    }
  }
  STRATUS_RETURN_IF_ERROR(CheckEnum(in.state(), 3, Path(field, "state"), "google.cloud.tasks.v2.Queue.State"));
  q.state = static_cast<QueueState>(in.state());
  if (in.has_purge_time()) {
    STRATUS_ASSIGN_OR_RETURN(q.purge_time, FromTimestamp(in.purge_time(), Path(field, "purge_time")));
  }
  if (in.has_stackdriver_logging_config()) q.logging_sampling_ratio = in.stackdriver_logging_config().sampling_ratio();
  if (in.has_app_engine_routing_override())
    q.app_engine_routing_override = RoutingFromProto(in.app_engine_routing_override());
  return q;
}

void QueueToProto(const Queue& q, pb::Queue* out) {
  out->set_name(q.name);
  if (q.app_engine_routing_override)
    RoutingToProto(*q.app_engine_routing_override, out->mutable_app_engine_routing_override());
  auto* rate = out->mutable_rate_limits();
  rate->set_max_dispatches_per_second(q.rate_limits.max_dispatches_per_second);
  rate->set_max_burst_size(q.rate_limits.max_burst_size);
  rate->set_max_concurrent_dispatches(q.rate_limits.max_concurrent_dispatches);
  auto* retry = out->mutable_retry_config();
  retry->set_max_attempts(q.retry_config.max_attempts);
  if (q.retry_config.max_retry_duration)
    ToDuration(q.retry_config.max_retry_duration, retry->mutable_max_retry_duration());
  ToDuration(q.retry_config.min_backoff, retry->mutable_min_backoff());
  ToDuration(q.retry_config.max_backoff, retry->mutable_max_backoff());
  retry->set_max_doublings(q.retry_config.max_doublings);
  out->set_state(static_cast<pb::Queue::State>(q.state));
  if (q.purge_time) ToTimestamp(*q.purge_time, out->mutable_purge_time());
  if (q.logging_sampling_ratio)
    out->mutable_stackdriver_logging_config()->set_sampling_ratio(*q.logging_sampling_ratio);
}

StatusOr<Task> TaskFromProto(const pb::Task& in, std::string_view field) {
  Task t;
  t.name = in.name();
  if (in.has_schedule_time()) {
    STRATUS_ASSIGN_OR_RETURN(t.schedule_time, FromTimestamp(in.schedule_time(), Path(field, "schedule_time")));
  }
  if (in.has_create_time()) {
    STRATUS_ASSIGN_OR_RETURN(t.create_time, FromTimestamp(in.create_time(), Path(field, "create_time")));
  }
  if (in.has_dispatch_deadline()) {
    STRATUS_ASSIGN_OR_RETURN(t.dispatch_deadline,
                             FromDuration(in.dispatch_deadline(), Path(field, "dispatch_deadline")));
  }
  STRATUS_RETURN_IF_ERROR(CheckEnum(in.view(), 2, Path(field, "view"), "google.cloud.tasks.v2.Task.View"));
  t.dispatch_count = in.dispatch_count();
  t.response_count = in.response_count();
  if (in.has_http_request()) {
    const auto& r = in.http_request();
    HttpRequest h;
    h.url = r.url();
    STRATUS_ASSIGN_OR_RETURN(h.http_method, TaskMethod(r.http_method(), Path(field, "http_request.http_method")));
    h.headers.insert(r.headers().begin(), r.headers().end());
    h.body = r.body();
    if (r.has_oidc_token()) h.oidc_token = OidcToken{r.oidc_token().service_account_email(), r.oidc_token().audience()};
    if (r.has_oauth_token())
      h.oauth_token = OAuthToken{r.oauth_token().service_account_email(), r.oauth_token().scope()};
    t.http_request = std::move(h);
  }
  if (in.has_app_engine_http_request()) {
    const auto& r = in.app_engine_http_request();
    AppEngineHttpRequest a;
    STRATUS_ASSIGN_OR_RETURN(a.http_method,
                             TaskMethod(r.http_method(), Path(field, "app_engine_http_request.http_method")));
    if (r.has_app_engine_routing()) a.app_engine_routing = RoutingFromProto(r.app_engine_routing());
    if (!r.relative_uri().empty()) a.relative_uri = r.relative_uri();  // empty keeps the default, "/"
    a.headers.insert(r.headers().begin(), r.headers().end());
    a.body = r.body();
    t.app_engine_http_request = std::move(a);
  }
  if (in.has_first_attempt()) {
    STRATUS_ASSIGN_OR_RETURN(t.first_attempt, AttemptFromProto(in.first_attempt(), Path(field, "first_attempt")));
  }
  if (in.has_last_attempt()) {
    STRATUS_ASSIGN_OR_RETURN(t.last_attempt, AttemptFromProto(in.last_attempt(), Path(field, "last_attempt")));
  }
  return t;
}

void TaskToProto(const Task& t, TaskView view, pb::Task* out) {
  const bool full = view == TaskView::kFull;
  out->set_name(t.name);
  if (t.app_engine_http_request) {
    const auto& r = *t.app_engine_http_request;
    auto* a = out->mutable_app_engine_http_request();
    a->set_http_method(static_cast<pb::HttpMethod>(r.http_method));
    if (r.app_engine_routing) RoutingToProto(*r.app_engine_routing, a->mutable_app_engine_routing());
    a->set_relative_uri(r.relative_uri);
    a->mutable_headers()->insert(r.headers.begin(), r.headers.end());
    if (full) a->set_body(r.body);
  }
  if (t.http_request) {
    const auto& r = *t.http_request;
    auto* h = out->mutable_http_request();
    h->set_url(r.url);
    h->set_http_method(static_cast<pb::HttpMethod>(r.http_method));
    h->mutable_headers()->insert(r.headers.begin(), r.headers.end());
    if (full) h->set_body(r.body);
    if (r.oauth_token) {
      h->mutable_oauth_token()->set_service_account_email(r.oauth_token->service_account_email);
      h->mutable_oauth_token()->set_scope(r.oauth_token->scope);
    }
    if (r.oidc_token) {
      h->mutable_oidc_token()->set_service_account_email(r.oidc_token->service_account_email);
      h->mutable_oidc_token()->set_audience(r.oidc_token->audience);
    }
  }
  ToTimestamp(t.schedule_time, out->mutable_schedule_time());
  ToTimestamp(t.create_time, out->mutable_create_time());
  if (t.dispatch_deadline) ToDuration(t.dispatch_deadline, out->mutable_dispatch_deadline());
  out->set_dispatch_count(t.dispatch_count);
  out->set_response_count(t.response_count);
  if (t.first_attempt) AttemptToProto(*t.first_attempt, out->mutable_first_attempt());
  if (t.last_attempt) AttemptToProto(*t.last_attempt, out->mutable_last_attempt());
  out->set_view(full ? pb::Task::FULL : pb::Task::BASIC);
}

StatusOr<TaskView> ViewFromProto(int view) {
  if (view == 0 || view == 1) return TaskView::kBasic;
  if (view == 2) return TaskView::kFull;
  return InvalidArgument("Invalid value at 'response_view' (type.googleapis.com/google.cloud.tasks.v2.Task.View), \"" +
                         std::to_string(view) + "\"");
}

std::string MaskToString(const ::google::protobuf::FieldMask& mask) {
  std::string out;
  for (const std::string& p : mask.paths()) {
    if (!out.empty()) out += ',';
    out += p;
  }
  return out;
}

}  // namespace stratus::grpcapi
