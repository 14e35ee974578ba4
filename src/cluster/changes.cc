#include "cluster/changes.h"

#include <charconv>

namespace stratus::cluster {

std::string EncodeChange(const Change& change) {
  return std::string(1, static_cast<char>(change.kind)) + " " + std::to_string(change.due) + " " + change.name;
}

std::vector<Change> DecodeChanges(std::string_view payload) {
  std::vector<Change> out;
  while (!payload.empty()) {
    const size_t nl = payload.find('\n');
    std::string_view line = payload.substr(0, nl);
    payload = nl == std::string_view::npos ? std::string_view() : payload.substr(nl + 1);
    if (line.size() < 5 || line[1] != ' ') continue;
    const char k = line[0];
    if (std::string_view("crxqpdljuf").find(k) == std::string_view::npos) continue;
    const size_t sp = line.find(' ', 2);
    if (sp == std::string_view::npos || sp + 1 >= line.size()) continue;
    Change c;
    c.kind = static_cast<Change::Kind>(k);
    auto [end, ec] = std::from_chars(line.data() + 2, line.data() + sp, c.due);
    if (ec != std::errc() || end != line.data() + sp) continue;
    c.name = std::string(line.substr(sp + 1));
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace stratus::cluster
