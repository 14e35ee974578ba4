#include "store/postgres/import.h"

#include "model/storage_codec.h"
#include "store/postgres/pg_oidc_keys.h"
#include "store/postgres/rows.h"

namespace stratus::pg {

StatusOr<std::unique_ptr<Importer>> Importer::Open(const std::string& conninfo) {
  STRATUS_ASSIGN_OR_RETURN(auto c, Conn::Open(conninfo));
  STRATUS_RETURN_IF_ERROR(Migrate(*c));
  return std::unique_ptr<Importer>(new Importer(std::move(c)));
}

StatusOr<RowCounts> Importer::Count() {
  STRATUS_ASSIGN_OR_RETURN(auto r, c_->Query("SELECT (SELECT count(*) FROM queues), (SELECT count(*) FROM tasks), "
                                             "(SELECT count(*) FROM dead_letters), (SELECT count(*) FROM tombstones), "
                                             "(SELECT count(*) FROM oidc_keys)"));
  return RowCounts{r.Int(0, 0), r.Int(0, 1), r.Int(0, 2), r.Int(0, 3), r.Int(0, 4)};
}

StatusOr<int64_t> Importer::LiveNodes(int window_seconds) {
  STRATUS_ASSIGN_OR_RETURN(auto r,
                           c_->Query("SELECT count(*) FROM stratus_nodes WHERE heartbeat_at > clock_timestamp() - "
                                     "make_interval(secs => $1)",
                                     {Param(static_cast<int64_t>(window_seconds))}));
  return r.Int(0, 0);
}

Status Importer::InTransaction(const std::function<Status()>& body) {
  STRATUS_RETURN_IF_ERROR(c_->Exec("BEGIN"));
  Status st = body();
  if (!st.ok()) {
    c_->Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return c_->Exec("COMMIT");
}

Status Importer::Clear() {
  return InTransaction([&] { return c_->Exec("TRUNCATE queues, tasks, dead_letters, tombstones, oidc_keys"); });
}

Status Importer::AddDeadLetters(const std::vector<DeadLetter>& rows) {
  return InTransaction([&]() -> Status {
    for (const DeadLetter& d : rows) {
      auto [queue, id] = SplitTaskName(d.task.name);
      STRATUS_RETURN_IF_ERROR(
          c_->Query("INSERT INTO dead_letters(queue, id, dead_us, doc, body, reason, status, headers, response) "
                    "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (queue, id) DO UPDATE SET dead_us = "
                    "EXCLUDED.dead_us, doc = EXCLUDED.doc, body = EXCLUDED.body, reason = EXCLUDED.reason, status = "
                    "EXCLUDED.status, headers = EXCLUDED.headers, response = EXCLUDED.response",
                    {Param(queue), Param(id), Param(d.dead_time), Param(storage::EncodeTask(d.task, true)),
                     Param::Bytes(TaskBody(d.task)), Param(d.reason), Param(int64_t{d.response_status}),
                     Param(HeadersJson(d.response_headers)), Param::Bytes(d.response_body)})
              .status());
    }
    return Status::Ok();
  });
}

Status Importer::AddTombstones(const std::vector<TombstoneRow>& rows) {
  return InTransaction([&]() -> Status {
    for (const TombstoneRow& t : rows) {
      STRATUS_RETURN_IF_ERROR(c_->Query("INSERT INTO tombstones(kind, name, deleted_us) VALUES($1, $2, $3) ON "
                                        "CONFLICT (kind, name) DO UPDATE SET deleted_us = EXCLUDED.deleted_us",
                                        {Param(int64_t{t.kind}), Param(t.name), Param(t.deleted_us)})
                                  .status());
    }
    return Status::Ok();
  });
}

Status Importer::AddOidcKeys(const std::vector<auth::StoredKey>& keys) {
  return InTransaction([&]() -> Status {
    for (const auth::StoredKey& k : keys) STRATUS_RETURN_IF_ERROR(InsertOidcKey(*c_, k));
    return Status::Ok();
  });
}

}  // namespace stratus::pg
