// Runs a shell command to its end and keeps what it printed: for the tests of starts and
// commands that must be refused with a message (the command redirects stderr itself, e.g.
// with `2>&1`, when the message goes there).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace stratus::testing {

struct ShellRun {
  int code = -1;    // the exit status; -1 when the command could not run or was killed
  std::string out;  // everything it wrote to stdout
};

inline ShellRun RunShell(const std::string& cmd) {
  ShellRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace stratus::testing
