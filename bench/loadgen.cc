// stratus-loadgen: an HTTP/1.1 keep-alive load generator for the Cloud Tasks and Redis REST
// APIs. Closed loop (--rate 0: each connection sends as soon as its previous answer arrives) or
// open loop on a fixed schedule (--rate R: latency from the intended send time, so a server
// that falls behind is charged for the queueing it causes — coordinated omission corrected).
//
// Raw Asio, callbacks, one io_context per thread; connections are spread over the threads and
// each keeps one request in flight. Responses go through a minimal HTTP/1.1 parser (status
// line, Content-Length); a chunked response is an error.
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/bench_util.h"
#include "common/asio.h"
#include "common/base64.h"

namespace stratus::bench {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;

constexpr size_t kMaxResponseHeader = 64 * 1024;
constexpr size_t kMaxResponseBody = 64 * 1024 * 1024;
constexpr auto kSweepEvery = std::chrono::milliseconds(100);
constexpr auto kReconnectBackoff = std::chrono::milliseconds(100);

std::atomic<bool> g_interrupted{false};

enum class Scenario { kCreate, kRedisGet, kRedisSet, kPipelineGet, kPipelineSet, kHttpGet };

struct Options {
  std::string url;
  int connections = 64;
  int threads = 1;
  double rate = 0;
  double duration = 0;
  uint64_t count = 0;
  double warmup = 0;
  std::string scenario;
  std::string queue = "projects/p/locations/l/queues/q";
  std::string target_url = "http://127.0.0.1:8080/";
  int64_t schedule_ahead_ms = 0;
  size_t body_bytes = 64;
  size_t value_bytes = 3;
  int pipeline = 16;
  std::string token;
  double timeout = 30;
  std::string json_file;
};

// Shared by every thread: read-only once the run starts, except the atomics.
struct Run {
  Options opt;
  Scenario scenario = Scenario::kHttpGet;
  tcp::resolver::results_type endpoints;
  std::string head;      // request line and headers up to "Content-Length: " (or the whole GET)
  std::string value;     // redis-set value
  std::string task_pre;  // create: {"task":{"httpRequest":{...}  (scheduleTime follows)
  int commands_per_request = 1;

  Clock::time_point t0, measure_start, end;
  Clock::duration timeout{};
  int64_t wall_at_t0_us = 0;
  double interval_ns = 0;  // rate mode: time between two sends on one connection

  std::atomic<int64_t> remaining{0};
  bool count_limited = false;
  std::atomic<int> finished_conns{0};
  std::atomic<int> initial_connected{0};
  std::atomic<int> initial_failed{0};
  std::atomic<bool> abort{false};
  std::mutex mu;
  std::string abort_reason;
  std::string connect_error;

  void Abort(const std::string& why) {
    std::lock_guard<std::mutex> lock(mu);
    if (abort_reason.empty()) abort_reason = why;
    abort.store(true);
  }
};

struct Worker;

// "2025-11-22T04:35:21.250000Z" (27 chars), UTC with microseconds.
void AppendRfc3339(int64_t unix_us, std::string* out) {
  using namespace std::chrono;
  sys_time<microseconds> t{microseconds(unix_us)};
  sys_days day = floor<days>(t);
  year_month_day ymd{day};
  int64_t in_day = (t - day).count();
  int64_t secs = in_day / 1'000'000, micros = in_day % 1'000'000;
  char buf[40];
  int n =
      std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", static_cast<int>(ymd.year()),
                    static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(secs / 3600),
                    static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60), static_cast<int>(micros));
  out->append(buf, static_cast<size_t>(n));
}

