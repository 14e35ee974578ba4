// A fake Upstash Redis REST endpoint for SDK tests: enough of the protocol for SET (NX, EX,
// PX), GET and DEL on POST /, kept in memory, and misbehaving on purpose when asked — slow
// replies, SETs applied whose replies then stall past the client's timeout, 503s.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/asio.h"
#include "http/event_loops.h"
#include "http/server.h"

namespace stratus::testing {

class FakeUpstash {
 public:
  FakeUpstash() : loops_(1) {
    Status added = router_.Add(http::Route{http::Verb::post, "/{path=**}", http::Scope::kPublic, "redis",
                                           [this](http::RequestContext& ctx) { return Serve(ctx); }});
    if (!added.ok()) throw std::runtime_error(added.message());
    http::ServerHooks hooks;
    hooks.error = [](const http::Request& req, int status, std::string message) {
      return http::MakeResponse(req, static_cast<beast::http::status>(status),
                                nlohmann::json{{"error", message}}.dump(), "application/json");
    };
    server_ = std::make_unique<http::Server>(loops_, router_, hooks, http::ServerOptions{});
    Status started = server_->Start();
    if (!started.ok()) throw std::runtime_error(started.message());
    loops_.Start();
  }
  ~FakeUpstash() {
    server_->Stop();
    loops_.Stop();
  }

  std::string url() const { return "http://" + server_->address(); }

  // Every reply waits this long after its command was applied.
  void SetDelay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mu_);
    delay_ = delay;
  }
  // The next `count` SETs are applied, then their replies wait `stall`.
  void StallAppliedSets(int count, std::chrono::milliseconds stall) {
    std::lock_guard lock(mu_);
    stalled_sets_ = count;
    stall_ = stall;
  }
  // Answer 503 without applying anything.
  void SetUnavailable(bool unavailable) {
    std::lock_guard lock(mu_);
    unavailable_ = unavailable;
  }

  std::optional<std::string> Value(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = data_.find(key);
    return it == data_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  void Put(const std::string& key, const std::string& value) {
    std::lock_guard lock(mu_);
    data_[key] = value;
  }
  size_t Keys() {
    std::lock_guard lock(mu_);
    return data_.size();
  }
  // Every command received, in order.
  std::vector<std::vector<std::string>> Commands() {
    std::lock_guard lock(mu_);
    return commands_;
  }
  int Count(const std::string& name) {
    int n = 0;
    for (const auto& c : Commands()) n += !c.empty() && c[0] == name;
    return n;
  }

 private:
  asio::awaitable<http::Response> Serve(http::RequestContext& ctx) {
    nlohmann::json reply;
    int status = 200;
    std::chrono::milliseconds wait{0};
    {
      std::lock_guard lock(mu_);
      auto args = nlohmann::json::parse(ctx.request.body(), nullptr, false);
      if (unavailable_) {
        status = 503;
        reply = {{"error", "fake: unavailable"}};
      } else if (ctx.Param("path") != "" || !args.is_array() || args.empty()) {
        status = 400;
        reply = {{"error", "fake: only single commands on POST /"}};
      } else {
        std::vector<std::string> command;
        for (const auto& a : args) command.push_back(a.is_string() ? a.get<std::string>() : a.dump());
        commands_.push_back(command);
        reply = Apply(command);
        wait = delay_;
        if (command[0] == "SET" && stalled_sets_ > 0) {
          --stalled_sets_;
          wait = stall_;
        }
      }
    }
    if (wait.count() > 0) {
      auto executor = co_await asio::this_coro::executor;
      asio::steady_timer timer(executor, wait);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return http::MakeResponse(ctx.request, static_cast<beast::http::status>(status), reply.dump(),
                                 "application/json");
  }

  // Under mu_.
  nlohmann::json Apply(const std::vector<std::string>& c) {
    if (c[0] == "GET" && c.size() == 2) {
      auto it = data_.find(c[1]);
      return {{"result", it == data_.end() ? nlohmann::json() : nlohmann::json(it->second)}};
    }
    if (c[0] == "SET" && c.size() >= 3) {
      bool nx = std::find(c.begin() + 3, c.end(), "NX") != c.end();
      if (nx && data_.count(c[1])) return {{"result", nullptr}};
      data_[c[1]] = c[2];
      return {{"result", "OK"}};
    }
    if (c[0] == "DEL") {
      int64_t n = 0;
      for (size_t i = 1; i < c.size(); ++i) n += static_cast<int64_t>(data_.erase(c[i]));
      return {{"result", n}};
    }
    return {{"error", "ERR unknown command '" + c[0] + "'"}};
  }

  http::EventLoops loops_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;
  std::map<std::string, std::string> data_;
  std::vector<std::vector<std::string>> commands_;
  std::chrono::milliseconds delay_{0};
  int stalled_sets_ = 0;
  std::chrono::milliseconds stall_{0};
  bool unavailable_ = false;
};

}  // namespace stratus::testing
