#pragma once

#include <string>
#include <string_view>

#include "stratus/status.h"

namespace stratus {

// Standard alphabet with padding (the protobuf JSON `bytes` form).
std::string Base64Encode(std::string_view data);
// Accepts the standard and URL-safe alphabets, with or without padding, as protobuf JSON does.
StatusOr<std::string> Base64Decode(std::string_view text);

}  // namespace stratus