void AppendInt(uint64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

class Conn {
 public:
  Conn(Worker& w, Run& r, int index);

  void InitialConnect();
  void Start() { Next(); }
  // Called by the worker's sweeper: enforces --timeout and the run-wide abort.
  void Tick(Clock::time_point now);
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kIdle, kConnecting, kBackoff, kWaiting, kInFlight, kDone };

  void Next();
  void Send(Clock::time_point intended, bool measured);
  void BuildRequest(Clock::time_point intended);
  void Read();
  void OnRead(const error_code& ec, size_t n);
  // 1: complete, 0: need more bytes, -1: protocol error (in error_).
  int Parse();
  void Complete();
  void IoError(const char* what, const error_code& ec);
  void Reconnect();
  void Finish();
  void CloseSocket() {
    error_code ignored;
    socket_.close(ignored);
  }

  Worker& w_;
  Run& r_;
  int index_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  State state_ = State::kIdle;
  Clock::time_point op_start_{};
  bool timed_out_ = false;
  bool aborted_ = false;
  bool failing_ = false;
  Clock::time_point failing_since_{};

  std::string req_;
  std::string body_;
  uint64_t seq_ = 0;
  int64_t slot_ = 0;
  double offset_ns_ = 0;
  Clock::time_point intended_{}, sent_at_{};
  bool measured_ = false;

  std::vector<char> buf_;
  size_t rs_ = 0, re_ = 0;
  bool head_done_ = false;
  size_t body_at_ = 0;
  uint64_t body_len_ = 0;
  int status_ = 0;
  bool close_after_ = false;
  std::string error_;
};

struct Worker {
  asio::io_context io{1};
  std::vector<std::unique_ptr<Conn>> conns;
  asio::steady_timer sweeper{io};
  int active = 0;

  Histogram hist;
  uint64_t sent = 0, ok = 0, errors = 0, command_errors = 0, warmup_sent = 0, missed = 0;
  Clock::time_point last_done{};
  std::vector<std::string> samples;

  void AddError(std::string what) {
    ++errors;
    if (what.size() > 200) what.resize(200);
    if (samples.size() < 5 && std::find(samples.begin(), samples.end(), what) == samples.end()) {
      samples.push_back(std::move(what));
    }
  }

  void Sweep() {
    sweeper.expires_after(kSweepEvery);
    sweeper.async_wait([this](const error_code& ec) {
      if (ec || active == 0) return;
      auto now = Clock::now();
      for (auto& c : conns) c->Tick(now);
      if (active > 0) Sweep();
    });
  }
};

Conn::Conn(Worker& w, Run& r, int index) : w_(w), r_(r), index_(index), socket_(w.io), timer_(w.io), buf_(16 * 1024) {
  if (r.opt.rate > 0) offset_ns_ = static_cast<double>(index) * 1e9 / r.opt.rate;
}

void Conn::InitialConnect() {
  state_ = State::kConnecting;
  op_start_ = Clock::now();
  asio::async_connect(socket_, r_.endpoints, [this](const error_code& ec, const tcp::endpoint&) {
    state_ = State::kIdle;
    if (ec) {
      {
        std::lock_guard<std::mutex> lock(r_.mu);
        if (r_.connect_error.empty()) r_.connect_error = timed_out_ ? "connect timed out" : ec.message();
      }
      r_.initial_failed.fetch_add(1);
      return;
    }
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    r_.initial_connected.fetch_add(1);
  });
}

void Conn::Tick(Clock::time_point now) {
  if (state_ == State::kDone) return;
  if (r_.abort.load(std::memory_order_relaxed)) {
    if (state_ == State::kWaiting || state_ == State::kBackoff) {
      timer_.cancel();
    } else if (state_ == State::kInFlight || state_ == State::kConnecting) {
      aborted_ = true;
      CloseSocket();
    }
    return;
  }
  if ((state_ == State::kInFlight || state_ == State::kConnecting) && now - op_start_ > r_.timeout) {
    timed_out_ = true;
    CloseSocket();
  }
}

void Conn::Next() {
  if (r_.abort.load(std::memory_order_relaxed)) return Finish();
  auto now = Clock::now();
  Clock::time_point intended = std::max(now, r_.t0);  // closed loop: send now (from t0 on)
  if (r_.opt.rate > 0) {
    double at = offset_ns_ + static_cast<double>(slot_++) * r_.interval_ns;
    intended = r_.t0 + std::chrono::nanoseconds(static_cast<int64_t>(at));
  }
  if (intended >= r_.end) return Finish();
  if (now >= r_.end) {
    // Open loop, behind schedule at the end: the slots still due are never sent (the run stays
    // bounded); report how many.
    double span = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(r_.end - r_.t0).count());
    int64_t due = static_cast<int64_t>(std::ceil((span - offset_ns_) / r_.interval_ns));
    w_.missed += static_cast<uint64_t>(std::max<int64_t>(0, due - (slot_ - 1)));
    return Finish();
  }
  bool measured = intended >= r_.measure_start;
  if (measured && r_.count_limited && r_.remaining.fetch_sub(1, std::memory_order_relaxed) <= 0) return Finish();
  if (intended > now) {
    state_ = State::kWaiting;
    timer_.expires_at(intended);
    timer_.async_wait([this, intended, measured](const error_code& ec) {
      if (ec || r_.abort.load(std::memory_order_relaxed)) return Finish();
      Send(intended, measured);
    });
    return;
  }
  Send(intended, measured);
}

