#include "cluster/coordinator.h"

#include <algorithm>
#include <functional>

#include "common/log.h"
#include "common/thread_name.h"

namespace stratus::cluster {
namespace {

// FNV-1a then a 64-bit finaliser: stable across builds and processes, unlike std::hash.
uint64_t Weight(const std::string& node, const std::string& queue) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  };
  mix(node);
  h ^= 0xff;
  h *= 1099511628211ULL;
  mix(queue);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

std::string RendezvousOwner(const std::string& queue, const std::vector<std::string>& nodes) {
  std::string best;
  uint64_t best_weight = 0;
  for (const std::string& n : nodes) {
    const uint64_t w = Weight(n, queue);
    if (best.empty() || w > best_weight || (w == best_weight && n < best)) {
      best = n;
      best_weight = w;
    }
  }
  return best;
}

Coordinator::Coordinator(LeaseTable& table, const Clock& clock, CoordinatorOptions options)
    : table_(table), clock_(clock), options_(std::move(options)) {}

Coordinator::~Coordinator() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Coordinator::Tick() {
  std::vector<std::string> lost;                          // stop dispatching
  std::vector<std::pair<std::string, int64_t>> acquired;  // start dispatching
  auto notify = [&] {
    if (!listener_) return;
    for (const auto& q : lost) listener_->Lost(q);
    for (const auto& [q, e] : acquired) listener_->Acquired(q, e);
    lost.clear();
    acquired.clear();
  };

  const Micros sent = clock_.Now();
  std::map<std::string, int64_t> renewed;
  auto view = table_.Heartbeat(options_.self, options_.lease, &renewed);
  const Micros now = clock_.Now();
  if (!view.ok()) {
    // Unrenewed: give up each lease when our last successful renewal runs out.
    std::lock_guard lock(mu_);
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->second.valid_until <= now) {
        LogJson({{"event", "cluster.lease_expired"}, {"queue", it->first}, {"error", view.status().message()}});
        lost.push_back(it->first);
        it = held_.erase(it);
      } else {
        ++it;
      }
    }
  } else {
    std::vector<std::pair<std::string, int64_t>> release;
    std::vector<std::string> take;
    {
      std::lock_guard lock(mu_);
      // Leases the table no longer gives us (another node took them, or the queue is gone).
      for (auto it = held_.begin(); it != held_.end();) {
        auto r = renewed.find(it->first);
        if (r == renewed.end() || r->second != it->second.epoch) {
          if (!it->second.draining_since) lost.push_back(it->first);
          it = held_.erase(it);
        } else {
          it->second.valid_until = sent + options_.lease;
          ++it;
        }
      }
      std::set<std::string> existing;
      for (const QueueLease& q : view->queues) {
        existing.insert(q.queue);
        const std::string owner = RendezvousOwner(q.queue, view->live_nodes);
        auto h = held_.find(q.queue);
        if (h != held_.end()) {
          if (owner == options_.self.id) {
            if (h->second.draining_since) {
              // Assigned back before the hand-over finished: it was stopped; start again.
              h->second.draining_since = 0;
              acquired.emplace_back(q.queue, h->second.epoch);
            }
            continue;
          }
          if (!h->second.draining_since) {
            h->second.draining_since = now;
            lost.push_back(q.queue);
          }
          continue;
        }
        if (auto r = renewed.find(q.queue); r != renewed.end()) {
          // The table still names us (we gave the lease up by our own clock, say after a slow
          // renewal, or a release failed): run it again under its epoch, or free it.
          if (owner == options_.self.id) {
            held_[q.queue] = HeldLease{r->second, sent + options_.lease, 0};
            acquired.emplace_back(q.queue, r->second);
          } else {
            release.emplace_back(q.queue, r->second);
          }
          continue;
        }
        if (owner == options_.self.id && (q.holder.empty() || q.expired)) take.push_back(q.queue);
      }
      // Held leases whose queue was deleted: nothing to dispatch, free them.
      for (auto it = held_.begin(); it != held_.end();) {
        if (!existing.count(it->first)) {
          if (!it->second.draining_since) lost.push_back(it->first);
          release.emplace_back(it->first, it->second.epoch);
          it = held_.erase(it);
        } else {
          ++it;
        }
      }
    }
    notify();
    // Hand-overs whose attempts have finished (or that waited a whole lease) are freed.
    std::vector<std::pair<std::string, int64_t>> drained;
    {
      std::lock_guard lock(mu_);
      for (const auto& [q, h] : held_) {
        if (h.draining_since) drained.emplace_back(q, h.epoch);
      }
    }
    for (const auto& [q, epoch] : drained) {
      Micros since = 0;
      {
        std::lock_guard lock(mu_);
        auto it = held_.find(q);
        if (it == held_.end()) continue;
        since = it->second.draining_since;
      }
      if ((listener_ ? listener_->InFlight(q) : 0) > 0 && now - since < options_.lease) continue;
      release.emplace_back(q, epoch);
      std::lock_guard lock(mu_);
      held_.erase(q);
    }
    for (const auto& [q, epoch] : release) {
      Status st = table_.Release(q, options_.self.id, epoch);
      if (!st.ok()) LogJson({{"event", "cluster.release_failed"}, {"queue", q}, {"error", st.message()}});
    }
    for (const std::string& q : take) {
      const Micros asked = clock_.Now();
      auto got = table_.Acquire(q, options_.self.id, options_.lease);
      if (!got.ok()) {
        LogJson({{"event", "cluster.acquire_failed"}, {"queue", q}, {"error", got.status().message()}});
        break;
      }
      if (!*got) continue;  // another node was quicker
      {
        std::lock_guard lock(mu_);
        held_[q] = HeldLease{**got, asked + options_.lease, 0};
      }
      LogJson({{"event", "cluster.lease_acquired"}, {"queue", q}, {"epoch", **got}, {"node", options_.self.id}});
      acquired.emplace_back(q, **got);
    }
  }
  notify();
}

