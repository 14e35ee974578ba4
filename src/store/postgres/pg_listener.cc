#include "store/postgres/pg_listener.h"

#include <poll.h>

#include "common/log.h"
#include "common/thread_name.h"

namespace stratus {
namespace {

constexpr int kPollMs = 100;       // how soon Stop is noticed
constexpr int kReconnectMs = 500;  // between attempts while the server is away

}  // namespace

PgListener::PgListener(std::string conninfo, Callbacks callbacks)
    : conninfo_(std::move(conninfo)), callbacks_(std::move(callbacks)) {}

PgListener::~PgListener() {
  Stop();
}

void PgListener::Start() {
  thread_ = std::thread([this] {
    NameThisThread("pg-listen");
    Loop();
  });
}

void PgListener::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void PgListener::Loop() {
  std::unique_ptr<pg::Conn> c;
  while (!stopping_) {
    if (!c || c->broken()) {
      c.reset();
      auto opened = pg::Conn::Open(conninfo_);
      Status st = opened.ok() ? (*opened)->Exec(std::string("LISTEN ") + kChangesChannel) : opened.status();
      if (!st.ok()) {
        LogJson({{"event", "cluster.listen_failed"}, {"error", st.message()}});
        for (int waited = 0; waited < kReconnectMs && !stopping_; waited += kPollMs) {
          std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
        }
        continue;
      }
      c = std::move(*opened);
      connects_.fetch_add(1);
      if (callbacks_.on_resync) callbacks_.on_resync();
    }
    pollfd p{c->socket(), POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    if (!c->ConsumeInput()) {
      c.reset();
      continue;
    }
    while (auto n = c->NextNotification()) {
      if (callbacks_.is_self && callbacks_.is_self(n->backend_pid)) continue;
      for (const cluster::Change& change : cluster::DecodeChanges(n->payload)) callbacks_.on_change(change);
    }
  }
}

}  // namespace stratus
