// tasks:buffer over REST through the real binary: a body alone becomes an HTTP task that a
// real local target receives where the queue's httpTarget says (uriOverride, httpMethod,
// headerOverrides), with the body bytes and the Content-Type of the HttpBody; the reply is
// BufferTaskResponse {"task": ...}; and the refusals (no httpTarget, a missing queue, a taken
// or malformed id, an unknown field) in the google.rpc.Status shape the other routes use.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/base64.h"
#include "http/client.h"
#include "integration/raw_target.h"
#include "integration/rest_client.h"
#include "integration/stratus_process.h"
#include "sdk/http_sync.h"

namespace stratus {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::RestClient;
using testing::RestReply;
using testing::StratusProcess;

const std::string kParent = "projects/p/locations/us-central1";

// A local target that answers 200 to every request.
testing::RawTarget::Handler AnswerOk() {
  return [](testing::RawTarget::Conn& c) {
    while (c.Read()) {
      if (!c.Answer(testing::OkResponse())) return;
    }
  };
}

// Waits (up to 30 s) for `n` answered requests and returns every request so far.
std::vector<testing::SeenRequest> WaitFor(testing::RawTarget& target, size_t n) {
  target.WaitAnswered(n, 30s);
  return target.seen();
}

void ExpectRpcError(const RestReply& r, int http, const std::string& status, const std::string& message) {
  EXPECT_EQ(r.status, http) << r.body.dump();
  ASSERT_TRUE(r.body.is_object() && r.body.contains("error")) << r.body.dump();
  EXPECT_EQ(r.body["error"]["code"], http);
  EXPECT_EQ(r.body["error"]["status"], status);
  EXPECT_EQ(r.body["error"]["message"], message);
}

class BufferTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(proc_.Start()) << proc_.output();
    api_ = proc_.tasks_url() + "/v2/";
    auto h = sdk::internal::SyncHttp::Create("");
    ASSERT_TRUE(h.ok());
    raw_ = std::move(h).value();
  }
  std::string Queue(const std::string& id) const { return kParent + "/queues/" + id; }
  // A queue whose httpTarget sends every task to the local target.
  void CreateTargetQueue(const std::string& id) {
    json target = {{"uriOverride",
                    {{"scheme", "HTTP"},
                     {"host", "127.0.0.1"},
                     {"port", std::to_string(target_.port())},
                     {"pathOverride", {{"path", "/hooks/buffered"}}},
                     {"queryOverride", {{"queryParams", "source=buffer"}}}}},
                   {"httpMethod", "PUT"},
                   {"headerOverrides", json::array({{{"header", {{"key", "X-Env"}, {"value", "test"}}}}})}};
    auto r = rest_.Post(api_ + kParent + "/queues", {{"name", Queue(id)}, {"httpTarget", target}});
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }
  // POSTs `body` as it is, with this Content-Type.
  RestReply PostRaw(const std::string& url, const std::string& body, const std::string& content_type) {
    auto u = http::Url::Parse(url);
    EXPECT_TRUE(u.ok()) << url;
    auto req = sdk::internal::MakeRequest(http::Verb::post, body, content_type);
    auto res = raw_->Fetch(*u, std::move(req), std::chrono::seconds(10));
    RestReply r;
    r.status = res.status;
    r.body = json::parse(res.body, nullptr, false);
    return r;
  }

  testing::RawTarget target_{AnswerOk()};
  StratusProcess proc_;
  RestClient rest_;
  std::unique_ptr<sdk::internal::SyncHttp> raw_;
  std::string api_;
};

