// Where the OIDC signing keys live (auth/oidc.h signs with them): the data dir's oidc/ folder
// for one node (FileKeySource), or a table every node of a cluster shares (PostgreSQL:
// store/postgres/pg_oidc_keys.h). The signer decides when to rotate and what to forget; a
// source only stores keys and makes one decision at a time exclusive.
//
// The keys are private keys in PEM (PKCS#8). A source never logs or returns them in an
// error message.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/time.h"
#include "stratus/status.h"

namespace stratus::auth {

struct StoredKey {
  std::string kid;
  std::string pem;        // the private key
  Micros created = 0;     // published in the JWKS from here
  Micros signs_from = 0;  // the signer uses it from here (created, or later to let every node publish it first)
  bool operator==(const StoredKey&) const = default;
};

// What one decision changes: keys to store, kids to delete.
struct KeyChanges {
  std::vector<StoredKey> add;
  std::vector<std::string> remove;
  bool empty() const { return add.empty() && remove.empty(); }
};

class KeySource {
 public:
  using Decide = std::function<StatusOr<KeyChanges>(const std::vector<StoredKey>& keys)>;
  virtual ~KeySource() = default;
  // Every stored key, ordered by signs_from (then created).
  virtual StatusOr<std::vector<StoredKey>> Load() = 0;
  // Reads the keys, calls `decide` on them and stores its changes, with every other Update on
  // the same keys (this process's, or another node's) waiting until it is done; so when two
  // nodes find a rotation due at once, the second sees the first one's key. Returns the keys
  // after the change.
  virtual StatusOr<std::vector<StoredKey>> Update(const Decide& decide) = 0;
  // For messages: where the keys are ("/var/lib/stratus/oidc", "the oidc_keys table").
  virtual std::string Where() const = 0;
};

// <dir>/<created-micros>.pem, 0600 (signs_from is created). Exclusion is the data dir's lock:
// one process at a time uses a data dir.
std::unique_ptr<KeySource> MakeFileKeySource(std::string dir);

}  // namespace stratus::auth
