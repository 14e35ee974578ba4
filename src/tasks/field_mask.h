// The paths of an update mask (google.protobuf.FieldMask) as REST sends it: "a.b,c", names in
// lowerCamelCase or snake_case. Shared by the Cloud Tasks and Cloud Scheduler services, which
// each keep their own table of updatable fields.
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "stratus/status.h"

namespace stratus {

// "rate_limits.max_burst_size" -> "rateLimits.maxBurstSize"; spaces are dropped.
inline std::string NormalizeMaskPath(std::string_view p) {
  std::string out;
  bool upper = false;
  for (char c : p) {
    if (c == ' ') continue;
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

// The mask's paths, normalised, in order; empty paths ("a,,b", a trailing comma) are skipped.
inline std::vector<std::string> MaskPaths(std::string_view mask) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= mask.size()) {
    size_t comma = mask.find(',', start);
    std::string path =
        NormalizeMaskPath(mask.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    start = comma == std::string_view::npos ? mask.size() + 1 : comma + 1;
    if (!path.empty()) out.push_back(std::move(path));
  }
  return out;
}

// `path` lies inside the message `outer`: "retryConfig.maxAttempts" inside "retryConfig".
inline bool MaskPathInside(std::string_view path, std::string_view outer) {
  return path.size() > outer.size() && path.compare(0, outer.size(), outer) == 0 && path[outer.size()] == '.';
}

// A mask path covers a field when it names the field or a message around it ("retryConfig"
// covers "retryConfig.maxAttempts"). A path inside the field is the caller's choice.
inline bool MaskCovers(std::string_view path, std::string_view field) {
  return path == field || MaskPathInside(field, path);
}

// Copies from `from` to `to` every row of `fields` (each with a `path` and a `copy(from, to)`)
// that `path` reaches as `covers(path, row.path)` decides. INVALID_ARGUMENT, in Google's words,
// when it reaches none; `resource` names the message ("Queue", "Job").
template <typename Fields, typename T, typename CoversFn>
Status ApplyMaskPath(const Fields& fields, const std::string& path, const T& from, T* to, CoversFn covers,
                     std::string_view resource) {
  bool matched = false;
  for (const auto& f : fields) {
    if (covers(path, f.path)) {
      f.copy(from, to);
      matched = true;
    }
  }
  if (matched) return Status::Ok();
  return InvalidArgument("Invalid update_mask provided: the field path \"" + path + "\" is not an updatable " +
                         std::string(resource) + " field.");
}

}  // namespace stratus
