#include "cli/redis_check_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "cli/data_dir_lock.h"
#include "common/clock.h"
#include "common/files.h"
#include "kv/append_log.h"
#include "kv/engine.h"
#include "kv/resp.h"

namespace stratus::cli {
namespace {

// The first bytes at `offset`, printable.
std::string Preview(std::string_view data, size_t offset) {
  std::string out;
  for (char c : data.substr(offset, 48)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// How many whole commands can still be found after `offset` (what --fix drops besides the
// damaged bytes).
size_t CommandsAfter(std::string_view data, size_t offset) {
  size_t count = 0;
  size_t p = offset + 1;
  while ((p = data.find('*', p)) != std::string_view::npos) {
    std::vector<std::string> argv;
    size_t used = 0;
    if (kv::RespParser::ParseCommand(data.substr(p), &argv, &used) == kv::RespParser::Result::kOk) {
      ++count;
      p += used;
    } else {
      ++p;
    }
  }
  return count;
}

Status WriteBackup(const std::string& to, std::string_view data) {
  int fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot create " + to + ": " + std::strerror(errno));
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Unavailable("cannot write " + to + ": " + std::strerror(errno));
      ::close(fd);
      return st;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Unavailable("cannot fsync " + to + ": " + std::strerror(errno));
  return FsyncDir(std::filesystem::path(to).parent_path().string());
}

int Fail(const std::string& message) {
  std::cerr << "stratus redis-check-log: " << message << "\n";
  return 2;
}

}  // namespace

void AddRedisCheckLogOptions(CLI::App& cmd, RedisCheckLogOptions& o) {
  cmd.add_option("DATA_DIR", o.data_dir, "The server's --data-dir (the log is DATA_DIR/redis/appendonly.log)")
      ->required();
  cmd.add_flag("--fix", o.fix, "Truncate the log at the end of its last good record, after a backup copy");
}

int RunRedisCheckLog(const RedisCheckLogOptions& o) {
  std::string path = (std::filesystem::path(o.data_dir) / "redis" / "appendonly.log").string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Fail("no Redis log at " + path);
  // The server must not be appending while the log is read or cut.
  auto lock = DataDirLock::Acquire(o.data_dir);
  if (!lock.ok()) return Fail(lock.status().message());
  auto data = kv::ReadLogFile(path);
  if (!data.ok()) return Fail(data.status().message());

  // Records are checked against the engine's command table, as a start would replay them.
  SystemClock clock;
  kv::Engine engine(clock);
  kv::EngineOptions eo;
  eo.active_expiry = false;
  if (Status st = engine.Open(eo); !st.ok()) return Fail(st.message());
  kv::LogScan scan = kv::ScanLog(*data, [&](const kv::Argv& argv) -> std::string {
    auto refused = engine.Check(argv, false, false);
    return refused ? refused->str : "";
  });

  std::cout << path << ": " << scan.file_bytes << " bytes, " << scan.commands << " commands readable\n";
  uint64_t lost = scan.file_bytes - scan.good_bytes;
  switch (scan.end) {
    case kv::LogScan::End::kClean:
      std::cout << "ok: every record is whole\n";
      return 0;
    case kv::LogScan::End::kTornTail:
      std::cout << "torn tail: the last " << lost << " bytes, from byte " << scan.good_bytes
                << ", are an incomplete record (a write cut short); the server drops them itself at start\n";
      break;
    case kv::LogScan::End::kCorrupt:
      std::cout << "corrupt at byte " << scan.bad_offset << ": " << scan.problem << "\n"
                << "  bytes there: \"" << Preview(*data, scan.bad_offset) << "\"\n"
                << "  the " << lost << " bytes from byte " << scan.good_bytes
                << " to the end cannot be replayed; they hold at least " << CommandsAfter(*data, scan.bad_offset)
                << " more whole commands, which --fix drops\n";
      break;
  }
  if (!o.fix) {
    std::cout << "run `stratus redis-check-log --fix " << o.data_dir << "` to truncate the log at byte "
              << scan.good_bytes << " (a backup copy is kept)\n";
    return 1;
  }
  std::string backup = path + ".corrupt-" + std::to_string(std::time(nullptr));
  if (Status st = WriteBackup(backup, *data); !st.ok()) return Fail(st.message());
  std::cout << "backup: " << backup << "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Fail("cannot open " + path + ": " + std::strerror(errno));
  bool ok = ::ftruncate(fd, static_cast<off_t>(scan.good_bytes)) == 0 && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) return Fail("cannot truncate " + path + ": " + std::strerror(err));
  std::cout << "truncated " << path << " to " << scan.good_bytes << " bytes: dropped " << lost << " bytes\n";
  return 0;
}

}  // namespace stratus::cli
