// A thin libpq wrapper for the PostgreSQL store: one connection, statements with text
// parameters (bytea as binary), results read by column. Every failure is a Status: the
// server's own message, UNAVAILABLE when the connection is gone (so callers reconnect),
// INTERNAL for a statement the server refused.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stratus/status.h"

namespace stratus::pg {

// One parameter: text, NULL, or bytes sent as bytea in binary.
struct Param {
  std::optional<std::string> value;
  bool binary = false;
  Param(std::string s) : value(std::move(s)) {}    // NOLINT(google-explicit-constructor)
  Param(const char* s) : value(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  Param(int64_t v) : value(std::to_string(v)) {}   // NOLINT(google-explicit-constructor)
  static Param Bytes(std::string_view b) {
    Param p{std::string(b)};
    p.binary = true;
    return p;
  }
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r, PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  int64_t Int(int row, int col) const { return IsNull(row, col) ? 0 : std::stoll(Text(row, col)); }
  // A bytea column read in text (hex) form.
  std::string Bytes(int row, int col) const;
  // Rows a DELETE/UPDATE/INSERT touched.
  int64_t Changes() const;
  // The command tag: "COMMIT", or "ROLLBACK" for a COMMIT of a failed transaction.
  std::string Command() const { return PQcmdStatus(r_.get()); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_;
};

class Conn {
 public:
  // Connects with a URI (postgres://, postgresql://) or libpq's key=value string.
  static StatusOr<std::unique_ptr<Conn>> Open(const std::string& conninfo);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  Status Exec(const std::string& sql);
  StatusOr<Result> Query(const std::string& sql, const std::vector<Param>& params = {});
  // Query through a statement prepared on this connection at its first use (parsed and
  // planned once per connection, not per call). A reconnect is a new Conn: it prepares again.
  // For the fixed statements of hot paths; `sql` is the cache key.
  StatusOr<Result> Prepared(const std::string& sql, const std::vector<Param>& params = {});

  // Pipeline mode: statements go out without waiting for each answer and their results come
  // back in order, so a batch of them costs one round trip. Between EnterPipeline and
  // ExitPipeline only Send, Sync and Next may be used. Prepare `sql` (outside the pipeline)
  // before its first Send; Send with no params and an unprepared `sql` runs it as is.
  Status Prepare(const std::string& sql, int param_count);
  Status EnterPipeline();
  Status ExitPipeline();
  Status Send(const std::string& sql, const std::vector<Param>& params = {});
  // Marks the end of what was sent and flushes it: Next then reads the answers.
  Status Sync();
  // The answer of the next statement sent: the server's error for the first one it refused;
  // ABORTED for each one after it until the Sync (they did not run).
  StatusOr<Result> Next(const std::string& sql);
  // Reads up to the answer to Sync (after every statement's answer was read).
  Status EndSync();
  bool broken() const { return PQstatus(c_) != CONNECTION_OK; }
  bool in_pipeline() const { return PQpipelineStatus(c_) != PQ_PIPELINE_OFF; }
  // The server process serving this connection (NOTIFY tells which one sent it).
  int backend_pid() const { return PQbackendPID(c_); }
  // For LISTEN: the socket to wait on, and the notifications read so far (consumes input).
  int socket() const { return PQsocket(c_); }
  // Reads what arrived; false when the connection failed.
  bool ConsumeInput() { return PQconsumeInput(c_) == 1; }
  // The next notification read (channel, payload, sender's backend pid), or nullopt.
  struct Notification {
    std::string channel;
    std::string payload;
    int backend_pid = 0;
  };
  std::optional<Notification> NextNotification();

 private:
  explicit Conn(PGconn* c) : c_(c) {}
  Status Failure(PGresult* r, const std::string& sql);
  StatusOr<Result> Finish(PGresult* r, const std::string& sql);
  PGconn* c_;
  std::unordered_map<std::string, std::string> prepared_;  // sql -> statement name
};

// The conninfo with any password removed, for logs and errors.
std::string Redacted(const std::string& conninfo);

}  // namespace stratus::pg
