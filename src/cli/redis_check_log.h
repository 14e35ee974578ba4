// `stratus redis-check-log [--fix] DATA_DIR`: checks the embedded Redis log as
// redis-check-aof checks an AOF. The server refuses to start on a log that is corrupt in the
// middle (and names the byte); this command says what would be lost and, with --fix, keeps a
// backup copy and truncates the log at the end of its last good record.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace stratus::cli {

struct RedisCheckLogOptions {
  std::string data_dir;
  bool fix = false;
};

void AddRedisCheckLogOptions(CLI::App& cmd, RedisCheckLogOptions& o);
// 0: the log is sound (or was repaired); 1: it needs --fix; 2: it cannot be checked.
int RunRedisCheckLog(const RedisCheckLogOptions& o);

}  // namespace stratus::cli
