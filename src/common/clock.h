// Injectable wall clock: the engine reads time only through a Clock so tests can move it.
#pragma once

#include <atomic>
#include <chrono>

#include "common/time.h"

namespace stratus {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Micros Now() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(Micros start) : now_(start) {}
  Micros Now() const override { return now_.load(); }
  void Advance(Micros d) { now_ += d; }
  void Set(Micros t) { now_ = t; }

 private:
  std::atomic<Micros> now_;
};

}  // namespace stratus
