#include "store/postgres/pg_leases.h"

#include "store/postgres/pg_listener.h"

namespace stratus {
namespace {

// Rows of nodes that stopped heartbeating this long ago are dropped (any node does it).
constexpr const char* kForgetNodesAfter = "1 hour";

}  // namespace

StatusOr<pg::Conn*> PgLeaseTable::Connection() {
  if (!conn_ || conn_->broken()) {
    STRATUS_ASSIGN_OR_RETURN(conn_, pg::Conn::Open(conninfo_));
  }
  return conn_.get();
}

StatusOr<cluster::ClusterView> PgLeaseTable::Heartbeat(const cluster::NodeInfo& self, Micros lease,
                                                       std::map<std::string, int64_t>* held) {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  const pg::Param lease_us(lease);
  STRATUS_RETURN_IF_ERROR(c->Query("INSERT INTO stratus_nodes(id, address, started_at, heartbeat_at) VALUES($1, $2, "
                                   "clock_timestamp(), clock_timestamp()) ON CONFLICT (id) DO UPDATE SET heartbeat_at "
                                   "= clock_timestamp(), address = EXCLUDED.address",
                                   {pg::Param(self.id), pg::Param(self.address)})
                              .status());
  STRATUS_ASSIGN_OR_RETURN(auto renewed,
                           // Rows locked in queue order, as the writer share-locks them (pg_store.cc):
                           // no deadlock with a batch of attempt writes.
                           c->Query("UPDATE queue_leases SET expires_at = clock_timestamp() + $2::bigint * interval "
                                    "'1 microsecond' WHERE node = $1 AND queue IN (SELECT queue FROM queue_leases "
                                    "WHERE node = $1 ORDER BY queue FOR UPDATE) RETURNING queue, epoch",
                                    {pg::Param(self.id), lease_us}));
  held->clear();
  for (int i = 0; i < renewed.rows(); ++i) (*held)[renewed.Text(i, 0)] = renewed.Int(i, 1);
  STRATUS_RETURN_IF_ERROR(
      c->Query(std::string("DELETE FROM stratus_nodes WHERE heartbeat_at < clock_timestamp() - interval '") +
               kForgetNodesAfter + "'")
          .status());
  cluster::ClusterView view;
  STRATUS_ASSIGN_OR_RETURN(auto nodes, c->Query("SELECT id FROM stratus_nodes WHERE heartbeat_at > clock_timestamp() - "
                                                "$1::bigint * interval '1 microsecond' ORDER BY id",
                                                {lease_us}));
  for (int i = 0; i < nodes.rows(); ++i) view.live_nodes.push_back(nodes.Text(i, 0));
  STRATUS_ASSIGN_OR_RETURN(
      auto queues, c->Query("SELECT q.name, COALESCE(l.node, ''), COALESCE(l.epoch, 0), COALESCE(l.expires_at < "
                            "clock_timestamp(), true) FROM queues q LEFT JOIN queue_leases l ON l.queue = q.name "
                            "ORDER BY q.name"));
  for (int i = 0; i < queues.rows(); ++i) {
    view.queues.push_back(
        cluster::QueueLease{queues.Text(i, 0), queues.Text(i, 1), queues.Int(i, 2), queues.Text(i, 3) == "t"});
  }
  return view;
}

StatusOr<std::optional<int64_t>> PgLeaseTable::Acquire(const std::string& queue, const std::string& self,
                                                       Micros lease) {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  // The conflict path locks the row first, so it waits for attempt writes holding it FOR
  // SHARE and then sees whether the lease is still free.
  STRATUS_ASSIGN_OR_RETURN(
      auto r, c->Query("INSERT INTO queue_leases(queue, node, epoch, expires_at) VALUES($1, $2, 1, clock_timestamp() "
                       "+ $3::bigint * interval '1 microsecond') ON CONFLICT (queue) DO UPDATE SET node = "
                       "EXCLUDED.node, epoch = queue_leases.epoch + 1, expires_at = EXCLUDED.expires_at WHERE "
                       "queue_leases.node = '' OR queue_leases.expires_at < clock_timestamp() RETURNING epoch",
                       {pg::Param(queue), pg::Param(self), pg::Param(lease)}));
  if (r.rows() == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(r.Int(0, 0));
}

StatusOr<bool> PgLeaseTable::Renew(const std::string& queue, const std::string& self, int64_t epoch, Micros lease) {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  STRATUS_ASSIGN_OR_RETURN(auto r, c->Query("UPDATE queue_leases SET expires_at = clock_timestamp() + $4::bigint * "
                                            "interval '1 microsecond' WHERE queue = $1 AND node = $2 AND epoch = $3",
                                            {pg::Param(queue), pg::Param(self), pg::Param(epoch), pg::Param(lease)}));
  return r.Changes() == 1;
}

Status PgLeaseTable::Release(const std::string& queue, const std::string& self, int64_t epoch) {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  return c
      ->Query(
          "UPDATE queue_leases SET node = '', expires_at = clock_timestamp() WHERE queue = $1 AND node = $2 AND "
          "epoch = $3",
          {pg::Param(queue), pg::Param(self), pg::Param(epoch)})
      .status();
}

Status PgLeaseTable::Leave(const std::string& self) {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  STRATUS_RETURN_IF_ERROR(
      c->Query("UPDATE queue_leases SET node = '', expires_at = clock_timestamp() WHERE node = $1", {pg::Param(self)})
          .status());
  STRATUS_RETURN_IF_ERROR(c->Query("DELETE FROM stratus_nodes WHERE id = $1", {pg::Param(self)}).status());
  // The others take the freed queues now rather than at their next tick.
  const std::string left = cluster::EncodeChange({cluster::Change::Kind::kNodeLeft, self, 0});
  return c->Query("SELECT pg_notify($1, $2)", {pg::Param(kChangesChannel), pg::Param(left)}).status();
}

}  // namespace stratus
