#pragma once

#include <string>

namespace stratus {

// A task id in Google's shape (a 19-digit decimal number) that grows with time: the
// microseconds since the epoch times 1000, plus a small random offset, and always above the
// last id this process made. New rows then land at the end of the store's B-trees instead of
// on a random page each, which is most of what a durable create writes. Ids from two
// processes can meet; the service makes a new one when the store says the name is taken.
std::string GenerateTaskId();
// n bytes from the OpenSSL CSPRNG as lowercase hex (API tokens, key ids).
std::string RandomHex(size_t bytes);

}  // namespace stratus
