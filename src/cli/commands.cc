#include "cli/commands.h"

#include <unistd.h>

#include <iostream>

#include "cli/output.h"

namespace stratus::cli {

CommandSet::CommandSet(CLI::App& app) {
  static const char* const kGroupHelp[][2] = {
      {"queues", "Manage queues on a running server"},
      {"tasks", "Manage the tasks of a queue"},
      {"dlq", "Inspect, retry and delete a queue's dead letters (tasks that failed for good)"},
  };
  for (const auto* list : {&QueueCommands(), &ApplyCommands(), &TaskCommands(), &DeadLetterCommands(), &TopCommands(),
                           &CompletionCommands()}) {
    for (const Command& c : *list) {
      CLI::App* parent = &app;
      if (*c.group) {
        auto subs = app.get_subcommands([&](const CLI::App* s) { return s->get_name() == c.group; });
        parent = subs.empty() ? nullptr : subs.front();
        if (!parent) {
          const char* help = "";
          for (const auto& g : kGroupHelp) {
            if (std::string(g[0]) == c.group) help = g[1];
          }
          parent = app.add_subcommand(c.group, help);
          parent->require_subcommand(1);
          parent->footer(std::string("Example:\n  ") + c.example +
                         "\n\nEach command has --help with its flags and an example.");
        }
      }
      CLI::App* cmd = parent->add_subcommand(c.name, c.help);
      c.flags(*cmd, args_);
      cmd->footer(std::string("Example:\n  ") + c.example + "\n\n" + DefaultsHelp());
      leaves_.push_back({cmd, &c});
    }
  }
}

std::optional<int> CommandSet::Run() {
  for (auto& [cmd, c] : leaves_) {
    if (cmd->parsed()) return c->run(args_);
  }
  return std::nullopt;
}

std::unique_ptr<ApiClient> Connect(const Args& a, bool need_project, int* exit_code) {
  std::string error;
  auto client = ApiClient::Create(a.client, need_project, &error);
  if (!client) *exit_code = UsageError(error);
  return client;
}

void PrintResource(const nlohmann::json& j, const std::string& format, const std::string& human) {
  if (format == "table") {
    std::cout << TerminalSafe(human) << "\n";
  } else {
    std::cout << Formatted(j, format);
  }
}

bool Confirm(const Args& a, const std::string& prompt) {
  if (a.yes || !isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) return true;
  std::cerr << TerminalSafe(prompt) << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

}  // namespace stratus::cli