TEST_F(BufferTaskTest, JsonHttpBodyIsDeliveredWhereTheQueueHttpTargetSays) {
  CreateTargetQueue("buf");
  const std::string payload("\x00\xff\xfe{\"order\":42}\x80", 16);  // not UTF-8
  auto r = rest_.Post(api_ + Queue("buf") + "/tasks:buffer",
                      {{"body", {{"contentType", "application/vnd.stratus+json"}, {"data", Base64Encode(payload)}}}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  ASSERT_TRUE(r.body.contains("task")) << r.body.dump();
  EXPECT_EQ(r.body.size(), 1u) << r.body.dump();  // BufferTaskResponse has the task only
  const json& task = r.body["task"];
  const std::string name = task.value("name", "");
  ASSERT_EQ(name.rfind(Queue("buf") + "/tasks/", 0), 0u) << name;
  const std::string id = name.substr(name.rfind('/') + 1);
  EXPECT_FALSE(id.empty());
  const std::string url = "http://127.0.0.1:" + std::to_string(target_.port()) + "/hooks/buffered?source=buffer";
  EXPECT_EQ(task["httpRequest"]["url"], url) << task.dump();
  EXPECT_EQ(task["httpRequest"]["httpMethod"], "PUT") << task.dump();
  EXPECT_EQ(task["httpRequest"]["headers"]["Content-Type"], "application/vnd.stratus+json") << task.dump();
  EXPECT_FALSE(task["httpRequest"].contains("body")) << "BASIC view: " << task.dump();
  EXPECT_EQ(task["view"], "BASIC");

  auto seen = WaitFor(target_, 1);
  ASSERT_EQ(seen.size(), 1u);
  const testing::SeenRequest& s = seen[0];
  EXPECT_EQ(s.method, "PUT");
  EXPECT_EQ(s.path, "/hooks/buffered?source=buffer");
  EXPECT_EQ(s.body, payload);
  EXPECT_EQ(s.Header("content-type"), "application/vnd.stratus+json");
  EXPECT_EQ(s.Header("x-env"), "test");
  EXPECT_EQ(s.Header("user-agent"), "Google-Cloud-Tasks");
  EXPECT_EQ(s.Header("x-cloudtasks-queuename"), "buf");
  EXPECT_EQ(s.Header("x-cloudtasks-taskname"), id);
  EXPECT_EQ(s.Header("x-cloudtasks-taskretrycount"), "0");
}

TEST_F(BufferTaskTest, RawBodyWithItsOwnContentTypeAndANamedTask) {
  CreateTargetQueue("raw");
  const std::string payload = "plain\x01\x02 bytes";
  auto r = PostRaw(api_ + Queue("raw") + "/tasks/order-7:buffer", payload, "application/octet-stream");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["task"]["name"], Queue("raw") + "/tasks/order-7");
  auto seen = WaitFor(target_, 1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, payload);
  EXPECT_EQ(seen[0].Header("content-type"), "application/octet-stream");
  EXPECT_EQ(seen[0].Header("x-cloudtasks-taskname"), "order-7");

  // The same id again: ALREADY_EXISTS, as tasks.create answers.
  auto again = PostRaw(api_ + Queue("raw") + "/tasks/order-7:buffer", payload, "application/octet-stream");
  ExpectRpcError(again, 409, "ALREADY_EXISTS", "Requested entity already exists");
}

TEST_F(BufferTaskTest, EmptyBodyMakesATaskWithoutBodyOrContentType) {
  CreateTargetQueue("empty");
  auto r = rest_.Post(api_ + Queue("empty") + "/tasks/e1:buffer", json::object());
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_FALSE(r.body["task"]["httpRequest"]["headers"].contains("Content-Type")) << r.body.dump();
  auto seen = WaitFor(target_, 1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "");
  EXPECT_EQ(seen[0].headers.count("content-type"), 0u);
}

TEST_F(BufferTaskTest, Refusals) {
  // A queue without an httpTarget (or one with no uriOverride host) cannot buffer.
  ASSERT_EQ(rest_.Post(api_ + kParent + "/queues", {{"name", Queue("plain")}}).status, 200);
  const std::string needs =
      "tasks.buffer requires a queue with an HTTP target: set the queue's httpTarget.uriOverride.host.";
  ExpectRpcError(rest_.Post(api_ + Queue("plain") + "/tasks:buffer", {{"body", {{"data", "aGk="}}}}), 400,
                 "FAILED_PRECONDITION", needs);
  ASSERT_EQ(
      rest_.Post(api_ + kParent + "/queues", {{"name", Queue("methodonly")}, {"httpTarget", {{"httpMethod", "PUT"}}}})
          .status,
      200);
  ExpectRpcError(rest_.Post(api_ + Queue("methodonly") + "/tasks:buffer", json::object()), 400, "FAILED_PRECONDITION",
                 needs);
  // A missing queue.
  ExpectRpcError(rest_.Post(api_ + Queue("nope") + "/tasks:buffer", json::object()), 404, "NOT_FOUND",
                 "Queue does not exist. If you just created the queue, wait at least a minute for the queue to "
                 "initialize.");
  // A malformed task id, as tasks.create words it.
  CreateTargetQueue("q");
  ExpectRpcError(rest_.Post(api_ + Queue("q") + "/tasks/bad.id:buffer", json::object()), 400, "INVALID_ARGUMENT",
                 "Task ID \"bad.id\" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or "
                 "underscores (_). Task ID must between 1 and 500 characters.");
  // Unknown members and bad bytes in the JSON form.
  auto unknown = rest_.Post(api_ + Queue("q") + "/tasks:buffer", {{"task", json::object()}});
  EXPECT_EQ(unknown.status, 400) << unknown.body.dump();
  EXPECT_EQ(unknown.body["error"]["status"], "INVALID_ARGUMENT");
  auto bad_bytes = rest_.Post(api_ + Queue("q") + "/tasks:buffer", {{"body", {{"data", "%%%"}}}});
  EXPECT_EQ(bad_bytes.status, 400) << bad_bytes.body.dump();
  EXPECT_EQ(bad_bytes.body["error"]["status"], "INVALID_ARGUMENT");
  // Nothing of the refused requests reached the queue.
  auto list = rest_.Get(api_ + Queue("q") + "/tasks");
  EXPECT_EQ(list.status, 200);
  EXPECT_FALSE(list.body.contains("tasks")) << list.body.dump();
}

}  // namespace
}  // namespace stratus
