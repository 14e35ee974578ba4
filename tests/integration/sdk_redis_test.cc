// The SDK's Upstash REST side (HttpRedis, Cache, SlidingWindowRateLimiter,
// IdempotencyManager) against the real stratus binary: its embedded engine with and without
// base64 replies, and its proxy mode in front of a real redis-server.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "integration/redis_test_server.h"
#include "integration/stratus_process.h"
#include "stratus/sdk/cache.h"
#include "stratus/sdk/idempotency.h"
#include "stratus/sdk/rate_limiter.h"
#include "stratus/sdk/redis.h"

namespace stratus::sdk {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;
using State = IdempotencyClaim::State;

constexpr char kToken[] = "t0ken";
// Non-ASCII, newlines and JSON escapes: what must survive both reply encodings.
const std::string kAwkward = "h\xc3\xa9llo\nw\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac\r\n\t\"q\" \\";

template <typename T>
T ValueOf(StatusOr<T> s, const char* expr) {
  if (!s.ok()) {
    ADD_FAILURE() << expr << ": " << s.status().ToString();
    return T{};
  }
  return std::move(s).value();
}
#define VALUE(expr) ValueOf((expr), #expr)
#define EXPECT_OK(expr)                                       \
  do {                                                        \
    ::stratus::Status st_ = (expr);                           \
    EXPECT_TRUE(st_.ok()) << #expr << ": " << st_.ToString(); \
  } while (0)

std::unique_ptr<HttpRedis> Connect(const std::string& url, bool base64, std::string token = kToken) {
  RedisOptions options;
  options.url = url;
  options.token = std::move(token);
  options.base64 = base64;
  options.max_retries = 3;
  options.retry_base = 20ms;
  auto redis = HttpRedis::Create(options);
  EXPECT_TRUE(redis.ok()) << redis.status().ToString();
  return redis.ok() ? std::move(redis).value() : nullptr;
}

// A REST URL where nothing listens.
std::string UnreachableUrl() {
  return "http://127.0.0.1:" + std::to_string(testing::FreePort());
}

// Keys of each test run live under their own prefix, so one server serves all tests, and
// --gtest_repeat too.
std::string TestPrefix() {
  static std::atomic<int> runs{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(info->test_suite_name()) + "." + info->name() + "#" + std::to_string(++runs) + ":";
}

int64_t Ttl(HttpRedis& redis, const std::string& key, const char* command = "TTL") {
  auto reply = VALUE(redis.Command({command, key}));
  return reply.is_number_integer() ? reply.get<int64_t>() : -100;
}

// --- Scenarios, run against the embedded engine and through the proxy -------------------

void CheckStringsAndKeys(HttpRedis& r, const std::string& p) {
  EXPECT_OK(r.Set(p + "s", kAwkward));
  EXPECT_EQ(VALUE(r.Get(p + "s")), std::optional<std::string>(kAwkward));
  EXPECT_EQ(VALUE(r.Get(p + "missing")), std::nullopt);

  EXPECT_OK(r.Set(p + "px", "v", 1500ms));
  int64_t pttl = Ttl(r, p + "px", "PTTL");
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 1500);

  EXPECT_TRUE(VALUE(r.SetNx(p + "nx", "first")));
  EXPECT_FALSE(VALUE(r.SetNx(p + "nx", "second")));
  EXPECT_EQ(VALUE(r.Get(p + "nx")), std::optional<std::string>("first"));
  EXPECT_TRUE(VALUE(r.SetNx(p + "nx-ttl", "v", 10s)));
  EXPECT_GT(Ttl(r, p + "nx-ttl", "PTTL"), 0);

  EXPECT_EQ(VALUE(r.Exists({p + "s", p + "nx", p + "missing"})), 2);
  EXPECT_EQ(VALUE(r.Del({p + "s", p + "missing"})), 1);
  EXPECT_EQ(VALUE(r.Exists({p + "s"})), 0);
  EXPECT_EQ(VALUE(r.Del({})), 0);

  EXPECT_EQ(VALUE(r.Incr(p + "n")), 1);
  EXPECT_EQ(VALUE(r.Incr(p + "n")), 2);
  EXPECT_TRUE(VALUE(r.Expire(p + "n", 100s)));
  EXPECT_GT(Ttl(r, p + "n"), 90);
  EXPECT_FALSE(VALUE(r.Expire(p + "missing", 100s)));
}

void CheckSortedSets(HttpRedis& r, const std::string& p) {
  const std::string z = p + "z";
  EXPECT_EQ(VALUE(r.ZAdd(z, 1, "a")), 1);
  EXPECT_EQ(VALUE(r.ZAdd(z, 2.5, "b")), 1);
  EXPECT_EQ(VALUE(r.ZAdd(z, 1732270000123.0, kAwkward)), 1);
  EXPECT_EQ(VALUE(r.ZAdd(z, 1.5, "a")), 0);  // an update, not an addition
  EXPECT_EQ(VALUE(r.Command({"ZSCORE", z, kAwkward})), Json("1732270000123"));
  EXPECT_EQ(VALUE(r.Command({"ZRANGE", z, "0", "-1"})), Json({"a", "b", kAwkward}));
  EXPECT_EQ(VALUE(r.ZCard(z)), 3);
  EXPECT_EQ(VALUE(r.ZRemRangeByScore(z, "-inf", "(2.5")), 1);
  EXPECT_EQ(VALUE(r.ZCard(z)), 2);
  EXPECT_EQ(VALUE(r.ZRemRangeByScore(z, "2.5", "+inf")), 2);
  EXPECT_EQ(VALUE(r.ZCard(z)), 0);
}

void CheckRawCommandsAndErrors(HttpRedis& r, const std::string& p) {
  EXPECT_EQ(VALUE(r.Command({"PING"})), Json("PONG"));
  EXPECT_OK(r.Command({"MSET", p + "m1", kAwkward, p + "m2", "plain"}).status());
  EXPECT_EQ(VALUE(r.Command({"MGET", p + "m1", p + "none", p + "m2"})), Json({kAwkward, nullptr, "plain"}));

  auto not_int = r.Incr(p + "m1");
  EXPECT_EQ(not_int.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(not_int.status().message(), "ERR value is not an integer or out of range");
  auto wrong_type = r.ZCard(p + "m1");
  EXPECT_EQ(wrong_type.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(wrong_type.status().message().rfind("WRONGTYPE", 0), 0u) << wrong_type.status().message();
  EXPECT_EQ(r.Command({"NOSUCHCOMMAND", "x"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.Command({}).status().code(), Code::kInvalidArgument);
}

// More keys than one SCAN page (COUNT 100), with a neighbour that must survive.
void CheckDeletePattern(HttpRedis& r, const std::string& p) {
  std::vector<RedisCommand> sets;
  for (int i = 0; i < 250; ++i) sets.push_back({"SET", p + "dp:" + kAwkward + std::to_string(i), "v"});
  auto replies = VALUE(r.Pipeline(sets));
  EXPECT_EQ(replies.size(), sets.size());
  EXPECT_OK(r.Set(p + "dpx", "keep"));
  EXPECT_EQ(VALUE(r.DeletePattern(p + "dp:*")), 250);
  EXPECT_EQ(VALUE(r.Exists({sets[0][1], sets[249][1]})), 0);
  EXPECT_EQ(VALUE(r.Get(p + "dpx")), std::optional<std::string>("keep"));
  EXPECT_EQ(VALUE(r.DeletePattern(p + "dp:*")), 0);
}

void CheckPipeline(HttpRedis& r, const std::string& p) {
  const std::string k = p + "pipe";
  auto replies = VALUE(r.Pipeline({{"SET", k, kAwkward}, {"INCR", k}, {"GET", k}, {"ZCARD", k}, {"GET", p + "no"}}));
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(VALUE(std::move(replies[0])), Json("OK"));
  EXPECT_EQ(replies[1].status().code(), Code::kInvalidArgument);
  EXPECT_EQ(replies[1].status().message(), "ERR value is not an integer or out of range");
  EXPECT_EQ(VALUE(std::move(replies[2])), Json(kAwkward));
  EXPECT_EQ(replies[3].status().message().rfind("WRONGTYPE", 0), 0u);
  EXPECT_EQ(VALUE(std::move(replies[4])), Json(nullptr));
  EXPECT_TRUE(VALUE(r.Pipeline({})).empty());
}

void CheckMultiExec(HttpRedis& r, const std::string& p) {
  const std::string c = p + "counter";
  auto replies = VALUE(r.MultiExec({{"INCR", c}, {"INCR", c}, {"GET", c}}));
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(VALUE(std::move(replies[0])), Json(1));
  EXPECT_EQ(VALUE(std::move(replies[1])), Json(2));
  EXPECT_EQ(VALUE(std::move(replies[2])), Json("2"));

  // A runtime error stays with its command; the others run.
  const std::string s = p + "tx-str";
  replies = VALUE(r.MultiExec({{"SET", s, kAwkward}, {"INCR", s}, {"GET", s}}));
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_TRUE(replies[0].ok());
  EXPECT_EQ(replies[1].status().code(), Code::kInvalidArgument);
  EXPECT_EQ(VALUE(std::move(replies[2])), Json(kAwkward));

  // A queue-time error refuses the whole transaction: nothing runs.
  auto refused = r.MultiExec({{"SET", p + "tx-none", "v"}, {"NOSUCHCOMMAND"}});
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("EXECABORT"), std::string::npos) << refused.status().message();
  EXPECT_EQ(VALUE(r.Exists({p + "tx-none"})), 0);
}

void CheckCache(HttpRedis& r, const std::string& p) {
  Cache cache(r, p + "cache:");
  EXPECT_EQ(VALUE(cache.Get("user:1:profile")), std::nullopt);
  const Json profile = {{"name", kAwkward}, {"n", 42}, {"list", {1, 2.5, nullptr}}};
  EXPECT_OK(cache.Set("user:1:profile", profile, 60s));
  EXPECT_EQ(VALUE(cache.Get("user:1:profile")), std::optional<Json>(profile));
  EXPECT_EQ(Json::parse(VALUE(r.Get(p + "cache:user:1:profile")).value_or("")), profile);
  int64_t ttl = Ttl(r, p + "cache:user:1:profile");
  EXPECT_GT(ttl, 50);
  EXPECT_LE(ttl, 60);

  // A value that is not JSON reads as a miss and is dropped.
  EXPECT_OK(r.Set(p + "cache:junk", "not json {"));
  EXPECT_EQ(VALUE(cache.Get("junk")), std::nullopt);
  EXPECT_EQ(VALUE(r.Exists({p + "cache:junk"})), 0);

  EXPECT_OK(cache.Set("user:1:a", 1, 60s));
  EXPECT_OK(cache.Set("user:1:b", 2, 60s));
  EXPECT_OK(cache.Set("user:2:a", 3, 60s));
  EXPECT_OK(r.Set(p + "user:1:outside", "not under the prefix"));
  EXPECT_EQ(VALUE(cache.DeletePattern("user:1:*")), 3);
  EXPECT_EQ(VALUE(cache.Get("user:1:a")), std::nullopt);
  EXPECT_EQ(VALUE(cache.Get("user:2:a")), std::optional<Json>(3));
  EXPECT_EQ(VALUE(r.Exists({p + "user:1:outside"})), 1);
  EXPECT_OK(cache.Delete("user:2:a"));
  EXPECT_EQ(VALUE(cache.Get("user:2:a")), std::nullopt);
}

void CheckGetOrCompute(HttpRedis& r, const std::string& p) {
  Cache cache(r, p + "cache:");
  int calls = 0;
  auto compute = [&]() -> StatusOr<Json> {
    ++calls;
    return Json{{"computed", kAwkward}};
  };
  EXPECT_EQ(VALUE(cache.GetOrCompute("c", 60s, compute)), Json({{"computed", kAwkward}}));
  EXPECT_EQ(VALUE(cache.GetOrCompute("c", 60s, compute)), Json({{"computed", kAwkward}}));
  EXPECT_EQ(calls, 1);
  EXPECT_GT(Ttl(r, p + "cache:c"), 50);

  auto failing = [&]() -> StatusOr<Json> { return Status(Code::kInternal, "boom"); };
  auto failed = cache.GetOrCompute("e", 60s, failing);
  EXPECT_EQ(failed.status().code(), Code::kInternal);
  EXPECT_EQ(VALUE(cache.Get("e")), std::nullopt);  // failures are not cached
}

// 5 per second on an injected clock: the window's edge exactly.
void CheckRateLimiterWindow(HttpRedis& r, const std::string& p) {
  constexpr int64_t kStart = 1'000'000;
  std::atomic<int64_t> now{kStart};
  SlidingWindowRateLimiter limiter(r, p + "rl:", 5, 1000ms, [&] { return now.load(); });
  for (int64_t i = 1; i <= 5; ++i) {
    auto d = VALUE(limiter.Check("user"));
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.count, i);
    EXPECT_EQ(d.remaining, 5 - i);
  }
  auto refused = VALUE(limiter.Check("user"));
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.count, 6);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_TRUE(VALUE(limiter.Check("other-user")).allowed);
  int64_t pttl = Ttl(r, p + "rl:user", "PTTL");
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 1000);

  now = kStart + 1000;  // the first six sit exactly on the (exclusive) bound: still counted
  EXPECT_FALSE(VALUE(limiter.Check("user")).allowed);
  now = kStart + 1001;  // they have left; the refused one at kStart+1000 still counts
  auto again = VALUE(limiter.Check("user"));
  EXPECT_TRUE(again.allowed);
  EXPECT_EQ(again.count, 2);
  EXPECT_EQ(again.remaining, 3);
}

// 8 threads, 40 checks, limit 20: the multi-exec makes each check atomic.
void CheckRateLimiterConcurrent(HttpRedis& r, const std::string& p) {
  SlidingWindowRateLimiter limiter(r, p + "rl:", 20, 60s);
  std::atomic<int> allowed{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto d = limiter.Check("shared");
        if (!d.ok()) {
          ++errors;
        } else if (d->allowed) {
          ++allowed;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(allowed.load(), 20);
  EXPECT_EQ(VALUE(r.ZCard(p + "rl:shared")), 40);
}

void CheckIdempotency(HttpRedis& r, const std::string& p) {
  IdempotencyOptions options;
  options.prefix = p + "idem:";
  options.ttl = 3600s;
  options.lease = 60s;
  IdempotencyManager m(r, options);

  auto first = VALUE(m.Begin("job-1"));
  EXPECT_EQ(first.state, State::kClaimed);
  EXPECT_FALSE(first.redis_down);
  EXPECT_LE(Ttl(r, p + "idem:job-1"), 60);
  EXPECT_EQ(VALUE(m.Begin("job-1")).state, State::kInProgress);

  const Json result = {{"sent", kAwkward}, {"id", 7}};
  EXPECT_OK(m.Complete("job-1", result));
  auto done = VALUE(m.Begin("job-1"));
  EXPECT_EQ(done.state, State::kCompleted);
  EXPECT_EQ(done.result, std::optional<Json>(result));
  EXPECT_GT(Ttl(r, p + "idem:job-1"), 3500);

  EXPECT_EQ(VALUE(m.Begin("job-2")).state, State::kClaimed);
  EXPECT_OK(m.Release("job-2"));
  EXPECT_EQ(VALUE(m.Begin("job-2")).state, State::kClaimed);

  EXPECT_OK(r.Set(p + "idem:foreign", "not ours"));
  EXPECT_EQ(m.Begin("foreign").status().code(), Code::kInternal);
}

// Begin() when Redis cannot be reached: claimed without Redis, or refused.
void CheckIdempotencyRedisDown(HttpRedis& down) {
  IdempotencyOptions open;
  open.on_redis_error = IdempotencyFailureMode::kFailOpen;
  auto claim = VALUE(IdempotencyManager(down, open).Begin("job"));
  EXPECT_EQ(claim.state, State::kClaimed);
  EXPECT_TRUE(claim.redis_down);

  IdempotencyOptions closed;
  closed.on_redis_error = IdempotencyFailureMode::kFailClosed;
  EXPECT_EQ(IdempotencyManager(down, closed).Begin("job").status().code(), Code::kUnavailable);
}

void RunCoreScenario(HttpRedis& r, const std::string& p) {
  CheckStringsAndKeys(r, p);
  CheckSortedSets(r, p);
  CheckRawCommandsAndErrors(r, p);
  CheckDeletePattern(r, p);
  CheckPipeline(r, p);
  CheckMultiExec(r, p);
  CheckCache(r, p);
  CheckGetOrCompute(r, p);
  CheckRateLimiterWindow(r, p);
  CheckRateLimiterConcurrent(r, p);
  CheckIdempotency(r, p);
}

// --- The embedded engine -----------------------------------------------------------------

// One stratus for the embedded tests (they keep to their own key prefixes).
testing::StratusProcess* SharedStratus() {
  static auto* process = [] {
    auto* p = new testing::StratusProcess();
    if (!p->Start({"--redis-token", kToken})) ADD_FAILURE() << "stratus did not start:\n" << p->output();
    return p;
  }();
  return process;
}

class SdkRedisTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    url_ = SharedStratus()->redis_url();
    ASSERT_FALSE(url_.empty());
    redis_ = Connect(url_, GetParam());
    ASSERT_TRUE(redis_);
  }
  std::string url_;
  std::unique_ptr<HttpRedis> redis_;
};

TEST_P(SdkRedisTest, StringsAndKeys) {
  CheckStringsAndKeys(*redis_, TestPrefix());
}
TEST_P(SdkRedisTest, SortedSets) {
  CheckSortedSets(*redis_, TestPrefix());
}
TEST_P(SdkRedisTest, RawCommandsAndRedisErrors) {
  CheckRawCommandsAndErrors(*redis_, TestPrefix());
}
TEST_P(SdkRedisTest, DeletePatternSpansScanPages) {
  CheckDeletePattern(*redis_, TestPrefix());
}
TEST_P(SdkRedisTest, PipelineKeepsOneFailureToItsCommand) {
  CheckPipeline(*redis_, TestPrefix());
}
TEST_P(SdkRedisTest, MultiExecPerCommandAndWholeTransactionErrors) {
  CheckMultiExec(*redis_, TestPrefix());
}
TEST_P(SdkRedisTest, CacheGetSetTtlAndDeletePattern) {
  CheckCache(*redis_, TestPrefix());
}
TEST_P(SdkRedisTest, CacheGetOrCompute) {
  CheckGetOrCompute(*redis_, TestPrefix());
}
TEST_P(SdkRedisTest, RateLimiterWindowOnInjectedClock) {
  CheckRateLimiterWindow(*redis_, TestPrefix());
}
TEST_P(SdkRedisTest, RateLimiterConcurrentChecks) {
  CheckRateLimiterConcurrent(*redis_, TestPrefix());
}
TEST_P(SdkRedisTest, IdempotencyLifecycle) {
  CheckIdempotency(*redis_, TestPrefix());
}

TEST_P(SdkRedisTest, TrailingSlashInUrl) {
  auto r = Connect(url_ + "/", GetParam());
  ASSERT_TRUE(r);
  EXPECT_EQ(VALUE(r->Command({"ECHO", kAwkward})), Json(kAwkward));
  EXPECT_EQ(VALUE(r->Pipeline({{"ECHO", "a"}})).size(), 1u);
  EXPECT_EQ(VALUE(r->MultiExec({{"ECHO", "a"}})).size(), 1u);
}

TEST_P(SdkRedisTest, WrongTokenIsUnauthenticated) {
  auto r = Connect(url_, GetParam(), "not-the-token");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Get("k").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(r->Pipeline({{"GET", "k"}}).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(r->MultiExec({{"GET", "k"}}).status().code(), Code::kUnauthenticated);
}

INSTANTIATE_TEST_SUITE_P(SdkRedis, SdkRedisTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "base64" : "plain"; });

// Connection refused on every attempt: 3 retries at 20, 40 and 80 ms, then kUnavailable.
TEST(SdkRedisUnreachableTest, RetriesThenUnavailable) {
  auto r = Connect(UnreachableUrl(), false);
  ASSERT_TRUE(r);
  auto start = std::chrono::steady_clock::now();
  auto reply = r->Get("k");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(reply.status().code(), Code::kUnavailable) << reply.status().ToString();
  EXPECT_GE(elapsed, 140ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_EQ(r->Pipeline({{"GET", "k"}}).status().code(), Code::kUnavailable);
  EXPECT_EQ(r->Set("k", "v").code(), Code::kUnavailable);
}

TEST(SdkRedisUnreachableTest, IdempotencyFailOpenAndFailClosed) {
  auto r = Connect(UnreachableUrl(), false);
  ASSERT_TRUE(r);
  CheckIdempotencyRedisDown(*r);
}

TEST(SdkRedisUnreachableTest, BadUrlIsRefusedAtCreate) {
  RedisOptions options;
  options.url = "redis://127.0.0.1:6379";
  EXPECT_EQ(HttpRedis::Create(options).status().code(), Code::kInvalidArgument);
}

// --- Proxy mode: stratus in front of a real redis-server ---------------------------------

bool RedisServerInstalled() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    if (std::filesystem::exists(dirs.substr(start, end - start) + "/redis-server")) return true;
    start = end + 1;
  }
  return false;
}

TEST(SdkRedisProxyTest, CoreScenarioThroughProxy) {
  if (!RedisServerInstalled()) {
    STRATUS_REDIS_UNAVAILABLE("redis-server is not installed");
  }
  testing::RedisServerProcess redis;
  ASSERT_TRUE(redis.Start());
  testing::StratusProcess stratus;
  ASSERT_TRUE(
      stratus.Start({"--redis-token", kToken, "--redis-url", "redis://127.0.0.1:" + std::to_string(redis.port())}))
      << stratus.output();
  for (bool base64 : {false, true}) {
    SCOPED_TRACE(base64 ? "base64" : "plain");
    auto r = Connect(stratus.redis_url(), base64);
    ASSERT_TRUE(r);
    RunCoreScenario(*r, TestPrefix());
  }

  // Redis gone behind a live stratus: a 503, which the SDK reports as kUnavailable.
  redis.Stop();
  auto r = Connect(stratus.redis_url(), false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Get("k").status().code(), Code::kUnavailable);
  CheckIdempotencyRedisDown(*r);
}

}  // namespace
}  // namespace stratus::sdk
