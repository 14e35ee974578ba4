// How the PostgreSQL store lays queues and tasks out: the tables (Migrate), and a task as a
// document that never changes after the create (model/storage_codec.h), its body as bytea,
// and what attempts and tasks.run change as plain columns, as the embedded store does.
#pragma once

#include <string>
#include <vector>

#include "store/postgres/pg.h"
#include "stratus/model.h"

namespace stratus::pg {

// 2: stratus_nodes, queue_leases (the cluster); 3: scheduler_jobs (Cloud Scheduler jobs shared
// by the cluster); 4: oidc_keys
inline constexpr int kSchemaVersion = 4;

// Brings the database to kSchemaVersion in one transaction under an advisory lock; refuses
// one written by a newer stratus.
Status Migrate(Conn& c);

// The columns after `doc, body` in every task read, and how many.
inline constexpr const char* kStateColumns =
    "schedule_us, exec_count, prev_response, dispatch_count, response_count, first_dispatch_us, "
    "last_schedule_us, last_dispatch_us, last_response_us, last_code, last_message";
inline constexpr int kStateColumnCount = 11;
// The state columns of `t`, in kStateColumns order.
std::vector<Param> StateParams(const Task& t);
// A task from a row read as `doc, body, <kStateColumns>` starting at column `col`.
StatusOr<Task> DecodeTaskRow(const Result& r, int row, int col);
StatusOr<Task> DecodeTaskDoc(const std::string& doc, std::string body);
std::string_view TaskBody(const Task& t);
StatusOr<Queue> DecodeQueueRow(const Result& r, int row, int col);  // `doc, ext`
std::string HeadersJson(const std::map<std::string, std::string>& headers);

}  // namespace stratus::pg
