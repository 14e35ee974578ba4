#!/usr/bin/env bash
# The alert rules of the monitoring kit through promtool (Debian's prometheus package):
#   promtool_rules.sh check SRC   promtool check rules deploy/prometheus/alerts.yml
#   promtool_rules.sh test SRC    promtool test rules deploy/prometheus/alerts_test.yml
# ctest runs both (tests/CMakeLists.txt). A missing promtool fails: CI must have it
# (scripts/install-deps.sh installs it).
set -euo pipefail
if [ $# -ne 2 ] || { [ "$1" != check ] && [ "$1" != test ]; }; then
  echo "usage: $0 check|test path/to/source" >&2
  exit 2
fi
PROMTOOL=${PROMTOOL:-$(command -v promtool || true)}
if [ -z "$PROMTOOL" ]; then
  echo "FAIL: promtool is not installed (apt-get install prometheus; scripts/install-deps.sh does)" >&2
  exit 1
fi
cd "$2/deploy/prometheus"
if [ "$1" = check ]; then
  "$PROMTOOL" check rules alerts.yml
else
  "$PROMTOOL" test rules alerts_test.yml
fi
