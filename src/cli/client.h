// What every client subcommand of `stratus` shares: the server, token, project and location
// flags (with their environment and gcloud-config fallbacks), resource names from short ids,
// and one blocking REST client whose answers carry the CLI's exit code.
//
// Exit codes: 0 ok, 1 the server said no (its google.rpc message is printed), 2 usage (bad
// flags, a missing project, an unreadable file), 3 the server cannot be reached.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "http/message.h"

namespace stratus::sdk::internal {
class SyncHttp;
}

namespace stratus::cli {

enum Exit : int { kExitOk = 0, kExitServer = 1, kExitUsage = 2, kExitConnect = 3 };

inline constexpr char kDefaultServer[] = "http://127.0.0.1:8123";
inline constexpr char kDefaultLocation[] = "us-central1";

struct ClientOptions {
  std::string server;  // empty: $STRATUS_SERVER, else kDefaultServer
  std::string token;   // empty: $STRATUS_TOKEN
  std::string project;
  std::string location;
  std::string format = "table";  // table | json | yaml
};

// --server, --token (alias --api-token), --project, --location and, with `format`, --format.
void AddClientOptions(CLI::App& cmd, ClientOptions& o, bool format = true);

// The help text's account of where the defaults come from (a CLI11 footer paragraph).
std::string DefaultsHelp();

// A value and where it came from ("--project", "$CLOUDSDK_CORE_PROJECT", "gcloud config ...").
struct Resolved {
  std::string value;
  std::string source;
};
// --project, then $STRATUS_PROJECT, $CLOUDSDK_CORE_PROJECT, then the active gcloud
// configuration's [core] project ($CLOUDSDK_CONFIG or ~/.config/gcloud). Empty when none.
Resolved ResolveProject(const std::string& flag);
// --location, then $STRATUS_LOCATION, $CLOUDSDK_TASKS_LOCATION, the gcloud configuration's
// [tasks] location, then us-central1.
Resolved ResolveLocation(const std::string& flag);

// One answer of the API, already classified: `exit` is kExitOk, kExitServer or kExitConnect.
struct Reply {
  int exit = kExitOk;
  int http_status = 0;
  std::string status;   // google.rpc status name when the server sent one ("NOT_FOUND")
  std::string message;  // what went wrong, for the user (not yet escaped for the terminal)
  nlohmann::json json;  // the parsed body of a 2xx JSON answer
  std::string body;     // the raw body
  bool ok() const { return exit == kExitOk; }
};

struct Call {
  http::Verb verb = http::Verb::get;
  std::string path;  // "/v2/projects/…", already escaped
  std::string body;  // JSON, or empty
};

class ApiClient {
 public:
  // Fails (kExitUsage, with the reason in *error) on a bad --server URL or a missing project
  // when `need_project`.
  static std::unique_ptr<ApiClient> Create(const ClientOptions& o, bool need_project, std::string* error);
  ~ApiClient();

  Reply Send(const Call& call);
  Reply Get(const std::string& path) { return Send({http::Verb::get, path, {}}); }
  // Sends every call with at most `concurrency` in flight; `done(index, reply)` runs on the
  // client's thread as each one ends (one at a time).
  void SendMany(const std::vector<Call>& calls, size_t concurrency,
                const std::function<void(size_t, const Reply&)>& done);
  // Every item of a paged list (`items_key`, following nextPageToken), page by page;
  // `page(items)` returns false to stop early. A failed page is returned as is.
  Reply ForEachPage(const std::string& path, const std::string& items_key,
                    const std::function<bool(const nlohmann::json& items)>& page, int page_size = 1000);

  const std::string& server() const { return server_; }
  const std::string& project() const { return project_.value; }
  const std::string& location() const { return location_.value; }
  // "projects/P/locations/L"
  std::string Parent() const;
  // A queue id or full name -> the full name; "" and *error when it is neither.
  std::string QueueName(const std::string& id, std::string* error) const;
  // A task id (needs --queue) or a full task name -> the full name.
  std::string TaskName(const std::string& id, const std::string& queue, std::string* error) const;

 private:
  ApiClient() = default;
  std::string server_;
  std::string token_;
  Resolved project_;
  Resolved location_;
  std::unique_ptr<sdk::internal::SyncHttp> http_;
};

// "a b" -> "a%20b": everything outside unreserved characters, '/' and ':' escaped.
std::string EscapePath(const std::string& s);
// The short id of a resource name: what follows the last '/'.
std::string ShortId(const std::string& name);

// Prints "stratus: MESSAGE" (escaped) with a hint of what to do, and returns the reply's exit.
int ReportFailure(const Reply& reply, const std::string& server);
// Prints a usage error and returns kExitUsage.
int UsageError(const std::string& message);

}  // namespace stratus::cli
