#include "store/postgres/pg_oidc_keys.h"

namespace stratus {
namespace {

// Any constant every node agrees on: the lock around a rotation (not the migration's).
constexpr int64_t kOidcKeysLock = 0x5374726174757304;  // "Stratus", 4

}  // namespace

namespace pg {

StatusOr<std::vector<auth::StoredKey>> ReadOidcKeys(Conn& c) {
  STRATUS_ASSIGN_OR_RETURN(
      auto r, c.Query("SELECT kid, private_pem, created_us, signs_from_us FROM oidc_keys ORDER BY signs_from_us, "
                      "created_us, kid"));
  std::vector<auth::StoredKey> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.Text(i, 0), r.Text(i, 1), r.Int(i, 2), r.Int(i, 3)});
  return out;
}

Status InsertOidcKey(Conn& c, const auth::StoredKey& key) {
  return c
      .Query(
          "INSERT INTO oidc_keys(kid, private_pem, created_us, signs_from_us) VALUES($1, $2, $3, $4) ON CONFLICT "
          "(kid) DO NOTHING",
          {Param(key.kid), Param(key.pem), Param(key.created), Param(key.signs_from)})
      .status();
}

}  // namespace pg

StatusOr<pg::Conn*> PgKeySource::Connection() {
  if (!conn_ || conn_->broken()) {
    STRATUS_ASSIGN_OR_RETURN(conn_, pg::Conn::Open(conninfo_));
  }
  return conn_.get();
}

StatusOr<std::vector<auth::StoredKey>> PgKeySource::Load() {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  return pg::ReadOidcKeys(*c);
}

StatusOr<std::vector<auth::StoredKey>> PgKeySource::Update(const Decide& decide) {
  std::lock_guard lock(mu_);
  STRATUS_ASSIGN_OR_RETURN(pg::Conn * c, Connection());
  STRATUS_RETURN_IF_ERROR(c->Exec("BEGIN"));
  auto body = [&]() -> StatusOr<std::vector<auth::StoredKey>> {
    // Held until COMMIT: another node's Update reads the keys only after this one's are in.
    STRATUS_RETURN_IF_ERROR(c->Query("SELECT pg_advisory_xact_lock($1)", {pg::Param(kOidcKeysLock)}).status());
    STRATUS_ASSIGN_OR_RETURN(auto keys, pg::ReadOidcKeys(*c));
    STRATUS_ASSIGN_OR_RETURN(auth::KeyChanges changes, decide(keys));
    if (changes.empty()) return keys;
    for (const auto& k : changes.add) STRATUS_RETURN_IF_ERROR(pg::InsertOidcKey(*c, k));
    for (const auto& kid : changes.remove) {
      STRATUS_RETURN_IF_ERROR(c->Query("DELETE FROM oidc_keys WHERE kid = $1", {pg::Param(kid)}).status());
    }
    return pg::ReadOidcKeys(*c);
  };
  auto keys = body();
  if (!keys.ok()) {
    c->Exec("ROLLBACK").IgnoreError();
    return keys.status();
  }
  STRATUS_RETURN_IF_ERROR(c->Exec("COMMIT"));
  return keys;
}

}  // namespace stratus
