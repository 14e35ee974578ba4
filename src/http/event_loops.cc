#include "http/event_loops.h"
#include "common/thread_name.h"

namespace stratus::http {

EventLoops::EventLoops(size_t count) {
  if (count == 0) count = 1;
  for (size_t i = 0; i < count; ++i) {
    loops_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*loops_.back()));
  }
}

EventLoops::~EventLoops() {
  Stop();
}

void EventLoops::Start() {
  for (size_t i = 0; i < loops_.size(); ++i) {
    threads_.emplace_back([l = loops_[i].get(), i] {
      NameThisThread("loop-" + std::to_string(i));
      l->run();
    });
  }
}

void EventLoops::Stop() {
  guards_.clear();
  for (auto& loop : loops_) loop->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

asio::io_context& EventLoops::Next() {
  return *loops_[next_.fetch_add(1) % loops_.size()];
}

}  // namespace stratus::http
