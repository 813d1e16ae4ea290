#!/usr/bin/env bash
# moat's test command: unit tests, then integration tests against real
# containerd and dockerd started (and stopped) by this script.
. "$(dirname "$0")/lib.sh"
need_root
cd "$MOAT_REPO"
"$MOAT_REPO/hack/deps.sh"
out=$(mktemp)
# The CRI tests start a second containerd (hack/cri.sh): stop it first.
trap '"$MOAT_REPO/hack/cri.sh" stop; "$MOAT_REPO/hack/daemons.sh" stop; rm -f "$out"' EXIT

log "unit tests"
cargo test --workspace --exclude moat-tests 2>&1 | tee -a "$out"
"$MOAT_REPO/hack/install.sh"
"$MOAT_REPO/hack/daemons.sh" start
"$MOAT_REPO/hack/images.sh"
log "integration tests"
cargo test --no-fail-fast -p moat-tests --tests -- --test-threads=2 2>&1 | tee -a "$out"

# One closing line over every test binary.
passed=$(grep -o '[0-9]* passed' "$out" | awk '{s+=$1} END {print s+0}')
failed=$(grep -o '[0-9]* failed' "$out" | awk '{s+=$1} END {print s+0}')
echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
