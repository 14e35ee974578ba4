// The Upstash event streams: GET|POST /subscribe/{channel}[/{channel}…] and
// /psubscribe/{pattern}[/…] answer a text/event-stream that stays open:
//   data: subscribe,chat,1            (one per channel, the running count)
//   data: message,chat,hello          (data: pmessage,chat:*,chat:1,hello for a pattern)
//   : keepalive                       (a comment every `keepalive`)
// On the embedded engine a stream registers with the engine's PubSubHub; through the proxy
// it holds one dedicated SUBSCRIBE/PSUBSCRIBE connection to the backend, closed with it.
// A subscriber that falls `max_buffered_bytes` behind is disconnected. Reference: docs/redis.md.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "http/router.h"
#include "kv/pubsub.h"
#include "stratus/status.h"

namespace stratus::api::redis {

struct SubscribeOptions {
  std::shared_ptr<kv::PubSubHub> hub;  // the embedded engine's; null with the proxy
  std::string redis_url;               // the proxy's backend (when hub is null)
  std::chrono::milliseconds keepalive{15000};
  size_t max_buffered_bytes = size_t{1} << 20;  // per stream: messages queued, not yet written
};

Status RegisterSubscribeRoutes(http::Router& router, SubscribeOptions options);

// "data: message,chat,hello\n\n"; a payload's line breaks continue on further "data: " lines.
std::string SseMessage(const kv::PubSubMessage& m);

}  // namespace stratus::api::redis
