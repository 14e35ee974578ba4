// PUBLISH and the Upstash event streams (/subscribe, /psubscribe) against the real binary,
// on the embedded engine and through the proxy to a real redis-server: messages arrive in
// order, patterns match, a disconnected subscriber is removed (PUBSUB NUMSUB drops), keep-alive
// comments arrive, a slow subscriber is cut off, and shutdown with open streams is prompt.
// Also the upstash-sync-token header and the REST rule for XREAD/XREADGROUP BLOCK and BLPOP.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "raw_http.h"
#include "redis_test_server.h"
#include "rest_client.h"
#include "stratus_process.h"

namespace stratus {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kToken = "pubsub-token";

// An event stream read off a raw socket, its chunked body decoded.
class SseClient {
 public:
  ~SseClient() { Close(); }
  // Sends the request; true once the response head is in (status in status()).
  bool Open(uint16_t port, const std::string& path, const std::string& token = kToken,
            const std::string& verb = "POST") {
    fd_ = testing::ConnectLoopback(port);
    if (fd_ < 0) return false;
    std::string req = verb + " " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    req += verb == "POST" ? "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n[]" : "\r\n";
    if (!testing::SendAll(fd_, req)) return false;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      size_t end = raw_.find("\r\n\r\n");
      if (end != std::string::npos) {
        head_ = raw_.substr(0, end + 4);
        raw_.erase(0, end + 4);
        status_ = std::stoi(head_.substr(9, 3));
        return true;
      }
      if (!ReadSome(50ms)) return false;
    }
    return false;
  }
  // Waits until the decoded body contains `text` (false after `timeout` or on close).
  bool WaitFor(const std::string& text, std::chrono::milliseconds timeout = 20s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      Decode();
      if (body_.find(text) != std::string::npos) return true;
      if (closed_) return false;
      ReadSome(50ms);
    }
    Decode();
    return body_.find(text) != std::string::npos;
  }
  // Waits until the server closes the connection.
  bool WaitClosed(std::chrono::milliseconds timeout = 30s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && std::chrono::steady_clock::now() < deadline) ReadSome(50ms);
    Decode();
    return closed_;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int status() const { return status_; }
  const std::string& head() const { return head_; }
  const std::string& body() {
    Decode();
    return body_;
  }
  bool ended() const { return ended_; }  // the last chunk arrived
  // Waits for `text` in the undecoded bytes after the head (a plain, non-streamed answer).
  bool WaitRaw(const std::string& text, std::chrono::milliseconds timeout = 20s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (raw_.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      if (!ReadSome(50ms)) break;
    }
    return raw_.find(text) != std::string::npos;
  }

 private:
  bool ReadSome(std::chrono::milliseconds wait) {
    if (fd_ < 0 || closed_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return true;
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    raw_.append(buf, static_cast<size_t>(n));
    return true;
  }
  void Decode() {
    for (;;) {
      size_t eol = raw_.find("\r\n");
      if (eol == std::string::npos) return;
      size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
      if (raw_.size() < eol + 2 + size + 2) return;
      body_ += raw_.substr(eol + 2, size);
      raw_.erase(0, eol + 2 + size + 2);
      if (size == 0) ended_ = true;
    }
  }

  int fd_ = -1;
  std::string raw_, head_, body_;
  int status_ = 0;
  bool closed_ = false;
  bool ended_ = false;
};

class RedisPubSubTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--redis-token", kToken, "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(proc_.Start(args)) << proc_.output();
    url_ = proc_.redis_url();
    port_ = testing::PortOf(url_);
  }
  void StartProxy(std::vector<std::string> extra = {}) {
    ASSERT_TRUE(redis_.Start()) << "redis-server is required";
    extra.push_back("--redis-url");
    extra.push_back("redis://127.0.0.1:" + std::to_string(redis_.port()));
    Start(extra);
  }
  testing::RestReply Call(const json& command, std::map<std::string, std::string> headers = {},
                          const std::string& path = "/") {
    headers["authorization"] = std::string("Bearer ") + kToken;
    return rest_.Call(http::Verb::post, url_ + path, command, headers);
  }
  json Result(const json& command) {
    auto r = Call(command);
    EXPECT_EQ(r.status, 200) << command.dump() << " -> " << r.body.dump();
    return r.body.is_object() && r.body.contains("result") ? r.body["result"] : json();
  }
  // Polls PUBSUB NUMSUB until it reads `want` (a wait on an observable event, not a timing check).
  bool WaitNumSub(const std::string& channel, int64_t want) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      json r = Result(json::array({"pubsub", "numsub", channel}));
      if (r.is_array() && r.size() == 2 && r[1] == want) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  testing::RedisServerProcess redis_;
  testing::StratusProcess proc_;
  testing::RestClient rest_;
  std::string url_;
  uint16_t port_ = 0;
};

