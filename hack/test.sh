#!/usr/bin/env bash
# moat's test command: unit tests, then integration tests against real
# containerd and dockerd started (and stopped) by this script.
. "$(dirname "$0")/lib.sh"
need_root
cd "$MOAT_REPO"
out=$(mktemp)
status=0

# One closing line over every test binary, printed however the run ends
# (a failed install or image build counts as one failure).
closing() {
  local rc=$? passed failed
  # Only cargo's "test result:" lines count: a test's own output may
  # say "N failed" too (a stress-ng path did, once).
  passed=$(grep -oE '^test result: [A-Za-z]+\. [0-9]+ passed' "$out" | awk '{s+=$4} END {print s+0}')
  failed=$(grep -oE '^test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' "$out" | awk '{s+=$6} END {print s+0}')
  if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
  # The CRI tests start a second containerd (hack/cri.sh): stop it first.
  "$MOAT_REPO/hack/cri.sh" stop || true
  "$MOAT_REPO/hack/daemons.sh" stop || true
  rm -f "$out"
  echo "${passed} passed, ${failed} failed"
  [ "$failed" = 0 ] || exit 1
}
trap closing EXIT

"$MOAT_REPO/hack/deps.sh"
log "unit tests"
cargo test --workspace --exclude moat-tests 2>&1 | tee -a "$out" || status=1
"$MOAT_REPO/hack/install.sh"
"$MOAT_REPO/hack/daemons.sh" start
"$MOAT_REPO/hack/images.sh"
log "integration tests"
cargo test --no-fail-fast -p moat-tests --tests -- --test-threads=2 2>&1 | tee -a "$out" || status=1

# The version matrix's second column (hack/versions.sh): Docker 26 over
# containerd 1.7, and the CRI tests on containerd 1.7, from Debian 13.
log "Docker 26 and containerd 1.7"
"$MOAT_REPO/hack/cri.sh" stop || true
if "$MOAT_REPO/hack/versions.sh" fetch && "$MOAT_REPO/hack/versions.sh" start; then
  MOAT_DOCKER_HOST=unix:///run/moat-v26/docker.sock \
    cargo test --no-fail-fast -p moat-tests --test docker_versions 2>&1 | tee -a "$out" || status=1
  "$MOAT_REPO/hack/versions.sh" stop || true
  MOAT_CONTAINERD_BIN=$MOAT_STATE/trixie/containerd-1.7/usr/bin/containerd \
    cargo test --no-fail-fast -p moat-tests --test cri -- --test-threads=1 2>&1 | tee -a "$out" || status=1
  "$MOAT_REPO/hack/cri.sh" stop || true
else
  status=1
fi
exit "$status"
