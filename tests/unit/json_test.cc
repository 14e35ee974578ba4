#include "common/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stratus {
namespace {

using ::testing::HasSubstr;

Json Parse(std::string_view text) {
  auto j = ParseJsonBody(text);
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return j.ok() ? *j : Json();
}

TEST(ParseJsonBody, EmptyOrBlankBodyIsAnEmptyObject) {
  EXPECT_EQ(Parse(""), Json::object());
  EXPECT_EQ(Parse(" \r\n\t "), Json::object());
}

TEST(ParseJsonBody, MalformedBodyGetsGooglesMessage) {
  for (const char* bad : {"{", "{\"a\":}", "{} trailing", "nul", "{\"a\":1e999}", "\"\xff\""}) {
    auto j = ParseJsonBody(bad);
    ASSERT_FALSE(j.ok()) << bad;
    EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(j.status().message(), "Invalid JSON payload received. Unexpected token or malformed JSON.");
  }
}

TEST(CamelToSnake, ConvertsEveryCapital) {
  EXPECT_EQ(CamelToSnake("maxBurstSize"), "max_burst_size");
  EXPECT_EQ(CamelToSnake("name"), "name");
  EXPECT_EQ(CamelToSnake("stackdriverLoggingConfig"), "stackdriver_logging_config");
}

TEST(JsonObject, OfNullIsEmptyAndOfNonObjectFails) {
  Json null;
  auto o = JsonObject::Of(null, "queue");
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->CheckFields({}).ok());
  EXPECT_FALSE(o->Has("name"));

  Json arr = Json::array({1, 2});
  auto bad = JsonObject::Of(arr, "queue");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "Invalid JSON payload received. Expected an object at 'queue', got [1,2].");
}

TEST(JsonObject, UnknownFieldGetsGooglesMessage) {
  Json j = Parse(R"({"name":"x","bogus":1})");
  JsonObject o(&j, "queue");
  Status st = o.CheckFields({"name"});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "Invalid JSON payload received. Unknown name \"bogus\" at 'queue': Cannot find field.");
}

TEST(JsonObject, UnknownFieldAtTheTopLevelNamesNoPath) {
  // Google's front end: `Unknown name "bogus": Cannot find field.` at the root of a request.
  Json j = Parse(R"({"bogus":1})");
  JsonObject o(&j, "");
  Status st = o.CheckFields({"task"});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "Invalid JSON payload received. Unknown name \"bogus\": Cannot find field.");
}

TEST(JsonObject, RootMustBeAMessage) {
  for (const char* text : {"[]", "3", "\"q\"", "null"}) {
    Json j = Parse(text);
    auto o = JsonObject::Root(j, "queue");
    ASSERT_FALSE(o.ok()) << text;
    EXPECT_EQ(o.status().message(),
              "Invalid JSON payload received. Unknown name \"\": Root element must be a message.");
  }
  Json empty = Parse("");
  EXPECT_TRUE(JsonObject::Root(empty, "queue").ok());
}

TEST(JsonObject, AcceptsCamelAndSnakeNames) {
  Json j = Parse(R"({"maxAttempts":3,"max_doublings":4})");
  JsonObject o(&j, "queue.retry_config");
  EXPECT_TRUE(o.CheckFields({"maxAttempts", "maxDoublings"}).ok());
  std::optional<int64_t> a, d;
  ASSERT_TRUE(o.GetInt("maxAttempts", &a).ok());
  ASSERT_TRUE(o.GetInt("maxDoublings", &d).ok());
  EXPECT_EQ(a, 3);
  EXPECT_EQ(d, 4);
  EXPECT_EQ(o.FieldPath("maxAttempts"), "queue.retry_config.max_attempts");
}

TEST(JsonObject, NullMemberIsUnset) {
  Json j = Parse(R"({"name":null,"n":null})");
  JsonObject o(&j, "q");
  std::optional<std::string> name;
  std::optional<int64_t> n;
  EXPECT_TRUE(o.GetString("name", &name).ok());
  EXPECT_TRUE(o.GetInt("n", &n).ok());
  EXPECT_FALSE(name.has_value());
  EXPECT_FALSE(n.has_value());
  EXPECT_FALSE(o.Has("name"));
  EXPECT_EQ(o.Raw("name"), nullptr);
}

