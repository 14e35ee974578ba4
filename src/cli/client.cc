#include "cli/client.h"

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/output.h"
#include "sdk/http_sync.h"

namespace stratus::cli {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The active gcloud configuration file and its value of [section] key, or "".
Resolved GcloudConfig(const std::string& section, const std::string& key) {
  std::string dir = Env("CLOUDSDK_CONFIG");
  if (dir.empty()) {
    std::string home = Env("HOME");
    if (home.empty()) return {};
    dir = home + "/.config/gcloud";
  }
  std::string name = Env("CLOUDSDK_ACTIVE_CONFIG_NAME");
  if (name.empty()) {
    std::ifstream active(dir + "/active_config");
    std::getline(active, name);
    name = Trim(name);
  }
  if (name.empty()) name = "default";
  std::string path = dir + "/configurations/config_" + name;
  std::ifstream in(path);
  std::string line, current;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      current = Trim(line.substr(1, line.size() - 2));
      continue;
    }
    size_t eq = line.find('=');
    if (current == section && eq != std::string::npos && Trim(line.substr(0, eq)) == key) {
      std::string v = Trim(line.substr(eq + 1));
      if (!v.empty()) return {v, "gcloud config " + path + " [" + section + "] " + key};
    }
  }
  return {};
}

Resolved FirstOf(const std::string& flag, const std::string& flag_name, std::initializer_list<const char*> envs,
                 const std::string& section, const std::string& key) {
  if (!flag.empty()) return {flag, flag_name};
  for (const char* e : envs) {
    std::string v = Env(e);
    if (!v.empty()) return {v, std::string("$") + e};
  }
  return GcloudConfig(section, key);
}

Code CodeFromName(const std::string& name) {
  for (int c = 0; c <= static_cast<int>(Code::kUnauthenticated); ++c) {
    if (CodeName(static_cast<Code>(c)) == name) return static_cast<Code>(c);
  }
  return Code::kUnknown;
}

Reply Classify(const http::ClientResult& r, const std::string& server) {
  Reply out;
  out.http_status = r.status;
  out.body = r.body;
  using F = http::ClientResult::Failure;
  if (r.failure != F::kNone) {
    out.exit = r.failure == F::kRefused ? kExitUsage : kExitConnect;
    std::string what = r.failure == F::kTimeout    ? "no answer in time from "
                       : r.failure == F::kProtocol ? "no HTTP answer from "
                       : r.failure == F::kRefused  ? "cannot send this request to "
                                                   : "cannot connect to ";
    out.message = r.error.find(server) != std::string::npos ? r.error : what + server + " (" + r.error + ")";
    return out;
  }
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status / 100 == 2) {
    if (!r.body.empty() && doc.is_discarded()) {
      // /metrics is text: callers that want JSON check `json`.
      out.json = nullptr;
    } else {
      out.json = r.body.empty() ? nlohmann::json::object() : doc;
    }
    return out;
  }
  out.exit = kExitServer;
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    const auto& e = doc["error"];
    out.status = e.value("status", std::string());
    if (out.status.empty() || CodeFromName(out.status) == Code::kUnknown) {
      if (r.status == 401) out.status = "UNAUTHENTICATED";
    }
    out.message = e.value("message", std::string("HTTP ") + std::to_string(r.status));
  } else {
    out.status = r.status == 401 ? "UNAUTHENTICATED" : r.status == 403 ? "PERMISSION_DENIED" : "";
    out.message = "HTTP " + std::to_string(r.status) + " from " + server + ": " + r.body.substr(0, 200);
  }
  return out;
}

std::string Hint(const Reply& r, const std::string& server) {
  if (r.exit == kExitConnect) {
    return "is the server running? Start one with `stratus serve`, or point --server (or $STRATUS_SERVER) at "
           "it; now " +
           server;
  }
  if (r.status == "UNAUTHENTICATED") return "pass the server's API token with --token or $STRATUS_TOKEN";
  if (r.status == "PERMISSION_DENIED") return "use a token whose scope allows this (docs/security.md)";
  if (r.status == "NOT_FOUND") return "check the id, --project and --location (`stratus queues list` shows the queues)";
  return "";
}

}  // namespace

