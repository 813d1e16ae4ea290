#!/usr/bin/env bash
# hack/bench/run.sh [--quick] [--write]: moat against runc and gVisor's runsc,
# measured in one run through the same dockerd, interleaved, medians.
# --quick: a few seconds per item (the test suite runs it so it cannot rot).
# --write: also write BENCHMARKS.md at the repository root.
# MOAT_RUNTIME_NAME: the Docker runtime measured as moat (default moat), e.g.
# a work tree's build installed by `MOAT_PREFIX=... MOAT_RUNTIME_NAME=...
# hack/install.sh`; its CLI and containerd shim are taken from beside it.
# Rows: system calls and cold starts, then real programs (programs.sh).
. "$(dirname "$0")/../lib.sh"
need_root
QUICK=0 WRITE=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --write) WRITE=1 ;;
    *) die "usage: $0 [--quick] [--write]" ;;
  esac
done
RUNTIMES=(runc runsc moat)
MOAT_RT=${MOAT_RUNTIME_NAME:-moat}
if [ "$QUICK" = 1 ]; then
  REPS=2 CALLS=4000 FILES=1000 MIB=16 REDIS_N=2000 PY=3
else
  REPS=7 CALLS=200000 FILES=10000 MIB=256 REDIS_N=50000 PY=20
fi
"$MOAT_REPO/hack/daemons.sh" start
"$MOAT_REPO/hack/images.sh" --bench --programs
# The moat binary Docker runs as $MOAT_RT (its shim lies beside it).
MOAT_BIN=$(jq -r --arg n "$MOAT_RT" '.runtimes[$n].path // empty' /etc/docker/daemon.json)
[ -x "$MOAT_BIN" ] || die "no Docker runtime $MOAT_RT in /etc/docker/daemon.json (hack/install.sh)"
dockrt() { if [ "$1" = moat ]; then echo "$MOAT_RT"; else echo "$1"; fi; }
. "$MOAT_REPO/hack/bench/programs.sh"
RES=$(mktemp -d)
# Debian's runsc chowns the host's /dev/null (a container's stdin) to
# nobody: put its owner back when the benchmark ends.
null_owner=$(stat -c %u:%g /dev/null)
trap 'rm -rf "$RES"; chown "$null_owner" /dev/null' EXIT
DR=(docker run --rm --network=none)

# record ITEM RUNTIME VALUE
record() { echo "$3" >> "$RES/${1//\//_}.$2"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

bench_cold_docker() {
  local t
  for rt in "${RUNTIMES[@]}"; do
    t=$(date +%s%N); "${DR[@]}" --runtime="$(dockrt "$rt")" busybox true; record cold_docker_ms "$rt" "$(ms_since "$t")"
  done
}

bundle=$MOAT_STATE/bench-bundle
make_bundle() {
  rm -rf "$bundle"; mkdir -p "$bundle/rootfs"
  local c; c=$(docker create busybox true)
  docker export "$c" | tar -C "$bundle/rootfs" -x; docker rm "$c" >/dev/null
  (cd "$bundle" && runc spec && jq '.process.terminal=false | .process.args=["true"]' config.json > c.json && mv c.json config.json)
}
cli() { # cli RUNTIME ARGS...: the runtime's own CLI, without Docker
  case "$1" in
    runc) shift; runc --root "$MOAT_STATE/bench-root-runc" "$@" ;;
    runsc) shift; runsc --network=none --root "$MOAT_STATE/bench-root-runsc" "$@" ;;
    moat) shift; "$MOAT_BIN" --root "$MOAT_STATE/bench-root-moat" "$@" ;;
  esac
}
bench_cold_cli() {
  local t
  for rt in "${RUNTIMES[@]}"; do
    t=$(date +%s%N); cli "$rt" run --bundle "$bundle" "bench-$$" >/dev/null
    record cold_cli_ms "$rt" "$(ms_since "$t")"
  done
}

# Through containerd's task API, no Docker: moat's own shim
# (containerd-shim-moat-v1) against containerd's runc shim driving runc,
# and driving runsc (Debian ships no runsc shim; Docker drives it so too).
CTR=(ctr -n moat-bench)
prepare_ctr() {
  "${CTR[@]}" images check name==docker.io/library/busybox:latest 2>/dev/null | grep -q busybox ||
    docker save busybox | "${CTR[@]}" images import - >/dev/null
  printf '#!/bin/sh\nexec runsc --network=none "$@"\n' > "$MOAT_STATE/runsc-nonet"
  chmod +x "$MOAT_STATE/runsc-nonet"
}
ctr_runtime() { # the `ctr run` flags for RUNTIME
  case "$1" in
    runc) echo "--runtime io.containerd.runc.v2" ;;
    runsc) echo "--runtime io.containerd.runc.v2 --runc-binary $MOAT_STATE/runsc-nonet" ;;
    moat) if [ "$MOAT_RT" = moat ]; then echo "--runtime io.containerd.moat.v1"
          else echo "--runtime $(dirname "$MOAT_BIN")/containerd-shim-moat-v1"; fi ;;
  esac
}
bench_cold_ctr() {
  local t
  for rt in "${RUNTIMES[@]}"; do
    # shellcheck disable=SC2046 # the flags are words
    t=$(date +%s%N); "${CTR[@]}" run --rm $(ctr_runtime "$rt") docker.io/library/busybox:latest "bench-$$" true
    record cold_ctr_ms "$rt" "$(ms_since "$t")"
  done
}

