#!/usr/bin/env bash
# Build moat and install it into /usr/local/bin, then register it with Docker.
# MOAT_PREFIX and MOAT_RUNTIME_NAME install a second copy under another
# directory and Docker runtime name (e.g. a work tree's build beside main's).
. "$(dirname "$0")/lib.sh"
need_root
cd "$MOAT_REPO"
prefix=${MOAT_PREFIX:-/usr/local/bin}
name=${MOAT_RUNTIME_NAME:-moat}
log "building moat (release)"
cargo build --release --quiet -p moat-cli -p moat-sentry -p moat-containerd-shim -p moat-gofer
mkdir -p "$prefix"
for bin in moat moat-sentry containerd-shim-moat-v1 moat-gofer; do
  # Copy then rename: running sentries keep the old file.
  install -m 0755 "target/release/$bin" "$prefix/.$bin.new"
  mv -f "$prefix/.$bin.new" "$prefix/$bin"
done
mkdir -p /etc/docker
"$prefix/moat" install --runtime "$name" >/dev/null
"$MOAT_REPO/hack/daemons.sh" reload
log "installed $("$prefix/moat" --version | head -1) as Docker runtime $name"