void Coordinator::Refused(const std::string& queue, int64_t epoch) {
  bool was = false;
  {
    std::lock_guard lock(mu_);
    auto it = held_.find(queue);
    if (it != held_.end() && it->second.epoch == epoch) {
      held_.erase(it);
      was = true;
    }
  }
  if (was) LogJson({{"event", "cluster.lease_lost"}, {"queue", queue}, {"epoch", epoch}});
  if (was && listener_) listener_->Lost(queue);
}

std::optional<int64_t> Coordinator::EpochOf(const std::string& queue) const {
  std::lock_guard lock(mu_);
  auto it = held_.find(queue);
  if (it == held_.end() || it->second.draining_since) return std::nullopt;
  return it->second.epoch;
}

std::map<std::string, int64_t> Coordinator::Held() const {
  std::map<std::string, int64_t> out;
  std::lock_guard lock(mu_);
  for (const auto& [q, h] : held_) {
    if (!h.draining_since) out[q] = h.epoch;
  }
  return out;
}

void Coordinator::Start(const std::string& address) {
  options_.self.address = address;
  Tick();
  thread_ = std::thread([this] {
    NameThisThread("cluster");
    Loop();
  });
}

void Coordinator::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Coordinator::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::microseconds(tick_interval()), [&] { return stopping_ || wake_; });
      if (stopping_) return;
      wake_ = false;
    }
    Tick();
  }
}

void Coordinator::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::string> queues;
  {
    std::lock_guard lock(mu_);
    for (const auto& [q, h] : held_) {
      if (!h.draining_since) queues.push_back(q);
    }
  }
  if (listener_) {
    for (const auto& q : queues) listener_->Lost(q);
    // Attempts in flight finish under our epoch (no duplicate), for at most one lease.
    const Micros until = clock_.Now() + options_.lease;
    for (;;) {
      int64_t busy = 0;
      for (const auto& q : queues) busy += listener_->InFlight(q);
      if (busy == 0 || clock_.Now() >= until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  Status st = table_.Leave(options_.self.id);
  if (!st.ok()) LogJson({{"event", "cluster.leave_failed"}, {"error", st.message()}});
  std::lock_guard lock(mu_);
  held_.clear();
}

}  // namespace stratus::cluster
