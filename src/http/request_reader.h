// Reads one HTTP/1.1 request from bytes as they arrive, without doing I/O: Beast's parser
// plus the checks it lacks. The server feeds it what a connection reads; the fuzzer feeds it
// raw inputs, so what the fuzzer shows holds for a connection too.
//
// Beyond Beast's own errors it refuses, and the connection then closes:
// - a header field of 65,534 bytes or more (Beast cannot store it and throws): 431;
// - a Transfer-Encoding other than a final "chunked" (RFC 9112 6.3: the body length cannot
//   be known, so the rest of the stream cannot be trusted), a coding besides "chunked", or
//   Transfer-Encoding on HTTP/1.0 or beside Content-Length: 400;
// - an HTTP/1.1 request without exactly one Host field (RFC 9112 3.2): 400.
// No exception leaves Put or PutEof.
#pragma once

#include <string>

#include "http/message.h"

namespace stratus::http {

class RequestReader {
 public:
  enum class State { kHeader, kBody, kDone, kError };

  RequestReader(size_t max_header_bytes, size_t max_body_bytes);

  // Parses what it can of `data` and returns how many bytes it used; the caller drops those
  // and calls again with more. Bytes after a complete request are left unused.
  size_t Put(asio::const_buffer data);
  // The peer closed its side before the request was complete.
  void PutEof();

  State state() const { return state_; }
  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kError; }
  // True once some byte of a request has arrived (false: the connection closed between requests).
  bool started() const { return parser_.got_some(); }
  // The header is in, it asked for "Expect: 100-continue", and no body byte has come yet:
  // the client waits for an interim 100 before it sends the body.
  bool WantsContinue() const;

  // The request; while reading, or after an error, what has been parsed of it.
  Request& request() { return parser_.get(); }
  // For an error: the HTTP status to answer with and the message for the protocol's body.
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

 private:
  void Fail(int status, std::string message);
  void FailFrom(const beast::error_code& ec);
  bool CheckHeader();

  beast::http::request_parser<beast::http::string_body> parser_;
  size_t max_body_bytes_;
  State state_ = State::kHeader;
  bool expects_continue_ = false;
  int error_status_ = 0;
  std::string error_message_;
};

}  // namespace stratus::http
