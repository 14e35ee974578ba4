// stratus-noop-target: a push target that answers every request 200 with an empty body, as
// fast as it can, and records arrivals. GET /stats reports the count and the lateness of each
// arrival against its X-CloudTasks-TaskETA header; POST /reset clears them.
//
// Raw Asio with a minimal HTTP/1.1 request parser: keep-alive, pipelining, Content-Length
// bodies (skipped, never buffered whole). Chunked request bodies are refused with 501.
#include <atomic>
#include <csignal>
#include <cstdio>
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

namespace stratus::bench {
namespace {

using asio::ip::tcp;

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
constexpr std::string_view kOkClose = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

// One per event loop; the lock is uncontended except while /stats or /reset runs.
struct LoopStats {
  std::mutex mu;
  uint64_t received = 0;
  int64_t first_us = 0;  // 0: none yet
  int64_t last_us = 0;
  uint64_t early = 0;  // arrived before their ETA (recorded as 0 lateness)
  int64_t most_early_us = 0;
  Histogram lateness;

  void Clear() {
    received = 0;
    first_us = last_us = 0;
    early = 0;
    most_early_us = 0;
    lateness.Clear();
  }
};

// "1763795400.123456" -> microseconds since the epoch; false when malformed.
bool ParseEta(std::string_view s, int64_t* out) {
  size_t dot = s.find('.');
  uint64_t secs = 0;
  if (!ParseSize(s.substr(0, dot), &secs)) return false;
  int64_t frac = 0;
  if (dot != std::string_view::npos) {
    std::string_view f = s.substr(dot + 1);
    int digits = 0;
    for (char c : f) {
      if (c < '0' || c > '9') return false;
      if (digits < 6) {
        frac = frac * 10 + (c - '0');
        ++digits;
      }
    }
    for (; digits < 6; ++digits) frac *= 10;
  }
  *out = static_cast<int64_t>(secs) * 1'000'000 + frac;
  return true;
}

class Target {
 public:
  explicit Target(size_t threads) {
    for (size_t i = 0; i < threads; ++i) {
      loops_.push_back(std::make_unique<asio::io_context>(1));
      stats_.push_back(std::make_unique<LoopStats>());
    }
  }

  size_t size() const { return loops_.size(); }
  asio::io_context& Loop(size_t i) { return *loops_[i]; }
  LoopStats& Stats(size_t i) { return *stats_[i]; }

  std::string StatsJson() {
    Histogram merged;
    uint64_t received = 0, early = 0;
    int64_t first = 0, last = 0, most_early = 0;
    for (auto& s : stats_) {
      std::lock_guard<std::mutex> lock(s->mu);
      received += s->received;
      early += s->early;
      most_early = std::max(most_early, s->most_early_us);
      if (s->first_us && (!first || s->first_us < first)) first = s->first_us;
      last = std::max(last, s->last_us);
      merged.Merge(s->lateness);
    }
    nlohmann::json j;
    j["received"] = received;
    j["first_arrival_unix_ms"] = first ? nlohmann::json(static_cast<double>(first) / 1000.0) : nlohmann::json(nullptr);
    j["last_arrival_unix_ms"] = last ? nlohmann::json(static_cast<double>(last) / 1000.0) : nlohmann::json(nullptr);
    double span_s = static_cast<double>(last - first) / 1e6;
    j["arrival_rate_per_s"] = span_s > 0 ? static_cast<double>(received - 1) / span_s : 0.0;
    nlohmann::json lat = merged.SummaryMs();
    lat["early"] = early;  // arrivals before their ETA, counted as 0 ms late
    lat["most_early_ms"] = Histogram::Ms(most_early);
    j["lateness_ms"] = std::move(lat);
    j["lateness_hist"] = merged.BucketsMs();
    return j.dump();
  }

  void Reset() {
    for (auto& s : stats_) {
      std::lock_guard<std::mutex> lock(s->mu);
      s->Clear();
    }
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  std::vector<std::unique_ptr<LoopStats>> stats_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Target& target, LoopStats& stats)
      : socket_(std::move(socket)), target_(target), stats_(stats), buf_(16 * 1024) {}

  void Start() { Read(); }

 private:
  void Read() {
    if (start_ == end_) {
      start_ = end_ = 0;
    } else if (buf_.size() - end_ < 4096) {
      std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
      if (buf_.size() - end_ < 4096) buf_.resize(buf_.size() * 2);
    }
    socket_.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_),
                            [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                              if (ec) return;  // peer closed or reset: drop the session
                              self->end_ += n;
                              bool close = self->Process();
                              if (!self->out_.empty()) {
                                self->Write(close);
                              } else if (close) {
                                self->Close();
                              } else {
                                self->Read();
                              }
                            });
  }

