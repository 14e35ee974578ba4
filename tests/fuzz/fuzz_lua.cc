// Fuzzes the Lua bridge: script text (compiled and run in the sandbox, with a 50 ms time
// limit and a 16 MiB heap, so a hostile script ends quickly), and the conversions both ways
// between redis.call arguments / replies and Lua values. The first byte picks the mode:
//   0: the rest is a script, run with KEYS = {"k1", "k2"}, ARGV = {"a1", "a2"};
//   1: the rest, split at '\n', is a command run through redis.call, and its reply goes back
//      through the Lua -> reply conversion;
//   2: the same through redis.pcall, its reply returned as a table of results.
// Every input must give a reply, never a crash, a hang or an escape from the sandbox.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/redis/encoding.h"
#include "common/clock.h"
#include "kv/engine.h"

namespace {

stratus::kv::Engine& TheEngine() {
  static stratus::SystemClock clock;
  static stratus::kv::Engine* engine = [] {
    auto* e = new stratus::kv::Engine(clock);
    stratus::kv::EngineOptions o;
    o.active_expiry = false;
    o.script.max_time = std::chrono::milliseconds(50);
    o.script.memory_bytes = 16u << 20;
    (void)e->Open(o);
    return e;
  }();
  return *engine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stratus;
  if (size == 0) return 0;
  kv::Engine& engine = TheEngine();
  static int runs = 0;
  if (++runs % 500 == 0) {
    (void)engine.Run({"flushall"});  // bound the fuzzer's memory
    (void)engine.Run({"script", "flush"});
  }
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  kv::Argv argv;
  switch (data[0] % 3) {
    case 0:
      argv = {"EVAL", std::string(rest), "2", "k1", "k2", "a1", "a2"};
      break;
    case 1:
    case 2: {
      const char* script = data[0] % 3 == 1 ? "return redis.call(unpack(ARGV))"
                                            : "local r = {redis.pcall(unpack(ARGV))} return {r[1], type(r[1])}";
      argv = {"EVAL", script, "0"};
      while (!rest.empty() && argv.size() < 64) {
        size_t nl = rest.find('\n');
        argv.emplace_back(rest.substr(0, nl));
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
      }
      break;
    }
  }
  kv::Reply r = engine.Run(argv);
  std::string out;
  api::redis::AppendResultJson(r, true, &out);
  return 0;
}
