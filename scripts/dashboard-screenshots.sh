#!/usr/bin/env bash
# Refreshes the dashboard screenshots in docs/dashboard/ (docs/dashboard.md): starts stratus
# with a minute of made-up traffic and photographs each page in headless chromium, with the
# same puppeteer-core setup as the dashboard tests (tests/compat/ui/).
#   scripts/dashboard-screenshots.sh [path/to/stratus] [traffic seconds, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=$(realpath "${1:-build/src/cli/stratus}")
cd tests/compat/ui
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
STRATUS_BIN="$BIN" node screenshots.mjs "$ROOT/docs/dashboard" "${2:-60}"
