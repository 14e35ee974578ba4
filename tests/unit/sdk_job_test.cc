// The job endpoint's pure parts: how failures are classified and how log fields are redacted.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stratus/sdk/job_server.h"
#include "stratus/sdk/log.h"

namespace stratus::sdk {
namespace {

using Kind = JobResult::Kind;
using std::chrono::seconds;

TEST(JobResult, FromHttpStatusClassifiesDownstreamAnswers) {
  struct Case {
    int status;
    Kind kind;
  };
  const std::vector<Case> cases = {
      {400, Kind::kPermanent}, {401, Kind::kPermanent}, {403, Kind::kPermanent}, {404, Kind::kPermanent},
      {408, Kind::kRetryable}, {409, Kind::kPermanent}, {422, Kind::kPermanent}, {429, Kind::kRetryable},
      {500, Kind::kRetryable}, {502, Kind::kRetryable}, {503, Kind::kRetryable}, {504, Kind::kRetryable},
  };
  for (const Case& c : cases) {
    JobResult r = JobResult::FromHttpStatus(c.status, "downstream said " + std::to_string(c.status));
    EXPECT_EQ(r.kind, c.kind) << c.status;
    EXPECT_EQ(r.error, "downstream said " + std::to_string(c.status)) << c.status;
  }
}

TEST(JobResult, FromHttpStatusKeepsRetryAfterForRetryableOnly) {
  EXPECT_EQ(JobResult::FromHttpStatus(429, "slow down", seconds(7)).retry_after, seconds(7));
  EXPECT_EQ(JobResult::FromHttpStatus(503, "busy", seconds(2)).retry_after, seconds(2));
  EXPECT_FALSE(JobResult::FromHttpStatus(404, "gone", seconds(2)).retry_after.has_value());
}

TEST(JobResult, FactoriesFillTheirFields) {
  JobResult ok = JobResult::Ok({{"n", 1}});
  EXPECT_EQ(ok.kind, Kind::kOk);
  EXPECT_EQ(ok.result, (nlohmann::json{{"n", 1}}));
  EXPECT_EQ(JobResult::Ok().result, nlohmann::json::object());
  JobResult retry = JobResult::Retry("later", seconds(3));
  EXPECT_EQ(retry.kind, Kind::kRetryable);
  EXPECT_EQ(retry.error, "later");
  EXPECT_EQ(retry.retry_after, seconds(3));
  JobResult permanent = JobResult::Permanent("never");
  EXPECT_EQ(permanent.kind, Kind::kPermanent);
  EXPECT_EQ(permanent.error, "never");
}

template <typename E>
JobResult ClassifyThrown(const E& e) {
  try {
    throw e;
  } catch (...) {
    return ClassifyException(std::current_exception());
  }
}

TEST(ClassifyException, RetryableErrorIsRetryableWithItsRetryAfter) {
  JobResult r = ClassifyThrown(RetryableError("rate limited", seconds(30)));
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.error, "rate limited");
  EXPECT_EQ(r.retry_after, seconds(30));
}

TEST(ClassifyException, PermanentErrorIsPermanent) {
  JobResult r = ClassifyThrown(PermanentError("bad input"));
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_EQ(r.error, "bad input");
}

TEST(ClassifyException, NetworkErrorIsRetryable) {
  JobResult r = ClassifyThrown(NetworkError("connection reset"));
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.error, "connection reset");
}

TEST(ClassifyException, DownstreamHttpErrorFollowsItsStatus) {
  EXPECT_EQ(ClassifyThrown(DownstreamHttpError(404, "no such user")).kind, Kind::kPermanent);
  EXPECT_EQ(ClassifyThrown(DownstreamHttpError(422, "invalid")).kind, Kind::kPermanent);
  EXPECT_EQ(ClassifyThrown(DownstreamHttpError(408, "timeout")).kind, Kind::kRetryable);
  EXPECT_EQ(ClassifyThrown(DownstreamHttpError(500, "oops")).kind, Kind::kRetryable);
  JobResult throttled = ClassifyThrown(DownstreamHttpError(429, "slow down", seconds(9)));
  EXPECT_EQ(throttled.kind, Kind::kRetryable);
  EXPECT_EQ(throttled.retry_after, seconds(9));
  EXPECT_EQ(throttled.error, "slow down");
}

TEST(ClassifyException, AnythingElseIsRetryable) {
  JobResult r = ClassifyThrown(std::runtime_error("surprise"));
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.error, "surprise");
  EXPECT_EQ(ClassifyThrown(42).kind, Kind::kRetryable);
}

TEST(Redact, ReplacesSecretValuesAtAnyDepth) {
  const nlohmann::json in = {
      {"user", "ada"},
      {"password", "hunter2"},
      {"apiKey", "k-123"},
      {"Authorization", "Bearer abc"},
      {"nested", {{"client_secret", "s3"}, {"count", 3}, {"deeper", {{"refresh_token", {{"a", 1}}}}}}},
      {"list", {{{"API_KEY", "x"}, {"name", "n"}}, "plain", {{"SessionToken", 5}}}},
  };
  const nlohmann::json want = {
      {"user", "ada"},
      {"password", "[REDACTED]"},
      {"apiKey", "[REDACTED]"},
      {"Authorization", "[REDACTED]"},
      {"nested", {{"client_secret", "[REDACTED]"}, {"count", 3}, {"deeper", {{"refresh_token", "[REDACTED]"}}}}},
      {"list", {{{"API_KEY", "[REDACTED]"}, {"name", "n"}}, "plain", {{"SessionToken", "[REDACTED]"}}}},
  };
  EXPECT_EQ(Redact(in), want);
}

TEST(Redact, LeavesOtherValuesAlone) {
  const nlohmann::json in = {{"job", "send-email"}, {"task", "t1"}, {"secretary", nullptr}, {"keys", {1, 2}}};
  nlohmann::json out = Redact(in);
  EXPECT_EQ(out["job"], "send-email");
  EXPECT_EQ(out["task"], "t1");
  EXPECT_EQ(out["keys"], (nlohmann::json{1, 2}));
  EXPECT_EQ(out["secretary"], "[REDACTED]");  // contains "secret": redacted, erring on the safe side
  EXPECT_EQ(Redact(nlohmann::json("token")), nlohmann::json("token"));  // a value, not a key
}

TEST(Logger, WritesOneRedactedJsonLine) {
  std::vector<std::string> lines;
  Logger logger([&](std::string_view line) { lines.emplace_back(line); });
  logger.Warn("job request", {{"job", "j"}, {"token", "abc"}, {"msg", "shadow"}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], "job request");
  EXPECT_EQ(j["job"], "j");
  EXPECT_EQ(j["token"], "[REDACTED]");
  EXPECT_EQ(j["field.msg"], "shadow");
  EXPECT_TRUE(j["ts"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(lines[0].rfind(R"({"ts":)", 0), 0u);
  logger.Info("empty");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["level"], "info");
}

}  // namespace
}  // namespace stratus::sdk