void Conn::BuildRequest(Clock::time_point intended) {
  const Options& o = r_.opt;
  uint64_t i = seq_++ * static_cast<uint64_t>(o.connections) + static_cast<uint64_t>(index_);
  body_.clear();
  switch (r_.scenario) {
    case Scenario::kHttpGet:
      if (req_.empty()) req_ = r_.head;  // the whole request, the same every time
      return;
    case Scenario::kCreate:
      body_ += r_.task_pre;
      if (o.schedule_ahead_ms > 0) {
        int64_t wall = r_.wall_at_t0_us +
                       std::chrono::duration_cast<std::chrono::microseconds>(intended - r_.t0).count() +
                       o.schedule_ahead_ms * 1000;
        body_ += ",\"scheduleTime\":\"";
        AppendRfc3339(wall, &body_);
        body_ += '"';
      }
      body_ += "}}";
      break;
    case Scenario::kRedisGet:
    case Scenario::kRedisSet:
      body_ += r_.scenario == Scenario::kRedisGet ? "[\"GET\",\"key:" : "[\"SET\",\"key:";
      AppendInt(i % 10000, &body_);
      if (r_.scenario == Scenario::kRedisSet) {
        body_ += "\",\"";
        body_ += r_.value;
      }
      body_ += "\"]";
      break;
    case Scenario::kPipelineGet:
    case Scenario::kPipelineSet:
      body_ += '[';
      for (int j = 0; j < o.pipeline; ++j) {
        if (j) body_ += ',';
        body_ += r_.scenario == Scenario::kPipelineGet ? "[\"GET\",\"key:" : "[\"SET\",\"key:";
        AppendInt((i * static_cast<uint64_t>(o.pipeline) + static_cast<uint64_t>(j)) % 10000, &body_);
        if (r_.scenario == Scenario::kPipelineSet) {
          body_ += "\",\"";
          body_ += r_.value;
        }
        body_ += "\"]";
      }
      body_ += ']';
      break;
  }
  req_.assign(r_.head);
  AppendInt(body_.size(), &req_);
  req_ += "\r\n\r\n";
  req_ += body_;
}

void Conn::Send(Clock::time_point intended, bool measured) {
  BuildRequest(intended);
  intended_ = intended;
  measured_ = measured;
  sent_at_ = op_start_ = Clock::now();
  timed_out_ = aborted_ = false;
  head_done_ = false;
  state_ = State::kInFlight;
  if (measured) {
    ++w_.sent;
  } else {
    ++w_.warmup_sent;
  }
  asio::async_write(socket_, asio::buffer(req_), [this](const error_code& ec, size_t) {
    if (ec) return IoError("write", ec);
    Read();
  });
}

void Conn::Read() {
  if (rs_ == re_) {
    rs_ = re_ = 0;
  } else if (buf_.size() - re_ < 4096) {
    std::memmove(buf_.data(), buf_.data() + rs_, re_ - rs_);
    re_ -= rs_;
    body_at_ -= rs_;
    rs_ = 0;
    if (buf_.size() - re_ < 4096) buf_.resize(buf_.size() * 2);
  }
  socket_.async_read_some(asio::buffer(buf_.data() + re_, buf_.size() - re_),
                          [this](const error_code& ec, size_t n) { OnRead(ec, n); });
}

void Conn::OnRead(const error_code& ec, size_t n) {
  if (ec) return IoError("read", ec);
  re_ += n;
  int res = Parse();
  if (res == 0) return Read();
  if (res < 0) {
    if (measured_) w_.AddError(error_);
    CloseSocket();
    state_ = State::kIdle;
    if (r_.abort.load(std::memory_order_relaxed)) return Finish();
    return Reconnect();
  }
  Complete();
}

