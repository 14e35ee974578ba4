// `stratus dlq list|show|retry|retry-all|delete|purge`: a queue's dead letters through the
// /stratus/v1 extension routes.
//
// retry-all pages through the dead letters itself (1000 a page, 16 retries in flight) rather
// than calling the server's :retryAll, which answers only when every one is done: so memory
// stays bounded by one page, each request is short, and the progress bar moves.
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/base64.h"

namespace stratus::cli {

namespace {

void QueueFlag(CLI::App& cmd, Args& a) {
  cmd.add_option("--queue", a.queue, "Queue id or full name")->required();
  AddClientOptions(cmd, a.client);
}

void TasksFlags(CLI::App& cmd, Args& a) {
  cmd.add_option("task", a.ids, "Dead letter's task id(s) (or full task names)")->required();
  cmd.add_option("--queue", a.queue, "Queue id or full name (for short ids)");
  AddClientOptions(cmd, a.client);
}

// projects/…/queues/q/tasks/t -> /stratus/v1/projects/…/queues/q/deadLetters/t
std::string DeadLetterPath(const std::string& task_name) {
  size_t t = task_name.rfind("/tasks/");
  return "/stratus/v1/" + EscapePath(task_name.substr(0, t)) + "/deadLetters/" + EscapePath(task_name.substr(t + 7));
}

std::string Base(const std::string& queue) {
  return "/stratus/v1/" + EscapePath(queue) + "/deadLetters";
}

int List(Args& a) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, queue = api->QueueName(a.queue, &error);
  if (queue.empty()) return UsageError(error);
  Table table({"TASK", "DEAD TIME", "STATUS", "DISPATCHES", "REASON", "TARGET"});
  nlohmann::json all = nlohmann::json::array();
  size_t seen = 0;
  Reply r = api->ForEachPage(Base(queue), "deadLetters", [&](const nlohmann::json& items) {
    for (const auto& d : items) {
      if (a.limit > 0 && seen >= a.limit) return false;
      ++seen;
      if (a.client.format != "table") {
        all.push_back(d);
        continue;
      }
      nlohmann::json task = d.value("task", nlohmann::json::object());
      std::string target;
      if (task.contains("httpRequest") && task["httpRequest"].is_object()) {
        target = task["httpRequest"].value("httpMethod", std::string("POST")) + " " +
                 task["httpRequest"].value("url", std::string());
      }
      table.Add({ShortId(task.value("name", "")), d.value("deadTime", ""), Cell(d.value("responseStatus", 0)),
                 Cell(task.value("dispatchCount", 0)), d.value("reason", ""), target});
    }
    return a.limit == 0 || seen < a.limit;
  });
  if (!r.ok()) return ReportFailure(r, api->server());
  if (a.client.format != "table") {
    std::cout << Formatted(all, a.client.format);
  } else if (table.size() == 0) {
    std::cerr << "No dead letters in " << TerminalSafe(queue) << "\n";
  } else {
    std::cout << table.Render();
  }
  return kExitOk;
}

int Show(Args& a) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, name = api->TaskName(a.ids[0], a.queue, &error);
  if (name.empty()) return UsageError(error);
  Reply r = api->Get(DeadLetterPath(name));
  if (!r.ok()) return ReportFailure(r, api->server());
  if (a.client.format != "table") {
    std::cout << Formatted(r.json, a.client.format);
    return kExitOk;
  }
  // For people, the response body as text too (escaped like every other string).
  nlohmann::json shown = r.json;
  if (shown.contains("responseBody") && shown["responseBody"].is_string()) {
    auto text = Base64Decode(shown["responseBody"].get<std::string>());
    if (text.ok()) shown["responseBodyText"] = *text;
  }
  std::cout << YamlText(shown);
  return kExitOk;
}

// retry and delete of named dead letters, one call each.
int Each(Args& a, http::Verb verb, const char* suffix, const char* done) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::vector<std::string> names;
  for (const auto& id : a.ids) {
    std::string error, name = api->TaskName(id, a.queue, &error);
    if (name.empty()) return UsageError(error);
    names.push_back(name);
  }
  int exit = kExitOk;
  nlohmann::json results = nlohmann::json::array();
  for (const auto& name : names) {
    Reply r = api->Send({verb, DeadLetterPath(name) + suffix, verb == http::Verb::post ? "{}" : ""});
    if (!r.ok()) {
      exit = std::max(exit, ReportFailure(r, api->server()));
      if (r.exit == kExitConnect) return exit;
      continue;
    }
    if (a.client.format == "table") {
      std::cout << done << " " << TerminalSafe(name) << "\n";
    } else {
      results.push_back(r.json.empty() ? nlohmann::json{{"name", name}} : r.json);
    }
  }
  if (a.client.format != "table") std::cout << Formatted(results, a.client.format);
  return exit;
}

