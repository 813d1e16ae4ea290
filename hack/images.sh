#!/usr/bin/env bash
# Build the local images moat's quick start and tests use (cached):
#   busybox:latest     Debian's busybox-static, with root and a user 1000
#   moat-probe:latest  busybox plus hack/probe/probe (syscall probes)
# Unless --quick (the quick start needs busybox only), also:
#   moat-bench:latest  busybox plus hack/bench/sysbench
#   moat-debian:latest debootstrapped Debian 12 with python3 and redis
# (every integration test may use these: tests/src's setup() builds them).
# --bench is accepted for older callers; it is the default now.
# With --cpython also (tests/tests/cpython.rs, hack/cpython.sh):
#   moat-pytest:latest debootstrapped Debian 12 with python3 and CPython's
#                      regression tests (libpython3.11-testsuite)
. "$(dirname "$0")/lib.sh"
need_root

bench=1 cpython=0
for arg in "$@"; do
  case $arg in
    --bench) bench=1 ;;
    --quick) bench=0 ;;
    --cpython) cpython=1 ;;
    *) die "usage: $0 [--quick] [--bench] [--cpython]" ;;
  esac
done

image_hash() { docker image inspect -f '{{index .Config.Labels "moat.hash"}}' "$1" 2>/dev/null || true; }

busybox_rootfs() {
  local dir=$1
  mkdir -p "$dir"/{bin,etc,tmp,root,home/user,proc,sys,dev,usr/bin,usr/sbin,sbin}
  cp /bin/busybox "$dir/bin/busybox"
  chroot "$dir" /bin/busybox --install -s
  printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' > "$dir/etc/passwd"
  printf 'root:x:0:\nuser:x:1000:\n' > "$dir/etc/group"
  chmod 1777 "$dir/tmp"
}

build() {
  local name=$1 hash=$2 dir=$3
  tar -C "$dir" -c . | docker import -c "LABEL moat.hash=$hash" -c 'CMD ["sh"]' - "$name" >/dev/null
  log "built $name"
}

bb_hash=$(sha256sum /bin/busybox | cut -c1-16)
if [ "$(image_hash busybox:latest)" != "$bb_hash" ]; then
  dir=$(mktemp -d); busybox_rootfs "$dir"; build busybox:latest "$bb_hash" "$dir"; rm -rf "$dir"
fi

# with_static IMAGE SOURCE BINARY: busybox plus one static C program.
with_static() {
  local image=$1 src=$2 bin=$3 hash dir
  hash=$( (cat "$(dirname "$src")"/*; echo "$bb_hash") | sha256sum | cut -c1-16)
  [ "$(image_hash "$image")" = "$hash" ] && return 0
  dir=$(mktemp -d); busybox_rootfs "$dir"
  gcc -static -O2 -o "$dir/bin/$bin" "$src"
  build "$image" "$hash" "$dir"; rm -rf "$dir"
}

with_static moat-probe:latest "$MOAT_REPO/hack/probe/probe.c" probe

# debian IMAGE HASH ROOTFS-NAME MARKER PACKAGES: a minimal Debian 12 with
# PACKAGES, debootstrapped once into $MOAT_STATE/ROOTFS-NAME (kept while
# the file MARKER exists in it) and imported with the label HASH.
debian() {
  local image=$1 hash=$2 dir=$MOAT_STATE/$3 marker=$4 packages=$5
  [ "$(image_hash "$image")" = "$hash" ] && return 0
  if [ ! -e "$dir$marker" ]; then
    log "debootstrapping Debian 12 with $packages for $image (a few minutes, once)"
    rm -rf "$dir"
    debootstrap --variant=minbase --include="$packages" \
      bookworm "$dir" http://deb.debian.org/debian > "$MOAT_LOGS/debootstrap-$3.log" 2>&1 \
      || die "debootstrap failed: see $MOAT_LOGS/debootstrap-$3.log"
    rm -rf "$dir"/var/cache/apt/archives/*.deb
  fi
  build "$image" "$hash" "$dir"
}

if [ "$bench" = 1 ]; then
  with_static moat-bench:latest "$MOAT_REPO/hack/bench/sysbench.c" sysbench
  debian moat-debian:latest bookworm-python3-redis-1 debian-rootfs \
    /usr/bin/redis-server python3-minimal,redis-server,redis-tools
fi

if [ "$cpython" = 1 ]; then
  debian moat-pytest:latest bookworm-python3-testsuite-1 pytest-rootfs \
    /usr/lib/python3.11/test/regrtest.py python3,libpython3.11-testsuite
fi
