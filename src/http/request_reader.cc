#include "http/request_reader.h"

#include <exception>
#include <stdexcept>
#include <vector>

namespace stratus::http {
namespace bh = beast::http;

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// Every coding named in every Transfer-Encoding field, in order, lower-cased.
std::vector<std::string> TransferCodings(const Request& req) {
  std::vector<std::string> out;
  auto range = req.equal_range(bh::field::transfer_encoding);
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view v(it->value().data(), it->value().size());
    while (true) {
      size_t comma = v.find(',');
      std::string_view item = Trim(v.substr(0, comma));
      if (!item.empty()) out.push_back(Lower(item));
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return out;
}

}  // namespace

RequestReader::RequestReader(size_t max_header_bytes, size_t max_body_bytes) : max_body_bytes_(max_body_bytes) {
  parser_.header_limit(static_cast<uint32_t>(std::min<size_t>(max_header_bytes, UINT32_MAX)));
  parser_.body_limit(max_body_bytes);
}

size_t RequestReader::Put(asio::const_buffer data) {
  size_t total = 0;
  while (state_ == State::kHeader || state_ == State::kBody) {
    beast::error_code ec;
    size_t used = 0;
    try {
      used = parser_.put(data + total, ec);
    } catch (const std::length_error&) {
      // Beast keeps a field's name and value in 16-bit lengths and throws past them.
      Fail(431, "Request header fields too large: a header field exceeds 65533 bytes.");
      break;
    } catch (const std::exception& e) {
      Fail(400, std::string("Malformed HTTP request: ") + e.what() + ".");
      break;
    }
    total += used;
    if (ec == bh::error::need_more) break;
    if (ec) {
      FailFrom(ec);
      break;
    }
    if (state_ == State::kHeader && parser_.is_header_done()) {
      if (!CheckHeader()) break;
      state_ = State::kBody;
      parser_.eager(true);
      // Loop once more even with no bytes left: Beast checks Content-Length against the
      // body limit when the body starts, so a 413 comes before any 100 Continue.
    } else if (used == 0) {
      break;
    }
    if (parser_.is_done()) state_ = State::kDone;
  }
  return total;
}

void RequestReader::PutEof() {
  if (state_ == State::kDone || state_ == State::kError) return;
  beast::error_code ec;
  try {
    parser_.put_eof(ec);
  } catch (const std::exception& e) {
    Fail(400, std::string("Malformed HTTP request: ") + e.what() + ".");
    return;
  }
  if (ec) {
    FailFrom(ec);
  } else if (parser_.is_done()) {
    state_ = State::kDone;
  } else {
    Fail(400, "Malformed HTTP request: partial message.");
  }
}

bool RequestReader::WantsContinue() const {
  return state_ == State::kBody && expects_continue_ && parser_.get().body().empty();
}

void RequestReader::Fail(int status, std::string message) {
  state_ = State::kError;
  error_status_ = status;
  error_message_ = std::move(message);
}

void RequestReader::FailFrom(const beast::error_code& ec) {
  if (ec == bh::error::body_limit) {
    Fail(413, "Request body exceeds the limit of " + std::to_string(max_body_bytes_) + " bytes.");
  } else if (ec == bh::error::header_limit) {
    Fail(431, "Malformed HTTP request: " + ec.message() + ".");
  } else {
    Fail(400, "Malformed HTTP request: " + ec.message() + ".");
  }
}

bool RequestReader::CheckHeader() {
  const Request& req = parser_.get();
  std::vector<std::string> codings = TransferCodings(req);
  const bool has_te = req.find(bh::field::transfer_encoding) != req.end();
  if (has_te) {
    if (req.version() < 11) {
      Fail(400, "Malformed HTTP request: Transfer-Encoding is not allowed in an HTTP/1.0 request.");
      return false;
    }
    if (req.find(bh::field::content_length) != req.end()) {
      Fail(400, "Malformed HTTP request: both Transfer-Encoding and Content-Length are present.");
      return false;
    }
    if (codings.empty() || codings.back() != "chunked") {
      Fail(400, "Malformed HTTP request: the final Transfer-Encoding must be chunked, got '" +
                    std::string(req[bh::field::transfer_encoding]) + "'.");
      return false;
    }
    for (size_t i = 0; i + 1 < codings.size(); ++i) {
      if (codings[i] == "chunked") {
        Fail(400, "Malformed HTTP request: Transfer-Encoding names chunked more than once.");
      } else {
        Fail(400, "Malformed HTTP request: Transfer-Encoding '" + codings[i] +
                      "' is not supported; send the body chunked only.");
      }
      return false;
    }
  }
  auto hosts = req.equal_range(bh::field::host);
  size_t host_count = static_cast<size_t>(std::distance(hosts.first, hosts.second));
  if ((req.version() >= 11 && host_count != 1) || host_count > 1) {
    Fail(400, host_count == 0 ? "Malformed HTTP request: an HTTP/1.1 request must have a Host header."
                              : "Malformed HTTP request: more than one Host header.");
    return false;
  }
  if (req.version() >= 11) {
    auto expect = req[bh::field::expect];
    expects_continue_ = beast::iequals(expect, "100-continue");
  }
  return true;
}

}  // namespace stratus::http
