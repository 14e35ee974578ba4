#include "http/router.h"

namespace stratus::http {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

bool ValidVarName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

Status Router::Add(Route route) {
  if (route.path.empty() || route.path.front() != '/' || !route.handler) {
    return InvalidArgument("route " + route.name + ": bad path or no handler");
  }
  auto owned = std::make_unique<Route>(std::move(route));
  Compiled c{owned.get(), {}, {}};
  auto parts = SplitPath(owned->path);
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (i + 1 == parts.size()) {
      size_t colon = p.rfind(':');
      if (colon != std::string_view::npos && (p.find('}') == std::string_view::npos || colon > p.find('}'))) {
        c.custom_verb = std::string(p.substr(colon + 1));
        p = p.substr(0, colon);
      }
    }
    if (p.size() >= 5 && p.front() == '{' && p.substr(p.size() - 4) == "=**}") {
      if (i + 1 != parts.size() || !c.custom_verb.empty()) {
        return InvalidArgument("route " + owned->name + ": {var=**} must be the last segment");
      }
      c.segments.push_back({"", std::string(p.substr(1, p.size() - 5)), true});
    } else if (p.size() >= 2 && p.front() == '{' && p.back() == '}' && ValidVarName(p.substr(1, p.size() - 2))) {
      c.segments.push_back({"", std::string(p.substr(1, p.size() - 2))});
    } else if (p.find_first_of("{}") != std::string_view::npos) {
      return InvalidArgument("route " + owned->name + ": bad template segment " + std::string(p));
    } else {
      c.segments.push_back({std::string(p), ""});
    }
  }
  for (const auto& other : compiled_) {
    if (other.route->verb == owned->verb && SameShape(other, c)) {
      return InvalidArgument("route " + owned->name + ": duplicate of " + other.route->name);
    }
  }
  compiled_.push_back(std::move(c));
  routes_.push_back(std::move(owned));
  return Status::Ok();
}

// Two templates that differ only in variable names match the same requests.
bool Router::SameShape(const Compiled& a, const Compiled& b) {
  if (a.custom_verb != b.custom_verb || a.segments.size() != b.segments.size()) return false;
  for (size_t i = 0; i < a.segments.size(); ++i) {
    const Segment& x = a.segments[i];
    const Segment& y = b.segments[i];
    if (x.var.empty() != y.var.empty() || x.rest != y.rest || (x.var.empty() && x.literal != y.literal)) return false;
  }
  return true;
}

bool Router::MatchOne(const Compiled& c, const std::vector<std::string_view>& parts,
                      std::map<std::string, std::string>* params) {
  bool rest = !c.segments.empty() && c.segments.back().rest;
  if (rest ? parts.size() + 1 < c.segments.size() : parts.size() != c.segments.size()) return false;
  std::map<std::string, std::string> found;
  if (rest) {
    size_t fixed = c.segments.size() - 1;
    for (size_t i = 0; i < fixed; ++i) {
      const Segment& s = c.segments[i];
      if (s.var.empty() ? parts[i] != s.literal : parts[i].empty()) return false;
      if (!s.var.empty()) found[s.var] = PercentDecode(parts[i]);
    }
    std::string remainder;
    for (size_t i = fixed; i < parts.size(); ++i) {
      if (i > fixed) remainder += '/';
      remainder += parts[i];
    }
    found[c.segments.back().var] = std::move(remainder);
    *params = std::move(found);
    return true;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    if (i + 1 == parts.size()) {
      // Custom methods ("q:pause"); ids never contain ':' so the last colon splits them.
      size_t colon = part.rfind(':');
      std::string_view verb = colon == std::string_view::npos ? std::string_view() : part.substr(colon + 1);
      if (verb != c.custom_verb) return false;
      if (colon != std::string_view::npos) part = part.substr(0, colon);
    }
    const Segment& s = c.segments[i];
    if (s.var.empty()) {
      if (part != s.literal) return false;
    } else {
      if (part.empty()) return false;
      found[s.var] = PercentDecode(part);
    }
  }
  *params = std::move(found);
  return true;
}

Router::Match Router::Find(Verb verb, std::string_view path, std::map<std::string, std::string>* params) const {
  auto parts = SplitPath(path);
  Match m;
  // Fixed-length templates first, then the catch-all ({var=**}) with the longest fixed
  // prefix, so a catch-all never shadows a more specific route.
  const Compiled* best = nullptr;
  std::map<std::string, std::string> best_params;
  for (const auto& c : compiled_) {
    bool catch_all = !c.segments.empty() && c.segments.back().rest;
    std::map<std::string, std::string> p;
    if (!MatchOne(c, parts, &p)) continue;
    m.path_matched = true;
    if (c.route->verb != verb) continue;
    if (!catch_all) {
      m.route = c.route;
      *params = std::move(p);
      return m;
    }
    if (!best || c.segments.size() > best->segments.size()) {
      best = &c;
      best_params = std::move(p);
    }
  }
  if (best) {
    m.route = best->route;
    *params = std::move(best_params);
  }
  return m;
}

}  // namespace stratus::http
