// One stratus per data dir: an exclusive flock on DATA_DIR/LOCK, held for the life of the
// process (the kernel drops it when the process dies, however it dies). The file holds the
// holder's pid, so a refused start can say who has the directory.
#pragma once

#include <memory>
#include <string>

#include "stratus/status.h"

namespace stratus::cli {

class DataDirLock {
 public:
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  // Takes the lock without waiting; kFailedPrecondition, naming the holder's pid when the
  // file has one, when another process holds it.
  static StatusOr<std::unique_ptr<DataDirLock>> Acquire(const std::string& data_dir);

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace stratus::cli
