// The cluster's OIDC signing keys in PostgreSQL (auth/key_source.h): the oidc_keys table of
// the store's schema, which every node reads, so all publish one JWKS and sign with one key.
// Update runs in one transaction under an advisory lock, so of two nodes that find a
// rotation due at once the second sees the first one's key and makes none.
//
// The rows are private keys: the table is its owner's (the stratus user) alone.
// One connection of its own, opened again after a failure; used by the signer's refresh.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "auth/key_source.h"
#include "store/postgres/pg.h"

namespace stratus {

class PgKeySource final : public auth::KeySource {
 public:
  explicit PgKeySource(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  StatusOr<std::vector<auth::StoredKey>> Load() override;
  StatusOr<std::vector<auth::StoredKey>> Update(const Decide& decide) override;
  std::string Where() const override { return "the oidc_keys table"; }

 private:
  StatusOr<pg::Conn*> Connection();

  const std::string conninfo_;
  std::mutex mu_;
  std::unique_ptr<pg::Conn> conn_;
};

namespace pg {
// Every row of oidc_keys, ordered by signs_from then created.
StatusOr<std::vector<auth::StoredKey>> ReadOidcKeys(Conn& c);
// Inserts `key`; a kid already there is left as it is.
Status InsertOidcKey(Conn& c, const auth::StoredKey& key);
}  // namespace pg

}  // namespace stratus
