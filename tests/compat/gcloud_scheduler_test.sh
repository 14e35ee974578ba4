#!/usr/bin/env bash
# gcloud's own Cloud Scheduler commands (the real gcloud from the machine image) against a
# freshly started stratus: jobs create http / describe / list / update http / pause / resume /
# run / delete, the fields they show, gcloud's error texts for a missing job and a duplicate,
# and a restart in between that keeps the jobs. Runs on a server with --api-token (so a wrong
# token must fail too).
# With STRATUS_GCLOUD_CLUSTER_PG (a libpq conninfo; gcloud_cluster_test.sh sets it) the server
# is two `serve --store` nodes on a fresh database there (the restart restarts both; the jobs
# stay in the database), every gcloud command goes to the next node, and a [cluster] part
# checks that both nodes answered, one of them runs the executor, and a job run through gcloud
# reached its target.
#
# Usage: gcloud_scheduler_test.sh path/to/stratus   (ctest passes the binary)
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 path/to/stratus" >&2
  exit 2
fi
BIN=$(realpath "$1")
for tool in gcloud python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "FAIL: $tool is not installed (scripts/install-deps.sh installs it)"
    exit 1
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-gcloud-sched.XXXXXX")
SERVER_PIDS=()
TARGET_PID=
cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}" $TARGET_PID; do
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/compat/lib_gcloud.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib_gcloud.sh"
gcloud_private_config "$WORK/gcloud-config" catchup-compat
PROJECT=$CLOUDSDK_CORE_PROJECT
LOC=us-central1
TOKEN=sched-compat-token
OUT="$WORK/results"
: >"$OUT"
CLUSTER_PG=${STRATUS_GCLOUD_CLUSTER_PG:-}
CLUSTER_DB="gcloud_sched_$$"
NODES=1
if [ -n "$CLUSTER_PG" ]; then
  NODES=2
  psql "$CLUSTER_PG" -qc "DROP DATABASE IF EXISTS $CLUSTER_DB WITH (FORCE)" 2>/dev/null
  if ! psql "$CLUSTER_PG" -qc "CREATE DATABASE $CLUSTER_DB TEMPLATE template0"; then
    echo "FATAL: cannot create database $CLUSTER_DB" >&2
    exit 1
  fi
fi

# On a cluster each gcloud command goes to the next node (lib_gcloud.sh).
gcloud() { gcloud_round_robin CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDSCHEDULER "$@"; }

# Starts the server (on a cluster: both nodes, each on its own data dir); sets PORTS (one per
# node) and SERVER_PIDS.
start_server() {
  local node log port pid extra=()
  PORTS=()
  [ -z "$CLUSTER_PG" ] || extra=(--store "$CLUSTER_PG dbname=$CLUSTER_DB")
  for node in $(seq 1 "$NODES"); do
    log="$WORK/server-$node.log"
    "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data-$node" --redis-listen off --grpc-listen off \
      --api-token "$TOKEN" "${extra[@]}" >>"$log" 2>&1 &
    pid=$!
    SERVER_PIDS+=("$pid")
    port=
    for _ in $(seq 1 300); do
      if [ "$(grep -c '^stratus: ready$' "$log")" -ge "$START_ROUND" ]; then
        port=$(sed -n 's#^stratus: Cloud Tasks v2 API on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$log" | tail -n1)
        [ -n "$port" ] && break
      fi
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      sleep 0.05
    done
    if [ -z "$port" ]; then
      echo "FATAL: stratus did not become ready:" >&2
      cat "$log" >&2
      exit 1
    fi
    PORTS+=("$port")
  done
  local joined
  joined=$(IFS=,; echo "${PORTS[*]}")
  export CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDSCHEDULER="http://127.0.0.1:$joined/"
}
stop_server() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do
    kill -TERM "$pid"
    if wait "$pid"; then pass "server pid $pid stopped cleanly on SIGTERM"; else fail "server pid $pid exited with $? on SIGTERM"; fi
  done
  SERVER_PIDS=()
  PORTS=()
  START_ROUND=$((START_ROUND + 1))
}
START_ROUND=1

