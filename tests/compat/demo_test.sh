#!/usr/bin/env bash
# The CatchUp demo (`./x demo`) end to end: stratus, the reference worker built from
# examples/catchup, queues.yaml applied by the CLI, every job type enqueued through the SDK.
# Every job must end as the demo says it should: eleven done, the scripted 503 done on its
# second attempt, and the payload without a userId failed permanently and dead-lettered.
set -euo pipefail
BIN=$(realpath "$1")
BUILD=$(dirname "$(dirname "$(dirname "$BIN")")")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
# Three ports the kernel reports free right now (bound to port 0, then released). Another test
# may take one before the demo binds it; then the demo says "did not start" and runs again.
free_ports() {
  python3 -c 'import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'
}
ok=0
for attempt in 1 2 3; do
  read -r api_port redis_port worker_port <<<"$(free_ports)"
  if BUILD=$BUILD API_PORT=$api_port REDIS_PORT=$redis_port WORKER_PORT=$worker_port \
      timeout 180 "$ROOT/examples/catchup/demo.sh" >"$OUT" 2>&1; then
    ok=1; break
  fi
  grep -q "did not start" "$OUT" || break  # only a lost port race is worth another run
  echo "demo attempt $attempt: a port was taken meanwhile ($api_port $redis_port $worker_port), retrying"
done
[ "$ok" -eq 1 ] || { echo "FAIL: the demo did not finish"; cat "$OUT"; exit 1; }
fail=0
check() {  # description, grep pattern, expected count
  local n; n=$(grep -c -E "$2" "$OUT" || true)
  if [ "$n" -eq "$3" ]; then echo "PASS $1"; else echo "FAIL $1: $n lines match /$2/, want $3"; fail=1; fi
}
check "eleven queues applied" '^applied projects/catchup-local/locations/us-central1/queues/' 11
check "thirteen jobs enqueued" '^enqueued ' 13
check "every job type done on its first attempt" '^  [a-z-]+ \[[a-z-]+-queue\]: done on attempt 1:' 11
check "the scripted 503 retried once, then done" '^  adaptive-sync \(first attempt gets a 503\).*done on attempt 2' 1
check "the bad payload failed permanently" '^  calendar-sync \(no userId\).*FAILED permanently' 1
check "and was dead-lettered" '"reason":"permanent failure status 422"' 1
check "nothing left pending" 'still pending' 0
[ "$fail" -eq 0 ] || { cat "$OUT"; exit 1; }
