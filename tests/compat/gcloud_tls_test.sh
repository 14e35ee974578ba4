#!/usr/bin/env bash
# gcloud against stratus over HTTPS (--tls-cert/--tls-key) with a test CA made here by the
# openssl CLI and trusted through CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: create a queue, create an
# HTTP task, list both. Without the CA gcloud must refuse the server's certificate.
#
# Usage: gcloud_tls_test.sh path/to/stratus   (ctest passes the binary)
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 path/to/stratus" >&2
  exit 2
fi
BIN=$(realpath "$1")
for tool in gcloud openssl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool is not installed" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-gcloud-tls.XXXXXX")
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/compat/lib_gcloud.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib_gcloud.sh"
gcloud_private_config "$WORK/gcloud-config" tls-compat
export CLOUDSDK_AUTH_ACCESS_TOKEN=local
# Trust only what this script says: requests prefers REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE from the
# environment over gcloud's custom_ca_certs_file.
unset CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR HTTPLIB2_CA_CERTS

# The test CA and a server certificate for 127.0.0.1.
(
  cd "$WORK" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
      -days 2 -subj '/CN=stratus gcloud test CA' &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr \
      -subj /CN=127.0.0.1 &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 7 -days 2 -extfile ext.cnf -out server.pem
) >"$WORK/openssl.log" 2>&1 || { echo "FAIL: openssl could not make the test certificates" >&2; cat "$WORK/openssl.log" >&2; exit 1; }

LOG="$WORK/server.log"
"$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --redis-listen off --grpc-listen off \
  --tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key" >"$LOG" 2>&1 &
SERVER_PID=$!
URL=
for _ in $(seq 1 300); do
  if grep -q '^stratus: ready$' "$LOG"; then
    URL=$(sed -n 's#^stratus: Cloud Tasks v2 API on \(https://[^ ]*\).*#\1#p' "$LOG" | head -n1)
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.05
done
if [ -z "$URL" ]; then
  echo "FAIL: stratus did not become ready with an https:// URL:" >&2
  cat "$LOG" >&2
  exit 1
fi
export CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS="$URL/"

FAILED=0
pass() { echo "PASS $1"; }
fail() {
  echo "FAIL $1"
  FAILED=$((FAILED + 1))
}
gc() {  # gc NAME OUTFILE ARGS...
  local name=$1 file=$2
  shift 2
  if CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE="$WORK/ca.pem" gcloud "$@" >"$file" 2>"$file.err"; then
    pass "$name"
  else
    fail "$name: gcloud $* exited non-zero: $(tr '\n' ' ' <"$file.err" | cut -c1-600)"
  fi
}

LOC=us-central1
# Two hours ahead (the limit is 30 days), so it is not delivered during the test.
SCHED=$(python3 -c 'import datetime; t=datetime.datetime.now(datetime.timezone.utc)+datetime.timedelta(hours=2); print(t.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"))')
gc "queues create over https" "$WORK/queue.json" tasks queues create tls-queue --location=$LOC --format=json
gc "create-http-task over https" "$WORK/task.json" tasks create-http-task tls-task --queue=tls-queue --location=$LOC \
  --url=https://tls-target.example.test/job --schedule-time="$SCHED" --format=json
gc "queues list over https" "$WORK/queues.json" tasks queues list --location=$LOC --format=json
gc "tasks list over https" "$WORK/tasks.json" tasks list --queue=tls-queue --location=$LOC --format=json
if python3 - "$WORK/queues.json" "$WORK/tasks.json" <<'PY'; then pass "the lists show the queue and the task"; else fail "the lists do not show the queue and the task"; fi
import json, sys
queues = [q["name"] for q in json.load(open(sys.argv[1]))]
tasks = [t["name"] for t in json.load(open(sys.argv[2]))]
base = "projects/tls-compat/locations/us-central1/queues/tls-queue"
sys.exit(0 if base in queues and base + "/tasks/tls-task" in tasks else 1)
PY

# Without the test CA the certificate is not trusted.
if gcloud tasks queues list --location=$LOC --format=json >"$WORK/untrusted.out" 2>"$WORK/untrusted.err"; then
  fail "gcloud without the CA accepted the server's certificate"
elif grep -qiE 'certificate|SSL' "$WORK/untrusted.err"; then
  pass "gcloud without the CA refuses the certificate"
else
  fail "gcloud without the CA failed for another reason: $(tr '\n' ' ' <"$WORK/untrusted.err" | cut -c1-600)"
fi

if ! kill -0 "$SERVER_PID" 2>/dev/null; then fail "stratus died during the test"; fi
[ "$FAILED" -ne 0 ] && tail -n 20 "$LOG"
echo "$FAILED failed"
[ "$FAILED" -eq 0 ]
