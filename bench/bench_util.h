// Shared pieces of the bench tools: an HDR-like log-linear histogram of microseconds, clocks,
// HOST:PORT parsing and a few string helpers. Header-only; nothing here allocates per record.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace stratus::bench {

// Values in microseconds. 0..127 are kept exactly; above, every power of two is split into 64
// sub-buckets, so a bucket is at most 1/64 (~1.6%) wide relative to its values. Values at or
// above 2^40 µs (~12.7 days) land in the last bucket; max and the sum stay exact.
class Histogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr int64_t kSub = int64_t{1} << kSubBits;
  static constexpr int64_t kLinear = 2 * kSub;
  static constexpr int kMaxExp = 40;
  static constexpr size_t kBuckets = static_cast<size_t>(kLinear + (kMaxExp - kSubBits - 1) * kSub);

  static size_t Index(int64_t v) {
    if (v < kLinear) return v < 0 ? 0 : static_cast<size_t>(v);
    int e = 63 - __builtin_clzll(static_cast<uint64_t>(v));
    if (e >= kMaxExp) return kBuckets - 1;
    return static_cast<size_t>(kLinear + (e - kSubBits - 1) * kSub + ((v >> (e - kSubBits)) - kSub));
  }
  // The highest value that falls into bucket i.
  static int64_t Upper(size_t i) {
    if (i < static_cast<size_t>(kLinear)) return static_cast<int64_t>(i);
    int64_t j = static_cast<int64_t>(i) - kLinear;
    int e = static_cast<int>(j / kSub) + kSubBits + 1;
    int64_t s = kSub + j % kSub;
    return ((s + 1) << (e - kSubBits)) - 1;
  }

  void Record(int64_t us) {
    if (us < 0) us = 0;
    ++counts_[Index(us)];
    ++count_;
    sum_ += static_cast<double>(us);
    if (us > max_) max_ = us;
  }
  void Merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
  }
  void Clear() { *this = Histogram(); }

  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  // The upper bound of the bucket holding the q-th quantile (never above the exact max).
  int64_t Quantile(double q) const {
    if (count_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return i == kBuckets - 1 ? max_ : std::min(Upper(i), max_);
    }
    return max_;
  }

  // {"count","p50","p90","p99","p999","max","mean"} in milliseconds.
  nlohmann::json SummaryMs() const {
    return {{"count", count_},
            {"p50", Ms(Quantile(0.50))},
            {"p90", Ms(Quantile(0.90))},
            {"p99", Ms(Quantile(0.99))},
            {"p999", Ms(Quantile(0.999))},
            {"max", Ms(max_)},
            {"mean", RoundMs(mean() / 1000.0)}};
  }
  // [[upper_ms, count], ...] for the non-empty buckets, ascending.
  nlohmann::json BucketsMs() const {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < kBuckets; ++i) {
      if (counts_[i]) out.push_back({Ms(i == kBuckets - 1 ? max_ : Upper(i)), counts_[i]});
    }
    return out;
  }

  static double Ms(int64_t us) { return static_cast<double>(us) / 1000.0; }
  static double RoundMs(double ms) { return std::round(ms * 1000.0) / 1000.0; }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  double sum_ = 0;
  int64_t max_ = 0;
};

inline int64_t UnixMicrosNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "HOST:PORT", "[::1]:PORT" or ":PORT" (host 127.0.0.1). Returns false when malformed.
inline bool SplitHostPort(std::string_view s, std::string* host, std::string* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = s.substr(0, colon);
  std::string_view p = s.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (p.empty() || p.find_first_not_of("0123456789") != std::string_view::npos) return false;
  *host = h.empty() ? "127.0.0.1" : std::string(h);
  *port = std::string(p);
  return true;
}

inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Case-insensitive equality against a lower-case literal.
inline bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (AsciiLower(s[i]) != lower[i]) return false;
  }
  return true;
}

inline bool ContainsLower(std::string_view s, std::string_view lower) {
  if (lower.size() > s.size()) return false;
  for (size_t i = 0; i + lower.size() <= s.size(); ++i) {
    if (EqualsLower(s.substr(i, lower.size()), lower)) return true;
  }
  return false;
}

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Parses a non-negative decimal; false on anything else or overflow past 2^62.
inline bool ParseSize(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > (uint64_t{1} << 62)) return false;
  }
  *out = v;
  return true;
}

// Visits each header line of an HTTP head ("start line\r\nName: value\r\n...\r\n\r\n") after the
// start line: fn(name, value) with the value trimmed.
template <typename Fn>
inline void ForEachHeader(std::string_view head, Fn&& fn) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos) {
    pos += 2;
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos || eol == pos) break;
    std::string_view line = head.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) fn(line.substr(0, colon), Trim(line.substr(colon + 1)));
    pos = eol;
  }
}

}  // namespace stratus::bench