// What every backend must do with a stream; `proxy` adds a publish made on redis-server itself.
void ExpectSubscribeDeliversInOrder(RedisPubSubTest* t, uint16_t port, const std::function<json(const json&)>& result) {
  SseClient sub;
  ASSERT_TRUE(sub.Open(port, "/subscribe/news"));
  ASSERT_EQ(sub.status(), 200) << sub.head();
  EXPECT_NE(sub.head().find("Content-Type: text/event-stream"), std::string::npos) << sub.head();
  EXPECT_NE(sub.head().find("Transfer-Encoding: chunked"), std::string::npos) << sub.head();
  ASSERT_TRUE(sub.WaitFor("data: subscribe,news,1\n\n")) << sub.body();
  std::string want = "data: subscribe,news,1\n\n";
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(result(json::array({"publish", "news", "m" + std::to_string(i)})), 1);
    want += "data: message,news,m" + std::to_string(i) + "\n\n";
  }
  EXPECT_EQ(result(json::array({"publish", "elsewhere", "x"})), 0);
  ASSERT_TRUE(sub.WaitFor("data: message,news,m49\n\n")) << sub.body();
  EXPECT_EQ(sub.body(), want);
  (void)t;
}

TEST_F(RedisPubSubTest, SubscribeReceivesEveryMessageInOrder) {
  Start();
  ExpectSubscribeDeliversInOrder(this, port_, [this](const json& c) { return Result(c); });
}

TEST_F(RedisPubSubTest, SeveralChannelsOnePathAndTheirCounts) {
  Start();
  SseClient sub;
  ASSERT_TRUE(sub.Open(port_, "/subscribe/a/b%2Fc", kToken, "GET"));
  ASSERT_EQ(sub.status(), 200);
  ASSERT_TRUE(sub.WaitFor("data: subscribe,a,1\n\ndata: subscribe,b/c,2\n\n")) << sub.body();
  EXPECT_EQ(Result(json::array({"publish", "b/c", "line1\nline2"})), 1);
  EXPECT_EQ(Result(json::array({"publish", "a", "{\"x\":1}"})), 1);
  // A line break continues on another data line (EventSource joins them with "\n").
  ASSERT_TRUE(sub.WaitFor("data: message,b/c,line1\ndata: line2\n\ndata: message,a,{\"x\":1}\n\n")) << sub.body();
  json channels = Result(json::array({"pubsub", "channels"}));
  EXPECT_EQ(channels, json::array({"a", "b/c"}));
  EXPECT_EQ(Result(json::array({"pubsub", "channels", "b*"})), json::array({"b/c"}));
}

TEST_F(RedisPubSubTest, PatternSubscribeGetsPmessage) {
  Start();
  SseClient sub;
  ASSERT_TRUE(sub.Open(port_, "/psubscribe/user:*"));
  ASSERT_TRUE(sub.WaitFor("data: psubscribe,user:*,1\n\n")) << sub.body();
  EXPECT_EQ(Result(json::array({"pubsub", "numpat"})), 1);
  EXPECT_EQ(Result(json::array({"publish", "user:1", "hi"})), 1);
  EXPECT_EQ(Result(json::array({"publish", "other:1", "no"})), 0);
  EXPECT_EQ(Result(json::array({"publish", "user:2", "there"})), 1);
  ASSERT_TRUE(sub.WaitFor("data: pmessage,user:*,user:2,there\n\n")) << sub.body();
  EXPECT_EQ(sub.body(),
            "data: psubscribe,user:*,1\n\ndata: pmessage,user:*,user:1,hi\n\n"
            "data: pmessage,user:*,user:2,there\n\n");
  // A channel subscriber and a pattern subscriber: PUBLISH counts both, as Redis does.
  SseClient plain;
  ASSERT_TRUE(plain.Open(port_, "/subscribe/user:3"));
  ASSERT_TRUE(plain.WaitFor("data: subscribe,user:3,1\n\n"));
  EXPECT_EQ(Result(json::array({"publish", "user:3", "both"})), 2);
}

