// `stratus tasks list|describe|create|run|delete`: the Cloud Tasks v2 task methods.
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/base64.h"
#include "common/time.h"

namespace stratus::cli {

namespace {

void QueueFlag(CLI::App& cmd, Args& a, bool required) {
  auto* o = cmd.add_option("--queue", a.queue, "Queue id or full name");
  if (required) o->required();
}

void TaskArgs(CLI::App& cmd, Args& a) {
  cmd.add_option("task", a.ids, "Task id (with --queue) or full task name")->required()->expected(1);
  QueueFlag(cmd, a, false);
  AddClientOptions(cmd, a.client);
}

std::string LastStatus(const nlohmann::json& t) {
  if (!t.contains("lastAttempt") || !t["lastAttempt"].is_object()) return "";
  const auto& la = t["lastAttempt"];
  if (!la.contains("responseStatus") || !la["responseStatus"].is_object())
    return la.contains("responseTime") ? "" : "-";
  const auto& rs = la["responseStatus"];
  std::string out = rs.contains("code") ? Cell(rs["code"]) : "";
  std::string msg = rs.value("message", std::string());
  return msg.empty() ? out : out + " " + msg;
}

std::string Target(const nlohmann::json& t) {
  if (t.contains("httpRequest") && t["httpRequest"].is_object()) {
    const auto& h = t["httpRequest"];
    return h.value("httpMethod", std::string("POST")) + " " + h.value("url", std::string());
  }
  if (t.contains("appEngineHttpRequest") && t["appEngineHttpRequest"].is_object()) {
    const auto& h = t["appEngineHttpRequest"];
    return h.value("httpMethod", std::string("POST")) + " (App Engine) " + h.value("relativeUri", std::string());
  }
  return "";
}

int List(Args& a) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, queue = api->QueueName(a.queue, &error);
  if (queue.empty()) return UsageError(error);
  std::string view = a.view.empty() ? "BASIC" : a.view;
  for (auto& c : view) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  Table table({"TASK", "SCHEDULE TIME", "DISPATCHES", "RESPONSES", "LAST STATUS", "TARGET"});
  nlohmann::json all = nlohmann::json::array();
  size_t seen = 0;
  int page_size = a.limit > 0 && a.limit < 1000 ? static_cast<int>(a.limit) : 1000;
  Reply r = api->ForEachPage(
      "/v2/" + EscapePath(queue) + "/tasks?responseView=" + view, "tasks",
      [&](const nlohmann::json& items) {
        for (const auto& t : items) {
          if (a.limit > 0 && seen >= a.limit) return false;
          ++seen;
          if (a.client.format != "table") {
            all.push_back(t);
            continue;
          }
          table.Add({ShortId(t.value("name", "")), t.value("scheduleTime", ""), Cell(t.value("dispatchCount", 0)),
                     Cell(t.value("responseCount", 0)), LastStatus(t), Target(t)});
        }
        return a.limit == 0 || seen < a.limit;
      },
      page_size);
  if (!r.ok()) return ReportFailure(r, api->server());
  if (a.client.format != "table") {
    std::cout << Formatted(all, a.client.format);
  } else if (table.size() == 0) {
    std::cerr << "No tasks in " << TerminalSafe(queue) << "\n";
  } else {
    std::cout << table.Render();
  }
  return kExitOk;
}

int Describe(Args& a) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, name = api->TaskName(a.ids[0], a.queue, &error);
  if (name.empty()) return UsageError(error);
  std::string view = a.view.empty() ? "FULL" : a.view;
  for (auto& c : view) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  Reply r = api->Get("/v2/" + EscapePath(name) + "?responseView=" + view);
  if (!r.ok()) return ReportFailure(r, api->server());
  std::cout << (a.client.format == "table" ? YamlText(r.json) : Formatted(r.json, a.client.format));
  return kExitOk;
}

// The CreateTask body from the flags, or a usage error.
Status BuildTask(const Args& a, const std::string& queue, nlohmann::json* out) {
  nlohmann::json req = {{"url", a.url}, {"httpMethod", a.method}};
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& h : a.headers) {
    size_t sep = h.find_first_of(":=");
    if (sep == std::string::npos || sep == 0) return InvalidArgument("--header wants 'Name: value', got '" + h + "'");
    std::string value = h.substr(sep + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    headers[h.substr(0, sep)] = value;
  }
  if (!headers.empty()) req["headers"] = headers;
  if (!a.body.empty() && !a.body_file.empty()) return InvalidArgument("give --body or --body-file, not both");
  std::string body = a.body;
  if (!a.body_file.empty()) {
    std::ifstream in(a.body_file, std::ios::binary);
    if (!in) return InvalidArgument("--body-file: cannot read " + a.body_file);
    std::ostringstream s;
    s << in.rdbuf();
    body = s.str();
  }
  if (!body.empty()) req["body"] = Base64Encode(body);
  if (!a.oidc_service_account.empty()) {
    req["oidcToken"] = {{"serviceAccountEmail", a.oidc_service_account}};
    if (!a.oidc_audience.empty()) req["oidcToken"]["audience"] = a.oidc_audience;
  }
  nlohmann::json task = {{"httpRequest", req}};
  if (!a.ids.empty()) task["name"] = queue + "/tasks/" + a.ids[0];
  if (!a.schedule_time.empty() && !a.delay.empty()) return InvalidArgument("give --schedule-time or --delay, not both");
  if (!a.schedule_time.empty()) {
    auto t = ParseTimestamp(a.schedule_time);
    if (!t.ok()) return InvalidArgument("--schedule-time: " + t.status().message() + " (use RFC 3339)");
    task["scheduleTime"] = FormatTimestamp(*t);
  }
  if (!a.delay.empty()) {
    auto d = ParseHumanDuration(a.delay);
    if (!d.ok()) return InvalidArgument("--delay: " + d.status().message());
    auto now =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    task["scheduleTime"] = FormatTimestamp(now + *d);
  }
  *out = {{"task", task}};
  return Status::Ok();
}

