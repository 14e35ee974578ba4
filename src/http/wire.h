// A response as the bytes sent for it.
#pragma once

#include <string>

#include "http/message.h"

namespace stratus::http {

// The bytes Beast's serializer writes for a response that is not chunked (the status line,
// the fields in order, the blank line, the body) in one string: the server sends it as one
// buffer, without building the serializer's buffer sequences for every response.
std::string WireBytes(const Response& res);

}  // namespace stratus::http
