// Which queues this node dispatches (docs/cluster.md, "How it works").
//
// Every tick (a fifth of the lease) the coordinator heartbeats, renews the leases it holds,
// and compares them with the assignment: each queue belongs to the live node that ranks
// highest for it by rendezvous hashing, so a node joining or leaving moves only its share.
// A queue assigned here whose lease is free or expired is acquired; a queue held here but
// assigned to another live node is handed over (the dispatcher stops starting attempts,
// the ones in flight finish under the old epoch, then the lease is released). The leases
// are the truth; the hashing only decides who tries to take what.
//
// A node stops dispatching a queue as soon as it knows it may no longer hold it: the lease
// is gone from the table, its renewal did not succeed within the lease, or the store refused
// a write for a stale epoch (Refused).
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/lease_table.h"
#include "common/clock.h"

namespace stratus::cluster {

// What the coordinator tells the dispatcher. Called on the coordinator's thread.
class OwnershipListener {
 public:
  virtual ~OwnershipListener() = default;
  // Start dispatching `queue`; every attempt write carries `epoch`.
  virtual void Acquired(const std::string& queue, int64_t epoch) = 0;
  // Stop starting attempts for `queue` (attempts in flight may still finish).
  virtual void Lost(const std::string& queue) = 0;
  // Attempts of `queue` still in flight here.
  virtual int64_t InFlight(const std::string& queue) = 0;
};

// The node `nodes` ranks highest for `queue` (highest random weight); "" when none.
std::string RendezvousOwner(const std::string& queue, const std::vector<std::string>& nodes);

struct CoordinatorOptions {
  NodeInfo self;
  Micros lease = 5 * kMicrosPerSecond;  // --lease
};

class Coordinator {
 public:
  Coordinator(LeaseTable& table, const Clock& clock, CoordinatorOptions options);
  ~Coordinator();

  void SetListener(OwnershipListener* listener) { listener_ = listener; }

  // One round: heartbeat and renew, give up what is lost, hand over what moved, take what
  // is ours. Start() runs it every tick on a thread; tests call it with a fake clock.
  void Tick();
  // `address`: where this node's API answers, recorded in the node list for operators.
  void Start(const std::string& address);
  // Graceful leave: stops dispatching everything, waits (up to one lease) for attempts in
  // flight, then frees every lease at once so other nodes take over at their next tick.
  void Stop();
  // Runs the next Tick now (a queue was created, a node left).
  void Wake();

  // The store refused a write of `queue` at `epoch`: another node took it.
  void Refused(const std::string& queue, int64_t epoch);

  std::optional<int64_t> EpochOf(const std::string& queue) const;
  std::map<std::string, int64_t> Held() const;
  Micros tick_interval() const { return options_.lease / 5; }
  const CoordinatorOptions& options() const { return options_; }

 private:
  struct HeldLease {
    int64_t epoch = 0;
    Micros valid_until = 0;     // our clock: the start of the last renewal that succeeded + lease
    Micros draining_since = 0;  // handing over since (0: not)
  };
  void Loop();

  LeaseTable& table_;
  const Clock& clock_;
  CoordinatorOptions options_;  // set before Start; read-only after
  OwnershipListener* listener_ = nullptr;

  mutable std::mutex mu_;
  std::map<std::string, HeldLease> held_;
  std::condition_variable cv_;
  bool wake_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace stratus::cluster
