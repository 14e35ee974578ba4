// The audit log: one JSON line per queue change (create, update, delete, purge, pause, resume,
// IAM policy, /stratus/v1 config) and per dead-letter action (retry, retry all, delete,
// delete all), accepted or refused:
//   {"event":"audit","time":"...","principal":"ci-deployer","remote":"127.0.0.1:50412",
//    "method":"queues.delete","http":"DELETE","resource":"projects/p/locations/l/queues/q",
//    "status":200,"outcome":"ok"}
// `principal` is the API token's name ("anonymous" when no token is configured or the one sent
// is not valid). Never a secret: no token, no body, no header. Lines go to stderr (beside the
// task events, whatever --no-task-log says) and, with --audit-log FILE, are appended to FILE
// (created 0600).
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "common/time.h"
#include "stratus/status.h"

namespace stratus::api {

struct AuditEntry {
  std::string principal;  // the token's name, or "anonymous"
  std::string remote;     // peer address
  std::string method;     // the route's name ("queues.purge", "stratus.deadLetters.retry")
  std::string verb;       // the HTTP method
  std::string resource;   // the queue, dead letter or location acted on
  int status = 0;         // the HTTP status answered
};

// The line for an entry (no newline).
std::string AuditLine(const AuditEntry& entry, Micros now);

class AuditLog {
 public:
  // `path` empty: the console only. `console` null: no console copy (tests).
  static StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path, std::FILE* console = stderr);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Writes one line to each sink; a failed file write is reported once on the console.
  void Write(const AuditEntry& entry);

 private:
  AuditLog(int fd, std::FILE* console) : fd_(fd), console_(console) {}
  int fd_;
  std::FILE* console_;
  std::mutex mu_;
  bool write_failed_ = false;
};

}  // namespace stratus::api
