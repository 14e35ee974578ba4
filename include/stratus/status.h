// stratus/status.h — the one error type of stratus.
//
// Every fallible function returns a [[nodiscard]] Status or StatusOr<T>. Codes follow
// google.rpc.Code, because the Cloud Tasks API answers with them; the Redis API maps the
// same codes to Redis error texts. Exceptions never cross a module boundary.
#pragma once

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace stratus {

// Values are the google.rpc.Code numbers.
enum class Code : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "INVALID_ARGUMENT", "NOT_FOUND", ...
std::string_view CodeName(Code code);
// The HTTP status Google's REST front end sends with the code (400, 404, 409, ...).
int HttpStatusOf(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // The one way to discard a Status: `Flush().IgnoreError();` says the drop is deliberate
  // (never `(void)Flush();`). Where a failure matters to an operator, log it first, or make
  // sure the callee logs it (kv::Engine::FlushLog does), and say so in a comment.
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string msg) {
  return {Code::kInvalidArgument, std::move(msg)};
}
inline Status NotFound(std::string msg) {
  return {Code::kNotFound, std::move(msg)};
}
inline Status AlreadyExists(std::string msg) {
  return {Code::kAlreadyExists, std::move(msg)};
}
inline Status FailedPrecondition(std::string msg) {
  return {Code::kFailedPrecondition, std::move(msg)};
}
inline Status Internal(std::string msg) {
  return {Code::kInternal, std::move(msg)};
}
inline Status Unavailable(std::string msg) {
  return {Code::kUnavailable, std::move(msg)};
}
inline Status Unimplemented(std::string msg) {
  return {Code::kUnimplemented, std::move(msg)};
}
inline Status Unauthenticated(std::string msg) {
  return {Code::kUnauthenticated, std::move(msg)};
}

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "StatusOr built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  // Reading the value of an error is a bug: it stops the process with the status text.
  T& value() & {
    CheckOk();
    return std::get<T>(v_);
  }
  const T& value() const& {
    CheckOk();
    return std::get<T>(v_);
  }
  T&& value() && {
    CheckOk();
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void CheckOk() const {
    if (ok()) return;
    const Status& st = std::get<Status>(v_);
    std::fprintf(stderr, "StatusOr::value() on an error: %s\n", st.ToString().c_str());
    std::abort();
  }

  std::variant<Status, T> v_;
};

}  // namespace stratus

// Propagates a non-OK Status out of the current function.
#define STRATUS_RETURN_IF_ERROR(expr)          \
  do {                                         \
    ::stratus::Status stratus_st_ = (expr);    \
    if (!stratus_st_.ok()) return stratus_st_; \
  } while (0)

// The same, from a coroutine.
#define STRATUS_RETURN_IF_ERROR_CO(expr)          \
  do {                                            \
    ::stratus::Status stratus_st_ = (expr);       \
    if (!stratus_st_.ok()) co_return stratus_st_; \
  } while (0)

#define STRATUS_CONCAT_INNER_(a, b) a##b
#define STRATUS_CONCAT_(a, b) STRATUS_CONCAT_INNER_(a, b)

// `STRATUS_ASSIGN_OR_RETURN(auto x, F());` (or `x = F()` into an existing variable):
// evaluates F() once; on error returns its Status, else moves the value into the left side.
#define STRATUS_ASSIGN_OR_RETURN(lhs, expr) \
  STRATUS_ASSIGN_OR_RETURN_IMPL_(STRATUS_CONCAT_(stratus_or_, __LINE__), lhs, expr, return )

// The same, from a coroutine.
#define STRATUS_ASSIGN_OR_RETURN_CO(lhs, expr) \
  STRATUS_ASSIGN_OR_RETURN_IMPL_(STRATUS_CONCAT_(stratus_or_, __LINE__), lhs, expr, co_return )

// `lhs` is a declaration (`auto x`) and `ret` a keyword: neither can be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define STRATUS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr, ret) \
  auto tmp = (expr);                                        \
  if (!tmp.ok()) ret tmp.status();                          \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
