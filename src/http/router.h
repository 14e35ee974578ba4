// The route table: one row per route (verb, path template, scope, handler), checked when it
// is built. Templates are Google-style: "/v2/projects/{project}/locations/{location}/queues/{queue}:pause"
// — a `{var}` matches one path segment; a trailing ":verb" is a custom method. A last
// segment `{var=**}` matches the rest of the path (zero or more segments, colons included);
// its parameter is the raw remainder, not percent-decoded, so the handler can split it.
// Fixed-length templates are tried before catch-alls.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/message.h"
#include "stratus/status.h"

namespace stratus::http {

enum class Scope {
  kPublic,  // no credentials (health checks, discovery documents)
  kApi,     // the API token when one is configured
};

using Handler = std::function<asio::awaitable<Response>(RequestContext&)>;

struct Route {
  Verb verb;
  std::string path;
  Scope scope;
  std::string name;  // stable name for logs and metrics, e.g. "queues.create"
  Handler handler;
  // What a kApi route needs beyond a valid credential, in IAM form ("cloudtasks.queues.purge");
  // "*": any valid credential; empty: admin only. The router only stores it; the API layer decides.
  std::string permission = {};
};

class Router {
 public:
  // Adds a row; fails on a malformed template or a duplicate (verb, template).
  Status Add(Route route);

  struct Match {
    const Route* route = nullptr;
    bool path_matched = false;  // some route has this path, but not this verb (405)
  };
  // Fills ctx.params on a match.
  Match Find(Verb verb, std::string_view path, std::map<std::string, std::string>* params) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  struct Segment {
    std::string literal;  // when not a variable
    std::string var;      // variable name, or empty
    bool rest = false;    // `{var=**}`: the remainder of the path
  };
  struct Compiled {
    const Route* route;
    std::vector<Segment> segments;
    std::string custom_verb;  // after ':' in the last segment
  };
  static bool SameShape(const Compiled& a, const Compiled& b);
  static bool MatchOne(const Compiled& c, const std::vector<std::string_view>& parts,
                       std::map<std::string, std::string>* params);

  std::vector<std::unique_ptr<Route>> routes_;
  std::vector<Compiled> compiled_;
};

}  // namespace stratus::http
