#!/usr/bin/env bash
# The npm-client compatibility tests on a two-node cluster: every server the tests start is
# two `stratus serve --store` nodes on one PostgreSQL (a fresh database each), and the tests'
# helpers alternate between the nodes per call (tests/compat/node/lib/cluster.mjs). Runs the
# Cloud Tasks client suite, the bad-request table, the delivery tests, OIDC tokens included
# (the nodes get --oidc-issuer set to the proxy's URL, the one the tests call, as a cluster
# behind a load balancer would; its restart restarts both nodes on the same database, which
# holds the keys), and the Cloud Scheduler client suite (jobs are shared). Left out:
# delivery_crash (kill -9 of the whole server and a restart on the same data dir: a
# single-node test; takeover is cluster_dispatch_test's).
# PostgreSQL: the run's shared one (STRATUS_TEST_PG_STATE, ctest's `postgres` fixture), or,
# run by hand, one of its own from tests/support/postgres.sh.
set -euo pipefail
BIN=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/stratus-node-cluster.XXXXXX)
OWN_PG=""
cleanup() {
  [ -n "$OWN_PG" ] && bash "$HERE/../support/postgres.sh" stop "$OWN_PG" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ -n "${STRATUS_TEST_PG_STATE:-}" ]; then
  [ -s "$STRATUS_TEST_PG_STATE" ] || { echo "FAIL: no PostgreSQL in $STRATUS_TEST_PG_STATE (the postgres fixture did not start)"; exit 1; }
  PG=$(head -n1 "$STRATUS_TEST_PG_STATE")
else
  OWN_PG="$WORK/pg.state"
  bash "$HERE/../support/postgres.sh" start "$OWN_PG" >/dev/null
  PG=$(head -n1 "$OWN_PG")
fi
psql "$PG" -qAtc 'SELECT 1' >/dev/null || { echo "FAIL: PostgreSQL at '$PG' does not answer"; exit 1; }

cd "$HERE/node"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
REPORT="$WORK/report"
: >"$REPORT"
SUITES=(tasks_client bad_requests delivery_control delivery_deadletters delivery_headers delivery_oidc delivery_rate delivery_retry scheduler)
files=()
for s in "${SUITES[@]}"; do files+=("./$s.test.mjs"); done
STRATUS_BIN="$BIN" STRATUS_CLUSTER_PG="$PG" STRATUS_CLUSTER_REPORT="$REPORT" \
  node --test --test-concurrency=1 "${files[@]}"

# Each suite's clusters: both nodes answered, and tasks were dispatched (by either node).
echo "--- per cluster: API requests per node, tasks dispatched"
cat "$REPORT"
status=0
for s in "${SUITES[@]}"; do
  lines=$(grep "/$s.test.mjs " "$REPORT" || true)
  [ -n "$lines" ] || { echo "FAIL: $s started no cluster"; status=1; continue; }
  # The suite's main cluster is the busiest one.
  busiest=$(echo "$lines" | /usr/bin/python3 -c '
import re, sys
best = max((l for l in sys.stdin), key=lambda l: sum(map(int, re.search(r"api=(\S+)", l).group(1).split(","))))
print(best.strip())')
  counts=$(echo "$busiest" | sed 's/.* api=\([^ ]*\) .*/\1/')
  if echo ",$counts," | grep -q ',0,'; then echo "FAIL: $s: a node answered no API request ($counts)"; status=1; fi
done
dispatched=$(sed -n 's/.* dispatched=\([0-9.]*\)$/\1/p' "$REPORT" | paste -sd+ | bc)
[ "${dispatched%.*}" -gt 0 ] || { echo "FAIL: no task was dispatched on any cluster"; status=1; }
[ "$status" -eq 0 ] && echo "ok: node_cluster_test ($dispatched tasks dispatched)"
exit "$status"
