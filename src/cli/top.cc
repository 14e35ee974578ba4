// `stratus top`: a live per-queue table of a location, refreshed in place. Depth, in flight and
// the oldest task's age are the server's /metrics gauges; dispatch, success and failure rates
// are the /metrics counters' change between two refreshes; states come from queues.list and
// the dead letters from each queue's first page of dead letters (read every fifth refresh).
//
// On a terminal it takes the alternate screen, hides the cursor and reads keys unbuffered; q
// (or Ctrl-C) quits and everything is put back. With --once, or when stdout is not a
// terminal, it prints one table (rates over one interval) and exits.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <iostream>
#include <map>
#include <thread>

#include "cli/commands.h"
#include "cli/metrics_text.h"
#include "cli/output.h"

namespace stratus::cli {

namespace {

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_resized = 0;

using Clock = std::chrono::steady_clock;

// Takes the terminal for the table and gives it back as it was, however top ends.
class Screen {
 public:
  Screen() {
    if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      have_saved_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    struct sigaction sa {};
    sa.sa_handler = [](int sig) { g_signal = sig; };
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, &old_[sig]);
    struct sigaction winch {};
    winch.sa_handler = [](int) { g_resized = 1; };
    sigemptyset(&winch.sa_mask);
    sigaction(SIGWINCH, &winch, &old_winch_);
    std::cout << "\x1b[?1049h\x1b[?25l" << std::flush;  // alternate screen, no cursor
  }
  ~Screen() {
    std::cout << "\x1b[?25h\x1b[?1049l" << std::flush;
    if (have_saved_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &old_[sig], nullptr);
    sigaction(SIGWINCH, &old_winch_, nullptr);
  }
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

  void Draw(const std::string& frame) {
    std::string out = "\x1b[H";
    size_t start = 0;
    while (start < frame.size()) {
      size_t nl = frame.find('\n', start);
      out += frame.substr(start, nl - start) + "\x1b[K\n";
      start = nl == std::string::npos ? frame.size() : nl + 1;
    }
    std::cout << out << "\x1b[J" << std::flush;
  }

  // Waits up to `timeout` for a key; true when it asks to quit.
  static bool WaitForQuit(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (g_signal == 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{STDIN_FILENO, POLLIN, 0};
      int n = poll(&p, 1, static_cast<int>(left));
      if (n > 0) {
        char buf[64];
        ssize_t got = read(STDIN_FILENO, buf, sizeof buf);
        if (got == 0) return true;  // stdin closed
        for (ssize_t i = 0; i < got; ++i) {
          if (buf[i] == 'q' || buf[i] == 'Q') return true;
        }
        if (g_resized) return false;
      } else if (n < 0 && g_resized) {
        return false;  // redraw at the new size now
      }
    }
    return true;
  }

 private:
  termios saved_{};
  bool have_saved_ = false;
  struct sigaction old_[32]{};
  struct sigaction old_winch_ {};
};

struct Row {
  std::string name, state;
  QueueSample now;
  bool has_metrics = false;
  std::string dead = "-";
};

struct Snapshot {
  Clock::time_point at;
  std::map<std::string, QueueSample> metrics;
};

class Top {
 public:
  explicit Top(ApiClient& api) : api_(api) {}

  // One refresh: queues, metrics and (every fifth time) dead letters. The reply of the first
  // call that failed, if one did.
  Reply Refresh() {
    std::vector<std::pair<std::string, std::string>> queues;
    Reply r =
        api_.ForEachPage("/v2/" + EscapePath(api_.Parent()) + "/queues", "queues", [&](const nlohmann::json& items) {
          for (const auto& q : items)
            queues.emplace_back(q.value("name", std::string()), q.value("state", std::string()));
          return true;
        });
    if (!r.ok()) return r;
    Reply m = api_.Get("/metrics");
    if (!m.ok()) return m;
    previous_ = current_;
    current_ = Snapshot{Clock::now(), QueueSamples(ParseMetricsText(m.body))};
    if (refreshes_++ % 5 == 0) {
      for (const auto& [name, state] : queues) {
        Reply d = api_.Get("/stratus/v1/" + EscapePath(name) + "/deadLetters?pageSize=100");
        if (!d.ok() || !d.json.is_object()) continue;
        size_t n = d.json.contains("deadLetters") ? d.json["deadLetters"].size() : 0;
        dead_[name] = std::to_string(n) + (d.json.contains("nextPageToken") ? "+" : "");
      }
    }
    queues_ = std::move(queues);
    return Reply{};
  }

