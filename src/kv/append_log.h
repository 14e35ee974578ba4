// The append-only log that makes the embedded engine durable. Records are Redis commands
// in RESP form (the format of Redis's own AOF), already rewritten to absolute times, so a
// replay rebuilds exactly the acknowledged state. A batch that must apply atomically
// (a /multi-exec, a script) is framed by MULTI/EXEC records; a torn tail is truncated.
//
// Writes happen in the caller (the engine, under its lock) with write(2), so a killed
// process loses nothing written. fsync runs on this log's own thread: every second
// (`everysec`), or as soon as a caller waits (`always`, group commit: one fsync covers
// every caller waiting at that moment).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "stratus/status.h"

namespace stratus::kv {

enum class FsyncPolicy { kEverySec, kAlways };
StatusOr<FsyncPolicy> ParseFsyncPolicy(std::string_view text);

class AppendLog {
 public:
  ~AppendLog();
  // Opens (creating if missing) the log at `path` without reading it.
  static StatusOr<std::unique_ptr<AppendLog>> Open(const std::string& path, FsyncPolicy policy);

  // Reads every complete record in order; drops (and truncates) a torn tail or an
  // unterminated MULTI. Call before the first Append.
  Status Replay(const std::function<void(const std::vector<std::string>&)>& apply);

  // Writes `bytes` (whole records); returns the log sequence number after them.
  StatusOr<uint64_t> Append(std::string_view bytes);
  // Replaces the log with `snapshot` (written to a temporary file, fsynced, renamed).
  Status Rewrite(std::string_view snapshot);
  // Calls `done` (on the log thread, or at once) when everything up to `seq` is on disk.
  void WhenDurable(uint64_t seq, std::function<void()> done);
  // Bytes in the current file; the size right after the last rewrite.
  uint64_t file_bytes() const { return file_bytes_; }
  uint64_t base_bytes() const { return base_bytes_; }
  FsyncPolicy policy() const { return policy_; }
  // fsyncs what is written and stops the thread.
  void Close();

 private:
  AppendLog(std::string path, int fd, FsyncPolicy policy);
  void SyncLoop();

  const std::string path_;
  const FsyncPolicy policy_;
  std::mutex sync_mu_;  // held across fsync; Rewrite takes it to swap the file
  std::mutex mu_;
  std::condition_variable cv_;
  int fd_;
  uint64_t written_seq_ = 0;
  uint64_t synced_seq_ = 0;
  uint64_t file_bytes_ = 0;
  uint64_t base_bytes_ = 0;
  bool stop_ = false;
  std::multimap<uint64_t, std::function<void()>> waiters_;
  std::thread thread_;
};

}  // namespace stratus::kv
