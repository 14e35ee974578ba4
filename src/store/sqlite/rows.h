// How the embedded store lays queues and tasks out in rows (schema.cc has the tables). The
// documents are the model's storage format (model/storage_codec.h), never the REST codec.
//
// A task row keeps what never changes after the create as one JSON document, the body as a
// blob, and what attempts and tasks.run change as plain columns, so starting and finishing an
// attempt never encodes JSON. Rows written before schema 2 have NULL
// attempt columns; their document still holds those fields.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "store/sqlite/db.h"
#include "stratus/model.h"
#include "stratus/store.h"

namespace stratus::sqlite {

using stratus::SplitTaskName;

StatusOr<Queue> DecodeQueue(const std::string& doc, const std::string& ext);
std::string EncodeQueue(const Queue& q);
std::string EncodeQueueExt(const Queue& q);  // the stratus: part
std::string HeadersJson(const std::map<std::string, std::string>& headers);

// The document of a task (model/storage_codec.h), without its body and (unless
// `with_attempts`, as dead letters keep them) without the attempt fields.
std::string EncodeTaskDoc(const Task& t, bool with_attempts);
std::string_view TaskBody(const Task& t);
StatusOr<Task> DecodeTaskDoc(const std::string& doc, std::string body);

// The columns a task's attempts and tasks.run change, after `doc, body` in every task read.
inline constexpr const char* kStateColumns =
    "schedule_us, exec_count, prev_response, dispatch_count, response_count, first_dispatch_us, "
    "last_schedule_us, last_dispatch_us, last_response_us, last_code, last_message";
inline constexpr int kStateColumnCount = 11;
// Binds the state columns of `t`, in kStateColumns order, from parameter `first` on.
void BindStateColumns(Stmt& s, int first, const Task& t);
// A task from a row read as `doc, body, <kStateColumns>` starting at column `col`.
StatusOr<Task> DecodeTaskRow(const Stmt& s, int col);

}  // namespace stratus::sqlite