TEST_F(RedisPubSubTest, DisconnectRemovesTheSubscriber) {
  Start();
  {
    SseClient a, b;
    ASSERT_TRUE(a.Open(port_, "/subscribe/room"));
    ASSERT_TRUE(b.Open(port_, "/subscribe/room"));
    ASSERT_TRUE(a.WaitFor("data: subscribe,room,1\n\n"));
    ASSERT_TRUE(b.WaitFor("data: subscribe,room,1\n\n"));
    EXPECT_EQ(Result(json::array({"pubsub", "numsub", "room"})), json::array({"room", 2}));
    EXPECT_EQ(Result(json::array({"publish", "room", "x"})), 2);
    a.Close();
    EXPECT_TRUE(WaitNumSub("room", 1));
    EXPECT_EQ(Result(json::array({"publish", "room", "y"})), 1);
    EXPECT_TRUE(b.WaitFor("data: message,room,y\n\n"));
  }
  EXPECT_TRUE(WaitNumSub("room", 0));
  EXPECT_EQ(Result(json::array({"publish", "room", "z"})), 0);
  EXPECT_EQ(Result(json::array({"pubsub", "channels"})), json::array());
}

TEST_F(RedisPubSubTest, KeepAliveCommentsArrive) {
  Start({"--redis-sse-keepalive", "100"});
  SseClient sub;
  ASSERT_TRUE(sub.Open(port_, "/subscribe/quiet"));
  ASSERT_TRUE(sub.WaitFor("data: subscribe,quiet,1\n\n: keepalive\n\n: keepalive\n\n")) << sub.body();
}