pass() { echo "PASS $1" >>"$OUT"; }
fail() { echo "FAIL $1" >>"$OUT"; }
# gc NAME OUTFILE ARGS...: gcloud must succeed; stdout to OUTFILE.
gc() {
  local name=$1 file=$2
  shift 2
  if gcloud "$@" >"$file" 2>"$file.err"; then
    pass "$name"
    return 0
  fi
  fail "$name: gcloud $* exited non-zero: $(tr '\n' ' ' <"$file.err" | cut -c1-600)"
  return 1
}
# gc_fails NAME PATTERN ARGS...: gcloud must fail with an error matching PATTERN (grep -E).
gc_fails() {
  local name=$1 pattern=$2
  shift 2
  if gcloud "$@" >"$WORK/fails.out" 2>"$WORK/fails.err"; then
    fail "$name: gcloud $* succeeded"
  elif grep -qE "$pattern" "$WORK/fails.err"; then
    pass "$name"
  else
    fail "$name: error does not match /$pattern/: $(tr '\n' ' ' <"$WORK/fails.err" | cut -c1-600)"
  fi
}
# expect NAME JSONFILE 'path=value' ...: each field has that value ('path=' means unset).
expect() {
  local name=$1 file=$2
  shift 2
  local bad
  bad=$(python3 - "$file" "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
bad = []
for spec in sys.argv[2:]:
    path, _, want = spec.partition('=')
    cur = doc
    for part in path.split('.'):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if want == '':
        if cur not in (None, '', {}, []):
            bad.append(f"{path}: expected unset, got {json.dumps(cur)}")
    elif str(cur) != want:
        bad.append(f"{path}: expected {want!r}, got {json.dumps(cur)}")
print('; '.join(bad))
PY
  )
  if [ -z "$bad" ]; then pass "$name"; else fail "$name: $bad"; fi
}

start_server
export CLOUDSDK_AUTH_ACCESS_TOKEN=$TOKEN
J=(--location="$LOC" --format=json)
JOBNAME="projects/$PROJECT/locations/$LOC/jobs"

# The CatchUp app's periodic jobs.
gc "create renew-webhooks" "$WORK/c1.json" scheduler jobs create http renew-webhooks "${J[@]}" \
  --schedule="0 */6 * * *" --time-zone="Europe/Berlin" --uri="http://127.0.0.1:9/jobs/renew-webhooks" \
  --http-method=post --message-body='{"batch":100}' --headers="Content-Type=application/json,X-App=catchup" \
  --oidc-service-account-email="jobs@$PROJECT.iam.gserviceaccount.com" --oidc-token-audience="https://catchup" \
  --attempt-deadline=320s --max-retry-attempts=3 --min-backoff=10s --max-backoff=300s --max-doublings=2 \
  --description="renew calendar webhooks"
expect "create renew-webhooks: fields" "$WORK/c1.json" "name=$JOBNAME/renew-webhooks" state=ENABLED \
  "schedule=0 */6 * * *" timeZone=Europe/Berlin httpTarget.uri=http://127.0.0.1:9/jobs/renew-webhooks \
  httpTarget.httpMethod=POST httpTarget.body=eyJiYXRjaCI6MTAwfQ== \
  httpTarget.headers.Content-Type=application/json httpTarget.headers.User-Agent=Google-Cloud-Scheduler \
  "httpTarget.oidcToken.serviceAccountEmail=jobs@$PROJECT.iam.gserviceaccount.com" \
  httpTarget.oidcToken.audience=https://catchup attemptDeadline=320s retryConfig.retryCount=3 \
  retryConfig.minBackoffDuration=10s retryConfig.maxBackoffDuration=300s retryConfig.maxDoublings=2 \
  "description=renew calendar webhooks"
gc "create health-check" "$WORK/c2.json" scheduler jobs create http webhook-health "${J[@]}" \
  --schedule="*/15 * * * *" --uri="http://127.0.0.1:9/jobs/webhook-health" --http-method=get
expect "create health-check: defaults" "$WORK/c2.json" httpTarget.httpMethod=GET attemptDeadline=180s \
  retryConfig.minBackoffDuration=5s retryConfig.maxBackoffDuration=3600s timeZone=Etc/UTC httpTarget.body=
gc_fails "create a duplicate" "ALREADY_EXISTS: Job $JOBNAME/webhook-health already exists" \
  scheduler jobs create http webhook-health --location="$LOC" --schedule="* * * * *" --uri=http://127.0.0.1:9/x
