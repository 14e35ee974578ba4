// The CLI's output and parsing helpers: terminal escaping, tables, YAML, the Prometheus text
// reader `stratus top` uses, and the queues.yaml diff of `apply --dry-run`.
#include <gtest/gtest.h>

#include "cli/metrics_text.h"
#include "cli/output.h"
#include "cli/queues_apply.h"

namespace stratus::cli {
namespace {

TEST(TerminalSafe, EscapesControlsAndKeepsText) {
  EXPECT_EQ(TerminalSafe("plain é 日本"), "plain é 日本");
  EXPECT_EQ(TerminalSafe("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(TerminalSafe("a\nb\tc\rd\x7f"), "a\\nb\\tc\\rd\\x7f");
  EXPECT_EQ(TerminalSafe("\xc2\x9b"
                         "2J"),
            "\\xc2\\x9b2J")
      << "C1 CSI";
  EXPECT_EQ(TerminalSafe("\xff\xfe"), "\\xff\\xfe") << "not UTF-8";
  EXPECT_EQ(TerminalSafe("\xc0\x9b"), "\\xc0\\x9b") << "overlong";
}

TEST(Table, PadsColumnsAndEscapesCells) {
  Table t({"A", "LONGER"});
  t.Add({"x\x1b]0;title\x07", "1"});
  t.Add({"yy", "22"});
  std::string out = t.Render();
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_EQ(out,
            "A                  LONGER\n"
            "x\\x1b]0;title\\x07  1\n"
            "yy                 22\n");
  EXPECT_EQ(t.Render(4), "A   \nx\\x1\nyy  \n");
}

TEST(Formats, JsonAndYamlEscapeControls) {
  nlohmann::json j = {{"name", "q\x1b[2J"}, {"c1", "\xc2\x9b"}, {"n", 3}, {"list", {1, "two"}}, {"empty", {}}};
  std::string json = JsonText(j);
  EXPECT_EQ(json.find('\x1b'), std::string::npos);
  EXPECT_NE(json.find("\\u001b[2J"), std::string::npos);
  EXPECT_NE(json.find("\\u009b"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(json)["c1"], "\xc2\x9b") << "still the same JSON";
  EXPECT_EQ(YamlText(j),
            "c1: \"\\u009b\"\n"
            "empty: null\n"
            "list:\n"
            "  - 1\n"
            "  - \"two\"\n"
            "n: 3\n"
            "name: \"q\\u001b[2J\"\n");
  nlohmann::json nested = {{"items", {{{"a", 1}, {"b", {{"c", true}}}}}}};
  EXPECT_EQ(YamlText(nested), "items:\n  - a: 1\n    b:\n      c: true\n");
}

TEST(MetricsText, ReadsSamplesAndLabels) {
  auto samples = ParseMetricsText(
      "# HELP stratus_queue_depth Tasks\n"
      "# TYPE stratus_queue_depth gauge\n"
      "stratus_queue_depth{queue=\"projects/p/locations/l/queues/a\"} 12\n"
      "stratus_task_attempts_failed_total{queue=\"projects/p/locations/l/queues/a\",class=\"5xx\"} 3\n"
      "stratus_task_attempts_failed_total{queue=\"projects/p/locations/l/queues/a\",class=\"timeout\"} 2\n"
      "stratus_queue_depth{queue=\"we\\\"ird\\\\\"} 1.5\n"
      "broken{queue=\"x} 1\n"
      "up 1\n");
  ASSERT_EQ(samples.size(), 5u);
  EXPECT_EQ(samples[3].labels.at("queue"), "we\"ird\\");
  EXPECT_EQ(samples[4].name, "up");
  auto by_queue = QueueSamples(samples);
  EXPECT_EQ(by_queue["projects/p/locations/l/queues/a"].depth, 12);
  EXPECT_EQ(by_queue["projects/p/locations/l/queues/a"].failed, 5) << "classes summed";
  EXPECT_EQ(by_queue["we\"ird\\"].depth, 1.5);
}

TEST(QueueDiff, ComparesByValue) {
  nlohmann::json current = {{"rateLimits", {{"maxDispatchesPerSecond", 10.0}}},
                            {"retryConfig", {{"minBackoff", "60s"}, {"maxAttempts", 3}}},
                            {"stratus", {{"permanentFailureStatuses", {400, 401, 422}}}}};
  nlohmann::json same = {{"rateLimits", {{"maxDispatchesPerSecond", 10}}},
                         {"retryConfig", {{"minBackoff", "60.000s"}}},
                         {"stratus", {{"permanentFailureStatuses", {422, 401, 400}}}}};
  EXPECT_TRUE(QueueDiff(same, current).empty());
  nlohmann::json changed = {{"retryConfig", {{"maxAttempts", 5}, {"maxDoublings", 2}}}};
  EXPECT_EQ(QueueDiff(changed, current),
            (std::vector<std::string>{"retryConfig.maxAttempts: 3 -> 5", "retryConfig.maxDoublings: (unset) -> 2"}));
}

TEST(Human, RatesAndAges) {
  EXPECT_EQ(Rate(0), "0/s");
  EXPECT_EQ(Rate(2.5), "2.5/s");
  EXPECT_EQ(Rate(1500), "1.5k/s");
  EXPECT_EQ(Age(59), "59s");
  EXPECT_EQ(Age(90), "1m30s");
  EXPECT_EQ(Age(7260), "2h01m");
  EXPECT_EQ(Age(90000), "1d01h");
}

}  // namespace
}  // namespace stratus::cli