TEST(JsonObject, IntsAcceptNumbersStringsAndIntegralFloats) {
  Json j = Parse(R"({"a":7,"b":"-12","c":3.0,"d":"9223372036854775807","e":1e3})");
  JsonObject o(&j, "m");
  std::optional<int64_t> v;
  ASSERT_TRUE(o.GetInt("a", &v).ok());
  EXPECT_EQ(v, 7);
  ASSERT_TRUE(o.GetInt("b", &v).ok());
  EXPECT_EQ(v, -12);
  ASSERT_TRUE(o.GetInt("c", &v).ok());
  EXPECT_EQ(v, 3);
  ASSERT_TRUE(o.GetInt("d", &v).ok());
  EXPECT_EQ(v, INT64_MAX);
  ASSERT_TRUE(o.GetInt("e", &v).ok());
  EXPECT_EQ(v, 1000);
}

TEST(JsonObject, IntsRejectFractionsJunkAndOverflow) {
  Json j = Parse(R"({"a":1.5,"b":"12x","c":"","d":true,"e":"99999999999999999999","f":1e30,"g":[1]})");
  JsonObject o(&j, "queue.retry_config");
  std::optional<int64_t> v;
  Status st = o.GetInt("a", &v);
  EXPECT_EQ(st.message(), "Invalid value at 'queue.retry_config.a' (TYPE_INT32), 1.5");
  EXPECT_EQ(o.GetInt("b", &v).message(), "Invalid value at 'queue.retry_config.b' (TYPE_INT32), \"12x\"");
  for (const char* f : {"c", "d", "e", "f", "g"}) {
    EXPECT_EQ(o.GetInt(f, &v).code(), Code::kInvalidArgument) << f;
  }
  EXPECT_FALSE(v.has_value());
}

TEST(JsonObject, IntAboveInt64IsRejectedNotWrapped) {
  // 18446744073709551615 parses as an unsigned JSON number; it must not become -1.
  Json j = Parse(R"({"n":18446744073709551615})");
  JsonObject o(&j, "m");
  std::optional<int64_t> v;
  Status st = o.GetInt("n", &v);
  if (st.ok()) ADD_FAILURE() << "18446744073709551615 read as " << *v;
  EXPECT_EQ(st.message(), "Invalid value at 'm.n' (TYPE_INT32), 18446744073709551615");
}

TEST(JsonObject, Doubles) {
  Json j = Parse(R"({"a":5.5,"b":"0.25","c":3,"d":"NaN","e":"fast","f":1e308})");
  JsonObject o(&j, "queue.rate_limits");
  std::optional<double> v;
  ASSERT_TRUE(o.GetDouble("a", &v).ok());
  EXPECT_EQ(v, 5.5);
  ASSERT_TRUE(o.GetDouble("b", &v).ok());
  EXPECT_EQ(v, 0.25);
  ASSERT_TRUE(o.GetDouble("c", &v).ok());
  EXPECT_EQ(v, 3.0);
  ASSERT_TRUE(o.GetDouble("f", &v).ok());
  EXPECT_EQ(v, 1e308);
  EXPECT_EQ(o.GetDouble("d", &v).message(), "Invalid value at 'queue.rate_limits.d' (TYPE_DOUBLE), \"NaN\"");
  EXPECT_FALSE(o.GetDouble("e", &v).ok());
}

TEST(JsonObject, StringsRejectOtherTypes) {
  Json j = Parse(R"({"url":5,"ok":"x"})");
  JsonObject o(&j, "task.http_request");
  std::optional<std::string> s;
  EXPECT_EQ(o.GetString("url", &s).message(), "Invalid value at 'task.http_request.url' (TYPE_STRING), 5");
  ASSERT_TRUE(o.GetString("ok", &s).ok());
  EXPECT_EQ(s, "x");
}

TEST(JsonObject, DurationsAndTimestamps) {
  Json j = Parse(R"({"d":"10.500s","t":"2026-11-22T05:35:21.250+01:00","bd":"10","bt":"yesterday","nd":30})");
  JsonObject o(&j, "q");
  std::optional<Micros> v;
  ASSERT_TRUE(o.GetDuration("d", &v).ok());
  EXPECT_EQ(v, 10'500'000);
  ASSERT_TRUE(o.GetTimestamp("t", &v).ok());
  EXPECT_EQ(v, 1795322121250000);
  EXPECT_EQ(o.GetDuration("bd", &v).message(),
            "Invalid value at 'q.bd' (type.googleapis.com/google.protobuf.Duration), \"10\"");
  EXPECT_EQ(o.GetDuration("nd", &v).message(),
            "Invalid value at 'q.nd' (type.googleapis.com/google.protobuf.Duration), 30");
  EXPECT_EQ(o.GetTimestamp("bt", &v).message(),
            "Invalid value at 'q.bt' (type.googleapis.com/google.protobuf.Timestamp), \"yesterday\"");
}

