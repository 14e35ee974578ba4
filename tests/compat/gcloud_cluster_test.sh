#!/usr/bin/env bash
# gcloud_test.sh on two-node clusters: each of its servers (open, and --api-token) is two
# `stratus serve --store` nodes on one PostgreSQL, every gcloud command goes to the next node
# (the API endpoint override alternates per command), and both nodes must have answered and a
# task created through gcloud must be delivered. Then gcloud_scheduler_test.sh the same way:
# gcloud's Cloud Scheduler commands alternating over two nodes, a restart of both, one node
# running the executor and jobs run through gcloud reaching their target once each. PostgreSQL: the run's shared one
# (STRATUS_TEST_PG_STATE, ctest's `postgres` fixture), or, run by hand, one of its own.
set -euo pipefail
BIN=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
command -v gcloud >/dev/null || { echo "FAIL: gcloud is not installed"; exit 1; }
OWN_PG=""
cleanup() { [ -z "$OWN_PG" ] || bash "$HERE/../support/postgres.sh" stop "$OWN_PG" >/dev/null 2>&1 || true; }
trap cleanup EXIT
if [ -n "${STRATUS_TEST_PG_STATE:-}" ]; then
  [ -s "$STRATUS_TEST_PG_STATE" ] || { echo "FAIL: no PostgreSQL in $STRATUS_TEST_PG_STATE (the postgres fixture did not start)"; exit 1; }
  PG=$(head -n1 "$STRATUS_TEST_PG_STATE")
else
  OWN_PG=$(mktemp -u /tmp/stratus-gcloud-cluster-pg.XXXXXX)
  bash "$HERE/../support/postgres.sh" start "$OWN_PG" >/dev/null
  PG=$(head -n1 "$OWN_PG")
fi
psql "$PG" -qAtc 'SELECT 1' >/dev/null || { echo "FAIL: PostgreSQL at '$PG' does not answer"; exit 1; }
out=$(mktemp)
STRATUS_GCLOUD_CLUSTER_PG="$PG" bash "$HERE/gcloud_test.sh" "$BIN" | tee "$out"
# The cluster part ran (its checks are not in the rounds' counts).
n=$(grep -c '^PASS \[cluster\]' "$out" || true)
rm -f "$out"
[ "$n" -eq 6 ] || { echo "FAIL: $n of the 6 [cluster] checks passed"; exit 1; }
out=$(mktemp)
STRATUS_GCLOUD_CLUSTER_PG="$PG" bash "$HERE/gcloud_scheduler_test.sh" "$BIN" | tee "$out"
n=$(grep -c '^PASS \[cluster\]' "$out" || true)
rm -f "$out"
[ "$n" -eq 4 ] || { echo "FAIL: $n of the 4 Cloud Scheduler [cluster] checks passed"; exit 1; }
echo "ok: gcloud_cluster_test"
