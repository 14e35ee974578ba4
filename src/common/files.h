// Durable, private files in the data dir: secrets (the OIDC key, the Redis token) are
// written whole or not at all, survive a crash right after the write, and are readable by
// their owner only.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "stratus/status.h"

namespace stratus {

// Writes `contents` to `path` atomically and durably: a temporary file beside it (created
// with `mode`), fsync, rename over `path`, fsync of the directory. A crash at any point
// leaves either the old file or the new one, never an empty or partial file.
Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode = 0600);

// fsyncs a directory, so a rename or a new file in it survives a crash.
Status FsyncDir(const std::string& dir);

// Creates `dir` and its missing parents; the directories it creates are 0700.
Status CreatePrivateDir(const std::string& dir);

}  // namespace stratus
