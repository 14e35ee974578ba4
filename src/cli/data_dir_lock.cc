#include "cli/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace stratus::cli {

DataDirLock::~DataDirLock() {
  ::close(fd_);
}

StatusOr<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const std::string& data_dir) {
  std::string path = (std::filesystem::path(data_dir) / "LOCK").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder = "another stratus";
    if (err == EWOULDBLOCK) {
      char buf[32] = {};
      ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      long pid = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
      if (pid > 0) holder += " (pid " + std::to_string(pid) + ")";
    }
    ::close(fd);
    if (err != EWOULDBLOCK) return Unavailable("cannot lock " + path + ": " + std::strerror(err));
    return FailedPrecondition(holder + " is using the data dir " + data_dir + " (it holds " + path +
                              "); stop it or give another --data-dir");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  // The lock is what matters; the pid only serves the message a second start prints.
  bool noted = ::ftruncate(fd, 0) == 0 && ::pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
  (void)noted;
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

}  // namespace stratus::cli
