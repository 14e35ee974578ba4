#!/usr/bin/env bash
# gcloud (the real one, from the machine image) against a freshly started stratus, running the
# CatchUp app's own queue commands: create its 11 queues, list, describe and check every retry
# and rate field, update, pause, resume, purge, create-http-task / list / describe / delete,
# and the app's delete-all-queues loop. The whole round runs twice: on an open server, and on
# a server with --api-token (where a wrong token must fail).
# With STRATUS_GCLOUD_CLUSTER_PG (a libpq conninfo; gcloud_cluster_test.sh sets it) each
# server is two `serve --store` nodes on a fresh database there, every gcloud command goes to
# the next node, and a [cluster] part checks that both nodes answered and a task was delivered.
#
# Usage: gcloud_test.sh path/to/stratus   (ctest passes the binary)
# Expected-field lists are built by word splitting on purpose (no value holds a space).
# shellcheck disable=SC2046
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 path/to/stratus" >&2
  exit 2
fi
BIN=$(realpath "$1")
if ! command -v gcloud >/dev/null 2>&1; then
  echo "SKIP: gcloud is not installed"
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "SKIP: python3 (used to read gcloud's JSON) is not installed"
  exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-gcloud.XXXXXX")
SERVER_PIDS=()
cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${SERVER_PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Only this script's environment: a private gcloud config, no prompts, no network side trips.
# shellcheck source=tests/compat/lib_gcloud.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib_gcloud.sh"
gcloud_private_config "$WORK/gcloud-config" catchup-compat

CLUSTER_PG=${STRATUS_GCLOUD_CLUSTER_PG:-}
# On a cluster each gcloud command goes to the next node (lib_gcloud.sh).
gcloud() {
  if [ -z "$CLUSTER_PG" ]; then
    command gcloud "$@"
    return
  fi
  gcloud_round_robin CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS "$@"
}

LOC=us-central1
PROJECT=$CLOUDSDK_CORE_PROJECT
RESULTS="$WORK/results"
: >"$RESULTS"

# Starts a server; sets PORT and SERVER_PID. Waits (bounded) for "stratus: ready". On a
# cluster: two nodes on a fresh database, PORT their ports joined by a comma.
start_server() {
  if [ -n "$CLUSTER_PG" ]; then
    local tag=$1 db="gcloud_${$}_$1" ports=()
    shift
    psql "$CLUSTER_PG" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" && psql "$CLUSTER_PG" -qc "CREATE DATABASE $db TEMPLATE template0" ||
      { echo "FATAL: cannot create database $db" >&2; exit 1; }
    for node in 1 2; do
      start_node "$tag-$node" --store "$CLUSTER_PG dbname=$db" --redis-listen off "$@"
      ports+=("$PORT")
    done
    PORT=$(IFS=,; echo "${ports[*]}")
    return 0
  fi
  start_node "$@"
}

start_node() {
  local tag=$1
  shift
  local log="$WORK/server-$tag.log"
  "$BIN" serve --listen 127.0.0.1:0 --grpc-listen off --data-dir "$WORK/data-$tag" "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  SERVER_PIDS+=("$SERVER_PID")
  local i
  for i in $(seq 1 300); do
    if grep -q '^stratus: ready$' "$log"; then
      PORT=$(sed -n 's#^stratus: Cloud Tasks v2 API on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$log" | head -n1)
      [ -n "$PORT" ] && return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.05
  done
  echo "FATAL: stratus did not become ready:" >&2
  cat "$log" >&2
  exit 1
}

# ---- one round of the app's commands against one server -------------------------------------
# run_round TAG TOKEN: writes "PASS name" / "FAIL name: detail" lines to $WORK/round-TAG.out.
run_round() {
  local tag=$1 token=$2 port=$3
  local out="$WORK/round-$tag.out"
  local tmp="$WORK/tmp-$tag"
  mkdir -p "$tmp"
  : >"$out"
  export CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS="http://127.0.0.1:$port/"
  export CLOUDSDK_AUTH_ACCESS_TOKEN="$token"

  pass() { echo "PASS [$tag] $1" >>"$out"; }
  fail() { echo "FAIL [$tag] $1" >>"$out"; }
  # gc NAME OUTFILE ARGS...: runs gcloud, stdout to OUTFILE, checks it succeeded.
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
  # gc_fails NAME PATTERN ARGS...: gcloud must fail, and its error must match PATTERN (grep -E).
  gc_fails() {
    local name=$1 pattern=$2
    shift 2
    if gcloud "$@" >"$tmp/fails.out" 2>"$tmp/fails.err"; then
      fail "$name: gcloud $* succeeded: $(tr '\n' ' ' <"$tmp/fails.out" | cut -c1-300)"
    elif grep -qE "$pattern" "$tmp/fails.err"; then
      pass "$name"
    else
      fail "$name: error does not match /$pattern/: $(tr '\n' ' ' <"$tmp/fails.err" | cut -c1-600)"
    fi
  }
  # expect NAME JSONFILE 'path=value' ...: every listed field has that value ('path=' means unset).
  expect() {
    local name=$1 file=$2
    shift 2
    local diff
    if diff=$(python3 - "$file" "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
bad = []
for spec in sys.argv[2:]:
    path, _, want = spec.partition('=')
    cur = doc
    for part in path.split('.'):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            cur = None
            break
    if want == '':
        if cur not in (None, '', {}, []):
            bad.append(f"{path}: expected unset, got {json.dumps(cur)}")
        continue
    if isinstance(cur, (int, float)) and not isinstance(cur, bool):
        try:
            ok = float(want) == float(cur)
        except ValueError:
            ok = False
    else:
        ok = cur == want
    if not ok:
        bad.append(f"{path}: expected {want!r}, got {json.dumps(cur)}")
print('; '.join(bad))
sys.exit(1 if bad else 0)
PY
    ); then
      pass "$name"
    else
      fail "$name: $diff"
    fi
  }
  # The project's documented maxBurstSize rule: ceil(rate / 5), clamped to [10, 500].
  burst_for() { python3 -c "import math,sys; print(int(min(500, max(10, math.ceil(float(sys.argv[1]) / 5)))))" "$1"; }

  # The CatchUp app's queue script, verbatim flags (name|flags).
  local -a QUEUES=(
    "token-refresh-queue|--max-attempts=3 --min-backoff=60s --max-backoff=3600s --max-doublings=2 --max-dispatches-per-second=10"
    "calendar-sync-queue|--max-attempts=5 --min-backoff=30s --max-backoff=1800s --max-doublings=3 --max-dispatches-per-second=20"
    "google-contacts-sync-queue|--max-attempts=5 --min-backoff=30s --max-backoff=1800s --max-doublings=3 --max-dispatches-per-second=10"
    "adaptive-sync-queue|--max-attempts=5 --min-backoff=10s --max-backoff=300s --max-doublings=3"
    "webhook-renewal-queue|--max-attempts=5 --min-backoff=30s --max-backoff=1800s --max-doublings=3"
    "suggestion-regeneration-queue|--max-attempts=3 --min-backoff=60s --max-backoff=3600s --max-doublings=2"
    "batch-notifications-queue|--max-attempts=5 --min-backoff=10s --max-backoff=300s --max-doublings=3 --max-dispatches-per-second=50"
    "suggestion-generation-queue|--max-attempts=3 --min-backoff=60s --max-backoff=3600s --max-doublings=2"
    "webhook-health-check-queue|--max-attempts=3 --min-backoff=30s --max-backoff=900s --max-doublings=2"
    "notification-reminder-queue|--max-attempts=3 --min-backoff=60s --max-backoff=1800s --max-doublings=2"
    "token-health-reminder-queue|--max-attempts=3 --min-backoff=60s --max-backoff=1800s --max-doublings=2"
  )

  # Expected JSON fields of a queue from its flags (defaults for the rest).
  expected_fields() {
    local q=$1 flags=$2 rate=500 concurrent=1000 attempts=100 minb=0.100s maxb=3600s doublings=16 f
    for f in $flags; do
      case $f in
        --max-attempts=*) attempts=${f#*=} ;;
        --min-backoff=*) minb=${f#*=} ;;
        --max-backoff=*) maxb=${f#*=} ;;
        --max-doublings=*) doublings=${f#*=} ;;
        --max-dispatches-per-second=*) rate=${f#*=} ;;
        --max-concurrent-dispatches=*) concurrent=${f#*=} ;;
      esac
    done
    echo "name=projects/$PROJECT/locations/$LOC/queues/$q" \
      "rateLimits.maxDispatchesPerSecond=$rate" \
      "rateLimits.maxConcurrentDispatches=$concurrent" \
      "rateLimits.maxBurstSize=$(burst_for "$rate")" \
      "retryConfig.maxAttempts=$attempts" \
      "retryConfig.minBackoff=$minb" \
      "retryConfig.maxBackoff=$maxb" \
      "retryConfig.maxDoublings=$doublings" \
      "retryConfig.maxRetryDuration=" \
      "state=RUNNING"
  }

  # 1. Create the 11 queues (concurrently, as independent gcloud processes).
  local entry q flags
  local -a pids=()
  for entry in "${QUEUES[@]}"; do
    q=${entry%%|*}
    flags=${entry#*|}
    # shellcheck disable=SC2086
    gc "create $q" "$tmp/create-$q.json" tasks queues create "$q" --location=$LOC $flags --format=json &
    pids+=($!)
  done
  wait "${pids[@]}"
  for entry in "${QUEUES[@]}"; do
    q=${entry%%|*}
    flags=${entry#*|}
    [ -s "$tmp/create-$q.json" ] && expect "create $q returns the queue" "$tmp/create-$q.json" $(expected_fields "$q" "$flags")
  done

  # 2. List them.
  if gc "queues list" "$tmp/list.json" tasks queues list --location=$LOC --format=json; then
    local want_names got_names
    want_names=$(for entry in "${QUEUES[@]}"; do echo "projects/$PROJECT/locations/$LOC/queues/${entry%%|*}"; done | sort)
    got_names=$(python3 -c 'import json,sys; [print(q["name"]) for q in json.load(open(sys.argv[1]))]' "$tmp/list.json" | sort)
    if [ "$want_names" = "$got_names" ]; then pass "list shows exactly the 11 queues"; else
      fail "list shows exactly the 11 queues: got [$(echo "$got_names" | tr '\n' ' ')]"
    fi
  fi

  # 3. Describe each and check every retry and rate field against its flags.
  pids=()
  for entry in "${QUEUES[@]}"; do
    q=${entry%%|*}
    gc "describe $q" "$tmp/describe-$q.json" tasks queues describe "$q" --location=$LOC --format=json &
    pids+=($!)
  done
  wait "${pids[@]}"
  for entry in "${QUEUES[@]}"; do
    q=${entry%%|*}
    flags=${entry#*|}
    [ -s "$tmp/describe-$q.json" ] && expect "describe $q: every retry and rate field" "$tmp/describe-$q.json" $(expected_fields "$q" "$flags")
  done

  # 4. Update one queue: the rate fields change, nothing else does.
  q=batch-notifications-queue
  gc "update $q" "$tmp/update.out" tasks queues update "$q" --location=$LOC \
    --max-dispatches-per-second=50 --max-concurrent-dispatches=2000
  gc "describe $q after update" "$tmp/updated.json" tasks queues describe "$q" --location=$LOC --format=json &&
    expect "update: rate fields changed, retry fields kept" "$tmp/updated.json" \
      $(expected_fields "$q" "--max-attempts=5 --min-backoff=10s --max-backoff=300s --max-doublings=3 --max-dispatches-per-second=50 --max-concurrent-dispatches=2000")

  # 5. Pause (state PAUSED, seen through the state filter) and resume.
  q=adaptive-sync-queue
  gc "pause $q" "$tmp/pause.out" tasks queues pause "$q" --location=$LOC
  if gc "list --filter=state:PAUSED" "$tmp/paused.json" tasks queues list --location=$LOC --filter=state:PAUSED --format=json; then
    python3 -c 'import json,sys; qs=json.load(open(sys.argv[1])); assert len(qs)==1, len(qs); json.dump(qs[0], open(sys.argv[2],"w"))' \
      "$tmp/paused.json" "$tmp/paused-one.json" 2>/dev/null || echo '{}' >"$tmp/paused-one.json"
    expect "pause: only $q listed as PAUSED, config intact" "$tmp/paused-one.json" \
      $(expected_fields "$q" "--max-attempts=5 --min-backoff=10s --max-backoff=300s --max-doublings=3" | sed 's/state=RUNNING/state=PAUSED/')
  fi
  gc "resume $q" "$tmp/resume.out" tasks queues resume "$q" --location=$LOC
  gc "describe resumed $q" "$tmp/resumed.json" tasks queues describe "$q" --location=$LOC --format=json &&
    expect "resume: state RUNNING, config intact" "$tmp/resumed.json" \
      $(expected_fields "$q" "--max-attempts=5 --min-backoff=10s --max-backoff=300s --max-doublings=3")

  # 6. An HTTP task with every flag the app uses, then list, describe, delete.
  q=calendar-sync-queue
  local sched body='{"userId":"u42","full":true}'
  sched=$(python3 -c 'import datetime; t=datetime.datetime.now(datetime.timezone.utc)+datetime.timedelta(hours=2); print(t.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"))')
  local task_name="projects/$PROJECT/locations/$LOC/queues/$q/tasks/calendar-sync-u42"
  local sa="catchup-tasks@$PROJECT.iam.gserviceaccount.com"
  gc "create-http-task" "$tmp/task.json" tasks create-http-task calendar-sync-u42 --queue=$q --location=$LOC \
    --url=https://catchup-api.example.run.app/api/jobs/calendar-sync \
    --schedule-time="$sched" \
    --header='Content-Type: application/json' --header='X-Job-Type: calendar-sync, full' \
    --body-content="$body" \
    --oidc-service-account-email="$sa" --oidc-token-audience=https://catchup-api.example.run.app \
    --format=json
  local task_fields=(
    "name=$task_name"
    "scheduleTime=$sched"
    "httpRequest.url=https://catchup-api.example.run.app/api/jobs/calendar-sync"
    "httpRequest.httpMethod=POST"
    "httpRequest.headers.Content-Type=application/json"
    "httpRequest.headers.X-Job-Type=calendar-sync, full"
    "httpRequest.oidcToken.serviceAccountEmail=$sa"
    "httpRequest.oidcToken.audience=https://catchup-api.example.run.app"
    "dispatchDeadline=600s"
  )
  [ -s "$tmp/task.json" ] && expect "create-http-task returns the task" "$tmp/task.json" "${task_fields[@]}"
  gc "create-http-task with a generated id" "$tmp/task2.json" tasks create-http-task --queue=$q --location=$LOC \
    --url=http://127.0.0.1:9/unused --method=GET --format=json &
  gc_fails "create-http-task with a taken name: 409 ALREADY_EXISTS" 'ALREADY_EXISTS|already exists' \
    tasks create-http-task calendar-sync-u42 --queue=$q --location=$LOC --url=https://catchup-api.example.run.app/x
  wait
  if gc "tasks list" "$tmp/tasks.json" tasks list --queue=$q --location=$LOC --format=json; then
    local n
    n=$(python3 -c 'import json,sys; ts=json.load(open(sys.argv[1])); print(len(ts), int(any(t["name"]==sys.argv[2] for t in ts)))' "$tmp/tasks.json" "$task_name")
    if [ "$n" = "2 1" ]; then pass "tasks list shows both tasks"; else fail "tasks list: got (count, has named) = $n"; fi
  fi
  gc "tasks describe --response-view=full" "$tmp/describe-task.json" tasks describe calendar-sync-u42 --queue=$q \
    --location=$LOC --response-view=full --format=json &&
    expect "describe: url, headers, oidc, schedule time, body" "$tmp/describe-task.json" "${task_fields[@]}" \
      "httpRequest.body=$(printf '%s' "$body" | base64 -w0)" view=FULL
  gc "tasks delete" "$tmp/delete-task.out" tasks delete calendar-sync-u42 --queue=$q --location=$LOC --quiet
  gc_fails "describe of a deleted task: NOT_FOUND" 'NOT_FOUND|existed recently' \
    tasks describe calendar-sync-u42 --queue=$q --location=$LOC

  # 7. Purge: the tasks are gone.
  q=webhook-renewal-queue
  local i
  for i in 1 2; do
    gc "create-http-task $i in $q" "$tmp/p$i.json" tasks create-http-task "renew-$i" --queue=$q --location=$LOC \
      --url="http://127.0.0.1:9/api/jobs/webhook-renewal?n=$i" --body-content="{\"n\":$i}" &
  done
  wait
  gc "purge $q" "$tmp/purge.out" tasks queues purge "$q" --location=$LOC --quiet
  gc "tasks list after purge" "$tmp/after-purge.txt" tasks list --queue=$q --location=$LOC --format='value(name)'
  if [ ! -s "$tmp/after-purge.txt" ]; then pass "purge: tasks gone"; else fail "purge: still listed: $(tr '\n' ' ' <"$tmp/after-purge.txt")"; fi

  # 8. The app's delete-all-queues loop.
  gcloud tasks queues list --location=$LOC --format='value(name)' 2>"$tmp/loop.err" |
    while read -r queue; do
      if gcloud tasks queues delete "$queue" --location=$LOC --quiet >/dev/null 2>>"$tmp/loop.err"; then
        echo "PASS [$tag] delete $queue" >>"$out"
      else
        echo "FAIL [$tag] delete $queue: $(tail -n1 "$tmp/loop.err")" >>"$out"
      fi
    done
  if [ "$(grep -c "^PASS \[$tag\] delete [a-z-]*-queue$" "$out")" -eq 11 ]; then pass "delete loop deleted 11 queues"; else
    fail "delete loop deleted $(grep -c "^PASS \[$tag\] delete [a-z-]*-queue$" "$out") queues, not 11: $(tr '\n' ' ' <"$tmp/loop.err" | cut -c1-300)"
  fi
  if gc "queues list after the delete loop" "$tmp/final.txt" tasks queues list --location=$LOC --format='value(name)'; then
    if [ ! -s "$tmp/final.txt" ]; then pass "no queue left"; else fail "queues left: $(tr '\n' ' ' <"$tmp/final.txt")"; fi
  fi
}

# ---- round 1: an open server; round 2: --api-token, run at the same time -------------------
TOKEN="stratus-compat-$$-$RANDOM"
start_server open
PORT_OPEN=$PORT
start_server token --api-token "$TOKEN"
PORT_TOKEN=$PORT

(run_round open anything "$PORT_OPEN") &
ROUND1=$!
(run_round token "$TOKEN" "$PORT_TOKEN") &
ROUND2=$!

# A wrong token (and none at all) must be refused by the token server.
WRONG_OUT="$WORK/round-wrong.out"
: >"$WRONG_OUT"
(
  export CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS="http://127.0.0.1:$PORT_TOKEN/"
  export CLOUDSDK_AUTH_ACCESS_TOKEN="not-$TOKEN"
  if gcloud tasks queues list --location=$LOC --format=json >"$WORK/wrong.json" 2>"$WORK/wrong.err"; then
    echo "FAIL [wrong-token] queues list with a wrong token succeeded: $(cat "$WORK/wrong.json" | tr '\n' ' ')" >>"$WRONG_OUT"
  elif grep -q 'UNAUTHENTICATED\|401\|invalid authentication' "$WORK/wrong.err"; then
    echo "PASS [wrong-token] queues list with a wrong token: 401 UNAUTHENTICATED" >>"$WRONG_OUT"
  else
    echo "FAIL [wrong-token] wrong token failed, but not as 401: $(tr '\n' ' ' <"$WORK/wrong.err" | cut -c1-300)" >>"$WRONG_OUT"
  fi
  if gcloud tasks queues create intruder-queue --location=$LOC >/dev/null 2>"$WORK/wrong2.err"; then
    echo "FAIL [wrong-token] queues create with a wrong token succeeded" >>"$WRONG_OUT"
  else
    echo "PASS [wrong-token] queues create with a wrong token refused" >>"$WRONG_OUT"
  fi
) &
WRONG=$!

wait "$ROUND1" "$ROUND2" "$WRONG"

# The intruder queue must not exist (checked with the right token, after round 2 ended).
(
  export CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS="http://127.0.0.1:$PORT_TOKEN/"
  export CLOUDSDK_AUTH_ACCESS_TOKEN="$TOKEN"
  if gcloud tasks queues describe intruder-queue --location=$LOC >/dev/null 2>&1; then
    echo "FAIL [wrong-token] the queue created with a wrong token exists" >>"$WRONG_OUT"
  else
    echo "PASS [wrong-token] no queue was created with a wrong token" >>"$WRONG_OUT"
  fi
)

# On a cluster: a task created through one node is delivered (by whichever node dispatches
# its queue), and every node answered API requests.
if [ -n "$CLUSTER_PG" ]; then
  (
    mkdir -p "$WORK/www" && echo hit >"$WORK/www/hit"
    /usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$WORK/www" >"$WORK/target.log" 2>&1 &
    TARGET=$!
    trap 'kill $TARGET 2>/dev/null' EXIT
    tport=""
    for _ in $(seq 1 100); do
      tport=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$WORK/target.log" | head -n1)
      [ -n "$tport" ] && break
      sleep 0.1
    done
    export CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS="http://127.0.0.1:$PORT_OPEN/"
    export CLOUDSDK_AUTH_ACCESS_TOKEN=anything
    if gcloud tasks queues create deliver-queue --location=$LOC >/dev/null 2>"$WORK/deliver.err" &&
      gcloud tasks create-http-task delivered --queue=deliver-queue --location=$LOC --method=GET \
        --url="http://127.0.0.1:$tport/hit?via=gcloud" >/dev/null 2>>"$WORK/deliver.err"; then
      for _ in $(seq 1 300); do
        grep -q 'GET /hit?via=gcloud' "$WORK/target.log" && break
        sleep 0.1
      done
      if grep -q '"GET /hit?via=gcloud HTTP/1.1" 200' "$WORK/target.log"; then
        echo "PASS [cluster] the task created through gcloud was delivered" >>"$WRONG_OUT"
      else
        echo "FAIL [cluster] the task was not delivered: $(tr '\n' ' ' <"$WORK/target.log" | cut -c1-300)" >>"$WRONG_OUT"
      fi
      gone=""
      for _ in $(seq 1 100); do
        gcloud tasks list --queue=deliver-queue --location=$LOC --format='value(name)' >"$WORK/left.txt" 2>/dev/null &&
          [ ! -s "$WORK/left.txt" ] && gone=1 && break
        sleep 0.1
      done
      if [ -n "$gone" ]; then echo "PASS [cluster] the delivered task is gone from every node's list" >>"$WRONG_OUT"; else
        echo "FAIL [cluster] the delivered task is still listed" >>"$WRONG_OUT"
      fi
    else
      echo "FAIL [cluster] creating the queue or task failed: $(tr '\n' ' ' <"$WORK/deliver.err" | cut -c1-300)" >>"$WRONG_OUT"
    fi
  )
  for port in ${PORT_OPEN//,/ } ${PORT_TOKEN//,/ }; do
    n=$(curl -fsS -H 'Host: localhost' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/metrics" |
      awk '/^stratus_api_requests_total/ {s += $NF} END {print s + 0}')
    if [ "${n%.*}" -gt 0 ]; then echo "PASS [cluster] node on port $port answered $n API requests" >>"$WRONG_OUT"; else
      echo "FAIL [cluster] node on port $port answered no API request" >>"$WRONG_OUT"
    fi
  done
fi

# Both servers must still be up (no crash) and stop cleanly on SIGTERM.
for pid in "${SERVER_PIDS[@]}"; do
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    if wait "$pid"; then echo "PASS [server] pid $pid stopped cleanly on SIGTERM" >>"$WRONG_OUT"; else
      echo "FAIL [server] pid $pid exited with $? on SIGTERM" >>"$WRONG_OUT"
    fi
  else
    echo "FAIL [server] pid $pid died during the test" >>"$WRONG_OUT"
  fi
done
SERVER_PIDS=()

cat "$WORK"/round-open.out "$WORK"/round-token.out "$WRONG_OUT" >"$RESULTS"
grep '^FAIL' "$RESULTS" || true
[ -z "$CLUSTER_PG" ] || grep '^PASS \[cluster\]' "$RESULTS" || true
PASSED=$(grep -c '^PASS' "$RESULTS")
FAILED=$(grep -c '^FAIL' "$RESULTS")
# Each round must have run its full set of checks (a round that died early fails here).
OPEN_N=$(grep -c '^\(PASS\|FAIL\) \[open\]' "$RESULTS")
TOKEN_N=$(grep -c '^\(PASS\|FAIL\) \[token\]' "$RESULTS")
if [ "$OPEN_N" -ne "$TOKEN_N" ] || [ "$OPEN_N" -lt 75 ]; then
  echo "FAIL the rounds ran $OPEN_N and $TOKEN_N checks (expected the same, at least 75)"
  FAILED=$((FAILED + 1))
fi
if [ "$FAILED" -ne 0 ]; then
  for log in "$WORK"/server-*.log; do
    echo "--- server log ($(basename "$log" .log)) ---"
    tail -n 20 "$log" 2>/dev/null
  done
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
