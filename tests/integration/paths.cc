#include "integration/paths.h"

namespace stratus::testing {

const char* StratusBinaryPath() {
  return STRATUS_BINARY_PATH;
}
const char* StratusSourceDir() {
  return STRATUS_SOURCE_PATH;
}
const char* PgStatePath() {
  return STRATUS_PG_STATE_PATH;
}

}  // namespace stratus::testing
