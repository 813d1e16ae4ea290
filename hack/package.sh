#!/usr/bin/env bash
# Build the Debian package moat_<version>_<arch>.deb from the workspace.
#
#   hack/package.sh [--no-build] [--out DIR]
#
# --no-build packs the release binaries already in target/release (the
# package test uses it); --out picks the directory (default target/debian).
# The package is laid out in a staging tree and packed with dpkg-deb, dpkg's
# own builder (no extra tool to install); its dependencies come from
# dpkg-shlibdeps. Installing it registers nothing with Docker or containerd:
# `moat install [--containerd|--docker-shim]` does that.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=1
out="$repo/target/debian"
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0 ;;
    --out) out=$2; shift ;;
    *) echo "usage: $0 [--no-build] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done

bins=(moat moat-sentry moat-gofer containerd-shim-moat-v1)
cd "$repo"
if [ "$build" = 1 ]; then
  cargo build --release --quiet -p moat-cli -p moat-sentry -p moat-containerd-shim -p moat-gofer
fi
for b in "${bins[@]}"; do
  [ -x "target/release/$b" ] || { echo "error: target/release/$b missing (drop --no-build)" >&2; exit 1; }
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
doc="$root/usr/share/doc/moat"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/etc/moat" "$doc"

for b in "${bins[@]}"; do
  install -m 0755 "target/release/$b" "$root/usr/bin/$b"
  strip --strip-unneeded "$root/usr/bin/$b"
done
install -m 0644 hack/deb/shim.toml "$root/etc/moat/shim.toml"
install -m 0644 hack/deb/copyright hack/deb/README.Debian hack/deb/daemon.json "$doc/"
install -m 0644 hack/containerd/config.toml "$doc/containerd-config.toml"
install -m 0644 hack/containerd/runtimeclass.yaml hack/containerd/pod.yaml "$doc/"

# Depends: what the binaries link against, as dpkg-shlibdeps reads it (it
# wants a debian/control beside it).
mkdir -p "$stage/src/debian"
printf 'Source: moat\n\nPackage: moat\nArchitecture: any\n' >"$stage/src/debian/control"
depends=$(cd "$stage/src" && dpkg-shlibdeps -O "${bins[@]/#/$root/usr/bin/}" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "error: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: moat
Version: $version
Architecture: $arch
Maintainer: moat developers <moat@localhost>
Installed-Size: $size
Depends: $depends
Recommends: containerd | docker.io
Section: admin
Priority: optional
Description: sandboxing OCI container runtime (gVisor-style, in Rust)
 moat runs each container's processes natively under a seccomp stack that
 a supervising sentry owns: calls touching kernel objects the sandbox should
 not share are answered by the sentry, dangerous ones are denied.
 .
 This package holds the runc-compatible CLI (moat), the sentry, the gofer and
 containerd-shim-moat-v1. It registers nothing by itself: run
 "moat install" (Docker) or "moat install --containerd" (Kubernetes/CRI).
EOF
echo /etc/moat/shim.toml >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  xargs -0 md5sum >DEBIAN/md5sums)

mkdir -p "$out"
deb="$out/moat_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
