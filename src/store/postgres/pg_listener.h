// Receives the changes other nodes committed (cluster/changes.h) on the stratus_changes
// channel: one thread with a connection of its own that LISTENs and hands each change to
// `on_change`. PostgreSQL delivers a NOTIFY only after its transaction committed and only
// while the connection listens, so after every (re)connect `on_resync` runs first: whatever
// was missed in between is read again from the tables.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "cluster/changes.h"
#include "store/postgres/pg.h"

namespace stratus {

inline constexpr const char* kChangesChannel = "stratus_changes";

class PgListener {
 public:
  struct Callbacks {
    std::function<bool(int backend_pid)> is_self;  // a notification this process sent (skipped)
    std::function<void(const cluster::Change&)> on_change;
    std::function<void()> on_resync;
  };
  PgListener(std::string conninfo, Callbacks callbacks);
  ~PgListener();

  void Start();
  void Stop();
  // Times the connection was (re)opened and LISTEN issued; for tests.
  int connects() const { return connects_.load(); }

 private:
  void Loop();

  const std::string conninfo_;
  const Callbacks callbacks_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connects_{0};
  std::thread thread_;
};

}  // namespace stratus
