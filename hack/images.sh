#!/usr/bin/env bash
# Build the local images moat's quick start and tests use (cached):
#   busybox:latest     Debian's busybox-static, with root and a user 1000
#   moat-probe:latest  busybox plus hack/probe/probe (syscall probes)
# With --bench also:
#   moat-bench:latest  busybox plus hack/bench/sysbench
#   moat-debian:latest debootstrapped Debian 12 with python3 and redis
. "$(dirname "$0")/lib.sh"
need_root

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

[ "${1:-}" = --bench ] || exit 0

with_static moat-bench:latest "$MOAT_REPO/hack/bench/sysbench.c" sysbench

debian_hash=bookworm-python3-redis-1
if [ "$(image_hash moat-debian:latest)" != "$debian_hash" ]; then
  dir=$MOAT_STATE/debian-rootfs
  if [ ! -x "$dir/usr/bin/redis-server" ]; then
    log "debootstrapping Debian 12 with python3 and redis (a few minutes, once)"
    rm -rf "$dir"
    debootstrap --variant=minbase --include=python3-minimal,redis-server,redis-tools \
      bookworm "$dir" http://deb.debian.org/debian > "$MOAT_LOGS/debootstrap.log" 2>&1 \
      || die "debootstrap failed: see $MOAT_LOGS/debootstrap.log"
    rm -rf "$dir"/var/cache/apt/archives/*.deb
  fi
  build moat-debian:latest "$debian_hash" "$dir"
fi
