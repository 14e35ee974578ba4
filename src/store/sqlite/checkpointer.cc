#include "store/sqlite/checkpointer.h"
#include "common/thread_name.h"

namespace stratus::sqlite {

StatusOr<std::unique_ptr<Checkpointer>> Checkpointer::Start(const std::string& path, sqlite3* writer, int wal_pages) {
  STRATUS_ASSIGN_OR_RETURN(auto db, Db::Open(path));
  STRATUS_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL"));
  return std::unique_ptr<Checkpointer>(new Checkpointer(std::move(db), writer, wal_pages));
}

Checkpointer::Checkpointer(std::unique_ptr<Db> db, sqlite3* writer, int wal_pages)
    : db_(std::move(db)), writer_(writer), wal_pages_(wal_pages) {
  // Replaces the automatic checkpoint: SQLite keeps one WAL hook per connection.
  sqlite3_wal_hook(writer_, &Checkpointer::OnCommit, this);
  thread_ = std::thread([this] {
    NameThisThread("sqlite-ckpt");
    Loop();
  });
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
  sqlite3_wal_hook(writer_, nullptr, nullptr);
}

// Runs on the writer thread after each commit, with the WAL's size in frames. The WAL only
// starts over when a checkpoint has copied all of it before the next write begins, which a
// checkpoint beside a busy writer rarely manages; so a request goes out per `wal_pages_` new
// frames (not per commit), and past the backstop the writer checkpoints the few frames left.
int Checkpointer::OnCommit(void* self, sqlite3* db, const char* schema, int pages) {
  auto* c = static_cast<Checkpointer*>(self);
  if (pages < c->requested_at_) c->requested_at_ = 0;  // the WAL started over
  if (pages >= c->wal_pages_ * kBackstop) {
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    c->requested_at_ = 0;
  } else if (pages - c->requested_at_ >= c->wal_pages_) {
    c->requested_at_ = pages;
    {
      std::lock_guard lock(c->mu_);
      c->wanted_ = true;
    }
    c->cv_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return wanted_ || stopping_; });
      if (stopping_) return;
      wanted_ = false;
    }
    // PASSIVE never waits for the writer or readers: it copies what it can. A busy result
    // just means the next commit asks again.
    sqlite3_wal_checkpoint_v2(db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
}

}  // namespace stratus::sqlite
