# Shared helpers for moat's hack/ scripts. Source it; do not run it.
set -euo pipefail

MOAT_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOAT_STATE=${MOAT_STATE:-/var/lib/moat-hack}
MOAT_LOGS=${MOAT_LOGS:-/var/log/moat-hack}
mkdir -p "$MOAT_STATE" "$MOAT_LOGS"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (sudo $0)"; }

# wait_for SECONDS CMD...: poll until CMD succeeds.
wait_for() {
  local limit=$1; shift
  local i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -le $((limit * 10)) ] || return 1
    sleep 0.1
  done
}
