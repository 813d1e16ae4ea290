#!/usr/bin/env bash
# Build the local images moat's quick start and tests use (cached):
#   busybox:latest     Debian's busybox-static, with root and a user 1000
#   moat-probe:latest  busybox plus hack/probe/probe (syscall probes)
# Unless --quick (the quick start needs busybox only), also:
#   moat-bench:latest  busybox plus hack/bench/sysbench
#   moat-debian:latest debootstrapped Debian 12 with python3 and redis
# (every integration test may use these: tests/src's setup() builds them).
# --bench is accepted for older callers; it is the default now.
# With --programs also (hack/bench/run.sh's real programs; large, so never
# by default):
#   moat-programs:latest debootstrapped Debian 12 with git, gcc, make,
#                      nginx-light, apache2-utils and python3, plus zlib's
#                      Debian source unpacked in /src/zlib (fetched on the
#                      host: the container needs no network) and
#                      hack/bench/sysbench in /usr/local/bin (its own copy:
#                      moat-bench:latest is rebuilt by whichever work tree
#                      ran hack/images.sh last)
# With --cpython also (tests/tests/cpython.rs, hack/cpython.sh):
#   moat-pytest:latest debootstrapped Debian 12 with python3 and CPython's
#                      regression tests (libpython3.11-testsuite)
. "$(dirname "$0")/lib.sh"
need_root

bench=1 cpython=0 programs=0
for arg in "$@"; do
  case $arg in
    --bench) bench=1 ;;
    --quick) bench=0 ;;
    --cpython) cpython=1 ;;
    --programs) programs=1 ;;
    *) die "usage: $0 [--quick] [--bench] [--cpython] [--programs]" ;;
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

# debian IMAGE HASH ROOTFS-NAME MARKER PACKAGES [EXTRA]: a minimal Debian 12
# with PACKAGES, debootstrapped once into $MOAT_STATE/ROOTFS-NAME (kept while
# the file MARKER exists in it), then given EXTRA ROOTFS (a function, run
# before each import) and imported with the label HASH.
debian() {
  local image=$1 hash=$2 dir=$MOAT_STATE/$3 marker=$4 packages=$5 extra=${6:-}
  [ "$(image_hash "$image")" = "$hash" ] && return 0
  if [ ! -e "$dir$marker" ]; then
    log "debootstrapping Debian 12 with $packages for $image (a few minutes, once)"
    rm -rf "$dir"
    debootstrap --variant=minbase --include="$packages" \
      bookworm "$dir" http://deb.debian.org/debian > "$MOAT_LOGS/debootstrap-$3.log" 2>&1 \
      || die "debootstrap failed: see $MOAT_LOGS/debootstrap-$3.log"
    rm -rf "$dir"/var/cache/apt/archives/*.deb
  fi
  [ -z "$extra" ] || "$extra" "$dir"
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

# zlib_source ROOTFS: zlib's Debian source package, unpacked into
# ROOTFS/src/zlib (a deb-src list of our own, so the host's apt setup is
# left as it was).
zlib_source() {
  local root=$1 apt; apt=$(mktemp -d)
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/dl"
  echo 'deb-src http://deb.debian.org/debian bookworm main' > "$apt/sources.list"
  local opts=(-q -o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=-
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
  if ! { apt-get "${opts[@]}" update && (cd "$apt/dl" && apt-get "${opts[@]}" source --download-only zlib); } \
      > "$MOAT_LOGS/zlib-source.log" 2>&1; then
    die "fetching zlib's source failed: see $MOAT_LOGS/zlib-source.log"
  fi
  mkdir -p "$root/src/zlib"
  tar -C "$root/src/zlib" --strip-components=1 -xf "$apt"/dl/zlib_*.orig.tar.*
  rm -rf "$apt"
}

programs_extra() { # programs_extra ROOTFS
  [ -e "$1/src/zlib/configure" ] || zlib_source "$1"
  gcc -static -O2 -o "$1/usr/local/bin/sysbench" "$MOAT_REPO/hack/bench/sysbench.c"
}

if [ "$programs" = 1 ]; then
  debian moat-programs:latest "bookworm-programs-1-$(sha256sum "$MOAT_REPO/hack/bench/sysbench.c" | cut -c1-12)" \
    programs-rootfs /usr/sbin/nginx git,gcc,make,libc6-dev,nginx-light,apache2-utils,python3 programs_extra
fi