  void Write(bool close) {
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), close](const boost::system::error_code& ec, size_t) {
                        self->out_.clear();
                        if (ec) return;
                        if (close) {
                          self->Close();
                        } else {
                          self->Read();
                        }
                      });
  }

  void Close() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
  }

  // Consumes every complete request in the buffer, appending the answers to out_. Returns true
  // when the connection should close after they are written.
  bool Process() {
    for (;;) {
      if (skip_ > 0) {
        size_t take = std::min<uint64_t>(skip_, end_ - start_);
        start_ += take;
        skip_ -= take;
        if (skip_ > 0) return false;
      }
      if (start_ == end_) return false;
      const char* p = buf_.data() + start_;
      size_t avail = end_ - start_;
      const void* found = memmem(p, avail, "\r\n\r\n", 4);
      if (!found) {
        if (avail > kMaxHeaderBytes) {
          out_ += "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
          return true;
        }
        return false;
      }
      size_t head_len = static_cast<size_t>(static_cast<const char*>(found) - p) + 4;
      std::string_view head(p, head_len);
      start_ += head_len;

      size_t sp1 = head.find(' ');
      size_t sp2 = sp1 == std::string_view::npos ? sp1 : head.find(' ', sp1 + 1);
      size_t eol = head.find("\r\n");
      if (sp2 == std::string_view::npos || sp2 > eol) {
        out_ += "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return true;
      }
      std::string_view method = head.substr(0, sp1);
      std::string_view path = head.substr(sp1 + 1, sp2 - sp1 - 1);
      std::string_view version = head.substr(sp2 + 1, eol - sp2 - 1);
      bool close = version != "HTTP/1.1";
      bool chunked = false, bad_length = false;
      uint64_t length = 0;
      std::string_view eta;
      ForEachHeader(head, [&](std::string_view name, std::string_view value) {
        if (EqualsLower(name, "content-length")) {
          if (!ParseSize(value, &length)) bad_length = true;
        } else if (EqualsLower(name, "transfer-encoding")) {
          chunked = true;
        } else if (EqualsLower(name, "connection")) {
          if (ContainsLower(value, "close")) close = true;
          if (ContainsLower(value, "keep-alive")) close = false;
        } else if (EqualsLower(name, "x-cloudtasks-tasketa")) {
          eta = value;
        }
      });
      if (chunked || bad_length) {
        out_ += chunked ? "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        : "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return true;
      }
      skip_ = length;

      if (method == "GET" && path == "/stats") {
        std::string body = target_.StatsJson();
        out_ += "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ";
        out_ += std::to_string(body.size());
        out_ += close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
        out_ += body;
      } else if (method == "POST" && path == "/reset") {
        target_.Reset();
        out_ += close ? kOkClose : kOk;
      } else {
        Record(eta);
        out_ += close ? kOkClose : kOk;
      }
      if (close) return true;
    }
  }

  void Record(std::string_view eta_text) {
    int64_t now = UnixMicrosNow();
    int64_t eta = 0;
    bool has_eta = !eta_text.empty() && ParseEta(eta_text, &eta);
    std::lock_guard<std::mutex> lock(stats_.mu);
    ++stats_.received;
    if (!stats_.first_us) stats_.first_us = now;
    stats_.last_us = now;
    if (has_eta) {
      int64_t late = now - eta;
      if (late < 0) {
        ++stats_.early;
        stats_.most_early_us = std::max(stats_.most_early_us, -late);
      }
      stats_.lateness.Record(late);
    }
  }

  tcp::socket socket_;
  Target& target_;
  LoopStats& stats_;
  std::vector<char> buf_;
  size_t start_ = 0, end_ = 0;
  uint64_t skip_ = 0;  // body bytes still to discard
  std::string out_;
};

class Acceptor {
 public:
  Acceptor(Target& target, tcp::acceptor acceptor) : target_(target), acceptor_(std::move(acceptor)) {}

  void Accept() {
    size_t i = next_++ % target_.size();
    acceptor_.async_accept(target_.Loop(i), [this, i](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), target_, target_.Stats(i))->Start();
      }
      Accept();
    });
  }

 private:
  Target& target_;
  tcp::acceptor acceptor_;
  size_t next_ = 0;
};

int Main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  size_t threads = 1;
  CLI::App app{"stratus-noop-target: an HTTP/1.1 push target that answers 200 and records arrivals"};
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0 picks a free one)")->capture_default_str();
  app.add_option("--threads", threads, "Event-loop threads")->capture_default_str()->check(CLI::Range(1, 256));
  CLI11_PARSE(app, argc, argv);

  std::string host, port;
  if (!SplitHostPort(listen, &host, &port)) {
    std::cerr << "noop-target: --listen must be HOST:PORT\n";
    return 2;
  }
  Target target(threads);
  boost::system::error_code ec;
  tcp::acceptor acceptor(target.Loop(0));
  tcp::resolver resolver(target.Loop(0));
  auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty()) {
    std::cerr << "noop-target: cannot resolve " << listen << ": " << ec.message() << "\n";
    return 1;
  }
  tcp::endpoint ep = results.begin()->endpoint();
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::cerr << "noop-target: cannot listen on " << listen << ": " << ec.message() << "\n";
    return 1;
  }
  tcp::endpoint bound = acceptor.local_endpoint();
  std::string shown = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  std::printf("noop-target: listening on http://%s:%u\n", shown.c_str(), static_cast<unsigned>(bound.port()));
  std::fflush(stdout);

  Acceptor acc(target, std::move(acceptor));
  acc.Accept();

  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (size_t i = 0; i < target.size(); ++i) guards.push_back(asio::make_work_guard(target.Loop(i)));
  asio::signal_set signals(target.Loop(0), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    for (size_t i = 0; i < target.size(); ++i) target.Loop(i).stop();
  });

  std::vector<std::thread> workers;
  for (size_t i = 1; i < target.size(); ++i) workers.emplace_back([&target, i] { target.Loop(i).run(); });
  target.Loop(0).run();
  for (size_t i = 1; i < target.size(); ++i) target.Loop(i).stop();
  for (auto& t : workers) t.join();
  return 0;
}

}  // namespace
}  // namespace stratus::bench

int main(int argc, char** argv) {
  return stratus::bench::Main(argc, argv);
}
