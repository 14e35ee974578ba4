#include "api/audit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/json.h"

namespace stratus::api {

namespace {

// Every field may come from a caller (a queue name in a refused create is the body's text):
// a line stays bounded whatever was sent.
constexpr size_t kMaxField = 300;

std::string Bounded(const std::string& s) {
  if (s.size() <= kMaxField) return s;
  return s.substr(0, kMaxField) + "...(" + std::to_string(s.size()) + " bytes)";
}

}  // namespace

std::string AuditLine(const AuditEntry& e, Micros now) {
  const char* outcome = e.status < 400 ? "ok" : (e.status == 401 || e.status == 403 ? "denied" : "failed");
  Json j = {{"event", "audit"},
            {"time", FormatTimestamp(now)},
            {"principal", Bounded(e.principal)},
            {"remote", Bounded(e.remote)},
            {"method", Bounded(e.method)},
            {"http", Bounded(e.verb)},
            {"resource", Bounded(e.resource)},
            {"status", e.status},
            {"outcome", outcome}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, std::FILE* console) {
  int fd = -1;
  if (!path.empty()) {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Unavailable("cannot open --audit-log " + path + ": " + std::strerror(errno));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(fd, console));
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

void AuditLog::Write(const AuditEntry& entry) {
  std::string line = AuditLine(entry, SystemClock().Now()) + "\n";
  std::lock_guard lock(mu_);
  if (console_) {
    std::fputs(line.c_str(), console_);
    std::fflush(console_);
  }
  if (fd_ < 0) return;
  // O_APPEND: each line lands whole at the end, even with another writer on the file.
  ssize_t n = ::write(fd_, line.data(), line.size());
  int err = errno;
  if (n != static_cast<ssize_t>(line.size()) && !write_failed_ && console_) {
    write_failed_ = true;
    Json j = {{"event", "audit.write_failed"},
              {"time", FormatTimestamp(SystemClock().Now())},
              {"error", n < 0 ? std::strerror(err) : "short write"}};
    std::fprintf(console_, "%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
  }
}

}  // namespace stratus::api