int Create(Args& a) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, queue = api->QueueName(a.queue, &error);
  if (queue.empty()) return UsageError(error);
  if (!a.ids.empty() && (a.ids[0].empty() || a.ids[0].find('/') != std::string::npos)) {
    return UsageError("task id '" + a.ids[0] + "' may not contain '/'");
  }
  nlohmann::json body;
  if (Status s = BuildTask(a, queue, &body); !s.ok()) return UsageError(s.message());
  Reply r = api->Send({http::Verb::post, "/v2/" + EscapePath(queue) + "/tasks", body.dump()});
  if (!r.ok()) return ReportFailure(r, api->server());
  PrintResource(r.json, a.client.format, "created " + r.json.value("name", std::string()));
  return kExitOk;
}

int Run(Args& a) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, name = api->TaskName(a.ids[0], a.queue, &error);
  if (name.empty()) return UsageError(error);
  Reply r = api->Send({http::Verb::post, "/v2/" + EscapePath(name) + ":run", "{}"});
  if (!r.ok()) return ReportFailure(r, api->server());
  PrintResource(r.json, a.client.format, "dispatching " + name);
  return kExitOk;
}

int Delete(Args& a) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, name = api->TaskName(a.ids[0], a.queue, &error);
  if (name.empty()) return UsageError(error);
  Reply r = api->Send({http::Verb::delete_, "/v2/" + EscapePath(name), ""});
  if (!r.ok()) return ReportFailure(r, api->server());
  PrintResource(r.json, a.client.format, "deleted " + name);
  return kExitOk;
}

void ListFlags(CLI::App& cmd, Args& a) {
  QueueFlag(cmd, a, true);
  cmd.add_option("--limit", a.limit, "Show at most this many tasks (0: all)")->capture_default_str();
  cmd.add_option("--view", a.view, "basic (no bodies) or full")
      ->check(CLI::IsMember({"basic", "full", "BASIC", "FULL"}));
  AddClientOptions(cmd, a.client);
}

void DescribeFlags(CLI::App& cmd, Args& a) {
  TaskArgs(cmd, a);
  cmd.add_option("--view", a.view, "full (default) or basic")->check(CLI::IsMember({"basic", "full", "BASIC", "FULL"}));
}

void CreateFlags(CLI::App& cmd, Args& a) {
  cmd.add_option("task", a.ids, "Task id (default: the server picks one)")->expected(0, 1);
  QueueFlag(cmd, a, true);
  cmd.add_option("--url", a.url, "URL the task is delivered to")->required();
  cmd.add_option("--method", a.method, "HTTP method")->capture_default_str();
  cmd.add_option("--header", a.headers, "'Name: value' header; repeat for more");
  cmd.add_option("--body", a.body, "Request body");
  cmd.add_option("--body-file", a.body_file, "Read the request body from this file");
  cmd.add_option("--schedule-time", a.schedule_time, "When to deliver (RFC 3339, e.g. 2026-12-01T10:00:00Z)");
  cmd.add_option("--delay", a.delay, "Deliver after this long (30s, 5m, 1h)");
  cmd.add_option("--oidc-service-account-email", a.oidc_service_account, "Send an OIDC token for this account");
  cmd.add_option("--oidc-token-audience", a.oidc_audience, "Audience of the OIDC token (default: the URL)");
  AddClientOptions(cmd, a.client);
}

}  // namespace

const std::vector<Command>& TaskCommands() {
  // clang-format off
  static const std::vector<Command> kRows = {
    {"tasks", "list",     "List a queue's tasks", "stratus tasks list --queue my-queue --limit 20", ListFlags, List},
    {"tasks", "describe", "Show a task", "stratus tasks describe 1234 --queue my-queue --format json", DescribeFlags, Describe},
    {"tasks", "create",   "Create an HTTP task", "stratus tasks create --queue my-queue --url https://app.example.com/work --body '{\"id\":1}' --header 'Content-Type: application/json' --delay 5m",
     CreateFlags, Create},
    {"tasks", "run",      "Dispatch a task now", "stratus tasks run 1234 --queue my-queue", TaskArgs, Run},
    {"tasks", "delete",   "Delete a task", "stratus tasks delete 1234 --queue my-queue", TaskArgs, Delete},
  };
  // clang-format on
  return kRows;
}

}  // namespace stratus::cli
