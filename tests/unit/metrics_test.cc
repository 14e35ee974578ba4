// The metric primitives (common/metrics.h), the engine's families (tasks/engine/metrics.h)
// and the bounded label sets of the API and Redis metrics, rendered in Prometheus text format.
#include <gtest/gtest.h>

#include <string>

#include "api/redis/metrics.h"
#include "api/request_metrics.h"
#include "common/metrics.h"
#include "tasks/engine/metrics.h"

namespace stratus {
namespace {

size_t Occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The value of the sample line that starts with `series` + " ", or -1.
double Sample(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return text.rfind(series + " ", 0) == 0 ? std::stod(text.substr(series.size())) : -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(MetricsHistogramTest, AlertThresholdsAreInclusiveBounds) {
  metrics::Histogram h;
  for (double v : {0.0005, 30.0, 30.0001, 60.0, 61.0, 1e9}) h.Observe(v);
  std::string out;
  metrics::AppendHistogram(&out, "x_seconds", metrics::Label("queue", "q"), h);
  EXPECT_EQ(Sample(out, "x_seconds_bucket{queue=\"q\",le=\"0.001\"}"), 1) << out;
  EXPECT_EQ(Sample(out, "x_seconds_bucket{queue=\"q\",le=\"15\"}"), 1) << out;
  EXPECT_EQ(Sample(out, "x_seconds_bucket{queue=\"q\",le=\"30\"}"), 2) << out;    // 30 itself is <= 30
  EXPECT_EQ(Sample(out, "x_seconds_bucket{queue=\"q\",le=\"60\"}"), 4) << out;    // 30.0001 and 60
  EXPECT_EQ(Sample(out, "x_seconds_bucket{queue=\"q\",le=\"1800\"}"), 5) << out;  // 61
  EXPECT_EQ(Sample(out, "x_seconds_bucket{queue=\"q\",le=\"+Inf\"}"), 6) << out;
  EXPECT_EQ(Sample(out, "x_seconds_count{queue=\"q\"}"), 6) << out;
  EXPECT_NEAR(Sample(out, "x_seconds_sum{queue=\"q\"}"), 0.0005 + 30 + 30.0001 + 60 + 61 + 1e9, 1e-3);
  EXPECT_EQ(Occurrences(out, "_bucket{"), metrics::kSecondsBuckets.size() + 1);
}

TEST(MetricsHistogramTest, OtherBoundsAndNoLabels) {
  static constexpr std::array<double, 3> kBounds = {1, 2, 4};
  metrics::Histogram h(kBounds);
  h.Observe(1);
  h.Observe(3);
  std::string out;
  metrics::AppendHistogram(&out, "w", "", h);
  EXPECT_EQ(out,
            "w_bucket{le=\"1\"} 1\nw_bucket{le=\"2\"} 1\nw_bucket{le=\"4\"} 2\nw_bucket{le=\"+Inf\"} 2\n"
            "w_sum 4\nw_count 2\n");
}

TEST(MetricsFormatTest, NumbersReadBackExactly) {
  EXPECT_EQ(metrics::FormatNumber(1234567), "1234567");
  EXPECT_EQ(metrics::FormatNumber(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(metrics::FormatNumber(0.1), "0.1");
  EXPECT_EQ(metrics::FormatNumber(0.0025), "0.0025");
  EXPECT_EQ(metrics::FormatNumber(-2), "-2");
  EXPECT_EQ(metrics::FormatNumber(1.0 / 0.0), "+Inf");
  EXPECT_EQ(metrics::FormatNumber(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(metrics::FormatNumber(0.0 / 0.0), "NaN");
}

TEST(MetricsFormatTest, LabelValuesAndHelpAreEscaped) {
  EXPECT_EQ(metrics::Label("queue", "a\"b\\c\nd"), "queue=\"a\\\"b\\\\c\\nd\"");
  std::string out;
  metrics::AppendFamily(&out, "f", "counter", "line\\one\ntwo");
  EXPECT_EQ(out, "# HELP f line\\\\one\\ntwo\n# TYPE f counter\n");
}

TEST(EngineMetricsTest, CountersPastAMillionStayExact) {
  Metrics m;
  m.Count("stratus_tasks_created_total", "projects/p/locations/l/queues/q", {}, 1234567);
  std::string text = m.Render();
  EXPECT_NE(text.find("stratus_tasks_created_total{queue=\"projects/p/locations/l/queues/q\"} 1234567\n"),
            std::string::npos)
      << text;
}

TEST(EngineMetricsTest, AQueueStartsWithItsCountersAtZero) {
  Metrics m;
  m.Count("stratus_tasks_dead_lettered_total", "q", {}, 2);
  m.AddQueue("q");  // keeps what was counted
  m.AddQueue("q2");
  std::string text = m.Render();
  EXPECT_EQ(Sample(text, "stratus_tasks_dead_lettered_total{queue=\"q\"}"), 2) << text;
  EXPECT_EQ(Sample(text, "stratus_tasks_dead_lettered_total{queue=\"q2\"}"), 0) << text;
  EXPECT_EQ(Sample(text, "stratus_tasks_created_total{queue=\"q2\"}"), 0) << text;
  for (const char* c : {"3xx", "4xx", "5xx", "timeout", "connection"}) {
    EXPECT_EQ(Sample(text, std::string("stratus_task_attempts_failed_total{queue=\"q2\",class=\"") + c + "\"}"), 0)
        << c;
  }
  EXPECT_EQ(Occurrences(text, "# TYPE stratus_task_attempts_failed_total "), 1u);
}

TEST(EngineMetricsTest, OneHelpAndTypePerFamilyAndSourcesAppended) {
  Metrics m;
  m.Count("stratus_tasks_created_total", "q1");
  m.Count("stratus_tasks_created_total", "q2");
  m.Count("stratus_task_attempts_failed_total", "q1", "5xx");
  m.Count("stratus_task_attempts_failed_total", "q1", "timeout");
  m.Observe("stratus_attempt_duration_seconds", "q1", 0.2);
  m.Observe("stratus_attempt_duration_seconds", "q2", 45);
  m.Observe("stratus_dispatch_lateness_seconds", "q\"x", 0.01);
  m.SetGaugeSource([](std::vector<Metrics::Gauge>* out) {
    out->push_back({"stratus_queue_depth", "q1", 3});
    out->push_back({"stratus_queue_depth", "q2", 0});
  });
  m.AddSource([](std::string* out) {
    metrics::AppendFamily(out, "extra_total", "counter", "an extra family");
    metrics::AppendSample(out, "extra_total", "", 7);
  });
  std::string text = m.Render();
  for (const char* family :
       {"stratus_tasks_created_total", "stratus_task_attempts_failed_total", "stratus_attempt_duration_seconds",
        "stratus_dispatch_lateness_seconds", "stratus_queue_depth", "extra_total"}) {
    EXPECT_EQ(Occurrences(text, std::string("# HELP ") + family + " "), 1u) << family << "\n" << text;
    EXPECT_EQ(Occurrences(text, std::string("# TYPE ") + family + " "), 1u) << family << "\n" << text;
  }
  EXPECT_NE(text.find("# TYPE stratus_attempt_duration_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE stratus_queue_depth gauge\n"), std::string::npos);
  EXPECT_EQ(Sample(text, "stratus_task_attempts_failed_total{queue=\"q1\",class=\"timeout\"}"), 1);
  EXPECT_EQ(Sample(text, "stratus_attempt_duration_seconds_bucket{queue=\"q2\",le=\"30\"}"), 0);
  EXPECT_EQ(Sample(text, "stratus_attempt_duration_seconds_bucket{queue=\"q2\",le=\"60\"}"), 1);
  EXPECT_EQ(Sample(text, "stratus_dispatch_lateness_seconds_count{queue=\"q\\\"x\"}"), 1) << text;
  EXPECT_EQ(Sample(text, "stratus_queue_depth{queue=\"q1\"}"), 3);
  EXPECT_EQ(Sample(text, "extra_total"), 7) << text;
  EXPECT_EQ(text.back(), '\n');
}

TEST(RequestMetricsTest, RpcNamesForRoutes) {
  EXPECT_EQ(api::RpcName("tasks.create"), "CreateTask");
  EXPECT_EQ(api::RpcName("queues.patch"), "UpdateQueue");
  EXPECT_EQ(api::RpcName("locations.list.v1"), "ListLocations");
  EXPECT_EQ(api::RpcName("stratus.deadLetters.retryAll"), "RetryAllDeadLetters");
  EXPECT_EQ(api::RpcName("admin.metrics"), "GetMetrics");
  EXPECT_EQ(api::RpcName("some.new.route"), "some.new.route");
}

TEST(RedisMetricsTest, KnownCommandsCaseFoldedOthersBounded) {
  api::redis::RedisMetrics m;
  m.Count("GET", false);
  m.Count("get", false);
  m.Count("Set", true);
  m.Count("nosuchcommand", true);
  m.Count(std::string(100, 'g'), false);
  m.Count("", true);
  EXPECT_EQ(m.LabelOf("HSET"), "hset");
  EXPECT_EQ(m.LabelOf("hsetx"), "other");
  std::string out;
  m.AppendMetrics(&out);
  EXPECT_EQ(Sample(out, "stratus_redis_commands_total{command=\"get\"}"), 2) << out;
  EXPECT_EQ(Sample(out, "stratus_redis_commands_total{command=\"set\"}"), 1) << out;
  EXPECT_EQ(Sample(out, "stratus_redis_commands_total{command=\"other\"}"), 3) << out;
  EXPECT_EQ(Sample(out, "stratus_redis_command_errors_total{command=\"set\"}"), 1) << out;
  EXPECT_EQ(Sample(out, "stratus_redis_command_errors_total{command=\"other\"}"), 2) << out;
  EXPECT_EQ(Sample(out, "stratus_redis_command_errors_total{command=\"get\"}"), -1) << out;  // never failed
  EXPECT_EQ(out.find("nosuchcommand"), std::string::npos);
  EXPECT_EQ(Occurrences(out, "# TYPE "), 2u);
}

}  // namespace
}  // namespace stratus
