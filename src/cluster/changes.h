// Changes one node tells the others about (PostgreSQL: NOTIFY on the stratus_changes channel,
// sent inside the transaction that made them, so they arrive only after it committed). The
// node that dispatches the queue applies them within milliseconds instead of at a poll.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"

namespace stratus::cluster {

struct Change {
  enum class Kind : char {
    kTaskCreated = 'c',   // name: task; due: its scheduleTime (a create or a dead letter retried)
    kTaskRun = 'r',       // name: task; due: now (tasks.run)
    kTaskRemoved = 'x',   // name: task
    kQueueChanged = 'q',  // name: queue (created, patched, paused, resumed)
    kQueuePurged = 'p',   // name: queue
    kQueueDeleted = 'd',  // name: queue
    kNodeLeft = 'l',      // name: node id (its leases are free now)
    kJobChanged = 'j',    // name: Cloud Scheduler job (created, updated, paused, resumed, deleted)
    kJobRun = 'u',        // name: Cloud Scheduler job (jobs.run)
    kLeaseFreed = 'f',    // name: a lease no queue has (the scheduler executor's), free now
  };
  Kind kind = Kind::kQueueChanged;
  std::string name;
  Micros due = 0;
};

// One line per change: "<kind> <due> <name>". Names never hold a newline.
std::string EncodeChange(const Change& change);
// Splits `payload` into changes; lines it cannot read are skipped.
std::vector<Change> DecodeChanges(std::string_view payload);

}  // namespace stratus::cluster
