#!/usr/bin/env bash
# The house rule on file size: no tracked Rust file over 600 lines (split it
# by concern instead). Lists every file over the limit and exits 1.
# .ci/run calls it before the test suite.
#
#   hack/check-sizes.sh [MAX_LINES]   (default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
max=${1:-600}
over=$(git ls-files -z -- '*.rs' |
  xargs -0 -r wc -l |
  awk -v max="$max" '{ n = $1; sub(/^ *[0-9]+ /, "") }
    $0 != "total" && n + 0 > max { print "  " $0 ": " n " lines" }')
if [ -n "$over" ]; then
  echo "check-sizes: Rust files over $max lines:" >&2
  echo "$over" >&2
  exit 1
fi
echo "check-sizes: every tracked .rs file is at most $max lines"
