#include "stratus/status.h"

#include <array>

namespace stratus {
namespace {

struct CodeRow {
  std::string_view name;
  int http;
};

// Indexed by the google.rpc.Code number; HTTP statuses as Google's REST front end maps them.
constexpr std::array<CodeRow, 17> kCodes = {{
    {"OK", 200},
    {"CANCELLED", 499},
    {"UNKNOWN", 500},
    {"INVALID_ARGUMENT", 400},
    {"DEADLINE_EXCEEDED", 504},
    {"NOT_FOUND", 404},
    {"ALREADY_EXISTS", 409},
    {"PERMISSION_DENIED", 403},
    {"RESOURCE_EXHAUSTED", 429},
    {"FAILED_PRECONDITION", 400},
    {"ABORTED", 409},
    {"OUT_OF_RANGE", 400},
    {"UNIMPLEMENTED", 501},
    {"INTERNAL", 500},
    {"UNAVAILABLE", 503},
    {"DATA_LOSS", 500},
    {"UNAUTHENTICATED", 401},
}};

}  // namespace

std::string_view CodeName(Code code) {
  return kCodes.at(static_cast<size_t>(code)).name;
}
int HttpStatusOf(Code code) {
  return kCodes.at(static_cast<size_t>(code)).http;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace stratus
