// stratus: a self-hosted Cloud Tasks v2 server.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/queues_apply.h"
#include "cli/redis_check_log.h"
#include "cli/schedules_apply.h"
#include "cli/serve.h"

int main(int argc, char** argv) {
  CLI::App app{"stratus — a self-hosted, serverless-native task queue speaking the Cloud Tasks v2 API"};
  app.require_subcommand(1);
  stratus::cli::ServeOptions serve_options;
  CLI::App* serve = app.add_subcommand("serve", "Run the server");
  stratus::cli::AddServeOptions(*serve, serve_options);
  stratus::cli::QueuesApplyOptions apply_options;
  CLI::App* queues = app.add_subcommand("queues", "Manage queues on a running server");
  queues->require_subcommand(1);
  CLI::App* apply = queues->add_subcommand("apply", "Create or update the queues of a queues.yaml");
  stratus::cli::AddQueuesApplyOptions(*apply, apply_options);
  stratus::cli::SchedulesApplyOptions schedules_options;
  CLI::App* schedules = app.add_subcommand("schedules", "Manage Cloud Scheduler jobs on a running server");
  schedules->require_subcommand(1);
  CLI::App* schedules_apply = schedules->add_subcommand("apply", "Create or update the jobs of a schedules file");
  stratus::cli::AddSchedulesApplyOptions(*schedules_apply, schedules_options);
  stratus::cli::RedisCheckLogOptions check_options;
  CLI::App* check =
      app.add_subcommand("redis-check-log", "Check the embedded Redis log; --fix truncates a corrupt one");
  stratus::cli::AddRedisCheckLogOptions(*check, check_options);
  app.add_subcommand("version", "Print the version")->callback([] { std::cout << "stratus 0.1.0\n"; });
  CLI11_PARSE(app, argc, argv);
  if (serve->parsed()) return stratus::cli::RunServe(serve_options);
  if (apply->parsed()) return stratus::cli::RunQueuesApply(apply_options);
  if (schedules_apply->parsed()) return stratus::cli::RunSchedulesApply(schedules_options);
  if (check->parsed()) return stratus::cli::RunRedisCheckLog(check_options);
  return 0;
}