int RetryAll(Args& a) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, queue = api->QueueName(a.queue, &error);
  if (queue.empty()) return UsageError(error);
  // First the count, for the bar (one page in memory at a time).
  uint64_t total = 0;
  {
    Progress counting("counting dead letters", 0);
    Reply r = api->ForEachPage(Base(queue), "deadLetters", [&](const nlohmann::json& items) {
      total += items.size();
      counting.Set(total);
      return true;
    });
    if (!r.ok()) return ReportFailure(r, api->server());
  }
  Progress bar("retrying", total);
  uint64_t done = 0, retried = 0, skipped = 0, failed = 0;
  Reply first_failure;
  Reply r = api->ForEachPage(Base(queue), "deadLetters", [&](const nlohmann::json& items) {
    std::vector<Call> calls;
    for (const auto& d : items) {
      std::string name = d.value("task", nlohmann::json::object()).value("name", std::string());
      if (name.find("/tasks/") != std::string::npos)
        calls.push_back({http::Verb::post, DeadLetterPath(name) + ":retry", "{}"});
    }
    api->SendMany(calls, a.concurrency, [&](size_t, const Reply& reply) {
      ++done;
      if (reply.ok()) {
        ++retried;
      } else if (reply.status == "ALREADY_EXISTS" || reply.status == "NOT_FOUND") {
        ++skipped;  // a live task of that name exists, or another client took it meanwhile
      } else {
        if (failed++ == 0) first_failure = reply;
      }
      bar.SetTotal(std::max(total, done));
      bar.Set(done);
    });
    return first_failure.exit != kExitConnect;
  });
  bar.Finish();
  if (!r.ok()) return ReportFailure(r, api->server());
  nlohmann::json out = {{"retried", retried}, {"skipped", skipped}, {"failed", failed}};
  PrintResource(out, a.client.format,
                "retried " + std::to_string(retried) + " dead letters of " + queue +
                    (skipped ? " (" + std::to_string(skipped) + " skipped: a task of that name exists)" : "") +
                    (failed ? " (" + std::to_string(failed) + " failed)" : ""));
  if (failed > 0) return ReportFailure(first_failure, api->server());
  return kExitOk;
}

int Purge(Args& a) {
  int rc = 0;
  auto api = Connect(a, false, &rc);
  if (!api) return rc;
  std::string error, queue = api->QueueName(a.queue, &error);
  if (queue.empty()) return UsageError(error);
  if (!Confirm(a, "Delete every dead letter of " + queue + "?")) {
    std::cerr << "stratus: nothing done\n";
    return kExitUsage;
  }
  // One bulk delete on the server (a single statement); the bar only shows it is under way.
  Progress spinner("deleting dead letters", 0);
  Reply r = api->Send({http::Verb::delete_, Base(queue), ""});
  spinner.Finish();
  if (!r.ok()) return ReportFailure(r, api->server());
  int64_t n = r.json.value("deleted", int64_t{0});
  PrintResource(r.json, a.client.format, "deleted " + std::to_string(n) + " dead letters of " + queue);
  return kExitOk;
}

void ListFlags(CLI::App& cmd, Args& a) {
  QueueFlag(cmd, a);
  cmd.add_option("--limit", a.limit, "Show at most this many (0: all)")->capture_default_str();
}

void RetryAllFlags(CLI::App& cmd, Args& a) {
  QueueFlag(cmd, a);
  cmd.add_option("--concurrency", a.concurrency, "Retries in flight")->capture_default_str()->check(CLI::Range(1, 256));
}

void PurgeFlags(CLI::App& cmd, Args& a) {
  QueueFlag(cmd, a);
  cmd.add_flag("--yes,-y", a.yes, "Do not ask for confirmation (never asked when stdin is not a terminal)");
}

}  // namespace

const std::vector<Command>& DeadLetterCommands() {
  // clang-format off
  static const std::vector<Command> kRows = {
    {"dlq", "list",      "List a queue's dead letters, newest first", "stratus dlq list --queue my-queue --limit 50", ListFlags, List},
    {"dlq", "show",      "Show a dead letter: the task, why it died, the last response", "stratus dlq show 1234 --queue my-queue", TasksFlags, Show},
    {"dlq", "retry",     "Put dead letters back in their queue as new tasks", "stratus dlq retry 1234 5678 --queue my-queue",
     TasksFlags, [](Args& a) { return Each(a, http::Verb::post, ":retry", "retried"); }},
    {"dlq", "retry-all", "Retry every dead letter of a queue (with a progress bar)", "stratus dlq retry-all --queue my-queue",
     RetryAllFlags, RetryAll},
    {"dlq", "delete",    "Delete dead letters", "stratus dlq delete 1234 --queue my-queue",
     TasksFlags, [](Args& a) { return Each(a, http::Verb::delete_, "", "deleted"); }},
    {"dlq", "purge",     "Delete every dead letter of a queue", "stratus dlq purge --queue my-queue --yes", PurgeFlags, Purge},
  };
  // clang-format on
  return kRows;
}

}  // namespace stratus::cli
