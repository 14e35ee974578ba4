// A database of its own for one test, on the run's shared PostgreSQL (tests/support/postgres.sh,
// started by ctest's `postgres` fixture). Creating one is cheap (a copy of template0), so
// every test starts from nothing and tests never see each other's rows.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <fstream>
#include <string>

#include "integration/paths.h"

namespace stratus::testing {

// The conninfo of the run's PostgreSQL; fails the test (not skips) when it is not running.
inline std::string SharedPostgres() {
  std::ifstream in(STRATUS_TEST_PG_STATE);
  std::string conninfo;
  std::getline(in, conninfo);
  if (conninfo.empty()) {
    ADD_FAILURE() << "no PostgreSQL for this run: run the test through ctest (its `postgres` fixture starts one), "
                     "or `bash tests/support/postgres.sh start "
                  << STRATUS_TEST_PG_STATE << "` first";
  }
  return conninfo;
}

// Runs one statement on the maintenance database; the error text, or "" when it worked.
inline std::string PostgresAdmin(const std::string& sql) {
  PGconn* c = PQconnectdb(SharedPostgres().c_str());
  std::string error;
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(c);
  return error;
}

// Drops and creates database `name` (letters, digits, underscores); its conninfo.
inline std::string FreshPostgresDb(const std::string& name) {
  std::string err = PostgresAdmin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  EXPECT_EQ(err, "");
  err = PostgresAdmin("CREATE DATABASE " + name + " TEMPLATE template0");
  EXPECT_EQ(err, "");
  return SharedPostgres() + " dbname=" + name;
}

// Runs `sql` on the database `conninfo` names: the first column of the first row ("" when no
// row came back), or the error text when the statement failed.
inline std::string PgScalar(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  std::string out = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) out = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  return out;
}

// The conninfo of an existing database `name`.
inline std::string PostgresDb(const std::string& name) {
  return SharedPostgres() + " dbname=" + name;
}

}  // namespace stratus::testing
