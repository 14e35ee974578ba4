#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace stratus {
namespace {

Status Errno(const std::string& what) {
  return Unavailable(what + ": " + std::strerror(errno));
}

}  // namespace

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open " + dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  errno = err;
  return rc == 0 ? Status::Ok() : Errno("fsync " + dir);
}

Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Errno("cannot create " + tmp);
  Status st = Status::Ok();
  // The mode is set explicitly: open's is masked by the umask, and a stale temporary file
  // keeps whatever mode it had.
  if (::fchmod(fd, mode) != 0) st = Errno("cannot chmod " + tmp);
  while (st.ok() && !contents.empty()) {
    ssize_t n = ::write(fd, contents.data(), contents.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = Errno("cannot write " + tmp);
      break;
    }
    contents.remove_prefix(static_cast<size_t>(n));
  }
  if (st.ok() && ::fsync(fd) != 0) st = Errno("cannot fsync " + tmp);
  if (::close(fd) != 0 && st.ok()) st = Errno("cannot write " + tmp);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = Errno("cannot rename " + tmp + " to " + path);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDir(std::filesystem::path(path).parent_path().string());
}

Status CreatePrivateDir(const std::string& dir) {
  std::filesystem::path p(dir);
  if (p.empty()) return Status::Ok();
  struct stat st {};
  if (::stat(p.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return FailedPrecondition(dir + " exists and is not a directory");
    return Status::Ok();
  }
  if (p.has_parent_path() && p.parent_path() != p) STRATUS_RETURN_IF_ERROR(CreatePrivateDir(p.parent_path().string()));
  if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) return Errno("cannot create " + dir);
  return Status::Ok();
}

}  // namespace stratus
