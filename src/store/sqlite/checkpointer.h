// Moves WAL checkpoints off the writer thread.
//
// SQLite's automatic checkpoint runs inside the commit that crosses the WAL threshold, so the
// writer (and every request waiting on its group commit) stalls while pages are copied into
// the database file and that file is fsynced. The Checkpointer turns the automatic checkpoint
// off on the writer's connection and runs PASSIVE checkpoints from its own connection and
// thread instead; WAL lets them run beside the writer's commits. Once the WAL passes
// `wal_pages * kBackstop` frames the writer checkpoints what the background ones left (little,
// as they keep up), so the WAL can start over and stays bounded.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite/db.h"

namespace stratus::sqlite {

class Checkpointer {
 public:
  static constexpr int kBackstop = 16;

  // Opens its own connection to `path` and takes over the checkpoints of `writer`. Starts a
  // checkpoint whenever a commit leaves at least `wal_pages` pages in the WAL.
  static StatusOr<std::unique_ptr<Checkpointer>> Start(const std::string& path, sqlite3* writer, int wal_pages);
  ~Checkpointer();  // stops the thread; the writer's last close checkpoints what is left

 private:
  Checkpointer(std::unique_ptr<Db> db, sqlite3* writer, int wal_pages);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int pages);
  void Loop();

  std::unique_ptr<Db> db_;
  sqlite3* writer_;
  const int wal_pages_;
  int requested_at_ = 0;  // WAL size at the last request; writer thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace stratus::sqlite
