#!/usr/bin/env bash
# The CatchUp demo in one command (`./x demo` builds first): starts stratus on a fresh data
# dir, applies queues.yaml, starts the reference worker, enqueues every job type through the
# SDK, and prints what happened to each. Ports: API_PORT (8123), REDIS_PORT (8079),
# WORKER_PORT (8080).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/src/cli/stratus
EX=$BUILD/examples/catchup
API_PORT=${API_PORT:-8123}
REDIS_PORT=${REDIS_PORT:-8079}
WORKER_PORT=${WORKER_PORT:-8080}
for f in "$BIN" "$EX/catchup-worker" "$EX/catchup-demo"; do
  [ -x "$f" ] || { echo "demo: $f is missing; run ./x demo (it builds first)" >&2; exit 2; }
done

WORK=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_line() {  # file, text, what
  for _ in $(seq 1 150); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: $3 did not start:" >&2
  cat "$1" >&2
  exit 1
}

API=http://127.0.0.1:$API_PORT
REDIS=http://127.0.0.1:$REDIS_PORT
"$BIN" serve --listen 127.0.0.1:"$API_PORT" --redis-listen 127.0.0.1:"$REDIS_PORT" --redis-token demo-token --grpc-listen off \
  --data-dir "$WORK/stratus-data" --no-task-log >"$WORK/stratus.log" 2>&1 &
pids+=($!)
wait_line "$WORK/stratus.log" "stratus: ready" "stratus"
echo "== stratus on $API (Redis REST on $REDIS)"

echo "== queues.yaml"
"$BIN" queues apply examples/catchup/queues.yaml --server "$API"

"$EX/catchup-worker" --port "$WORKER_PORT" --issuer "$API" --redis-url "$REDIS" --redis-token demo-token \
  >"$WORK/worker.out" 2>"$WORK/worker.log" &
pids+=($!)
wait_line "$WORK/worker.out" "catchup-worker: jobs on" "the worker"
echo "== worker: $(cat "$WORK/worker.out")"

echo "== enqueue every job type"
"$EX/catchup-demo" --server "$API" --service-url "http://127.0.0.1:$WORKER_PORT" --redis-url "$REDIS" \
  --redis-token demo-token
echo "== dead letters of calendar-sync-queue"
curl -s "$API/stratus/v1/projects/catchup-local/locations/us-central1/queues/calendar-sync-queue/deadLetters" | head -c 600
echo

echo "== schedules.yaml (the periodic jobs, each ticking into its queue)"
CATCHUP_WORKER_URL="http://127.0.0.1:$WORKER_PORT" "$BIN" schedules apply examples/catchup/schedules.yaml --server "$API"
JOBS_API="$API/v1/projects/catchup-local/locations/us-central1/jobs"
echo "== run each periodic job once now (jobs:run), then its record"
for job in webhook-renewal webhook-health-check notification-reminder token-health-reminder; do
  curl -s -X POST "$JOBS_API/$job:run" -o /dev/null
done
sleep 2
for job in webhook-renewal webhook-health-check notification-reminder token-health-reminder; do
  curl -s "$JOBS_API/$job" | tr -d '\n' | grep -o '"\(name\|scheduleTime\|lastAttemptTime\|status\)": *\("[^"]*"\|{[^}]*}\)' |
    tr '\n' ' '
  echo
done
echo "== the worker's log for those four deliveries (through each job's queue)"
grep -h '"job request"' "$WORK/worker.log" "$WORK/worker.out" 2>/dev/null | tail -4 | cut -c1-400
