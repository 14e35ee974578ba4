// "--key value" command-line flags for the example programs (they use the SDK alone).
#pragma once

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

namespace catchup {

class Args {
 public:
  Args(int argc, char** argv, std::map<std::string, std::string> defaults) : values_(std::move(defaults)) {
    for (int i = 1; i < argc; ++i) {
      std::string k = argv[i];
      if (k.rfind("--", 0) != 0 || !values_.count(k.substr(2)) || i + 1 >= argc) {
        std::cerr << "unknown or incomplete flag: " << k << "\nflags:";
        for (const auto& [name, v] : values_) std::cerr << " --" << name << " (" << (v.empty() ? "\"\"" : v) << ")";
        std::cerr << "\n";
        std::exit(2);
      }
      values_[k.substr(2)] = argv[++i];
    }
  }
  const std::string& Get(const std::string& k) const { return values_.at(k); }
  double Number(const std::string& k) const { return std::atof(Get(k).c_str()); }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace catchup
