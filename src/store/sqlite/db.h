// A thin RAII layer over one sqlite3 connection with a prepared-statement cache.
// A Db is used by one thread at a time.
#pragma once

#include <sqlite3.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "stratus/status.h"

namespace stratus::sqlite {

class Stmt;

class Db {
 public:
  static StatusOr<std::unique_ptr<Db>> Open(const std::string& path);
  ~Db();

  // Runs statements without results ("BEGIN", "PRAGMA ...", schema).
  Status Exec(const char* sql);
  // A cached prepared statement, reset and unbound.
  StatusOr<Stmt> Prepare(const char* sql);
  Status Error(std::string_view what) const;
  sqlite3* raw() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<const char*, sqlite3_stmt*> cache_;
};

// A borrowed cached statement; resets itself when it goes out of scope.
class Stmt {
 public:
  Stmt(Db* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  Stmt(const Stmt&) = delete;
  ~Stmt();

  Stmt& Bind(int i, std::string_view v);
  Stmt& BindBlob(int i, std::string_view v);
  Stmt& Bind(int i, int64_t v);
  // SQLITE_ROW -> true, SQLITE_DONE -> false, anything else -> error.
  StatusOr<bool> Step();
  Status Run();  // Step() expecting DONE

  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  std::string Text(int col) const;
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  int Changes() const { return sqlite3_changes(db_->raw()); }

 private:
  Db* db_;
  sqlite3_stmt* s_;
};

}  // namespace stratus::sqlite
