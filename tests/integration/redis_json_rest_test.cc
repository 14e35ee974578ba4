// JSON.* through the Upstash REST front end of the real binary, sent the way @upstash/redis
// sends it (a command array, a pipeline, or the command in the URL), and the documents still
// there after the server is killed and started again on the same data directory.
#include <gtest/gtest.h>

#include "integration/rest_client.h"
#include "integration/stratus_process.h"

namespace stratus {
namespace {

using nlohmann::json;
using testing::RestClient;
using testing::StratusProcess;

constexpr const char* kToken = "json-secret";

json Call(RestClient& c, const std::string& url, const json& body) {
  auto r = c.Call(http::Verb::post, url, body, {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(r.status, r.body.contains("error") ? 400 : 200) << r.body.dump();
  return r.body;
}

TEST(RedisJsonRest, CommandsPipelinesAndRestart) {
  StratusProcess first;
  ASSERT_TRUE(first.Start({"--redis-token", kToken})) << first.output();
  RestClient c;
  const std::string url = first.redis_url();
  const std::string doc = R"({"title":"notes","tags":["a","b"],"meta":{"views":10,"ok":true}})";
  EXPECT_EQ(Call(c, url, json::array({"JSON.SET", "n", "$", doc})), (json{{"result", "OK"}}));
  EXPECT_EQ(Call(c, url, json::array({"JSON.GET", "n", "$.meta.views"})), (json{{"result", "[10]"}}));
  EXPECT_EQ(Call(c, url, json::array({"JSON.ARRAPPEND", "n", "$.tags", "\"c\""})),
            (json{{"result", json::array({3})}}));
  EXPECT_EQ(Call(c, url, json::array({"JSON.NUMINCRBY", "n", "$.meta.views", "0.5"})), (json{{"result", "[10.5]"}}));
  EXPECT_EQ(Call(c, url, json::array({"JSON.TYPE", "n", "$.meta.*"})),
            (json{{"result", json::array({"number", "boolean"})}}));
  EXPECT_EQ(Call(c, url, json::array({"JSON.GET", "n", ".nope"})),
            (json{{"error", "ERR Path '$.nope' does not exist"}}));
  EXPECT_EQ(Call(c, url, json::array({"JSON.SET", "other", "$.x", "1"})),
            (json{{"error", "ERR new objects must be created at the root"}}));
  EXPECT_EQ(Call(c, url, json::array({"TYPE", "n"})), (json{{"result", "ReJSON-RL"}}));

  json piped =
      Call(c, url + "/pipeline",
           json::array({json::array({"JSON.TOGGLE", "n", "$.meta.ok"}), json::array({"JSON.OBJLEN", "n", "$.meta"}),
                        json::array({"JSON.ARRPOP", "n", "$.tags", "0"})}));
  EXPECT_EQ(piped, json::array({json{{"result", json::array({0})}}, json{{"result", json::array({2})}},
                                json{{"result", json::array({"\"a\""})}}}));
  json multi = Call(c, url + "/multi-exec",
                    json::array({json::array({"JSON.STRAPPEND", "n", "$.title", "\"!\""}),
                                 json::array({"JSON.STRLEN", "n", "$.title"})}));
  EXPECT_EQ(multi, json::array({json{{"result", json::array({6})}}, json{{"result", json::array({6})}}}));
  // The command in the URL, the value as the body.
  EXPECT_EQ(Call(c, url + "/json.get/n/$.tags", nullptr), (json{{"result", R"([["b","c"]])"}}));

  const std::string want = R"({"title":"notes!","tags":["b","c"],"meta":{"views":10.5,"ok":false}})";
  EXPECT_EQ(Call(c, url, json::array({"JSON.GET", "n"})), (json{{"result", want}}));
  first.Kill();  // no clean shutdown: the log alone must hold every write

  StratusProcess second;
  ASSERT_TRUE(second.Start({"--redis-token", kToken}, first.data_dir())) << second.output();
  EXPECT_EQ(Call(c, second.redis_url(), json::array({"JSON.GET", "n"})), (json{{"result", want}}));
}

}  // namespace
}  // namespace stratus
