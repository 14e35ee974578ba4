#pragma once

#include <string>

namespace stratus {

// A task id as Google generates it: a random 19-digit decimal number. Random ids spread
// load and never collide in practice (63 bits).
std::string GenerateTaskId();
// n bytes from the OpenSSL CSPRNG as lowercase hex (API tokens, key ids).
std::string RandomHex(size_t bytes);

}  // namespace stratus
