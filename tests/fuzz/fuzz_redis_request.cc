// Fuzzes what the Redis side reads from the outside: Upstash JSON bodies (a command, a
// pipeline) and RESP (the append-only log on start, replies from a proxied server). Every
// input must give a result or an error, never a crash, a hang or a leak. A parsed command
// is also run on an in-memory engine, so argument handling is fuzzed too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/redis/encoding.h"
#include "common/clock.h"
#include "kv/engine.h"
#include "kv/resp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stratus;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto cmd = api::redis::ParseCommandJson(in);
  (void)api::redis::ParsePipelineJson(in);
  // The fast paths read a subset of JSON: whatever they read, the full parser reads the same.
  if (auto fast = api::redis::ParseCommandJsonFast(in)) {
    auto full = api::redis::ParseCommandJsonFull(in);
    if (!full.ok() || *full != *fast) std::abort();
  }
  if (auto fast = api::redis::ParsePipelineJsonFast(in)) {
    auto full = api::redis::ParsePipelineJsonFull(in);
    if (!full.ok() || *full != *fast) std::abort();
  }
  std::vector<std::string> argv;
  size_t used = 0;
  (void)kv::RespParser::ParseCommand(in, &argv, &used);
  kv::Reply reply;
  (void)kv::RespParser::ParseReply(in, &reply, &used);
  if (cmd.ok()) {
    static SystemClock clock;
    static kv::Engine* engine = [] {
      auto* e = new kv::Engine(clock);
      kv::EngineOptions o;
      o.active_expiry = false;
      (void)e->Open(o);
      return e;
    }();
    std::string lower = cmd->empty() ? "" : (*cmd)[0];
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static int runs = 0;
    if (++runs % 1000 == 0) (void)engine->Run({"flushall"});  // bound the fuzzer's memory
    if (lower != "eval" && lower != "evalsha") {              // scripts may loop for the time limit
      kv::Reply r = engine->Run(*cmd);
      std::string out;
      api::redis::AppendResultJson(r, true, &out);
    }
  }
  return 0;
}