void AddClientOptions(CLI::App& cmd, ClientOptions& o, bool format) {
  cmd.add_option("--server", o.server,
                 "Base URL of the stratus server (default: $STRATUS_SERVER, else " + std::string(kDefaultServer) + ")");
  cmd.add_option("--token,--api-token", o.token,
                 "API token, sent as 'Authorization: Bearer' (default: $STRATUS_TOKEN)");
  cmd.add_option("--project", o.project, "Project of short ids (default: see below)");
  cmd.add_option("--location", o.location, "Location of short ids (default: see below)");
  if (format) {
    cmd.add_option("--format", o.format, "Output: table for people, json or yaml for scripts")
        ->capture_default_str()
        ->check(CLI::IsMember({"table", "json", "yaml"}));
  }
}

std::string DefaultsHelp() {
  return "Defaults: --project is taken from $STRATUS_PROJECT, then $CLOUDSDK_CORE_PROJECT, then the active "
         "gcloud configuration's [core] project; --location from $STRATUS_LOCATION, then "
         "$CLOUDSDK_TASKS_LOCATION, then its [tasks] location, else us-central1. Ids may be short (my-queue) or "
         "full names (projects/P/locations/L/queues/my-queue).\n"
         "Exit codes: 0 ok, 1 the server refused (its message is printed), 2 usage, 3 cannot connect.";
}

Resolved ResolveProject(const std::string& flag) {
  return FirstOf(flag, "--project", {"STRATUS_PROJECT", "CLOUDSDK_CORE_PROJECT"}, "core", "project");
}

Resolved ResolveLocation(const std::string& flag) {
  Resolved r = FirstOf(flag, "--location", {"STRATUS_LOCATION", "CLOUDSDK_TASKS_LOCATION"}, "tasks", "location");
  if (r.value.empty()) r = {kDefaultLocation, "the default"};
  return r;
}

std::unique_ptr<ApiClient> ApiClient::Create(const ClientOptions& o, bool need_project, std::string* error) {
  std::unique_ptr<ApiClient> c(new ApiClient());
  c->server_ = !o.server.empty() ? o.server : Env("STRATUS_SERVER");
  if (c->server_.empty()) c->server_ = kDefaultServer;
  while (c->server_.size() > 1 && c->server_.back() == '/') c->server_.pop_back();
  if (auto u = http::Url::Parse(c->server_); !u.ok()) {
    *error = "--server " + c->server_ + ": " + u.status().message() + " (want a URL such as http://127.0.0.1:8123)";
    return nullptr;
  }
  c->token_ = !o.token.empty() ? o.token : Env("STRATUS_TOKEN");
  c->project_ = ResolveProject(o.project);
  c->location_ = ResolveLocation(o.location);
  if (need_project && c->project_.value.empty()) {
    *error =
        "no project: pass --project, set $STRATUS_PROJECT or $CLOUDSDK_CORE_PROJECT, or `gcloud config set project "
        "P`";
    return nullptr;
  }
  auto http = sdk::internal::SyncHttp::Create("");
  if (!http.ok()) {
    *error = http.status().message();
    return nullptr;
  }
  c->http_ = std::move(http).value();
  return c;
}

ApiClient::~ApiClient() = default;

namespace {
http::Request BuildRequest(const Call& call, const std::string& token) {
  auto req = sdk::internal::MakeRequest(call.verb, call.body);
  req.set(beast::http::field::user_agent, "stratus-cli/0.1");
  if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
  return req;
}
}  // namespace

Reply ApiClient::Send(const Call& call) {
  auto url = http::Url::Parse(server_ + call.path);
  if (!url.ok()) return Reply{kExitUsage, 0, "", url.status().message(), nullptr, ""};
  auto res = http_->Fetch(*url, BuildRequest(call, token_), std::chrono::seconds(60));
  return Classify(res, server_);
}

