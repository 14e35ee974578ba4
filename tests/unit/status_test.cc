// Status and StatusOr: the propagation macros return the first error unchanged and assign the
// value otherwise (evaluating the expression once), in plain functions and coroutines; value()
// on an error stops the process with the status text.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "common/asio.h"
#include "stratus/status.h"

namespace stratus {
namespace {

StatusOr<int> Number(bool ok, int* calls = nullptr) {
  if (calls) ++*calls;
  if (!ok) return NotFound("no number here");
  return 7;
}

StatusOr<std::unique_ptr<std::string>> Owned(bool ok) {
  if (!ok) return InvalidArgument("nothing owned");
  return std::make_unique<std::string>("moved, not copied");
}

StatusOr<int> Doubled(bool ok, int* calls, bool* reached) {
  STRATUS_ASSIGN_OR_RETURN(int n, Number(ok, calls));
  *reached = true;
  return n * 2;
}

Status IntoExisting(bool ok, int* out) {
  STRATUS_ASSIGN_OR_RETURN(*out, Number(ok));
  return Status::Ok();
}

StatusOr<size_t> TwoInOneScope(bool first_ok, bool second_ok) {
  STRATUS_ASSIGN_OR_RETURN(auto a, Number(first_ok));
  STRATUS_ASSIGN_OR_RETURN(auto b, Owned(second_ok));  // a second use in the same scope compiles
  return static_cast<size_t>(a) + b->size();
}

TEST(StatusTest, AssignOrReturnAssignsTheValueAndEvaluatesOnce) {
  int calls = 0;
  bool reached = false;
  auto r = Doubled(true, &calls, &reached);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 14);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(reached);
}

TEST(StatusTest, AssignOrReturnReturnsTheErrorUnchanged) {
  int calls = 0;
  bool reached = false;
  auto r = Doubled(false, &calls, &reached);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "no number here");
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(reached);
}

TEST(StatusTest, AssignOrReturnIntoAnExistingVariable) {
  int out = 0;
  EXPECT_TRUE(IntoExisting(true, &out).ok());
  EXPECT_EQ(out, 7);
  out = 3;
  Status st = IntoExisting(false, &out);
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_EQ(out, 3);  // untouched on error
}

TEST(StatusTest, AssignOrReturnMovesMoveOnlyValues) {
  auto r = TwoInOneScope(true, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7 + std::string("moved, not copied").size());
  EXPECT_EQ(TwoInOneScope(false, true).status().code(), Code::kNotFound);
  auto second = TwoInOneScope(true, false);
  EXPECT_EQ(second.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(second.status().message(), "nothing owned");
}

asio::awaitable<StatusOr<int>> CoDoubled(bool ok, bool* reached) {
  STRATUS_ASSIGN_OR_RETURN_CO(int n, Number(ok));
  *reached = true;
  co_return n * 2;
}

asio::awaitable<Status> CoCheck(bool ok) {
  Status st = ok ? Status::Ok() : Unavailable("peer gone");
  STRATUS_RETURN_IF_ERROR_CO(st);
  co_return Status::Ok();
}

// Runs a coroutine to its end (co_spawn's own result path wants a default-constructible T).
template <typename T>
T RunCo(asio::awaitable<T> co) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        T v = co_await std::move(co);
        out.emplace(std::move(v));
      },
      asio::detached);
  io.run();
  return std::move(*out);
}

TEST(StatusTest, CoroutineFormsReturnTheErrorOrTheValue) {
  bool reached = false;
  auto good = RunCo(CoDoubled(true, &reached));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 14);
  EXPECT_TRUE(reached);

  reached = false;
  auto bad = RunCo(CoDoubled(false, &reached));
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
  EXPECT_FALSE(reached);

  EXPECT_TRUE(RunCo(CoCheck(true)).ok());
  EXPECT_EQ(RunCo(CoCheck(false)).message(), "peer gone");
}

TEST(StatusTest, ReturnIfErrorPassesOkThrough) {
  auto f = [](bool ok) -> Status {
    STRATUS_RETURN_IF_ERROR(ok ? Status::Ok() : Internal("broken"));
    return FailedPrecondition("reached the end");
  };
  EXPECT_EQ(f(true).code(), Code::kFailedPrecondition);
  EXPECT_EQ(f(false).code(), Code::kInternal);
}

TEST(StatusTest, StatusOfAValueIsOk) {
  StatusOr<std::string> s = std::string("x");
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(s.status().ok());
  EXPECT_EQ(s->size(), 1u);
}

TEST(StatusDeathTest, ValueOfAnErrorStopsWithTheStatusText) {
  StatusOr<int> r = NotFound("queue q does not exist");
  EXPECT_DEATH((void)r.value(), "StatusOr::value\\(\\) on an error: .*queue q does not exist");
  const StatusOr<int>& cr = r;
  EXPECT_DEATH((void)*cr, "queue q does not exist");
  EXPECT_DEATH((void)std::move(r).value(), "queue q does not exist");
}

}  // namespace
}  // namespace stratus
