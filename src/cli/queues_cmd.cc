// `stratus queues list|describe|create|update|pause|resume|purge|delete`: the Cloud Tasks v2
// queue methods, plus the stratus queue config (permanent-failure statuses).
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/time.h"

namespace stratus::cli {

namespace {

void QueueArg(CLI::App& cmd, Args& a) {
  cmd.add_option("queue", a.ids, "Queue id or full name")->required()->expected(1);
  AddClientOptions(cmd, a.client);
}

template <class T>
void Optional(CLI::App& cmd, const std::string& name, std::optional<T>& field, const std::string& help) {
  cmd.add_option_function<T>(
      name, [&field](const T& v) { field = v; }, help);
}

void QueueFields(CLI::App& cmd, Args& a) {
  QueueArg(cmd, a);
  Optional(cmd, "--max-dispatches-per-second", a.max_dispatches_per_second, "rateLimits.maxDispatchesPerSecond");
  Optional(cmd, "--max-concurrent-dispatches", a.max_concurrent_dispatches, "rateLimits.maxConcurrentDispatches");
  Optional(cmd, "--max-attempts", a.max_attempts, "retryConfig.maxAttempts (-1: unlimited)");
  cmd.add_option("--max-retry-duration", a.max_retry_duration, "retryConfig.maxRetryDuration (30s, 10m, 1h)");
  cmd.add_option("--min-backoff", a.min_backoff, "retryConfig.minBackoff (0.1s, 10s, 5m)");
  cmd.add_option("--max-backoff", a.max_backoff, "retryConfig.maxBackoff (3600s, 1h)");
  Optional(cmd, "--max-doublings", a.max_doublings, "retryConfig.maxDoublings");
  cmd.add_option_function<std::string>(
      "--permanent-failure-statuses",
      [&a](const std::string& v) { a.permanent_failure_statuses = v.empty() ? "-" : v; },
      "stratus: HTTP statuses that dead-letter a task at once, e.g. 422,4xx,!429 ('' clears)");
}

// The Queue JSON and update mask of the fields given on the command line.
Status BuildQueue(const Args& a, nlohmann::json* queue, std::vector<std::string>* mask) {
  auto set = [&](const char* group, const char* field, nlohmann::json v) {
    (*queue)[group][field] = std::move(v);
    mask->push_back(std::string(group) + "." + field);
  };
  if (a.max_dispatches_per_second) set("rateLimits", "maxDispatchesPerSecond", *a.max_dispatches_per_second);
  if (a.max_concurrent_dispatches) set("rateLimits", "maxConcurrentDispatches", *a.max_concurrent_dispatches);
  if (a.max_attempts) set("retryConfig", "maxAttempts", *a.max_attempts);
  if (a.max_doublings) set("retryConfig", "maxDoublings", *a.max_doublings);
  const std::pair<const char*, const std::string*> durations[] = {
      {"maxRetryDuration", &a.max_retry_duration}, {"minBackoff", &a.min_backoff}, {"maxBackoff", &a.max_backoff}};
  for (const auto& [field, text] : durations) {
    if (text->empty()) continue;
    auto d = ParseHumanDuration(*text);
    if (!d.ok()) return InvalidArgument(std::string("--") + field + ": " + d.status().message());
    set("retryConfig", field, FormatDuration(*d));
  }
  return Status::Ok();
}

// "422,4xx,!429" -> [422, "4xx", "!429"]; "-" (given empty) -> [].
nlohmann::json StatusList(const std::string& text) {
  nlohmann::json out = nlohmann::json::array();
  if (text == "-") return out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) {
      bool digits = item.find_first_not_of("0123456789") == std::string::npos;
      out.push_back(digits ? nlohmann::json(std::stoi(item)) : nlohmann::json(item));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Reply PutConfig(ApiClient& api, const std::string& queue, const std::string& statuses) {
  nlohmann::json body = {{"permanentFailureStatuses", StatusList(statuses)}};
  return api.Send({http::Verb::put, "/stratus/v1/" + EscapePath(queue) + "/config", body.dump()});
}

std::string Field(const nlohmann::json& q, const char* group, const char* field) {
  if (!q.contains(group) || !q[group].is_object() || !q[group].contains(field)) return "";
  return Cell(q[group][field]);
}

int List(Args& a) {
  int rc = 0;
  auto api = Connect(a, true, &rc);
  if (!api) return rc;
  Table table({"QUEUE", "STATE", "MAX RATE", "MAX CONCURRENT", "MAX ATTEMPTS", "MIN BACKOFF", "MAX BACKOFF"});
  nlohmann::json all = nlohmann::json::array();
  Reply r =
      api->ForEachPage("/v2/" + EscapePath(api->Parent()) + "/queues", "queues", [&](const nlohmann::json& items) {
        for (const auto& q : items) {
          if (a.client.format != "table") {
            all.push_back(q);
            continue;
          }
          table.Add({ShortId(q.value("name", "")), q.value("state", ""),
                     Field(q, "rateLimits", "maxDispatchesPerSecond"),
                     Field(q, "rateLimits", "maxConcurrentDispatches"), Field(q, "retryConfig", "maxAttempts"),
                     Field(q, "retryConfig", "minBackoff"), Field(q, "retryConfig", "maxBackoff")});
        }
        return true;
      });
  if (!r.ok()) return ReportFailure(r, api->server());
  if (a.client.format != "table") {
    std::cout << Formatted(all, a.client.format);
  } else if (table.size() == 0) {
    std::cerr << "No queues in " << TerminalSafe(api->Parent()) << " (create one with `stratus queues create ID`)\n";
  } else {
    std::cout << table.Render();
  }
  return kExitOk;
}

int Describe(Args& a) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, name = api->QueueName(a.ids[0], &error);
  if (name.empty()) return UsageError(error);
  Reply r = api->Get("/v2/" + EscapePath(name));
  if (!r.ok()) return ReportFailure(r, api->server());
  if (a.client.format != "table") {
    std::cout << Formatted(r.json, a.client.format);
    return kExitOk;
  }
  nlohmann::json shown = r.json;
  Reply config = api->Get("/stratus/v1/" + EscapePath(name) + "/config");
  if (config.ok()) shown["stratus"] = config.json;
  std::cout << YamlText(shown);
  return kExitOk;
}

int CreateOrUpdate(Args& a, bool create) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, name = api->QueueName(a.ids[0], &error);
  if (name.empty()) return UsageError(error);
  nlohmann::json queue = nlohmann::json::object();
  std::vector<std::string> mask;
  if (Status s = BuildQueue(a, &queue, &mask); !s.ok()) return UsageError(s.message());
  if (!create && mask.empty() && a.permanent_failure_statuses.empty()) {
    return UsageError("nothing to update: give at least one field flag (see --help)");
  }
  queue["name"] = name;
  Reply r;
  if (create) {
    size_t q = name.find("/queues/");
    r = api->Send({http::Verb::post, "/v2/" + EscapePath(name.substr(0, q)) + "/queues", queue.dump()});
  } else if (!mask.empty()) {
    std::string joined;
    for (const auto& m : mask) joined += (joined.empty() ? "" : ",") + m;
    r = api->Send({http::Verb::patch, "/v2/" + EscapePath(name) + "?updateMask=" + joined, queue.dump()});
  } else {
    r = api->Get("/v2/" + EscapePath(name));
  }
  if (!r.ok()) return ReportFailure(r, api->server());
  if (!a.permanent_failure_statuses.empty()) {
    Reply c = PutConfig(*api, name, a.permanent_failure_statuses);
    if (!c.ok()) return ReportFailure(c, api->server());
  }
  PrintResource(r.json, a.client.format, std::string(create ? "created " : "updated ") + name);
  return kExitOk;
}

int Create(Args& a) {
  return CreateOrUpdate(a, true);
}
int Update(Args& a) {
  return CreateOrUpdate(a, false);
}

// pause, resume, purge, delete: one call on the queue.
int Simple(Args& a, http::Verb verb, const char* suffix, const char* done, const char* confirm) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, name = api->QueueName(a.ids[0], &error);
  if (name.empty()) return UsageError(error);
  if (confirm && !Confirm(a, std::string(confirm) + " " + name + "?")) {
    std::cerr << "stratus: nothing done\n";
    return kExitUsage;
  }
  Reply r = api->Send({verb, "/v2/" + EscapePath(name) + suffix, verb == http::Verb::post ? "{}" : ""});
  if (!r.ok()) return ReportFailure(r, api->server());
  PrintResource(r.json, a.client.format, std::string(done) + " " + name);
  return kExitOk;
}

