// The append-only log that makes the embedded engine durable. Records are Redis commands
// in RESP form (the format of Redis's own AOF), already rewritten to absolute times, so a
// replay rebuilds exactly the acknowledged state. A batch that must apply atomically
// (a /multi-exec, a script) is framed by MULTI/EXEC records.
//
// Reading is strict, as Redis is with its AOF: a torn tail (an incomplete last record, an
// unfinished MULTI, or zero bytes a crash left at the end) is what a crash mid-write leaves,
// and is truncated with a line on stderr, the dropped bytes kept beside the log
// (`<log>.torn-<unix time>`, 0600); anything else that cannot be read is corruption, and the
// log is refused with its byte offset (`stratus redis-check-log` repairs it). An incomplete
// record is a torn tail only if no complete RESP command array starts at a line start
// ("\n*") anywhere after it: a damaged length prefix in the middle (`$102400` become
// `$902400`) also reads as "incomplete", and the whole records after it show that it is not
// one interrupted write, so it is corruption at that record's offset. The rule errs toward
// refusing: a torn write whose own data holds a whole RESP command is refused too (for
// `redis-check-log --fix`), rather than a log being cut short in the middle.
// A failed write is cut back to the previous end, so the file never holds half a record
// followed by more records.
//
// Writes happen in the caller (the engine, under its lock) with write(2), so a killed
// process loses nothing written. fsync runs on this log's own thread: every second
// (`everysec`), or as soon as a caller waits (`always`, group commit: one fsync covers
// every caller waiting at that moment).
#pragma once

#include <atomic>
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

// What reading a log finds.
struct LogScan {
  enum class End { kClean, kTornTail, kCorrupt };
  End end = End::kClean;
  uint64_t file_bytes = 0;
  uint64_t good_bytes = 0;  // the end of the last complete record or MULTI/EXEC batch
  uint64_t commands = 0;    // commands passed to `apply`
  uint64_t bad_offset = 0;  // kCorrupt: where the record that cannot be read starts
  std::string problem;      // kCorrupt: what is wrong there
};

// Reads the records of `data` in order and passes each committed command to `apply`, which
// answers "" or why that command cannot be in a log (an unknown command, a wrong arity).
// Stops at the first record that cannot be read.
LogScan ScanLog(std::string_view data, const std::function<std::string(const std::vector<std::string>&)>& apply);

// Reads a whole file.
StatusOr<std::string> ReadLogFile(const std::string& path);

class AppendLog {
 public:
  ~AppendLog();
  // Opens (creating if missing) the log at `path` without reading it.
  static StatusOr<std::unique_ptr<AppendLog>> Open(const std::string& path, FsyncPolicy policy);

  // Reads every record in order (see ScanLog). A torn tail is truncated (and said on
  // stderr); corruption is a kDataLoss error naming the file and the byte offset, and the
  // file is left as it is. Call before the first Append.
  Status Replay(const std::function<std::string(const std::vector<std::string>&)>& apply);

  // Writes `bytes` (whole records); returns the log sequence number after them. On failure
  // the file is cut back to where it ended before, so nothing of `bytes` stays in it.
  StatusOr<uint64_t> Append(std::string_view bytes);
  // Tests: the next `count` Appends write `partial` bytes and then fail with `err`, as a
  // full disk (ENOSPC) or an I/O error (EIO) would.
  void FailWritesForTest(int err, size_t partial, int count = 1);
  // Replaces the log with `snapshot` (written to a temporary file, fsynced, renamed, the
  // directory fsynced). If the directory fsync fails the new file is the log but the rename
  // may not be on disk: an error, and as after a failed fsync nothing is acknowledged any more.
  Status Rewrite(std::string_view snapshot);
  // Calls `done(true)` (on the log thread, or at once) when everything up to `seq` is on disk,
  // `done(false)` when an fsync failed: after that nothing written is known to be on disk
  // (Linux may drop the dirty pages), so every later wait fails too.
  void WhenDurable(uint64_t seq, std::function<void(bool)> done);
  // An fsync of the log failed (its errno; 0: none). Writes must stop being acknowledged.
  int sync_errno() const { return sync_errno_.load(); }
  // Tests: every later fsync fails with `err`, as an I/O error (EIO) would.
  void FailSyncsForTest(int err) { fail_sync_errno_.store(err); }
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
  int fail_errno_ = 0;  // FailWritesForTest
  size_t fail_partial_ = 0;
  int fail_count_ = 0;
  std::atomic<int> sync_errno_{0};
  std::atomic<int> fail_sync_errno_{0};  // FailSyncsForTest
  std::multimap<uint64_t, std::function<void(bool)>> waiters_;
  std::thread thread_;
};

}  // namespace stratus::kv
