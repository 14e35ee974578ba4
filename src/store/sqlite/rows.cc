#include "store/sqlite/rows.h"

#include "common/json.h"
#include "model/storage_codec.h"

namespace stratus::sqlite {

namespace {

// The body field of whichever request the task has (const or not), or null.
template <typename T>
auto* BodyOf(T& t) {
  if (t.http_request) return &t.http_request->body;
  return t.app_engine_http_request ? &t.app_engine_http_request->body : nullptr;
}

}  // namespace

StatusOr<Queue> DecodeQueue(const std::string& doc, const std::string& ext) {
  return storage::DecodeQueue(doc, ext);
}

std::string EncodeQueue(const Queue& q) {
  return storage::EncodeQueue(q);
}

std::string EncodeQueueExt(const Queue& q) {
  return storage::EncodeQueueExtensions(q.stratus);
}

std::string HeadersJson(const std::map<std::string, std::string>& headers) {
  Json j = Json::object();
  for (const auto& [k, v] : headers) j[k] = v;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string_view TaskBody(const Task& t) {
  const std::string* body = BodyOf(t);
  return body ? std::string_view(*body) : std::string_view();
}

std::string EncodeTaskDoc(const Task& t, bool with_attempts) {
  return storage::EncodeTask(t, with_attempts);
}

StatusOr<Task> DecodeTaskDoc(const std::string& doc, std::string body) {
  STRATUS_ASSIGN_OR_RETURN(auto t, storage::DecodeTask(doc));
  if (std::string* own = BodyOf(t)) *own = std::move(body);
  return t;
}

void BindStateColumns(Stmt& s, int first, const Task& t) {
  s.Bind(first, t.schedule_time);
  s.Bind(first + 1, int64_t{t.execution_count}).Bind(first + 2, int64_t{t.previous_response});
  s.Bind(first + 3, int64_t{t.dispatch_count}).Bind(first + 4, int64_t{t.response_count});
  s.Bind(first + 5, t.first_attempt ? t.first_attempt->dispatch_time : 0);
  const Attempt none;
  const Attempt& last = t.last_attempt ? *t.last_attempt : none;
  s.Bind(first + 6, last.schedule_time).Bind(first + 7, t.last_attempt ? last.dispatch_time : 0);
  s.Bind(first + 8, last.response_time);
  s.Bind(first + 9, last.response_status ? static_cast<int64_t>(last.response_status->code()) : -1);
  s.Bind(first + 10, last.response_status ? last.response_status->message() : std::string());
}

StatusOr<Task> DecodeTaskRow(const Stmt& s, int col) {
  STRATUS_ASSIGN_OR_RETURN(auto t, DecodeTaskDoc(s.Text(col), s.Text(col + 1)));
  const int a = col + 2;
  t.schedule_time = s.Int(a);
  t.execution_count = static_cast<int32_t>(s.Int(a + 1));
  t.previous_response = static_cast<int32_t>(s.Int(a + 2));
  if (s.IsNull(a + 3)) return t;  // written before schema 2: the document has the rest
  t.dispatch_count = static_cast<int32_t>(s.Int(a + 3));
  t.response_count = static_cast<int32_t>(s.Int(a + 4));
  t.first_attempt.reset();
  if (s.Int(a + 5) != 0) t.first_attempt = Attempt{0, s.Int(a + 5), 0, std::nullopt};
  t.last_attempt.reset();
  if (s.Int(a + 7) != 0) {
    Attempt last{s.Int(a + 6), s.Int(a + 7), s.Int(a + 8), std::nullopt};
    if (s.Int(a + 9) >= 0) last.response_status = Status(static_cast<Code>(s.Int(a + 9)), s.Text(a + 10));
    t.last_attempt = std::move(last);
  }
  return t;
}

}  // namespace stratus::sqlite
