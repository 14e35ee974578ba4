#include "cli/metrics_text.h"

#include <cstdlib>
#include <string>

namespace stratus::cli {

namespace {

// Reads `key="value",…}` from text[*i] (just after '{'); false on a malformed label set.
bool ParseLabels(std::string_view text, size_t* i, std::map<std::string, std::string>* out) {
  while (*i < text.size()) {
    if (text[*i] == '}') {
      ++*i;
      return true;
    }
    size_t eq = text.find('=', *i);
    if (eq == std::string_view::npos || eq + 1 >= text.size() || text[eq + 1] != '"') return false;
    std::string key(text.substr(*i, eq - *i));
    std::string value;
    size_t j = eq + 2;
    for (; j < text.size() && text[j] != '"'; ++j) {
      if (text[j] == '\\' && j + 1 < text.size()) {
        ++j;
        value += text[j] == 'n' ? '\n' : text[j];
      } else {
        value += text[j];
      }
    }
    if (j >= text.size()) return false;
    (*out)[key] = value;
    *i = j + 1;
    if (*i < text.size() && text[*i] == ',') ++*i;
  }
  return false;
}

}  // namespace

std::vector<Sample> ParseMetricsText(std::string_view text) {
  std::vector<Sample> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    if (s.name.empty()) continue;
    if (i < line.size() && line[i] == '{') {
      ++i;
      if (!ParseLabels(line, &i, &s.labels)) continue;
    }
    while (i < line.size() && line[i] == ' ') ++i;
    std::string value(
        line.substr(i, line.find(' ', i) == std::string_view::npos ? std::string_view::npos : line.find(' ', i) - i));
    if (value.empty()) continue;
    char* end = nullptr;
    s.value = std::strtod(value.c_str(), &end);
    if (end != value.c_str() + value.size()) continue;
    out.push_back(std::move(s));
  }
  return out;
}

std::map<std::string, QueueSample> QueueSamples(const std::vector<Sample>& samples) {
  std::map<std::string, QueueSample> out;
  for (const auto& s : samples) {
    auto q = s.labels.find("queue");
    if (q == s.labels.end()) continue;
    QueueSample& o = out[q->second];
    if (s.name == "stratus_queue_depth") o.depth = s.value;
    if (s.name == "stratus_queue_in_flight") o.in_flight = s.value;
    if (s.name == "stratus_queue_oldest_task_age_seconds") o.oldest_age = s.value;
    if (s.name == "stratus_tasks_dispatched_total") o.dispatched += s.value;
    if (s.name == "stratus_tasks_succeeded_total") o.succeeded += s.value;
    if (s.name == "stratus_task_attempts_failed_total") o.failed += s.value;
    if (s.name == "stratus_tasks_dead_lettered_total") o.dead_lettered += s.value;
  }
  return out;
}

}  // namespace stratus::cli