  std::string Frame(const std::string& problem, size_t width, size_t height) const {
    std::vector<Row> rows;
    for (const auto& [name, state] : queues_) {
      Row row{name, state, {}, false, "-"};
      auto it = current_.metrics.find(name);
      if (it != current_.metrics.end()) row.now = it->second, row.has_metrics = true;
      auto d = dead_.find(name);
      if (d != dead_.end()) row.dead = d->second;
      rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
      return x.now.depth != y.now.depth ? x.now.depth > y.now.depth : x.name < y.name;
    });
    double dt = std::chrono::duration<double>(current_.at - previous_.at).count();
    bool rates = previous_.at != Clock::time_point() && dt > 0;
    auto rate = [&](const std::string& q, double QueueSample::*field) {
      if (!rates) return std::string("-");
      auto now = current_.metrics.find(q);
      auto then = previous_.metrics.find(q);
      double a = now == current_.metrics.end() ? 0 : now->second.*field;
      double b = then == previous_.metrics.end() ? 0 : then->second.*field;
      return Rate(std::max(0.0, a - b) / dt);
    };
    Table table({"QUEUE", "STATE", "DEPTH", "IN FLIGHT", "DISPATCH/S", "OK/S", "FAIL/S", "DEAD", "OLDEST"});
    double depth = 0;
    for (const auto& r : rows) {
      depth += r.now.depth;
      auto num = [&](double v) { return r.has_metrics ? Cell(v) : std::string("-"); };
      table.Add({ShortId(r.name), r.state, num(r.now.depth), num(r.now.in_flight),
                 rate(r.name, &QueueSample::dispatched), rate(r.name, &QueueSample::succeeded),
                 rate(r.name, &QueueSample::failed), r.dead,
                 r.has_metrics && r.now.depth > 0 ? Age(r.now.oldest_age) : "-"});
    }
    std::time_t t = std::time(nullptr);
    char clock[32];
    std::strftime(clock, sizeof clock, "%H:%M:%S", std::gmtime(&t));
    std::string head = "stratus top  " + api_.server() + "  " + api_.Parent() + "  " + clock + " UTC  (q quits)";
    std::string out = TerminalSafe(head) + "\n";
    out += TerminalSafe(std::to_string(rows.size()) + " queues, " + Cell(depth) + " tasks" +
                        (problem.empty() ? "" : "  !! " + problem)) +
           "\n\n";
    std::string body = table.Render(width);
    // Keep what fits: the header lines, then as many rows as the screen has.
    size_t lines = 0, cut = body.size();
    for (size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '\n' && ++lines + 4 >= height && height > 0) {
        cut = i + 1;
        break;
      }
    }
    out += body.substr(0, cut);
    if (cut < body.size()) out += "… " + std::to_string(rows.size() + 1 - lines) + " more\n";
    return out;
  }

 private:
  ApiClient& api_;
  std::vector<std::pair<std::string, std::string>> queues_;
  std::map<std::string, std::string> dead_;
  Snapshot previous_, current_;
  uint64_t refreshes_ = 0;
};

void TerminalSize(size_t* width, size_t* height) {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    *width = ws.ws_col;
    *height = ws.ws_row;
  } else {
    *width = 0;
    *height = 0;
  }
}

int RunTop(Args& a) {
  int rc = 0;
  auto api = Connect(a, true, &rc);
  if (!api) return rc;
  Top top(*api);
  Reply first = top.Refresh();
  if (!first.ok()) return ReportFailure(first, api->server());
  auto interval = std::chrono::milliseconds(static_cast<int64_t>(a.interval * 1000));
  if (a.once || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
    std::this_thread::sleep_for(interval);
    Reply second = top.Refresh();
    if (!second.ok()) return ReportFailure(second, api->server());
    std::cout << top.Frame("", 0, 0);
    return kExitOk;
  }
  g_signal = 0;
  Screen screen;
  std::string problem;
  for (;;) {
    size_t width = 0, height = 0;
    TerminalSize(&width, &height);
    g_resized = 0;
    screen.Draw(top.Frame(problem, width, height));
    if (Screen::WaitForQuit(interval)) break;
    Reply r = top.Refresh();
    problem = r.ok() ? "" : (r.status.empty() ? "" : r.status + ": ") + r.message;
  }
  return g_signal ? 128 + g_signal : kExitOk;
}

void TopFlags(CLI::App& cmd, Args& a) {
  cmd.add_option("--interval", a.interval, "Seconds between refreshes")
      ->capture_default_str()
      ->check(CLI::Range(0.2, 60.0));
  cmd.add_flag("--once", a.once,
               "Print one table (rates over one interval) and exit; also when stdout is not a terminal");
  AddClientOptions(cmd, a.client, false);
}

}  // namespace

const std::vector<Command>& TopCommands() {
  static const std::vector<Command> kRows = {
      {"", "top",
       "Live per-queue table of a location: depth, in flight, dispatch/success/failure rates, dead letters, oldest "
       "task age (q quits)",
       "stratus top --project my-project --interval 2", TopFlags, RunTop},
  };
  return kRows;
}

}  // namespace stratus::cli
