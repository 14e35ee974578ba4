// The JobStore on its own SQLite file (<data-dir>/scheduler.db), apart from the Cloud Tasks
// database: WAL, synchronous=FULL, every mutation committed before it returns.
//
// Jobs are few and small, so one connection behind a mutex serves every call (callers run
// it off the event loops, on the blocking pool). Each row keeps the job as a versioned JSON
// document of its own (not the REST form); the schema_version table holds the layout's
// version, and a file written by a newer stratus is refused at open.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "scheduler/job.h"

struct sqlite3;

namespace stratus::scheduler {

inline constexpr int kJobSchemaVersion = 1;

class SqliteJobStore final : public JobStore {
 public:
  // Creates the file and its tables when missing. FAILED_PRECONDITION for a file from a newer
  // version, UNAVAILABLE when it cannot be opened.
  static StatusOr<std::unique_ptr<SqliteJobStore>> Open(const std::string& path);
  ~SqliteJobStore() override;

  StatusOr<Job> Create(const Job& job) override;
  StatusOr<Job> Get(const std::string& name) override;
  StatusOr<std::vector<Job>> List(const std::string& parent) override;
  StatusOr<std::vector<Job>> All() override;
  StatusOr<Job> Update(const Job& job) override;
  Status RecordRun(const std::string& name, Micros schedule_time, Micros last_attempt_time,
                   const std::optional<Status>& status, int64_t epoch) override;
  Status Delete(const std::string& name) override;

 private:
  explicit SqliteJobStore(sqlite3* db) : db_(db) {}
  StatusOr<std::optional<Job>> Read(const std::string& name);  // with mu_ held
  Status Write(const Job& job, bool insert);                   // with mu_ held, in a transaction
  Status Exec(const char* sql);

  std::mutex mu_;
  sqlite3* db_;
};

// The row document: every field of a Job, in a layout of its own ("v": 1).
std::string EncodeJobRow(const Job& job);
StatusOr<Job> DecodeJobRow(std::string_view doc);

}  // namespace stratus::scheduler
