// Pub/Sub on the embedded engine: PUBLISH, PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|
// SHARDNUMSUB, and the hub that REST subscribers (/subscribe, /psubscribe) register with.
// The hub has its own mutex; Deliver runs under it, in publish order, and must not block
// (the REST layer queues the message and wakes its event loop).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/command.h"

namespace stratus::kv {

struct PubSubMessage {
  std::string pattern;  // empty for a channel subscription ("message"); set for "pmessage"
  std::string channel;
  std::string payload;
};

class PubSubSink {
 public:
  virtual ~PubSubSink() = default;
  // Called under the hub's lock: queue and return; never call back into the hub.
  virtual void Deliver(const PubSubMessage& message) = 0;
};

class PubSubHub {
 public:
  // One subscriber (a REST stream) on some channels and patterns; returns its id.
  uint64_t Subscribe(std::shared_ptr<PubSubSink> sink, const std::vector<std::string>& channels,
                     const std::vector<std::string>& patterns);
  void Unsubscribe(uint64_t id);
  // Delivers to every subscriber of `channel` and every matching pattern subscription;
  // returns how many deliveries were made (Redis's PUBLISH reply).
  int64_t Publish(std::string_view channel, std::string_view payload);
  // Channels with at least one subscriber, matching `pattern` when given (sorted).
  std::vector<std::string> Channels(std::optional<std::string_view> pattern) const;
  int64_t NumSub(std::string_view channel) const;
  int64_t NumPat() const;  // distinct patterns subscribed
  size_t subscribers() const;

 private:
  struct Subscriber {
    std::shared_ptr<PubSubSink> sink;
    std::vector<std::string> channels;
    std::vector<std::string> patterns;
  };
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Subscriber> subscribers_;
  std::map<std::string, std::map<uint64_t, PubSubSink*>, std::less<>> channels_;
  std::map<std::string, std::map<uint64_t, PubSubSink*>, std::less<>> patterns_;
};

Status RegisterPubSubFamily(CommandTable& table);

}  // namespace stratus::kv
