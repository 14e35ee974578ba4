#!/usr/bin/env bash
# Installs everything stratus needs to build, test and benchmark (wrk, nginx, redis-benchmark
# and matplotlib are for bench/; date/tz gives cron its time zones, python3-croniter checks them,
# promtool checks the alert rules, tmux drives `stratus top` in its test; protobuf and grpc++ build the gRPC API, python3-grpcio
# is its second client; chromium runs the dashboard's browser tests), from Debian packages.
# Idempotent: skips apt when every package is already present.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates openssl
  libboost-dev libssl-dev libsqlite3-dev sqlite3 nlohmann-json3-dev libjemalloc-dev
  libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libpq-dev postgresql redis-server liblua5.1-0-dev
  clang clang-format clang-tidy libclang-rt-14-dev
  python3 python3-matplotlib
  redis-tools wrk nginx-light nghttp2-client
  libhowardhinnant-date-dev python3-croniter prometheus tmux
  python3-yaml
  protobuf-compiler libprotobuf-dev libgrpc++-dev protobuf-compiler-grpc python3-grpcio python3-protobuf
  chromium fonts-dejavu-core
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node.js runs the client-compatibility tests (@google-cloud/tasks, @upstash/redis, jose).
# The machine image ships Node 20; fall back to Debian's nodejs only if none is present.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
# gcloud ships on the machine image; Debian has no package for it.
command -v gcloud >/dev/null 2>&1 || echo "install-deps: gcloud not found; the gcloud compat test will be skipped" >&2
exit 0
