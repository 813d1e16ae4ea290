#!/usr/bin/env bash
# Install the Debian packages moat's quick start and tests need (idempotent).
. "$(dirname "$0")/lib.sh"
need_root
pkgs=(containerd containernetworking-plugins protobuf-compiler docker.io runc runsc busybox-static debootstrap strace jq gcc libc6-dev iproute2 procps stress-ng)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (rustup)"
# The fuzz targets (hack/fuzz.sh) run under cargo-fuzz.
command -v cargo-fuzz >/dev/null || { log "installing cargo-fuzz"; cargo install --locked cargo-fuzz; }
