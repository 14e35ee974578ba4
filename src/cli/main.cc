// stratus: a self-hosted Cloud Tasks v2 server.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/migrate.h"
#include "cli/redis_check_log.h"
#include "cli/schedules_apply.h"
#include "cli/serve.h"

int main(int argc, char** argv) {
  CLI::App app{"stratus — a self-hosted, serverless-native task queue speaking the Cloud Tasks v2 API"};
  app.require_subcommand(1);
  stratus::cli::ServeOptions serve_options;
  CLI::App* serve = app.add_subcommand("serve", "Run the server");
  stratus::cli::AddServeOptions(*serve, serve_options);
  // queues, tasks, dlq, top, completion: clients of a running server (cli/commands.h).
  stratus::cli::CommandSet client_commands(app);
  stratus::cli::SchedulesApplyOptions schedules_options;
  CLI::App* schedules = app.add_subcommand("schedules", "Manage Cloud Scheduler jobs on a running server");
  schedules->require_subcommand(1);
  CLI::App* schedules_apply = schedules->add_subcommand("apply", "Create or update the jobs of a schedules file");
  stratus::cli::AddSchedulesApplyOptions(*schedules_apply, schedules_options);
  stratus::cli::RedisCheckLogOptions check_options;
  CLI::App* check =
      app.add_subcommand("redis-check-log", "Check the embedded Redis log; --fix truncates a corrupt one");
  stratus::cli::AddRedisCheckLogOptions(*check, check_options);
  stratus::cli::MigrateOptions migrate_options;
  CLI::App* migrate =
      app.add_subcommand("migrate", "Copy a stopped node's data dir (SQLite) into a PostgreSQL database");
  stratus::cli::AddMigrateOptions(*migrate, migrate_options);
  app.add_subcommand("version", "Print the version")->callback([] { std::cout << "stratus 0.1.0\n"; });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : stratus::cli::kExitUsage;  // --help is 0; any usage error 2
  }
  if (serve->parsed()) return stratus::cli::RunServe(serve_options);
  if (auto rc = client_commands.Run()) return *rc;
  if (schedules_apply->parsed()) return stratus::cli::RunSchedulesApply(schedules_options);
  if (check->parsed()) return stratus::cli::RunRedisCheckLog(check_options);
  if (migrate->parsed()) return stratus::cli::RunMigrate(migrate_options);
  return 0;
}
