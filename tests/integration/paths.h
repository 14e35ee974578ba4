// Where the integration tests find the stratus binary, the source tree and the shared
// PostgreSQL's conninfo. The paths are compiled into paths.cc alone, so the test files
// themselves do not depend on where the tree was cloned (and stay ccache hits across clones).
#pragma once

namespace stratus::testing {

const char* StratusBinaryPath();  // the built `stratus`
const char* StratusSourceDir();   // the repository root
const char* PgStatePath();        // written by tests/support/postgres.sh (the ctest fixture)

}  // namespace stratus::testing

#define STRATUS_BINARY ::stratus::testing::StratusBinaryPath()
#define STRATUS_SOURCE_DIR ::stratus::testing::StratusSourceDir()
#define STRATUS_TEST_PG_STATE ::stratus::testing::PgStatePath()