gc_fails "create with a bad schedule" "INVALID_ARGUMENT" \
  scheduler jobs create http bad --location="$LOC" --schedule="61 * * * *" --uri=http://127.0.0.1:9/x
gc_fails "create with a bad time zone" "INVALID_ARGUMENT" \
  scheduler jobs create http bad --location="$LOC" --schedule="* * * * *" --time-zone=Mars/Base --uri=http://127.0.0.1:9/x
gc_fails "create with a short attempt deadline" "INVALID_ARGUMENT: Job.attemptDeadline" \
  scheduler jobs create http bad --location="$LOC" --schedule="* * * * *" --attempt-deadline=5s --uri=http://127.0.0.1:9/x

gc "describe" "$WORK/d.json" scheduler jobs describe renew-webhooks "${J[@]}"
expect "describe: the created job" "$WORK/d.json" "name=$JOBNAME/renew-webhooks" state=ENABLED \
  "schedule=0 */6 * * *"
if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j.get("scheduleTime","") > j.get("userUpdateTime","") else 1)' "$WORK/d.json"; then
  pass "describe: scheduleTime is the next tick"
else
  fail "describe: scheduleTime is the next tick: $(cat "$WORK/d.json")"
fi
gc "list" "$WORK/l.json" scheduler jobs list "${J[@]}"
if python3 -c 'import json,sys; n=[j["name"].rsplit("/",1)[1] for j in json.load(open(sys.argv[1]))]; sys.exit(0 if n==["renew-webhooks","webhook-health"] else 1)' "$WORK/l.json"; then
  pass "list: both jobs"
else
  fail "list: both jobs: $(cat "$WORK/l.json")"
fi

gc "update http" "$WORK/u.json" scheduler jobs update http webhook-health "${J[@]}" --schedule="*/30 * * * *" \
  --update-headers=X-Check=deep --max-retry-attempts=2 --description="health, every half hour"
expect "update http: changed fields" "$WORK/u.json" "schedule=*/30 * * * *" httpTarget.headers.X-Check=deep \
  retryConfig.retryCount=2 "description=health, every half hour" httpTarget.httpMethod=GET \
  httpTarget.uri=http://127.0.0.1:9/jobs/webhook-health
gc "update http: clear the auth token" "$WORK/u2.json" scheduler jobs update http renew-webhooks "${J[@]}" --clear-auth-token
expect "update http: token gone, rest kept" "$WORK/u2.json" httpTarget.oidcToken= retryConfig.retryCount=3 \
  httpTarget.body=eyJiYXRjaCI6MTAwfQ==

gc "pause" "$WORK/p.out" scheduler jobs pause webhook-health --location="$LOC"
gc "describe paused" "$WORK/p.json" scheduler jobs describe webhook-health "${J[@]}"
expect "pause: state PAUSED" "$WORK/p.json" state=PAUSED
gc "resume" "$WORK/r.out" scheduler jobs resume webhook-health --location="$LOC"
gc "describe resumed" "$WORK/r.json" scheduler jobs describe webhook-health "${J[@]}"
expect "resume: state ENABLED" "$WORK/r.json" state=ENABLED
gc "run" "$WORK/run.out" scheduler jobs run renew-webhooks --location="$LOC"
gc_fails "describe a missing job" "NOT_FOUND: Job not found" scheduler jobs describe nope --location="$LOC"
CLOUDSDK_AUTH_ACCESS_TOKEN=wrong gc_fails "a wrong token" "UNAUTHENTICATED" scheduler jobs list --location="$LOC"

# A restart keeps the jobs, their state and their fields.
gc "pause before the restart" "$WORK/p2.out" scheduler jobs pause webhook-health --location="$LOC"
stop_server
start_server
gc "describe after the restart" "$WORK/after.json" scheduler jobs describe renew-webhooks "${J[@]}"
expect "restart: fields kept" "$WORK/after.json" "schedule=0 */6 * * *" timeZone=Europe/Berlin \
  retryConfig.retryCount=3 "description=renew calendar webhooks" httpTarget.headers.X-App=catchup
gc "describe paused after the restart" "$WORK/after2.json" scheduler jobs describe webhook-health "${J[@]}"
expect "restart: paused stays paused" "$WORK/after2.json" state=PAUSED

