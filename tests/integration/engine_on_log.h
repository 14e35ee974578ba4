// The fixture of the engine's restart tests: an embedded Engine on an append log in a fresh
// temporary directory, on a fake clock, without active expiry. Open() starts it again on the
// same log, as a server restart would (replay, then the rewrite at start).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/clock.h"
#include "kv/engine.h"

namespace stratus::testing {

class EngineOnLogTest : public ::testing::Test {
 protected:
  static constexpr Micros kDefaultStart = 1'700'000'000'123'456;
  explicit EngineOnLogTest(Micros start = kDefaultStart) : clock_(start) {}

  void SetUp() override {
    char tmpl[] = "/tmp/stratus-kvlog-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Open();
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }
  // (Re)starts the engine on the log.
  void Open() {
    engine_.reset();
    engine_ = std::make_unique<kv::Engine>(clock_);
    kv::EngineOptions o;
    o.log_path = log_path();
    o.active_expiry = false;
    ASSERT_TRUE(engine_->Open(o).ok());
  }
  std::string log_path() const { return dir_ + "/appendonly.log"; }
  kv::Reply Run(const kv::Argv& argv) { return engine_->Run(argv); }

  std::string dir_;
  FakeClock clock_;
  std::unique_ptr<kv::Engine> engine_;
};

}  // namespace stratus::testing