TEST(JsonObject, BytesAcceptBothAlphabetsWithOrWithoutPadding) {
  Json j = Parse(R"({"std":"+/8=","url":"-_8","bad":"!!!!"})");
  JsonObject o(&j, "task.http_request");
  std::optional<std::string> b;
  ASSERT_TRUE(o.GetBytes("std", &b).ok());
  EXPECT_EQ(*b, "\xfb\xff");
  ASSERT_TRUE(o.GetBytes("url", &b).ok());
  EXPECT_EQ(*b, "\xfb\xff");
  EXPECT_EQ(o.GetBytes("bad", &b).message(), "Invalid value at 'task.http_request.bad' (TYPE_BYTES), \"!!!!\"");
}

TEST(JsonObject, EnumsByNameOrNumber) {
  const std::vector<EnumName> names = {{"UNSPECIFIED", 0}, {"RUNNING", 1}, {"PAUSED", 2}};
  Json j = Parse(R"({"a":"PAUSED","b":1,"c":"paused","d":9,"e":1.0})");
  JsonObject o(&j, "queue");
  std::optional<int> v;
  ASSERT_TRUE(o.GetEnum("a", names, "T", &v).ok());
  EXPECT_EQ(v, 2);
  ASSERT_TRUE(o.GetEnum("b", names, "T", &v).ok());
  EXPECT_EQ(v, 1);
  EXPECT_EQ(o.GetEnum("c", names, "T", &v).message(), "Invalid value at 'queue.c' (T), \"paused\"");
  EXPECT_EQ(o.GetEnum("d", names, "T", &v).message(), "Invalid value at 'queue.d' (T), 9");
  EXPECT_FALSE(o.GetEnum("e", names, "T", &v).ok());
}

TEST(JsonObject, StringMaps) {
  Json j = Parse(R"({"headers":{"X-A":"1","b":""},"list":["x"]})");
  JsonObject o(&j, "task.http_request");
  std::optional<std::map<std::string, std::string>> m;
  ASSERT_TRUE(o.GetStringMap("headers", &m).ok());
  EXPECT_EQ(*m, (std::map<std::string, std::string>{{"X-A", "1"}, {"b", ""}}));
  EXPECT_EQ(o.GetStringMap("list", &m).code(), Code::kInvalidArgument);
}

TEST(JsonObject, StringMapErrorNamesTheKeyAsSent) {
  Json j = Parse(R"({"headers":{"X-Custom":5}})");
  JsonObject o(&j, "task.http_request");
  std::optional<std::map<std::string, std::string>> m;
  Status st = o.GetStringMap("headers", &m);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  if (st.message().find("[X-Custom]") == std::string::npos) {
    ADD_FAILURE() << "the map key is snake-cased in the message: " << st.message();
  }
  EXPECT_THAT(st.message(), HasSubstr("task.http_request.headers[X-Custom]"));
}

TEST(JsonObject, GetObjectNestsThePath) {
  Json j = Parse(R"({"rateLimits":{"maxBurstSize":1},"retryConfig":null,"state":"x"})");
  JsonObject o(&j, "queue");
  auto rate = o.GetObject("rateLimits");
  ASSERT_TRUE(rate.ok());
  ASSERT_TRUE(rate->has_value());
  EXPECT_EQ((*rate)->path(), "queue.rate_limits");
  auto retry = o.GetObject("retryConfig");
  ASSERT_TRUE(retry.ok());
  EXPECT_FALSE(retry->has_value());
  auto state = o.GetObject("state");
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().message(), "Invalid JSON payload received. Expected an object at 'queue.state', got \"x\".");
}

TEST(ParseJsonBody, DeepNestingIsRefusedNotAStackOverflow) {
  // 400 KB of brackets must get an error: nlohmann's dump() of such a value (for an error message)
  // recurses once per level and overflowed the stack.
  std::string body = "{\"name\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  auto j = ParseJsonBody(body);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
  std::string inside_strings = "{\"name\":\"" + std::string(1000, '[') + "\"}";
  EXPECT_TRUE(ParseJsonBody(inside_strings).ok());
}

}  // namespace
}  // namespace stratus
