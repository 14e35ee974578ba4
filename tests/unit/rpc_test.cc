#include "api/rpc.h"

#include <gtest/gtest.h>

namespace stratus::api {
namespace {

namespace bh = beast::http;

http::Request Req(unsigned version = 11) {
  http::Request req{bh::verb::get, "/v2/projects/p/locations", version};
  return req;
}

Json Body(const http::Response& res) {
  Json j = Json::parse(res.body(), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << res.body();
  return j;
}

TEST(StatusCodes, NamesAndHttpStatusesFollowGoogle) {
  const std::pair<Code, std::pair<const char*, int>> table[] = {
      {Code::kOk, {"OK", 200}},
      {Code::kCancelled, {"CANCELLED", 499}},
      {Code::kUnknown, {"UNKNOWN", 500}},
      {Code::kInvalidArgument, {"INVALID_ARGUMENT", 400}},
      {Code::kDeadlineExceeded, {"DEADLINE_EXCEEDED", 504}},
      {Code::kNotFound, {"NOT_FOUND", 404}},
      {Code::kAlreadyExists, {"ALREADY_EXISTS", 409}},
      {Code::kPermissionDenied, {"PERMISSION_DENIED", 403}},
      {Code::kResourceExhausted, {"RESOURCE_EXHAUSTED", 429}},
      {Code::kFailedPrecondition, {"FAILED_PRECONDITION", 400}},
      {Code::kAborted, {"ABORTED", 409}},
      {Code::kOutOfRange, {"OUT_OF_RANGE", 400}},
      {Code::kUnimplemented, {"UNIMPLEMENTED", 501}},
      {Code::kInternal, {"INTERNAL", 500}},
      {Code::kUnavailable, {"UNAVAILABLE", 503}},
      {Code::kDataLoss, {"DATA_LOSS", 500}},
      {Code::kUnauthenticated, {"UNAUTHENTICATED", 401}},
  };
  for (const auto& [code, row] : table) {
    EXPECT_EQ(CodeName(code), row.first);
    EXPECT_EQ(HttpStatusOf(code), row.second) << row.first;
  }
}

TEST(Status, ToStringAndHelpers) {
  EXPECT_EQ(Status().ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(NotFound("gone").ToString(), "NOT_FOUND: gone");
  EXPECT_EQ(FailedPrecondition("x").code(), Code::kFailedPrecondition);
  StatusOr<int> v = 3;
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(*v, 3);
  StatusOr<int> e = Unavailable("down");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::kUnavailable);
  EXPECT_EQ(e.status().message(), "down");
}

TEST(RpcError, GoogleRpcStatusBodyWithTheMatchingHttpStatus) {
  auto res = RpcError(Req(), NotFound("Requested entity was not found."));
  EXPECT_EQ(res.result_int(), 404u);
  EXPECT_EQ(res[bh::field::content_type], "application/json; charset=UTF-8");
  EXPECT_EQ(Body(res), Json::parse(R"({"error":{"code":404,"message":"Requested entity was not found.",
                                                  "status":"NOT_FOUND"}})"));
  EXPECT_EQ(res[bh::field::content_length], std::to_string(res.body().size()));
}

TEST(RpcError, FailedPreconditionIs400) {
  auto res = RpcError(
      Req(), FailedPrecondition("The queue cannot be created because a queue with this name existed too recently."));
  EXPECT_EQ(res.result_int(), 400u);
  EXPECT_EQ(Body(res)["error"]["status"], "FAILED_PRECONDITION");
  EXPECT_EQ(Body(res)["error"]["code"], 400);
}

TEST(RpcError, KeepsTheConnectionAsTheRequestAsked) {
  http::Request keep = Req(11);
  EXPECT_TRUE(RpcError(keep, InvalidArgument("x")).keep_alive());
  http::Request close = Req(11);
  close.keep_alive(false);
  EXPECT_FALSE(RpcError(close, InvalidArgument("x")).keep_alive());
}

TEST(RpcError, InvalidUtf8InTheMessageIsReplacedNotThrown) {
  http::Response res;
  ASSERT_NO_THROW(res = RpcError(Req(), InvalidArgument("Task ID \"\xff\xfe\" is bad")));
  Json j = Body(res);
  EXPECT_EQ(j["error"]["message"], "Task ID \"\xef\xbf\xbd\xef\xbf\xbd\" is bad");
}

TEST(RpcErrorForHttpStatus, MapsTransportFailures) {
  const std::pair<int, const char*> table[] = {
      {400, "INVALID_ARGUMENT"},   {401, "UNAUTHENTICATED"},  {404, "NOT_FOUND"}, {405, "UNIMPLEMENTED"},
      {413, "RESOURCE_EXHAUSTED"}, {431, "INVALID_ARGUMENT"}, {500, "INTERNAL"}};
  for (auto [status, name] : table) {
    auto res = RpcErrorForHttpStatus(Req(), status, "why");
    EXPECT_EQ(res.result_int(), static_cast<unsigned>(status));
    EXPECT_EQ(Body(res), (Json{{"error", {{"code", status}, {"message", "why"}, {"status", name}}}})) << status;
    EXPECT_EQ(res[bh::field::content_type], "application/json; charset=UTF-8");
  }
}

TEST(JsonReply, Is200Json) {
  auto res = JsonReply(Req(), Json::object());
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), "{}");
  EXPECT_EQ(res[bh::field::content_type], "application/json; charset=UTF-8");
  EXPECT_EQ(JsonReply(Req(), Json{{"s", "\xc3"}}).body(), "{\"s\":\"\xef\xbf\xbd\"}");
}

}  // namespace
}  // namespace stratus::api