int Conn::Parse() {
  if (!head_done_) {
    const char* p = buf_.data() + rs_;
    size_t avail = re_ - rs_;
    const void* found = memmem(p, avail, "\r\n\r\n", 4);
    if (!found) {
      if (avail > kMaxResponseHeader) {
        error_ = "response header over 64 KiB";
        return -1;
      }
      return 0;
    }
    size_t head_len = static_cast<size_t>(static_cast<const char*>(found) - p) + 4;
    std::string_view head(p, head_len);
    if (head.size() < 12 || head.substr(0, 7) != "HTTP/1." || head[8] != ' ') {
      error_ = "malformed status line";
      return -1;
    }
    status_ = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    close_after_ = head[7] == '0';
    bool has_length = false, chunked = false, bad_length = false;
    ForEachHeader(head, [&](std::string_view name, std::string_view value) {
      if (EqualsLower(name, "content-length")) {
        has_length = ParseSize(value, &body_len_);
        bad_length = !has_length;
      } else if (EqualsLower(name, "transfer-encoding")) {
        chunked = true;
      } else if (EqualsLower(name, "connection")) {
        if (ContainsLower(value, "close")) close_after_ = true;
        if (ContainsLower(value, "keep-alive")) close_after_ = false;
      }
    });
    if (chunked) {
      error_ = "chunked response not supported";
      return -1;
    }
    if (bad_length) {
      error_ = "bad Content-Length";
      return -1;
    }
    if (!has_length) {
      if (status_ == 204 || status_ == 304 || status_ < 200) {
        body_len_ = 0;
      } else {
        error_ = "response without Content-Length (HTTP " + std::to_string(status_) + ")";
        return -1;
      }
    }
    if (body_len_ > kMaxResponseBody) {
      error_ = "response body over 64 MiB";
      return -1;
    }
    head_done_ = true;
    body_at_ = rs_ + head_len;
  }
  if (re_ - body_at_ < body_len_) {
    if (buf_.size() - rs_ < body_at_ - rs_ + body_len_ + 4096) {
      std::memmove(buf_.data(), buf_.data() + rs_, re_ - rs_);
      re_ -= rs_;
      body_at_ -= rs_;
      rs_ = 0;
      if (buf_.size() < body_at_ + body_len_ + 4096) buf_.resize(body_at_ + body_len_ + 4096);
    }
    return 0;
  }
  return 1;
}

void Conn::Complete() {
  auto now = Clock::now();
  std::string_view body(buf_.data() + body_at_, body_len_);
  rs_ = body_at_ + body_len_;
  state_ = State::kIdle;
  if (measured_) {
    w_.last_done = now;
    if (status_ == 200) {
      ++w_.ok;
      auto start = r_.opt.rate > 0 ? intended_ : sent_at_;
      w_.hist.Record(std::chrono::duration_cast<std::chrono::microseconds>(now - start).count());
      if (r_.commands_per_request > 1) {
        for (size_t at = body.find("{\"error\""); at != std::string_view::npos; at = body.find("{\"error\"", at + 1)) {
          ++w_.command_errors;
          if (w_.samples.size() < 5) {
            std::string what = "pipeline command: " + std::string(body.substr(at, 120));
            if (std::find(w_.samples.begin(), w_.samples.end(), what) == w_.samples.end()) w_.samples.push_back(what);
          }
        }
      }
    } else {
      w_.AddError("HTTP " + std::to_string(status_) + ": " + std::string(body.substr(0, 160)));
    }
  }
  if (close_after_) {
    CloseSocket();
    return Reconnect();
  }
  Next();
}

void Conn::IoError(const char* what, const error_code& ec) {
  bool counted = state_ == State::kInFlight ? measured_ : Clock::now() >= r_.measure_start;
  std::string msg;
  if (timed_out_) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", r_.opt.timeout);
    msg = "timeout after " + std::string(secs) + "s (" + what + ")";
    r_.Abort("a request timed out");
  } else if (aborted_) {
    msg = "aborted";
  } else {
    msg = std::string(what) + ": " + ec.message();
  }
  if (counted) w_.AddError(msg);
  CloseSocket();
  state_ = State::kIdle;
  if (r_.abort.load(std::memory_order_relaxed)) return Finish();
  Reconnect();
}

