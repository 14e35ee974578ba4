// The client subcommands of `stratus` (queues, tasks, dlq, top, completion): each is one
// Command row (its name, help, example, flags and run function) in the file of its group, and
// CommandSet adds them all to the binary's CLI11 app.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/client.h"

namespace stratus::cli {

// Everything a client subcommand may take; each command binds only the fields it uses.
struct Args {
  ClientOptions client;
  std::vector<std::string> ids;  // positional ids or names
  std::string queue;             // --queue
  std::string file;
  // Queue fields (create/update): unset means "not given".
  std::optional<double> max_dispatches_per_second;
  std::optional<int> max_concurrent_dispatches;
  std::optional<int> max_attempts;
  std::string max_retry_duration, min_backoff, max_backoff;
  std::optional<int> max_doublings;
  std::string permanent_failure_statuses;  // "422,4xx,!429"
  // Tasks.
  std::string url, method = "POST", body, body_file, schedule_time, delay, oidc_service_account, oidc_audience;
  std::vector<std::string> headers;
  std::string view;
  size_t limit = 0;
  size_t concurrency = 16;
  bool yes = false;
  bool dry_run = false;
  bool prune = false;
  double interval = 1.0;
  bool once = false;
  std::string shell;
};

struct Command {
  const char* group;  // "queues", "tasks", "dlq", or "" for a top-level command
  const char* name;
  const char* help;
  const char* example;  // shown as the --help footer
  void (*flags)(CLI::App& cmd, Args& a);
  int (*run)(Args& a);
};

// The rows of each group (queues_cmd.cc, tasks_cmd.cc, dlq_cmd.cc, queues_apply.cc, top.cc,
// completion.cc).
const std::vector<Command>& QueueCommands();
const std::vector<Command>& TaskCommands();
const std::vector<Command>& DeadLetterCommands();
const std::vector<Command>& ApplyCommands();
const std::vector<Command>& TopCommands();
const std::vector<Command>& CompletionCommands();

class CommandSet {
 public:
  // Adds the groups and their commands to `app` (creating a group subcommand unless it exists).
  explicit CommandSet(CLI::App& app);
  // The exit code of the client command that was parsed, or nullopt when none was.
  std::optional<int> Run();

 private:
  Args args_;
  std::vector<std::pair<CLI::App*, const Command*>> leaves_;
};

// Shared by the command files.
// Creates the client, or prints why not (usage) and returns nullptr.
std::unique_ptr<ApiClient> Connect(const Args& a, bool need_project, int* exit_code);
// Prints a resource: `table` in table format, else JSON or YAML of `j`.
void PrintResource(const nlohmann::json& j, const std::string& format, const std::string& human);
// Asks "PROMPT [y/N]" when stdin and stderr are terminals and --yes was not given; true to go on.
bool Confirm(const Args& a, const std::string& prompt);

}  // namespace stratus::cli