void ApiClient::SendMany(const std::vector<Call>& calls, size_t concurrency,
                         const std::function<void(size_t, const Reply&)>& done) {
  if (calls.empty()) return;
  concurrency = std::max<size_t>(1, std::min(concurrency, calls.size()));
  size_t next = 0;
  size_t running = concurrency;
  sdk::internal::SyncHttp* http = http_.get();
  http_->RunOnLoop([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
    for (size_t w = 0; w < concurrency; ++w) {
      asio::co_spawn(
          ex,
          [&]() -> asio::awaitable<void> {
            for (size_t i = next++; i < calls.size(); i = next++) {
              Reply reply;
              auto url = http::Url::Parse(server_ + calls[i].path);
              if (!url.ok()) {
                reply = Reply{kExitUsage, 0, "", url.status().message(), nullptr, ""};
              } else {
                http::Url u = *url;
                http::Request req = BuildRequest(calls[i], token_);
                auto res = co_await http->FetchAsync(u, std::move(req), std::chrono::seconds(60));
                reply = Classify(res, server_);
              }
              done(i, reply);
            }
            if (--running == 0) all_done.cancel();
          },
          asio::detached);
    }
    boost::system::error_code ec;
    if (running > 0) co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  });
}

Reply ApiClient::ForEachPage(const std::string& path, const std::string& items_key,
                             const std::function<bool(const nlohmann::json&)>& page, int page_size) {
  std::string token;
  const char sep = path.find('?') == std::string::npos ? '?' : '&';
  for (;;) {
    std::string p = path + sep + "pageSize=" + std::to_string(page_size);
    if (!token.empty()) p += "&pageToken=" + EscapePath(token);
    Reply r = Get(p);
    if (!r.ok()) return r;
    if (!r.json.is_object())
      return Reply{kExitServer, r.http_status, "", "the server answered with no JSON", nullptr, ""};
    static const nlohmann::json kNone = nlohmann::json::array();
    const auto& items = r.json.contains(items_key) ? r.json[items_key] : kNone;
    if (!page(items)) return r;
    token = r.json.value("nextPageToken", std::string());
    if (token.empty()) return r;
  }
}

std::string ApiClient::Parent() const {
  return "projects/" + project_.value + "/locations/" + location_.value;
}

std::string ApiClient::QueueName(const std::string& id, std::string* error) const {
  if (id.rfind("projects/", 0) == 0) {
    size_t q = id.find("/queues/");
    if (id.find("/locations/") == std::string::npos || q == std::string::npos ||
        id.find("/tasks/") != std::string::npos || q + 8 >= id.size()) {
      *error = "'" + id + "' is not a queue name: use an id or projects/P/locations/L/queues/Q";
      return "";
    }
    return id;
  }
  if (id.empty() || id.find('/') != std::string::npos) {
    *error = "'" + id + "' is not a queue id: use an id or projects/P/locations/L/queues/Q";
    return "";
  }
  if (project_.value.empty()) {
    *error = "no project for the short id '" + id +
             "': pass --project, set $STRATUS_PROJECT or $CLOUDSDK_CORE_PROJECT, or give the full name";
    return "";
  }
  return Parent() + "/queues/" + id;
}

std::string ApiClient::TaskName(const std::string& id, const std::string& queue, std::string* error) const {
  if (id.rfind("projects/", 0) == 0) {
    size_t t = id.find("/tasks/");
    if (t == std::string::npos || id.find("/queues/") == std::string::npos || t + 7 >= id.size()) {
      *error = "'" + id + "' is not a task name: use an id with --queue, or projects/P/locations/L/queues/Q/tasks/T";
      return "";
    }
    return id;
  }
  if (id.empty() || id.find('/') != std::string::npos) {
    *error = "'" + id + "' is not a task id";
    return "";
  }
  if (queue.empty()) {
    *error = "the short task id '" + id + "' needs --queue (or give the full task name)";
    return "";
  }
  std::string q = QueueName(queue, error);
  return q.empty() ? "" : q + "/tasks/" + id;
}

std::string EscapePath(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == ':') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string ShortId(const std::string& name) {
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

int ReportFailure(const Reply& reply, const std::string& server) {
  std::string text = reply.status.empty() ? reply.message : reply.status + ": " + reply.message;
  std::cerr << "stratus: " << TerminalSafe(text) << "\n";
  std::string hint = Hint(reply, server);
  if (!hint.empty()) std::cerr << "  (" << hint << ")\n";
  return reply.exit == kExitOk ? kExitServer : reply.exit;
}

int UsageError(const std::string& message) {
  std::cerr << "stratus: " << TerminalSafe(message) << "\n  (run with --help for usage)\n";
  return kExitUsage;
}

}  // namespace stratus::cli