# On a cluster: a job run through gcloud (through either node) reaches its target once, exactly
# one node runs the executor, and both nodes answered.
if [ -n "$CLUSTER_PG" ]; then
  mkdir -p "$WORK/www" && echo hit >"$WORK/www/hit"
  /usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$WORK/www" >"$WORK/target.log" 2>&1 &
  TARGET_PID=$!
  tport=""
  for _ in $(seq 1 100); do
    tport=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$WORK/target.log" | head -n1)
    [ -n "$tport" ] && break
    sleep 0.1
  done
  if gcloud scheduler jobs create http cluster-run --location="$LOC" --schedule="0 3 * * *" \
    --uri="http://127.0.0.1:$tport/hit?via=scheduler" --http-method=get >/dev/null 2>"$WORK/cluster.err" &&
    gcloud scheduler jobs run cluster-run --location="$LOC" >/dev/null 2>>"$WORK/cluster.err" &&
    gcloud scheduler jobs run cluster-run --location="$LOC" >/dev/null 2>>"$WORK/cluster.err"; then
    for _ in $(seq 1 300); do
      [ "$(grep -c 'GET /hit?via=scheduler' "$WORK/target.log")" -ge 2 ] && break
      sleep 0.1
    done
    sleep 0.5 # a third (duplicate) request would come at once
    hits=$(grep -c '"GET /hit?via=scheduler HTTP/1.1" 200' "$WORK/target.log")
    if [ "$hits" = 2 ]; then pass "[cluster] two runs through the two nodes reached the target once each"; else
      fail "[cluster] two runs reached the target $hits times: $(tr '\n' ' ' <"$WORK/target.log" | cut -c1-300)"
    fi
  else
    fail "[cluster] creating or running the job failed: $(tr '\n' ' ' <"$WORK/cluster.err" | cut -c1-300)"
  fi
  gcloud scheduler jobs delete cluster-run --location="$LOC" >/dev/null 2>&1
  held=0
  for port in "${PORTS[@]}"; do
    m=$(curl -fsS -H 'Host: localhost' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/metrics")
    n=$(awk '/^stratus_api_requests_total/ {s += $NF} END {print s + 0}' <<<"$m")
    h=$(awk '/^stratus_scheduler_executor_held / {print $NF}' <<<"$m")
    held=$((held + ${h:-0}))
    if [ "${n%.*}" -gt 0 ]; then pass "[cluster] node on port $port answered $n API requests"; else
      fail "[cluster] node on port $port answered no API request"
    fi
  done
  if [ "$held" = 1 ]; then pass "[cluster] exactly one node runs the executor"; else
    fail "[cluster] $held nodes run the executor"
  fi
fi

gc "delete" "$WORK/del.out" scheduler jobs delete renew-webhooks --location="$LOC"
gc "delete the other" "$WORK/del2.out" scheduler jobs delete webhook-health --location="$LOC"
gc_fails "delete again" "NOT_FOUND" scheduler jobs delete renew-webhooks --location="$LOC"
gc "list after delete" "$WORK/l2.json" scheduler jobs list "${J[@]}"
if [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/l2.json")" = 0 ]; then
  pass "list after delete: empty"
else
  fail "list after delete: empty: $(cat "$WORK/l2.json")"
fi
stop_server

grep '^FAIL' "$OUT" || true
[ -z "$CLUSTER_PG" ] || grep '^PASS \[cluster\]' "$OUT" || true
PASSED=$(grep -c '^PASS' "$OUT")
FAILED=$(grep -c '^FAIL' "$OUT")
if [ "$((PASSED + FAILED))" -lt 38 ]; then
  echo "FAIL only $((PASSED + FAILED)) checks ran (expected 38 or more)"
  FAILED=$((FAILED + 1))
fi
if [ "$FAILED" -ne 0 ]; then
  for log in "$WORK"/server-*.log; do
    echo "--- server log ($(basename "$log" .log)) ---"
    tail -n 20 "$log" 2>/dev/null
  done
fi
[ -z "$CLUSTER_PG" ] || psql "$CLUSTER_PG" -qc "DROP DATABASE IF EXISTS $CLUSTER_DB WITH (FORCE)" >/dev/null 2>&1
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
