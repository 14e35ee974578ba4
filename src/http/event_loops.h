// One io_context per worker thread (one per core by default). A connection is bound to
// one loop for its life; nothing on a loop blocks (store calls run on the store's threads).
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "common/asio.h"

namespace stratus::http {

class EventLoops {
 public:
  explicit EventLoops(size_t count);
  ~EventLoops();
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  void Start();
  // Stops every loop and joins the threads; pending handlers are destroyed with the loops.
  void Stop();

  size_t size() const { return loops_.size(); }
  asio::io_context& Loop(size_t i) { return *loops_[i]; }
  // Round-robin choice for a new connection.
  asio::io_context& Next();

 private:
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace stratus::http
