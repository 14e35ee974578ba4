// stratus/sdk/canonical_json.h — RFC 8785 (JSON Canonicalization Scheme) and the idempotency
// key built on it.
//
// CanonicalJson() writes a value the way RFC 8785 does, so equal data always gives the same
// text, whichever program wrote it:
//   - no whitespace; object members sorted by their names' UTF-16 code units;
//   - numbers as ECMAScript prints an IEEE-754 double (1, 1.0 and 1e0 -> "1"; 1e1 -> "10";
//     -0.0 -> "0"; 1e21 -> "1e+21"; 0.000001 -> "0.000001"; 1e-7 -> "1e-7");
//   - strings with only `"`, `\` and U+0000..U+001F escaped (\b \t \n \f \r, else \u00xx).
// Refused with INVALID_ARGUMENT, naming where: NaN and infinities, an integer a double cannot
// hold exactly (beyond 2^53 and not a power-of-two multiple: send it as a string), and
// strings that are not valid UTF-8. nlohmann::json keeps integers exactly; JCS works on
// doubles, so an integer token and the same value written as a float give one text.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stratus/status.h"

namespace stratus::sdk {

StatusOr<std::string> CanonicalJson(const nlohmann::json& value);

// ECMAScript's Number::toString for a finite double (the JCS number form).
StatusOr<std::string> CanonicalNumber(double value);

// SHA-256 hex (64 lowercase characters) of jobName, a newline, and CanonicalJson(data): what
// TaskQueue sends as `idempotencyKey` and what the JobServer recomputes and compares.
StatusOr<std::string> IdempotencyKey(std::string_view job_name, const nlohmann::json& data);

}  // namespace stratus::sdk