void Destructive(CLI::App& cmd, Args& a) {
  QueueArg(cmd, a);
  cmd.add_flag("--yes,-y", a.yes, "Do not ask for confirmation (never asked when stdin is not a terminal)");
}

}  // namespace

const std::vector<Command>& QueueCommands() {
  // clang-format off
  static const std::vector<Command> kRows = {
    {"queues", "list",     "List the queues of a location", "stratus queues list --project my-project --location us-central1",
     [](CLI::App& c, Args& a) { AddClientOptions(c, a.client); }, List},
    {"queues", "describe", "Show a queue (and its stratus config)", "stratus queues describe my-queue --format json",
     QueueArg, Describe},
    {"queues", "create",   "Create a queue", "stratus queues create my-queue --max-dispatches-per-second 20 --max-attempts 5 --min-backoff 10s",
     QueueFields, Create},
    {"queues", "update",   "Change the given fields of a queue", "stratus queues update my-queue --max-concurrent-dispatches 50 --permanent-failure-statuses 422,4xx,!429",
     QueueFields, Update},
    {"queues", "pause",    "Pause a queue: tasks stay, none is dispatched", "stratus queues pause my-queue",
     QueueArg, [](Args& a) { return Simple(a, http::Verb::post, ":pause", "paused", nullptr); }},
    {"queues", "resume",   "Resume a paused queue", "stratus queues resume my-queue",
     QueueArg, [](Args& a) { return Simple(a, http::Verb::post, ":resume", "resumed", nullptr); }},
    {"queues", "purge",    "Delete every task of a queue", "stratus queues purge my-queue --yes",
     Destructive, [](Args& a) { return Simple(a, http::Verb::post, ":purge", "purged", "Delete every task of"); }},
    {"queues", "delete",   "Delete a queue and its tasks", "stratus queues delete my-queue --yes",
     Destructive, [](Args& a) { return Simple(a, http::Verb::delete_, "", "deleted", "Delete the queue"); }},
  };
  // clang-format on
  return kRows;
}

}  // namespace stratus::cli
