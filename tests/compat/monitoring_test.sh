#!/usr/bin/env bash
# The monitoring kit (deploy/) against the real binary: the dashboard is importable, every
# expression of it and of the alert rules parses with promtool, and every metric they name
# is exported by a running server that created, delivered and dead-lettered tasks
# (tests/compat/monitoring_check.py). A missing promtool fails.
# Usage: monitoring_test.sh path/to/stratus   (ctest passes the binary)
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 path/to/stratus" >&2
  exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$HERE/monitoring_check.py" "$(realpath "$1")" "$(cd "$HERE/../.." && pwd)"
