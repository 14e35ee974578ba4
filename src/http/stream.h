// Streamed responses (a text/event-stream). A handler answers with a stream by returning
// the head (status and headers) and leaving a StreamBody in RequestContext::early; the
// server sends the head with chunked transfer encoding, runs the body with a StreamWriter,
// ends the body and closes the connection. A route that streams must not rely on a header
// hook's `early` value (the Redis listener has no header hook).
#pragma once

#include <functional>
#include <string>

#include "common/asio.h"

namespace stratus::http {

class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Sends `data` as one chunk; false once the client is gone or a write failed or could not
  // finish within 30 s (the stream should end then).
  virtual asio::awaitable<bool> Write(std::string data) = 0;
  // True once the client closed the connection (or it failed).
  virtual bool closed() const = 0;
  // `wake` runs on the connection's loop when the client goes away, so a stream waiting for
  // its next event can end at once. One callback; a later call replaces it (nullptr clears it).
  virtual void OnClose(std::function<void()> wake) = 0;
  // Ends the stream now, even in the middle of a write (a subscriber too slow to keep up):
  // the connection is closed without the last chunk.
  virtual void Abort() = 0;
};

using StreamBody = std::function<asio::awaitable<void>(StreamWriter&)>;

}  // namespace stratus::http