TEST_F(RedisPubSubTest, AuthAndBadPathsAnswerInUpstashJson) {
  Start();
  SseClient none;
  ASSERT_TRUE(none.Open(port_, "/subscribe/x", ""));
  EXPECT_EQ(none.status(), 401);
  SseClient wrong;
  ASSERT_TRUE(wrong.Open(port_, "/subscribe/x", "nope"));
  EXPECT_EQ(wrong.status(), 401);
  auto empty = rest_.Call(http::Verb::post, url_ + "/subscribe", json::array(),
                          {{"authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.body, json({{"error", "ERR wrong number of arguments for 'subscribe' command"}}));
  auto pubsub = Call(json::array({"pubsub", "nope"}));
  EXPECT_EQ(pubsub.body, json({{"error", "ERR unknown subcommand 'nope'. Try PUBSUB HELP."}}));
  auto arity = Call(json::array({"publish", "a"}));
  EXPECT_EQ(arity.body, json({{"error", "ERR wrong number of arguments for 'publish' command"}}));
}

TEST_F(RedisPubSubTest, ReadOnlyTokenMaySubscribeButNotPublish) {
  Start({"--redis-readonly-token", "ro"});
  SseClient sub;
  ASSERT_TRUE(sub.Open(port_, "/subscribe/c", "ro"));
  ASSERT_TRUE(sub.WaitFor("data: subscribe,c,1\n\n"));
  auto r =
      rest_.Call(http::Verb::post, url_ + "/", json::array({"publish", "c", "x"}), {{"authorization", "Bearer ro"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, json({{"error", "NOPERM this user has no permissions to run the 'publish' command"}}));
}

TEST_F(RedisPubSubTest, SlowSubscriberIsDisconnected) {
  Start({"--redis-sse-buffer", "65536"});
  SseClient slow;  // never reads
  ASSERT_TRUE(slow.Open(port_, "/subscribe/firehose"));
  ASSERT_TRUE(WaitNumSub("firehose", 1));
  SseClient fast;
  ASSERT_TRUE(fast.Open(port_, "/subscribe/other"));
  ASSERT_TRUE(fast.WaitFor("data: subscribe,other,1\n\n"));
  std::string big(60000, 'x');
  bool dropped = false;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!dropped && std::chrono::steady_clock::now() < deadline) {
    // Batches of publishes fill the socket buffers, then the stream's queue: the server drops it.
    json pipeline = json::array();
    for (int i = 0; i < 20; ++i) pipeline.push_back(json::array({"publish", "firehose", big}));
    Call(pipeline, {}, "/pipeline");
    json r = Result(json::array({"pubsub", "numsub", "firehose"}));
    dropped = r.is_array() && r.size() == 2 && r[1] == 0;
  }
  EXPECT_TRUE(dropped);
  // Other streams are unaffected.
  EXPECT_EQ(Result(json::array({"publish", "other", "still"})), 1);
  EXPECT_TRUE(fast.WaitFor("data: message,other,still\n\n"));
}

TEST_F(RedisPubSubTest, ShutdownWithOpenSubscribersIsPrompt) {
  Start();
  std::vector<std::unique_ptr<SseClient>> subs;
  for (int i = 0; i < 4; ++i) {
    subs.push_back(std::make_unique<SseClient>());
    ASSERT_TRUE(subs.back()->Open(port_, i % 2 ? "/psubscribe/s*" : "/subscribe/s"));
    ASSERT_TRUE(subs.back()->WaitFor(i % 2 ? "data: psubscribe,s*,1\n\n" : "data: subscribe,s,1\n\n"));
  }
  proc_.SendSignal(SIGTERM);
  ASSERT_TRUE(proc_.WaitForLine("stratus: stopped")) << proc_.output();
  for (auto& s : subs) EXPECT_TRUE(s->WaitClosed());
}

TEST_F(RedisPubSubTest, SyncTokenGrowsAndAnyTokenIsAccepted) {
  Start();
  auto first = Call(json::array({"set", "k", "v"}), {{"upstash-sync-token", ""}});
  ASSERT_EQ(first.status, 200);
  ASSERT_TRUE(first.headers.count("upstash-sync-token")) << first.body.dump();
  uint64_t t1 = std::stoull(first.headers["upstash-sync-token"]);
  auto read = Call(json::array({"get", "k"}), {{"upstash-sync-token", std::to_string(t1)}});
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(read.body["result"], "v");
  uint64_t t2 = std::stoull(read.headers["upstash-sync-token"]);
  EXPECT_GT(t2, t1);
  auto write =
      Call(json::array({json::array({"incr", "n"})}), {{"upstash-sync-token", std::to_string(t2)}}, "/pipeline");
  ASSERT_EQ(write.status, 200);
  uint64_t t3 = std::stoull(write.headers["upstash-sync-token"]);
  EXPECT_GT(t3, t2);
  // From the future, malformed: the data is always at least that fresh, so they are accepted.
  for (const std::string& token : std::vector<std::string>{std::to_string(t3 + 1000000000), "not-a-token", "-1"}) {
    auto r = Call(json::array({"get", "k"}), {{"upstash-sync-token", token}});
    EXPECT_EQ(r.status, 200) << token;
    EXPECT_EQ(r.body["result"], "v") << token;
    EXPECT_GT(std::stoull(r.headers["upstash-sync-token"]), t3);
  }
  auto err = Call(json::array({"incr", "k"}));
  EXPECT_EQ(err.status, 400);
  EXPECT_TRUE(err.headers.count("upstash-sync-token"));
  // Tokens keep growing across a restart (they start from the clock).
  uint64_t before = std::stoull(Call(json::array({"ping"})).headers["upstash-sync-token"]);
  std::string dir = proc_.data_dir();
  testing::StratusProcess again;
  proc_.Stop();
  ASSERT_TRUE(again.Start({"--redis-token", kToken}, dir)) << again.output();
  auto after =
      rest_.Call(http::Verb::post, again.redis_url() + "/", json::array({"get", "k"}),
                 {{"authorization", std::string("Bearer ") + kToken}, {"upstash-sync-token", std::to_string(before)}});
  EXPECT_EQ(after.body["result"], "v");
  EXPECT_GT(std::stoull(after.headers["upstash-sync-token"]), before);
}

TEST_F(RedisPubSubTest, BlockingFormsAreRefusedOverRest) {
  Start();
  auto xread = Call(json::array({"xread", "BLOCK", "0", "STREAMS", "s", "$"}));
  EXPECT_EQ(xread.status, 400);
  EXPECT_EQ(xread.body, json({{"error", "ERR the BLOCK option of 'xread' is not supported over the REST API"}}));
  auto group = Call(json::array({"XREADGROUP", "GROUP", "g", "c", "block", "10", "STREAMS", "s", ">"}));
  EXPECT_EQ(group.body, json({{"error", "ERR the BLOCK option of 'xreadgroup' is not supported over the REST API"}}));
  auto blpop = Call(json::array({"blpop", "l", "0"}));
  EXPECT_EQ(blpop.body, json({{"error", "ERR the command 'blpop' is not supported over the REST API"}}));
  // In a pipeline the others run; a transaction is refused whole.
  auto pipe = Call(
      json::array({json::array({"set", "a", "1"}), json::array({"bzpopmin", "z", "0"}), json::array({"get", "a"})}), {},
      "/pipeline");
  EXPECT_EQ(
      pipe.body,
      json::parse(
          R"([{"result":"OK"},{"error":"ERR the command 'bzpopmin' is not supported over the REST API"},{"result":"1"}])"));
  auto multi = Call(json::array({json::array({"set", "a", "2"}), json::array({"brpop", "l", "0"})}), {}, "/multi-exec");
  EXPECT_EQ(multi.status, 400);
  EXPECT_EQ(multi.body, json({{"error", "EXECABORT Transaction discarded because of previous errors."}}));
  EXPECT_EQ(Result(json::array({"get", "a"})), "1");
}

// Through the proxy: the same streams over a dedicated SUBSCRIBE connection per stream.
TEST_F(RedisPubSubTest, ProxySubscribeReceivesInOrderAndFromRedisItself) {
  StartProxy();
  ExpectSubscribeDeliversInOrder(this, port_, [this](const json& c) { return Result(c); });
  SseClient sub;
  ASSERT_TRUE(sub.Open(port_, "/subscribe/direct"));
  ASSERT_TRUE(sub.WaitFor("data: subscribe,direct,1\n\n"));
  testing::RespClient resp(redis_.port());
  EXPECT_EQ(resp.Call({"PUBLISH", "direct", "from redis"}).integer, 1);
  EXPECT_TRUE(sub.WaitFor("data: message,direct,from redis\n\n")) << sub.body();
}

TEST_F(RedisPubSubTest, ProxyPatternAndDisconnectClosesTheBackendConnection) {
  StartProxy({"--redis-sse-keepalive", "100"});
  testing::RespClient resp(redis_.port());
  {
    SseClient sub;
    ASSERT_TRUE(sub.Open(port_, "/psubscribe/user:*/job:*"));
    ASSERT_TRUE(sub.WaitFor("data: psubscribe,user:*,1\n\ndata: psubscribe,job:*,2\n\n")) << sub.body();
    EXPECT_EQ(Result(json::array({"pubsub", "numpat"})), 2);
    EXPECT_EQ(Result(json::array({"publish", "job:7", "run"})), 1);
    ASSERT_TRUE(sub.WaitFor("data: pmessage,job:*,job:7,run\n\n")) << sub.body();
    ASSERT_TRUE(sub.WaitFor(": keepalive\n\n")) << sub.body();
  }
  // The stream's backend connection goes with it.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  int64_t numpat = -1;
  while (std::chrono::steady_clock::now() < deadline && numpat != 0) {
    numpat = resp.Call({"PUBSUB", "NUMPAT"}).integer;
    if (numpat != 0) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(numpat, 0);
}

TEST_F(RedisPubSubTest, ProxyXreadRunsAndItsBlockFormIsRefused) {
  StartProxy();
  ASSERT_TRUE(Result(json::array({"xadd", "s", "1-1", "f", "v"})).is_string());
  json read = Result(json::array({"xread", "COUNT", "10", "STREAMS", "s", "0"}));
  EXPECT_EQ(read, json::parse(R"([["s",[["1-1",["f","v"]]]]])"));
  ASSERT_TRUE(Result(json::array({"xgroup", "create", "s", "g", "0"})).is_string());
  json group = Result(json::array({"xreadgroup", "GROUP", "g", "c", "STREAMS", "s", ">"}));
  EXPECT_EQ(group, json::parse(R"([["s",[["1-1",["f","v"]]]]])"));
  auto blocked = Call(json::array({"xread", "block", "100", "STREAMS", "s", "$"}));
  EXPECT_EQ(blocked.body, json({{"error", "ERR the BLOCK option of 'xread' is not supported over the REST API"}}));
  auto blpop = Call(json::array({"blpop", "l", "0"}));
  EXPECT_EQ(blpop.body, json({{"error", "ERR the command 'blpop' is not supported over the REST API"}}));
  auto token = Call(json::array({"get", "s"}));
  EXPECT_TRUE(token.headers.count("upstash-sync-token"));
}

TEST_F(RedisPubSubTest, ProxySubscribeWithRedisDownAnswers503) {
  StartProxy();
  redis_.Stop();
  SseClient sub;
  ASSERT_TRUE(sub.Open(port_, "/subscribe/x"));
  EXPECT_EQ(sub.status(), 503);
  EXPECT_TRUE(sub.WaitRaw("{\"error\":\"ERR the Redis server at 127.0.0.1:" + std::to_string(redis_.port()) +
                          " is unavailable: "));
}

}  // namespace
}  // namespace stratus
