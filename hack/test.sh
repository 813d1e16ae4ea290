#!/usr/bin/env bash
# moat's test command: unit tests, then integration tests against real
# containerd and dockerd started (and stopped) by this script.
. "$(dirname "$0")/lib.sh"
need_root
cd "$MOAT_REPO"
"$MOAT_REPO/hack/deps.sh"
log "unit tests"
cargo test --workspace --exclude moat-tests 2>&1
"$MOAT_REPO/hack/install.sh"
trap '"$MOAT_REPO/hack/daemons.sh" stop' EXIT
"$MOAT_REPO/hack/daemons.sh" start
"$MOAT_REPO/hack/images.sh"
log "integration tests"
cargo test -p moat-tests -- --test-threads=2 2>&1
