#!/usr/bin/env bash
# gcloud's own Cloud Scheduler commands (the real gcloud from the machine image) against a
# freshly started stratus: jobs create http / describe / list / update http / pause / resume /
# run / delete, the fields they show, gcloud's error texts for a missing job and a duplicate,
# and a restart in between that keeps the jobs. Runs on a server with --api-token (so a wrong
# token must fail too).
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
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
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
DATA="$WORK/data"
OUT="$WORK/results"
: >"$OUT"

# Starts the server on DATA; sets PORT and SERVER_PID.
start_server() {
  local log="$WORK/server.log"
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA" --redis-listen off --grpc-listen off --api-token "$TOKEN" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if grep -q '^stratus: ready$' "$log"; then
      PORT=$(sed -n 's#^stratus: Cloud Tasks v2 API on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$log" | head -n1)
      [ -n "$PORT" ] && break
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.05
  done
  if [ -z "${PORT:-}" ]; then
    echo "FATAL: stratus did not become ready:" >&2
    cat "$log" >&2
    exit 1
  fi
  export CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDSCHEDULER="http://127.0.0.1:$PORT/"
}
stop_server() {
  kill -TERM "$SERVER_PID"
  if wait "$SERVER_PID"; then pass "server stopped cleanly on SIGTERM"; else fail "server exited with $? on SIGTERM"; fi
  SERVER_PID=
  PORT=
}

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
PASSED=$(grep -c '^PASS' "$OUT")
FAILED=$(grep -c '^FAIL' "$OUT")
if [ "$((PASSED + FAILED))" -lt 38 ]; then
  echo "FAIL only $((PASSED + FAILED)) checks ran (expected 38 or more)"
  FAILED=$((FAILED + 1))
fi
if [ "$FAILED" -ne 0 ]; then
  echo "--- server log ---"
  tail -n 20 "$WORK/server.log" 2>/dev/null
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
