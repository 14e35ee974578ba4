#include "kv/append_log.h"
#include "common/thread_name.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
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

// fsyncs the directory holding `file`; answers 0 or the errno of what failed.
int FsyncDir(const std::string& file) {
  std::string dir = std::filesystem::path(file).parent_path().string();
  int d = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return errno;
  int err = ::fsync(d) == 0 ? 0 : errno;
  ::close(d);
  return err;
}

}  // namespace

StatusOr<FsyncPolicy> ParseFsyncPolicy(std::string_view text) {
  if (IEquals(text, "everysec")) return FsyncPolicy::kEverySec;
  if (IEquals(text, "always")) return FsyncPolicy::kAlways;
  return InvalidArgument("--redis-fsync must be everysec or always, got '" + std::string(text) + "'");
}

namespace {

bool AllZero(std::string_view s) {
  return s.find_first_not_of('\0') == std::string_view::npos;
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Whether `at` starts a line "<mark><digits>\r\n" (a cheap test before a full parse).
bool CountLineAt(std::string_view data, size_t at, char mark) {
  if (at >= data.size() || data[at] != mark) return false;
  size_t p = at + 1;
  size_t digits_end = std::min(data.size(), p + 20);
  size_t first = p;
  while (p < digits_end && IsDigit(data[p])) ++p;
  return p > first && data.substr(p, 2) == "\r\n";
}

// Whether a complete RESP command array starts at a line start anywhere after `bad`: then
// the record at `bad` is not the last one a crash interrupted, but damage in the middle.
bool CompleteRecordAfter(std::string_view data, size_t bad) {
  for (size_t nl = data.find("\n*", bad); nl != std::string_view::npos; nl = data.find("\n*", nl + 1)) {
    size_t at = nl + 1;
    if (!CountLineAt(data, at, '*')) continue;
    size_t dollar = data.find("\r\n", at) + 2;
    if (!CountLineAt(data, dollar, '$')) continue;
    std::vector<std::string> argv;
    size_t used = 0;
    if (RespParser::ParseCommand(data.substr(at), &argv, &used) == RespParser::Result::kOk) return true;
  }
  return false;
}

}  // namespace

LogScan ScanLog(std::string_view data, const std::function<std::string(const std::vector<std::string>&)>& apply) {
  LogScan out;
  out.file_bytes = data.size();
  size_t pos = 0;
  size_t multi_at = 0;  // where the open MULTI starts
  bool in_multi = false;
  std::vector<std::pair<size_t, std::vector<std::string>>> pending;  // (offset, command) inside MULTI
  auto corrupt = [&](size_t at, std::string problem) {
    out.end = LogScan::End::kCorrupt;
    out.bad_offset = at;
    out.problem = std::move(problem);
    return out;
  };
  auto run = [&](size_t at, const std::vector<std::string>& argv) {
    std::string problem = apply(argv);
    ++out.commands;
    if (!problem.empty()) corrupt(at, "a record the engine refuses: " + problem);
    return problem.empty();
  };
  while (pos < data.size()) {
    std::vector<std::string> argv;
    size_t used = 0;
    RespParser::Result r = RespParser::ParseCommand(data.substr(pos), &argv, &used);
    if (r == RespParser::Result::kIncomplete) {
      // A length that points past the end of the file is a write cut short only if nothing
      // whole follows it; otherwise a damaged length would swallow the rest of the log.
      if (CompleteRecordAfter(data, pos)) {
        return corrupt(pos, "an incomplete record followed by complete ones (a damaged length?)");
      }
      out.end = LogScan::End::kTornTail;  // a write cut short at the end of the file
      return out;
    }
    if (r == RespParser::Result::kError) {
      // Zeros to the end are what a crash leaves when the size grew before the data landed.
      if (AllZero(data.substr(pos))) {
        out.end = LogScan::End::kTornTail;
        return out;
      }
      return corrupt(pos, "not a RESP command");
    }
    size_t at = pos;
    pos += used;
    if (argv.size() == 1 && IEquals(argv[0], "multi")) {
      if (in_multi) return corrupt(at, "MULTI inside an unfinished MULTI");
      in_multi = true;
      multi_at = at;
      continue;
    }
    if (argv.size() == 1 && IEquals(argv[0], "exec")) {
      if (!in_multi) return corrupt(at, "EXEC without MULTI");
      for (const auto& [offset, cmd] : pending) {
        if (!run(offset, cmd)) {
          out.good_bytes = multi_at;
          return out;
        }
      }
      pending.clear();
      in_multi = false;
      out.good_bytes = pos;
      continue;
    }
    if (in_multi) {
      pending.emplace_back(at, std::move(argv));
    } else {
      if (!run(at, argv)) return out;
      out.good_bytes = pos;
    }
  }
  if (in_multi) out.end = LogScan::End::kTornTail;  // the batch's EXEC never made it
  return out;
}

StatusOr<std::string> ReadLogFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open " + path);
  std::string data;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Errno("read " + path);
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
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

Status AppendLog::Replay(const std::function<std::string(const std::vector<std::string>&)>& apply) {
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
  LogScan scan = ScanLog(data, apply);
  switch (scan.end) {
    case LogScan::End::kClean:
      return Status::Ok();
    case LogScan::End::kCorrupt:
      return Status(Code::kDataLoss,
                    "the Redis log " + path_ + " is corrupt at byte " + std::to_string(scan.bad_offset) + " of " +
                        std::to_string(scan.file_bytes) + " (" + scan.problem + "); the " +
                        std::to_string(scan.file_bytes - scan.good_bytes) + " bytes from there on cannot be replayed");
    case LogScan::End::kTornTail:
      break;
  }
  // Keep what is dropped beside the log, in case the rule above ever misjudges.
  std::string torn = path_ + ".torn-" + std::to_string(::time(nullptr));
  int tfd = -1;
  for (int i = 1; tfd < 0; ++i) {
    tfd = ::open(torn.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (tfd >= 0) break;
    if (errno != EEXIST || i > 100) return Errno("open " + torn);
    torn = path_ + ".torn-" + std::to_string(::time(nullptr)) + "." + std::to_string(i);
  }
  Status kept = WriteAll(tfd, std::string_view(data).substr(scan.good_bytes), torn);
  if (kept.ok() && ::fsync(tfd) != 0) kept = Errno("fsync " + torn);
  ::close(tfd);
  if (kept.ok()) {
    if (int err = FsyncDir(torn); err != 0) {
      errno = err;
      kept = Errno("fsync the directory of " + torn);
    }
  }
  STRATUS_RETURN_IF_ERROR(kept);
  if (::ftruncate(fd_, static_cast<off_t>(scan.good_bytes)) != 0) return Errno("truncate " + path_);
  if (::fsync(fd_) != 0) return Errno("fsync " + path_);
  std::fprintf(stderr,
               "stratus: the Redis log %s ended in an incomplete record (a write cut short by a crash): dropped the "
               "last %llu bytes, from byte %llu (a copy is in %s)\n",
               path_.c_str(), static_cast<unsigned long long>(scan.file_bytes - scan.good_bytes),
               static_cast<unsigned long long>(scan.good_bytes), torn.c_str());
  std::lock_guard lock(mu_);
  file_bytes_ = scan.good_bytes;
  return Status::Ok();
}

StatusOr<uint64_t> AppendLog::Append(std::string_view bytes) {
  std::lock_guard lock(mu_);
  if (fd_ < 0) return Unavailable("the Redis log is closed");
  Status st = Status::Ok();
  if (fail_count_ > 0) {
    --fail_count_;
    WriteAll(fd_, bytes.substr(0, std::min(fail_partial_, bytes.size())), path_).IgnoreError();
    errno = fail_errno_;
    st = Errno("write " + path_);
  } else {
    st = WriteAll(fd_, bytes, path_);
  }
  if (!st.ok()) {
    // Cut off what part of the records made it, so the log still ends on a whole record.
    (void)::ftruncate(fd_, static_cast<off_t>(file_bytes_));
    return st;
  }
  written_seq_ += bytes.size();
  file_bytes_ += bytes.size();
  if (policy_ == FsyncPolicy::kAlways) cv_.notify_one();
  return written_seq_;
}

void AppendLog::FailWritesForTest(int err, size_t partial, int count) {
  std::lock_guard lock(mu_);
  fail_errno_ = err;
  fail_partial_ = partial;
  fail_count_ = count;
}

Status AppendLog::Rewrite(std::string_view snapshot) {
  std::string tmp = path_ + ".rewrite";
  // The descriptor that writes the snapshot becomes the log's: nothing is reopened after the
  // rename, so a failure leaves either the old log in use or the new one.
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open " + tmp);
  Status st = WriteAll(fd, snapshot, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Errno("fsync " + tmp);
  if (!st.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  std::lock_guard sync_lock(sync_mu_);
  std::lock_guard lock(mu_);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    st = Errno("rename " + tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  // The rename is done: the new file is the log whatever follows.
  int dir_err = FsyncDir(path_);
  ::close(fd_);
  fd_ = fd;
  file_bytes_ = base_bytes_ = snapshot.size();
  if (dir_err != 0) {
    // The rename may not be on disk: as with a failed fsync, nothing is acknowledged any more.
    sync_errno_.store(dir_err);
    cv_.notify_one();  // the log thread fails every waiter
    errno = dir_err;
    return Errno("fsync the directory of " + path_ + " after the rename");
  }
  // The snapshot holds everything written so far, and it is on disk.
  synced_seq_ = written_seq_;
  cv_.notify_one();
  return Status::Ok();
}

void AppendLog::WhenDurable(uint64_t seq, std::function<void(bool)> done) {
  {
    std::lock_guard lock(mu_);
    if (sync_errno_.load() == 0 && seq > synced_seq_ && !stop_) {
      waiters_.emplace(seq, std::move(done));
      cv_.notify_one();
      return;
    }
  }
  done(sync_errno_.load() == 0 && seq <= synced_seq_);
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
    int err = 0;
    if (fd >= 0 && target > synced && sync_errno_.load() == 0) {
      err = fail_sync_errno_.load();
      if (err == 0 && ::fdatasync(fd) != 0) err = errno;
      if (err != 0) {
        sync_errno_.store(err);
        std::fprintf(stderr, "stratus: fsync of the Redis log %s failed: %s; writes are refused until restart\n",
                     path_.c_str(), std::strerror(err));
      }
    }
    std::vector<std::function<void(bool)>> ready;
    bool stop;
    bool ok = sync_errno_.load() == 0;
    {
      std::lock_guard lock(mu_);
      if (ok && target > synced_seq_) synced_seq_ = target;
      auto end = ok ? waiters_.upper_bound(synced_seq_) : waiters_.end();
      for (auto it = waiters_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
      waiters_.erase(waiters_.begin(), end);
      stop = stop_;
    }
    sync_lock.unlock();
    for (auto& f : ready) f(ok);
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
