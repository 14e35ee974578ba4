// Where a cluster keeps its nodes and queue leases (PostgreSQL: store/postgres/pg_leases.h).
//
// A lease gives one node the right to dispatch one queue until it expires. Every time a
// lease changes hands its epoch grows by one; the store refuses an attempt write carrying
// an older epoch (AttemptStart/AttemptFinish `epoch`, StoreReason::kLeaseLost) in the same
// transaction, so a node that stalled past its lease cannot record over the new owner.
// Expiry is judged by the table's own clock (the database server's), never by a node's.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/time.h"
#include "stratus/status.h"

namespace stratus::cluster {

struct NodeInfo {
  std::string id;       // unique per process start
  std::string address;  // where its API answers (for operators; nodes never call each other)
};

// A queue and its lease as the table holds it now.
struct QueueLease {
  std::string queue;
  std::string holder;    // node id; empty when free (never taken, or released)
  int64_t epoch = 0;     // 0: never taken
  bool expired = false;  // free to take
};

struct ClusterView {
  std::vector<std::string> live_nodes;  // heartbeat within one lease, this node included
  std::vector<QueueLease> queues;       // every queue in the store
};

class LeaseTable {
 public:
  virtual ~LeaseTable() = default;
  // Records `self`'s heartbeat, extends every lease it holds by `lease`, and returns the
  // live nodes, every queue's lease, and (in `held`) queue -> epoch of the leases it holds.
  virtual StatusOr<ClusterView> Heartbeat(const NodeInfo& self, Micros lease, std::map<std::string, int64_t>* held) = 0;
  // Takes `queue` if its lease is free or expired: the new epoch, or nullopt when another
  // node holds it.
  virtual StatusOr<std::optional<int64_t>> Acquire(const std::string& queue, const std::string& self, Micros lease) = 0;
  // Extends `queue`'s lease by `lease` if `self` still holds it at `epoch`: false when it does
  // not (another node took it, or it was freed). For a lease no queue's heartbeat renews.
  virtual StatusOr<bool> Renew(const std::string& queue, const std::string& self, int64_t epoch, Micros lease) {
    (void)queue, (void)self, (void)epoch, (void)lease;
    return Unimplemented("this lease table renews leases only through Heartbeat");
  }
  // Frees `queue` now if `self` still holds it at `epoch`.
  virtual Status Release(const std::string& queue, const std::string& self, int64_t epoch) = 0;
  // Frees every lease `self` holds and removes it from the node list.
  virtual Status Leave(const std::string& self) = 0;
};

}  // namespace stratus::cluster
