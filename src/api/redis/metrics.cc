#include "api/redis/metrics.h"

#include <algorithm>
#include <array>

#include "common/metrics.h"
#include "kv/command.h"

namespace stratus::api::redis {
namespace {

constexpr size_t kMaxName = 32;  // longer names are not in any table: "other"

std::vector<std::string> KnownNames() {
  kv::CommandTable table;
  // The same families the engine registers; a failure would be a duplicate row, caught at
  // the engine's start.
  kv::RegisterAllFamilies(table).IgnoreError();
  std::vector<std::string> names;
  for (const auto& [name, spec] : table.all()) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

RedisMetrics::RedisMetrics()
    : names_(KnownNames()),
      calls_(std::make_unique<std::atomic<uint64_t>[]>(names_.size() + 1)),
      errors_(std::make_unique<std::atomic<uint64_t>[]>(names_.size() + 1)) {}

size_t RedisMetrics::IndexOf(std::string_view command) const {
  if (command.size() > kMaxName) return names_.size();
  std::array<char, kMaxName> buf;
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    buf[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view lower(buf.data(), command.size());
  auto it = std::lower_bound(names_.begin(), names_.end(), lower,
                             [](const std::string& a, std::string_view b) { return std::string_view(a) < b; });
  if (it == names_.end() || *it != lower) return names_.size();
  return static_cast<size_t>(it - names_.begin());
}

std::string_view RedisMetrics::LabelOf(std::string_view command) const {
  size_t i = IndexOf(command);
  return i == names_.size() ? std::string_view("other") : std::string_view(names_[i]);
}

void RedisMetrics::CountAt(size_t i, bool error) {
  calls_[i].fetch_add(1, std::memory_order_relaxed);
  if (error) errors_[i].fetch_add(1, std::memory_order_relaxed);
}

void RedisMetrics::AppendMetrics(std::string* out) const {
  // Only the commands seen so far: a scrape lists what clients use, not the whole table.
  for (int pass = 0; pass < 2; ++pass) {
    const char* name = pass == 0 ? "stratus_redis_commands_total" : "stratus_redis_command_errors_total";
    const auto& values = pass == 0 ? calls_ : errors_;
    metrics::AppendFamily(out, name, "counter",
                          pass == 0 ? "Redis REST commands run, by command (\"other\": not a known command)"
                                    : "Redis REST commands answered with an error, by command");
    for (size_t i = 0; i <= names_.size(); ++i) {
      uint64_t v = values[i].load(std::memory_order_relaxed);
      if (v == 0) continue;
      std::string_view label = i == names_.size() ? std::string_view("other") : std::string_view(names_[i]);
      metrics::AppendSample(out, name, metrics::Label("command", label), static_cast<double>(v));
    }
  }
}

asio::awaitable<StatusOr<kv::BatchResult>> MeteredBackend::Run(std::vector<kv::Argv> commands, kv::BatchMode mode,
                                                               bool readonly) {
  // The counters' slots are found before the commands move into the backend.
  std::vector<size_t> slots;
  slots.reserve(commands.size());
  std::string_view last;  // a pipeline often repeats one command: its slot is looked up once
  size_t last_slot = 0;
  for (const auto& argv : commands) {
    std::string_view name = argv.empty() ? std::string_view() : std::string_view(argv[0]);
    if (slots.empty() || name != last) {
      last = name;
      last_slot = metrics_->IndexOf(name);
    }
    slots.push_back(last_slot);
  }
  auto result = co_await inner_.Run(std::move(commands), mode, readonly);
  for (size_t i = 0; i < slots.size(); ++i) {
    bool error =
        !result.ok() || result->abort.has_value() || (i < result->replies.size() && result->replies[i].is_error());
    metrics_->CountAt(slots[i], error);
  }
  co_return result;
}

}  // namespace stratus::api::redis
