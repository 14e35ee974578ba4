// `stratus migrate --from DATA_DIR --to postgres://...`: copies what a stopped embedded (SQLite)
// node keeps in DATA_DIR/stratus.db — queues, tasks (bodies, headers, schedule times, attempt
// counts), dead letters and the tombstones that hold deleted names for the de-dup and
// queue-reuse windows — into a PostgreSQL database, then counts both sides and fails on any
// difference. Queues and tasks go through the Store interface (the rows a server would write);
// dead letters and tombstones, which no mutation writes as they are, through pg::Importer.
//
// It refuses a data dir a running server holds (its LOCK), a database a server is using, and
// a database that already holds rows unless --force (which empties it first).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace stratus::cli {

struct MigrateOptions {
  std::string from;  // the data dir
  std::string to;    // a PostgreSQL conninfo
  bool force = false;
};

void AddMigrateOptions(CLI::App& cmd, MigrateOptions& o);
// 0: copied and verified; 1: refused, failed, or the counts differ (the message says which).
int RunMigrate(const MigrateOptions& o);

}  // namespace stratus::cli
