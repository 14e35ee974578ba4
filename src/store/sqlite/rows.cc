#include "store/sqlite/rows.h"

#include "tasks/codec.h"

namespace stratus::sqlite {

std::pair<std::string, std::string> SplitTaskName(const std::string& name) {
  size_t pos = name.rfind("/tasks/");
  if (pos == std::string::npos) return {"", name};
  return {name.substr(0, pos), name.substr(pos + 7)};
}

namespace {

// A stored JSON document read back with `from_json`; anything unreadable is a corrupt record.
template <typename T, typename FromJson>
StatusOr<T> DecodeDoc(const std::string& doc, const char* what, FromJson from_json) {
  auto j = ParseJsonBody(doc);
  auto obj = j.ok() ? JsonObject::Of(*j, what) : StatusOr<JsonObject>(j.status());
  if (!obj.ok()) return Internal(std::string("storage: corrupt ") + what + " record");
  return from_json(*obj);
}

// The body field of whichever request the task has (const or not), or null.
template <typename T>
auto* BodyOf(T& t) {
  if (t.http_request) return &t.http_request->body;
  return t.app_engine_http_request ? &t.app_engine_http_request->body : nullptr;
}

}  // namespace

StatusOr<Queue> DecodeQueue(const std::string& doc, const std::string& ext) {
  auto q = DecodeDoc<Queue>(doc, "queue", QueueFromJson);
  if (!q.ok()) return q.status();
  auto e = ParseJsonBody(ext);
  if (e.ok() && e->is_object() && e->contains("permanentFailureStatuses")) {
    for (const auto& v : (*e)["permanentFailureStatuses"]) {
      if (v.is_number_integer()) q->stratus.permanent_failure_statuses.push_back(v.get<int>());
    }
  }
  return q;
}

std::string EncodeQueue(const Queue& q) {
  return QueueToJson(q, JsonStyle{}).dump();
}

std::string EncodeQueueExt(const Queue& q) {
  return Json{{"permanentFailureStatuses", q.stratus.permanent_failure_statuses}}.dump();
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

std::string EncodeTaskDoc(Task& t, bool with_attempts) {
  std::string body;
  std::string* own = BodyOf(t);
  if (own) body.swap(*own);
  std::string doc;
  if (with_attempts) {
    doc = TaskToJson(t, TaskView::kFull, JsonStyle{}).dump();
  } else {  // the attempt fields live in columns
    auto first = std::exchange(t.first_attempt, std::nullopt);
    auto last = std::exchange(t.last_attempt, std::nullopt);
    int32_t dispatches = std::exchange(t.dispatch_count, 0);
    int32_t responses = std::exchange(t.response_count, 0);
    doc = TaskToJson(t, TaskView::kFull, JsonStyle{}).dump();
    t.first_attempt = std::move(first);
    t.last_attempt = std::move(last);
    t.dispatch_count = dispatches;
    t.response_count = responses;
  }
  if (own) body.swap(*own);
  return doc;
}

StatusOr<Task> DecodeTaskDoc(const std::string& doc, std::string body) {
  auto t = DecodeDoc<Task>(doc, "task", TaskFromJson);
  if (!t.ok()) return t.status();
  if (std::string* own = BodyOf(*t)) *own = std::move(body);
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
  auto t = DecodeTaskDoc(s.Text(col), s.Text(col + 1));
  if (!t.ok()) return t.status();
  const int a = col + 2;
  t->schedule_time = s.Int(a);
  t->execution_count = static_cast<int32_t>(s.Int(a + 1));
  t->previous_response = static_cast<int32_t>(s.Int(a + 2));
  if (s.IsNull(a + 3)) return t;  // written before schema 2: the document has the rest
  t->dispatch_count = static_cast<int32_t>(s.Int(a + 3));
  t->response_count = static_cast<int32_t>(s.Int(a + 4));
  t->first_attempt.reset();
  if (s.Int(a + 5) != 0) t->first_attempt = Attempt{0, s.Int(a + 5), 0, std::nullopt};
  t->last_attempt.reset();
  if (s.Int(a + 7) != 0) {
    Attempt last{s.Int(a + 6), s.Int(a + 7), s.Int(a + 8), std::nullopt};
    if (s.Int(a + 9) >= 0) last.response_status = Status(static_cast<Code>(s.Int(a + 9)), s.Text(a + 10));
    t->last_attempt = std::move(last);
  }
  return t;
}

}  // namespace stratus::sqlite
