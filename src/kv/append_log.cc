#include "kv/append_log.h"
#include "common/thread_name.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "kv/resp.h"
#include "kv/util.h"

namespace stratus::kv {
namespace {

Status Errno(const std::string& what) {
  return Unavailable(what + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write " + path);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

void FsyncDir(const std::string& file) {
  std::string dir = std::filesystem::path(file).parent_path().string();
  int d = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (d >= 0) {
    ::fsync(d);
    ::close(d);
  }
}

}  // namespace

StatusOr<FsyncPolicy> ParseFsyncPolicy(std::string_view text) {
  if (IEquals(text, "everysec")) return FsyncPolicy::kEverySec;
  if (IEquals(text, "always")) return FsyncPolicy::kAlways;
  return InvalidArgument("--redis-fsync must be everysec or always, got '" + std::string(text) + "'");
}

AppendLog::AppendLog(std::string path, int fd, FsyncPolicy policy) : path_(std::move(path)), policy_(policy), fd_(fd) {
  thread_ = std::thread([this] {
    NameThisThread("kv-fsync");
    SyncLoop();
  });
}

AppendLog::~AppendLog() {
  Close();
}

StatusOr<std::unique_ptr<AppendLog>> AppendLog::Open(const std::string& path, FsyncPolicy policy) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open " + path);
  auto log = std::unique_ptr<AppendLog>(new AppendLog(path, fd, policy));
  struct stat st {};
  if (::fstat(fd, &st) == 0) log->file_bytes_ = log->base_bytes_ = static_cast<uint64_t>(st.st_size);
  return log;
}

Status AppendLog::Replay(const std::function<void(const std::vector<std::string>&)>& apply) {
  std::string data;
  {
    std::lock_guard lock(mu_);
    data.resize(file_bytes_);
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::pread(fd_, data.data() + off, data.size() - off, static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Errno("read " + path_);
      off += static_cast<size_t>(n);
    }
  }
  size_t pos = 0;
  size_t good = 0;  // end of the last record applied (or committed MULTI)
  std::vector<std::vector<std::string>> pending;
  bool in_multi = false;
  while (pos < data.size()) {
    std::vector<std::string> argv;
    size_t used = 0;
    RespParser::Result r = RespParser::ParseCommand(std::string_view(data).substr(pos), &argv, &used);
    if (r != RespParser::Result::kOk) break;  // torn or corrupt tail
    pos += used;
    if (argv.size() == 1 && IEquals(argv[0], "multi")) {
      in_multi = true;
      pending.clear();
      continue;
    }
    if (argv.size() == 1 && IEquals(argv[0], "exec")) {
      for (const auto& a : pending) apply(a);
      pending.clear();
      in_multi = false;
      good = pos;
      continue;
    }
    if (in_multi) {
      pending.push_back(std::move(argv));
    } else {
      apply(argv);
      good = pos;
    }
  }
  if (good < data.size()) {
    if (::ftruncate(fd_, static_cast<off_t>(good)) != 0) return Errno("truncate " + path_);
    std::lock_guard lock(mu_);
    file_bytes_ = good;
  }
  return Status::Ok();
}

StatusOr<uint64_t> AppendLog::Append(std::string_view bytes) {
  std::lock_guard lock(mu_);
  if (fd_ < 0) return Unavailable("the Redis log is closed");
  Status st = WriteAll(fd_, bytes, path_);
  if (!st.ok()) return st;
  written_seq_ += bytes.size();
  file_bytes_ += bytes.size();
  if (policy_ == FsyncPolicy::kAlways) cv_.notify_one();
  return written_seq_;
}

Status AppendLog::Rewrite(std::string_view snapshot) {
  std::string tmp = path_ + ".rewrite";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open " + tmp);
  Status st = WriteAll(fd, snapshot, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Errno("fsync " + tmp);
  ::close(fd);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  std::lock_guard sync_lock(sync_mu_);
  std::lock_guard lock(mu_);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return Errno("rename " + tmp);
  FsyncDir(path_);
  int nfd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (nfd < 0) return Errno("reopen " + path_);
  ::close(fd_);
  fd_ = nfd;
  file_bytes_ = base_bytes_ = snapshot.size();
  // The snapshot holds everything written so far, and it is on disk.
  synced_seq_ = written_seq_;
  cv_.notify_one();
  return Status::Ok();
}

void AppendLog::WhenDurable(uint64_t seq, std::function<void()> done) {
  {
    std::lock_guard lock(mu_);
    if (seq > synced_seq_ && !stop_) {
      waiters_.emplace(seq, std::move(done));
      cv_.notify_one();
      return;
    }
  }
  done();
}

void AppendLog::SyncLoop() {
  using namespace std::chrono_literals;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      auto wake = [&] { return stop_ || !waiters_.empty(); };
      if (policy_ == FsyncPolicy::kAlways) {
        cv_.wait(lock, wake);
      } else {
        cv_.wait_for(lock, 1s, wake);
      }
    }
    std::unique_lock sync_lock(sync_mu_);
    int fd;
    uint64_t target;
    uint64_t synced;
    {
      std::lock_guard lock(mu_);
      fd = fd_;
      target = written_seq_;
      synced = synced_seq_;
    }
    if (fd >= 0 && target > synced) ::fdatasync(fd);
    std::vector<std::function<void()>> ready;
    bool stop;
    {
      std::lock_guard lock(mu_);
      if (target > synced_seq_) synced_seq_ = target;
      auto end = waiters_.upper_bound(synced_seq_);
      for (auto it = waiters_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
      waiters_.erase(waiters_.begin(), end);
      stop = stop_;
    }
    sync_lock.unlock();
    for (auto& f : ready) f();
    if (stop) return;
  }
}

void AppendLog::Close() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace stratus::kv
