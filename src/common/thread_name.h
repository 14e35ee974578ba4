// Names the calling thread as `top -H`, `perf` and /proc show it (at most 15 characters).
#pragma once

#include <pthread.h>

#include <string>

namespace stratus {

inline void NameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace stratus