void Conn::Reconnect() {
  if (r_.abort.load(std::memory_order_relaxed) || Clock::now() >= r_.end) return Finish();
  CloseSocket();
  rs_ = re_ = 0;
  head_done_ = false;
  timed_out_ = aborted_ = false;
  state_ = State::kConnecting;
  op_start_ = Clock::now();
  asio::async_connect(socket_, r_.endpoints, [this](const error_code& ec, const tcp::endpoint&) {
    if (ec) {
      auto now = Clock::now();
      if (now >= r_.measure_start) w_.AddError(timed_out_ ? "connect: timed out" : "connect: " + ec.message());
      if (!failing_) {
        failing_ = true;
        failing_since_ = now;
      } else if (now - failing_since_ > r_.timeout) {
        r_.Abort("cannot reconnect");
      }
      CloseSocket();
      if (r_.abort.load(std::memory_order_relaxed) || aborted_) return Finish();
      state_ = State::kBackoff;
      timer_.expires_after(kReconnectBackoff);
      timer_.async_wait([this](const error_code& ec2) {
        if (ec2) return Finish();
        Reconnect();
      });
      return;
    }
    failing_ = false;
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    state_ = State::kIdle;
    Next();
  });
}

void Conn::Finish() {
  if (state_ == State::kDone) return;
  state_ = State::kDone;
  CloseSocket();
  --w_.active;
  if (w_.active == 0) w_.sweeper.cancel();
  r_.finished_conns.fetch_add(1);
}

bool ParseScenario(const std::string& s, Scenario* out, int* commands, int pipeline) {
  *commands = 1;
  if (s == "create") {
    *out = Scenario::kCreate;
  } else if (s == "redis-get") {
    *out = Scenario::kRedisGet;
  } else if (s == "redis-set") {
    *out = Scenario::kRedisSet;
  } else if (s == "redis-pipeline-get") {
    *out = Scenario::kPipelineGet;
    *commands = pipeline;
  } else if (s == "redis-pipeline-set") {
    *out = Scenario::kPipelineSet;
    *commands = pipeline;
  } else if (s == "http-get") {
    *out = Scenario::kHttpGet;
  } else {
    return false;
  }
  return true;
}

// http://host[:port][/prefix] -> host, port, prefix without a trailing slash.
bool ParseBaseUrl(const std::string& url, std::string* host, std::string* port, std::string* prefix) {
  constexpr std::string_view kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) return false;
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  *prefix = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!prefix->empty() && prefix->back() == '/') prefix->pop_back();
  if (authority.empty()) return false;
  bool bracketed = authority.front() == '[';
  size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || (bracketed && colon < authority.find(']'))) {
    *host = std::string(authority);
    *port = "80";
  } else {
    *host = std::string(authority.substr(0, colon));
    *port = std::string(authority.substr(colon + 1));
  }
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  return !host->empty() && !port->empty();
}

