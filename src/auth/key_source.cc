#include "auth/key_source.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "auth/oidc.h"
#include "common/files.h"

namespace stratus::auth {
namespace {

namespace fs = std::filesystem;

class FileKeySource final : public KeySource {
 public:
  explicit FileKeySource(std::string dir) : dir_(std::move(dir)) {}

  StatusOr<std::vector<StoredKey>> Load() override {
    std::vector<std::pair<StoredKey, fs::path>> files;
    STRATUS_RETURN_IF_ERROR(Scan(&files));
    std::vector<StoredKey> out;
    out.reserve(files.size());
    for (auto& [key, path] : files) out.push_back(std::move(key));
    return out;
  }

  StatusOr<std::vector<StoredKey>> Update(const Decide& decide) override {
    std::lock_guard lock(mu_);
    std::vector<std::pair<StoredKey, fs::path>> files;
    STRATUS_RETURN_IF_ERROR(Scan(&files));
    std::vector<StoredKey> keys;
    keys.reserve(files.size());
    for (const auto& f : files) keys.push_back(f.first);
    STRATUS_ASSIGN_OR_RETURN(KeyChanges changes, decide(keys));
    if (!changes.add.empty()) {
      Status made = CreatePrivateDir(dir_);
      if (!made.ok()) return Unavailable("cannot create " + dir_ + ": " + made.message());
    }
    for (const StoredKey& k : changes.add) {
      Status st = WriteFileAtomic((fs::path(dir_) / (std::to_string(k.created) + ".pem")).string(), k.pem, 0600);
      if (!st.ok()) return Unavailable("cannot write the OIDC key: " + st.message());
    }
    for (const std::string& kid : changes.remove) {
      for (const auto& [key, path] : files) {
        std::error_code ec;
        if (key.kid == kid) fs::remove(path, ec);
      }
    }
    return Load();
  }

  std::string Where() const override { return dir_; }

 private:
  // Files are named <created-micros>.pem; others are not ours.
  Status Scan(std::vector<std::pair<StoredKey, fs::path>>* out) const {
    std::error_code ec;
    if (!fs::is_directory(dir_, ec)) return Status::Ok();
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      if (entry.path().extension() != ".pem") continue;
      StoredKey key;
      try {
        key.created = std::stoll(entry.path().stem().string());
      } catch (...) {
        continue;
      }
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      key.pem = ss.str();
      auto kid = KidOfPem(key.pem);
      if (!kid.ok()) {
        // Never a silent new key: tokens signed with this one would stop verifying.
        return FailedPrecondition("the OIDC signing key " + entry.path().string() +
                                  " is empty or not a PEM private key; restore it, or remove it to make a new one");
      }
      key.kid = *kid;
      key.signs_from = key.created;
      out->emplace_back(std::move(key), entry.path());
    }
    if (ec) return Unavailable("cannot read " + dir_ + ": " + ec.message());
    std::sort(out->begin(), out->end(), [](const auto& a, const auto& b) { return a.first.created < b.first.created; });
    return Status::Ok();
  }

  const std::string dir_;
  std::mutex mu_;
};

}  // namespace

std::unique_ptr<KeySource> MakeFileKeySource(std::string dir) {
  return std::make_unique<FileKeySource>(std::move(dir));
}

}  // namespace stratus::auth