bench_in() { # bench_in RUNTIME DOCKER-ARGS... : record every "name value" line printed
  local rt=$1; shift
  "${DR[@]}" --runtime="$(dockrt "$rt")" "$@" | while read -r name value; do
    [ -n "$value" ] && record "$name" "$rt" "$value"
  done
}
bench_sys() {
  mkdir -p "$MOAT_STATE/bench-vol"
  for rt in "${RUNTIMES[@]}"; do
    bench_in "$rt" moat-bench sysbench calls "$CALLS"
    bench_in "$rt" moat-bench sysbench eintr $(( CALLS / 4 ))
    bench_in "$rt" moat-bench sysbench readdir /tmp/rd "$FILES"
    bench_in "$rt" moat-bench sh -c "sysbench seqio /tmp $MIB | sed 's/^/rootfs_/'"
    bench_in "$rt" -v "$MOAT_STATE/bench-vol:/vol" moat-bench sh -c "sysbench seqio /vol $MIB | sed 's/^/volume_/'"
  done
}
bench_apps() {
  for rt in "${RUNTIMES[@]}"; do
    bench_in "$rt" moat-debian sh -c "t=\$(date +%s%N); for i in \$(seq $PY); do python3 -c pass; done; echo python_pass_ms \$(( (\$(date +%s%N) - t) / 1000000 / $PY ))"
    bench_in "$rt" moat-debian sh -c "redis-server --save '' --appendonly no --daemonize yes >/dev/null; sleep 0.5; redis-benchmark -q -n $REDIS_N -t get,set | tr '\r' '\n' | awk '/requests per second/ && /^SET:/ {print \"redis_set_rps\", \$2} /requests per second/ && /^GET:/ {print \"redis_get_rps\", \$2}'"
  done
}
rss_kib() { awk '/^Rss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
bench_memory() {
  local c pid kib
  for rt in "${RUNTIMES[@]}"; do
    c=$(docker run -d --network=none --runtime="$(dockrt "$rt")" busybox sleep 600)
    sleep 1
    pid=$(docker inspect -f '{{.State.Pid}}' "$c")
    case "$rt" in
      runc) kib=0 ;;  # runc leaves nothing but the workload behind
      moat) kib=$(rss_kib "$pid")  # the sentry and its spawner (no gofer yet)
        for p in $(pgrep -P "$pid" -f "moat-sentry spawner"); do kib=$((kib + $(rss_kib "$p"))); done ;;
      runsc) kib=0
        for p in $(pgrep -f "runsc.*$c"); do kib=$((kib + $(rss_kib "$p"))); done ;;
    esac
    record idle_added_rss_kib "$rt" "$kib"
    docker rm -f "$c" >/dev/null
  done
}

log "benchmarking runc, runsc, moat as $MOAT_RT ($("$MOAT_BIN" --version | head -1)) ($([ $QUICK = 1 ] && echo quick || echo full) mode)"
make_bundle
prepare_ctr
for _ in $(seq "$REPS"); do bench_cold_docker; bench_cold_cli; bench_cold_ctr; done
for _ in $(seq $(( REPS > 3 ? 3 : REPS ))); do bench_sys; bench_apps; done
bench_memory
log "real programs (moat-programs)"; bench_programs

median() { sort -g "$1" | awk '{v[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "n/a" || b == "n/a") print "n/a"; else printf "%.2f", a / b }'; }
better() { case "$1" in *rps|*MB/s|*calls/s) echo higher ;; *) echo lower ;; esac; }
table() { # table ITEM...
  echo "| item | better | runc | runsc | moat | moat/runc | moat/runsc |"
  echo "|---|---|---|---|---|---|---|"
  for item in "$@"; do
    f=${item//\//_}
    r=$(median "$RES/$f.runc" 2>/dev/null || echo n/a); s=$(median "$RES/$f.runsc" 2>/dev/null || echo n/a); m=$(median "$RES/$f.moat" 2>/dev/null || echo n/a)
    echo "| $item | $(better "$item") | $r | $s | $m | $(ratio "$m" "$r") | $(ratio "$m" "$s") |"
  done
}
OUT=$(table cold_docker_ms cold_cli_ms cold_ctr_ms getpid open_close stat readlink uname read_4k pipe_rw mmap_munmap fork_wait eintr_per_1k_signals \
            "readdir_$FILES" rootfs_write_MB/s rootfs_read_MB/s volume_write_MB/s volume_read_MB/s \
            python_pass_ms redis_set_rps redis_get_rps idle_added_rss_kib)
PROGRAMS=$(table "${PROGRAM_ITEMS[@]}")
echo "$OUT"
echo
programs_describe
echo
echo "$PROGRAMS"
if [ "$WRITE" = 1 ]; then
  {
    echo "# Benchmarks"
    echo
    echo "moat against runc and gVisor's runsc ($(runsc --version | head -1)), measured in one run by"
    echo "\`sudo hack/bench/run.sh --write\` on $(date -u +%Y-%m-%d), $(nproc) cores, Linux $(uname -r)."
    echo "Medians of interleaved runs; syscall rows are ns per call (inside a container, static C),"
    echo "cold starts ms, IO MB/s, redis requests/s, memory KiB of host RSS a runtime adds to an idle container."
    echo "runsc runs on its default platform (KVM does not work here), with --network=none."
    echo
    echo "$OUT"
    echo
    echo "## Real programs"
    echo
    programs_describe | sed 's/$/  /'
    echo
    echo "$PROGRAMS"
  } > "$MOAT_REPO/BENCHMARKS.md"
  log "wrote BENCHMARKS.md"
fi