void OnSignal(int) {
  g_interrupted.store(true);
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"stratus-loadgen: HTTP/1.1 keep-alive load generator for stratus"};
  app.add_option("--url", o.url, "Base URL, e.g. http://127.0.0.1:8123")->required();
  app.add_option("--scenario", o.scenario, "What to send")
      ->required()
      ->check(
          CLI::IsMember({"create", "redis-get", "redis-set", "redis-pipeline-get", "redis-pipeline-set", "http-get"}));
  app.add_option("--connections", o.connections, "Keep-alive connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--threads", o.threads, "Event-loop threads")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--rate", o.rate, "Requests per second in total (0: closed loop)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e8));
  app.add_option("--duration", o.duration, "Seconds to send for, after the warmup (default 10 without --count)")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("--count", o.count, "Stop after this many requests (after the warmup)");
  app.add_option("--warmup", o.warmup, "Seconds of load excluded from the results")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--queue", o.queue, "create: the queue's resource name")->capture_default_str();
  app.add_option("--target-url", o.target_url, "create: the tasks' httpRequest.url")->capture_default_str();
  app.add_option("--schedule-ahead-ms", o.schedule_ahead_ms, "create: scheduleTime = intended send time + MS (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_option("--body-bytes", o.body_bytes, "create: task body size before base64")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{64} << 20));
  app.add_option("--value-bytes", o.value_bytes, "redis-*set: value size")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{64} << 20));
  app.add_option("--pipeline", o.pipeline, "redis-pipeline-*: commands per request")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--token", o.token, "Sent as 'Authorization: Bearer TOKEN'");
  app.add_option("--timeout", o.timeout, "Seconds to wait for one answer (or connect) before giving up the run")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1e6));
  app.add_option("--json", o.json_file, "Write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);
  if (o.duration <= 0 && o.count == 0) o.duration = 10;

  Run r;
  r.opt = o;
  ParseScenario(o.scenario, &r.scenario, &r.commands_per_request, o.pipeline);
  std::string host, port, prefix;
  if (!ParseBaseUrl(o.url, &host, &port, &prefix)) {
    std::cerr << "loadgen: --url must look like http://HOST:PORT[/prefix]\n";
    return 2;
  }
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    error_code ec;
    r.endpoints = resolver.resolve(host, port, ec);
    if (ec || r.endpoints.empty()) {
      std::cerr << "loadgen: cannot resolve " << host << ":" << port << ": " << ec.message() << "\n";
      return 1;
    }
  }
  std::string host_header = host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
  std::string auth = o.token.empty() ? "" : "Authorization: Bearer " + o.token + "\r\n";
  std::string path;
  switch (r.scenario) {
    case Scenario::kCreate:
      path = prefix + "/v2/" + o.queue + "/tasks";
      break;
    case Scenario::kPipelineGet:
    case Scenario::kPipelineSet:
      path = prefix + "/pipeline";
      break;
    default:
      path = prefix + "/";
  }
  if (r.scenario == Scenario::kHttpGet) {
    r.head = "GET " + path + " HTTP/1.1\r\nHost: " + host_header + "\r\n" + auth + "\r\n";
  } else {
    r.head = "POST " + path + " HTTP/1.1\r\nHost: " + host_header + "\r\n" + auth +
             "Content-Type: application/json\r\nContent-Length: ";
  }
  std::string payload(o.body_bytes, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  r.task_pre = "{\"task\":{\"httpRequest\":{\"url\":" + nlohmann::json(o.target_url).dump() +
               ",\"httpMethod\":\"POST\",\"body\":\"" + Base64Encode(payload) + "\"}";
  r.value.assign(o.value_bytes, 'v');
  r.timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout));
  if (o.rate > 0) r.interval_ns = static_cast<double>(o.connections) * 1e9 / o.rate;
  r.count_limited = o.count > 0;
  r.remaining.store(static_cast<int64_t>(o.count));
  // Until the start, nothing may run out: no schedule yet.
  r.t0 = r.measure_start = r.end = Clock::time_point::max();

  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) workers.push_back(std::make_unique<Worker>());
  for (int c = 0; c < o.connections; ++c) {
    Worker& w = *workers[static_cast<size_t>(c % o.threads)];
    w.conns.push_back(std::make_unique<Conn>(w, r, c));
    ++w.active;
  }
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : workers) {
    guards.push_back(asio::make_work_guard(w->io));
    for (auto& c : w->conns) c->InitialConnect();
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->io.run(); });

  // Every connection is open before the clock starts.
  auto connect_deadline = Clock::now() + r.timeout;
  while (r.initial_connected.load() + r.initial_failed.load() < o.connections && Clock::now() < connect_deadline &&
         !g_interrupted.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (r.initial_connected.load() < o.connections) {
    std::string why = r.connect_error.empty() ? "timed out" : r.connect_error;
    std::cerr << "loadgen: cannot connect to " << host_header << ": " << why << "\n";
    for (auto& w : workers) w->io.stop();
    for (auto& t : threads) t.join();
    return 1;
  }

  r.t0 = Clock::now() + std::chrono::milliseconds(2);
  r.wall_at_t0_us = UnixMicrosNow() + 2000;
  r.measure_start = r.t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  r.end = o.duration > 0
              ? r.measure_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration))
              : r.t0 + std::chrono::hours(24 * 365 * 10);
  for (auto& w : workers) {
    Worker* wp = w.get();
    asio::post(w->io, [wp] {
      for (auto& c : wp->conns) c->Start();
      if (wp->active > 0) wp->Sweep();
    });
  }
  guards.clear();

  // Belt and braces: the sweepers enforce --timeout; this bounds the run if they cannot.
  bool forced = false;
  while (r.finished_conns.load() < o.connections) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (g_interrupted.load() && !r.abort.load()) r.Abort("interrupted");
    auto now = Clock::now();
    if (o.duration > 0 && now > r.end + r.timeout + std::chrono::seconds(5)) {
      r.Abort("hard deadline passed");
      for (auto& w : workers) w->io.stop();
      forced = true;
      break;
    }
  }
  for (auto& t : threads) t.join();
  auto finished_at = Clock::now();

  Histogram hist;
  uint64_t sent = 0, ok = 0, errors = 0, command_errors = 0, warmup_sent = 0, missed = 0;
  Clock::time_point last_done{};
  std::vector<std::string> samples;
  for (auto& w : workers) {
    hist.Merge(w->hist);
    sent += w->sent;
    ok += w->ok;
    errors += w->errors;
    command_errors += w->command_errors;
    warmup_sent += w->warmup_sent;
    missed += w->missed;
    last_done = std::max(last_done, w->last_done);
    for (auto& s : w->samples) {
      if (samples.size() < 5 && std::find(samples.begin(), samples.end(), s) == samples.end()) samples.push_back(s);
    }
  }
  if (forced) errors += sent - ok - std::min(sent - ok, errors);  // the abandoned in-flight requests
  auto stop_at = last_done > r.measure_start ? last_done : std::min(finished_at, r.end);
  double duration_s = std::max(1e-9, std::chrono::duration<double>(stop_at - r.measure_start).count());
  uint64_t units = ok * static_cast<uint64_t>(r.commands_per_request);
  double throughput = static_cast<double>(units) / duration_s;

  nlohmann::json j;
  j["scenario"] = o.scenario;
  j["url"] = o.url;
  j["connections"] = o.connections;
  j["threads"] = o.threads;
  j["rate"] = o.rate;
  if (r.commands_per_request > 1) j["pipeline"] = r.commands_per_request;
  j["warmup_s"] = o.warmup;
  j["warmup_sent"] = warmup_sent;
  j["sent"] = sent;
  if (o.rate > 0) j["missed"] = missed;  // scheduled before the end but not sent by then
  j["ok"] = ok;
  j["errors"] = errors;
  if (r.commands_per_request > 1) j["command_errors"] = command_errors;
  j["error_samples"] = samples;
  j["aborted"] = r.abort_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.abort_reason);
  j["duration_s"] = std::round(duration_s * 1e6) / 1e6;
  j["throughput_per_s"] = std::round(throughput * 10) / 10;
  j["requests_per_s"] = std::round(static_cast<double>(ok) / duration_s * 10) / 10;
  j["latency_ms"] = hist.SummaryMs();
  j["latency_ms"].erase("count");
  j["latency_hist"] = hist.BucketsMs();
  if (!o.json_file.empty()) {
    std::ofstream f(o.json_file);
    f << j.dump(2) << "\n";
    if (!f) std::cerr << "loadgen: cannot write " << o.json_file << "\n";
  }
  const nlohmann::json& l = j["latency_ms"];
  std::string extra;
  if (o.rate > 0) extra += " missed=" + std::to_string(missed);
  if (r.commands_per_request > 1) extra += " command_errors=" + std::to_string(command_errors);
  if (!r.abort_reason.empty()) extra += " aborted: " + r.abort_reason;
  std::printf(
      "loadgen: %s conns=%d threads=%d rate=%g sent=%llu ok=%llu errors=%llu duration=%.2fs "
      "throughput=%.1f/s p50=%.3fms p90=%.3fms p99=%.3fms p999=%.3fms max=%.3fms mean=%.3fms%s\n",
      o.scenario.c_str(), o.connections, o.threads, o.rate, static_cast<unsigned long long>(sent),
      static_cast<unsigned long long>(ok), static_cast<unsigned long long>(errors), duration_s, throughput,
      l["p50"].get<double>(), l["p90"].get<double>(), l["p99"].get<double>(), l["p999"].get<double>(),
      l["max"].get<double>(), l["mean"].get<double>(), extra.c_str());
  for (const auto& s : samples) std::fprintf(stderr, "loadgen: error sample: %s\n", s.c_str());
  std::fflush(stdout);
  bool clean = errors == 0 && command_errors == 0 && r.abort_reason.empty() && ok > 0;
  return clean ? 0 : 1;
}

}  // namespace
}  // namespace stratus::bench

int main(int argc, char** argv) {
  return stratus::bench::Main(argc, argv);
}
