// The cluster's node list and queue leases in PostgreSQL (cluster/lease_table.h): the
// stratus_nodes and queue_leases tables of the store's schema. Every expiry is judged by
// the database server's clock (clock_timestamp()), so nodes' clocks need not agree.
// One connection of its own, opened again after a failure; used by the coordinator's thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "cluster/lease_table.h"
#include "store/postgres/pg.h"

namespace stratus {

class PgLeaseTable final : public cluster::LeaseTable {
 public:
  explicit PgLeaseTable(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  StatusOr<cluster::ClusterView> Heartbeat(const cluster::NodeInfo& self, Micros lease,
                                           std::map<std::string, int64_t>* held) override;
  StatusOr<std::optional<int64_t>> Acquire(const std::string& queue, const std::string& self, Micros lease) override;
  StatusOr<bool> Renew(const std::string& queue, const std::string& self, int64_t epoch, Micros lease) override;
  Status Release(const std::string& queue, const std::string& self, int64_t epoch) override;
  Status Leave(const std::string& self) override;

 private:
  StatusOr<pg::Conn*> Connection();

  const std::string conninfo_;
  std::mutex mu_;
  std::unique_ptr<pg::Conn> conn_;
};

}  // namespace stratus
