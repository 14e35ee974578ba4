// What `stratus migrate` needs of a PostgreSQL database beyond the Store interface: rows that
// no mutation writes as they are (a dead letter, a tombstone with its own time), a check that
// the target holds nothing, and the row counts the copy is verified against.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/key_source.h"
#include "store/postgres/pg.h"
#include "stratus/model.h"
#include "stratus/store.h"

namespace stratus::pg {

// A name held for the de-dup window (kind 1, a task) or the queue-reuse window (kind 0).
struct TombstoneRow {
  int kind = 0;
  std::string name;
  Micros deleted_us = 0;
};

struct RowCounts {
  int64_t queues = 0;
  int64_t tasks = 0;
  int64_t dead_letters = 0;
  int64_t tombstones = 0;
  int64_t oidc_keys = 0;
  bool operator==(const RowCounts&) const = default;
};

class Importer {
 public:
  // Connects and brings the schema to the current version (as a server's start does).
  static StatusOr<std::unique_ptr<Importer>> Open(const std::string& conninfo);

  StatusOr<RowCounts> Count();
  // Servers whose heartbeat (stratus_nodes) is younger than `window`: a copy behind a running
  // server would race its writes.
  StatusOr<int64_t> LiveNodes(int window_seconds);
  // Deletes every queue, task, dead letter, tombstone and OIDC key (`migrate --force`).
  Status Clear();
  // Each call is one transaction; a row that exists is replaced.
  Status AddDeadLetters(const std::vector<DeadLetter>& rows);
  Status AddTombstones(const std::vector<TombstoneRow>& rows);
  // The data dir's OIDC signing keys, as they are (a kid already there is kept).
  Status AddOidcKeys(const std::vector<auth::StoredKey>& keys);

 private:
  explicit Importer(std::unique_ptr<Conn> c) : c_(std::move(c)) {}
  Status InTransaction(const std::function<Status()>& body);
  std::unique_ptr<Conn> c_;
};

}  // namespace stratus::pg
