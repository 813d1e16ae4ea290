#!/usr/bin/env bash
# hack/cri.sh start|stop|status: a second containerd for the CRI tests, with
# its own root, state, socket and CNI config (loopback only), the runtime
# handlers `runc` and `moat`, and a locally built pause image. `start` is
# idempotent; `stop` stops only what `start` started and removes its state.
#   MOAT_PREFIX   where moat and containerd-shim-moat-v1 are (/usr/local/bin)
#   MOAT_CONTAINERD_BIN  the containerd to run (default: containerd on PATH),
#                 e.g. containerd 1.7 from hack/versions.sh fetch
. "$(dirname "$0")/lib.sh"
need_root

CRI_ROOT=${MOAT_CRI_ROOT:-/var/lib/moat-cri}
CRI_RUN=${MOAT_CRI_RUN:-/run/moat-cri}
CRI_SOCK=$CRI_RUN/containerd.sock
CRI_CONF=$CRI_RUN/config.toml
CRI_CNI=$CRI_RUN/net.d
CRI_PID=$MOAT_STATE/cri-containerd.pid
CRI_LOG=$MOAT_LOGS/cri-containerd.log
PAUSE_IMAGE=docker.io/library/moat-pause:latest
# Pods' cgroups go under this parent (the tests pass it as cgroup_parent).
CGROUP_PARENT=moat-cri
CONTAINERD=${MOAT_CONTAINERD_BIN:-$(command -v containerd)}

ctr_cri() { ctr -a "$CRI_SOCK" -n k8s.io "$@"; }
up() { timeout 5 ctr -a "$CRI_SOCK" version >/dev/null 2>&1; }

write_config() {
  mkdir -p "$CRI_ROOT" "$CRI_RUN" "$CRI_CNI"
  cp "$MOAT_REPO/hack/containerd/10-loopback.conflist" "$CRI_CNI/"
  cat > "$CRI_CONF" <<TOML
version = 2
root = "$CRI_ROOT/root"
state = "$CRI_RUN/state"
[grpc]
  address = "$CRI_SOCK"
[ttrpc]
  address = "$CRI_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CRI_ROOT/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CRI_CNI"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$CRI_RUN/runc"
TOML
  # The moat handler as a user adds it, with the shim's settings file.
  cp "$MOAT_REPO/hack/deb/shim.toml" "$CRI_RUN/shim.toml"
  "$1/moat" install --containerd --config "$CRI_CONF" --shim-config "$CRI_RUN/shim.toml" >/dev/null
}

# The pause image: one static C program, built with Docker.
build_pause() {
  local hash dir
  hash=$(sha256sum "$MOAT_REPO/hack/containerd/pause.c" | cut -c1-16)
  [ "$(docker image inspect -f '{{index .Config.Labels "moat.hash"}}' moat-pause:latest 2>/dev/null)" = "$hash" ] && return 0
  dir=$(mktemp -d)
  gcc -static -O2 -o "$dir/pause" "$MOAT_REPO/hack/containerd/pause.c"
  tar -C "$dir" -c pause | docker import -c "LABEL moat.hash=$hash" -c 'ENTRYPOINT ["/pause"]' - moat-pause:latest >/dev/null
  rm -rf "$dir"
  log "built moat-pause:latest"
}

# Copy Docker's local images into this containerd's k8s.io namespace.
import_images() {
  local img id
  for img in moat-pause busybox moat-probe; do
    id=$(docker image inspect -f '{{.Id}}' "$img:latest")
    [ "$(ctr_cri images ls -q "name==docker.io/library/$img:latest" 2>/dev/null)" = "docker.io/library/$img:latest" ] \
      && [ "$(cat "$CRI_ROOT/$img.id" 2>/dev/null)" = "$id" ] && continue
    docker save "$img:latest" | ctr_cri images import - >/dev/null
    echo "$id" > "$CRI_ROOT/$img.id"
    log "imported $img:latest"
  done
}

start() {
  "$MOAT_REPO/hack/daemons.sh" start
  "$MOAT_REPO/hack/images.sh"
  [ -x /usr/lib/cni/static ] || die "CNI plugins missing: run hack/deps.sh (containernetworking-plugins)"
  build_pause
  local prefix=${MOAT_PREFIX:-/usr/local/bin}
  if up && [ "$(cat "$CRI_RUN/prefix" 2>/dev/null)" != "$prefix $CONTAINERD" ]; then
    # It looks shims up on its PATH: restart it (its shims keep running).
    log "restarting CRI containerd ($CONTAINERD, shims from $prefix)"
    stop_containerd
  fi
  if ! up; then
    write_config "$prefix"
    echo "$prefix $CONTAINERD" > "$CRI_RUN/prefix"
    log "starting CRI containerd $("$CONTAINERD" --version | cut -d' ' -f3) on $CRI_SOCK (shims from $prefix)"
    PATH="$prefix:$PATH" nohup "$CONTAINERD" --config "$CRI_CONF" >"$CRI_LOG" 2>&1 &
    echo $! > "$CRI_PID"
    wait_for 30 up || die "CRI containerd did not start: see $CRI_LOG"
  fi
  import_images
}

# The containerd process `start` started, and nothing else.
stop_containerd() {
  [ -f "$CRI_PID" ] || return 0
  local pid; pid=$(cat "$CRI_PID")
  if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = containerd ]; then
    log "stopping CRI containerd ($pid)"
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$CRI_PID"
}

# Shims this containerd started name its socket in their command line.
our_shims() {
  local p
  for p in $(pgrep -f -- "-address $CRI_SOCK( |\$)" || true); do echo "$p"; done
}

# Kill and delete every task and container this containerd runs (pods a
# failed test left, or anything else in its namespaces).
remove_tasks() {
  up || return 0
  local ns id
  for ns in $(ctr -a "$CRI_SOCK" namespaces ls -q); do
    for id in $(ctr -a "$CRI_SOCK" -n "$ns" tasks ls -q 2>/dev/null); do
      ctr -a "$CRI_SOCK" -n "$ns" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr -a "$CRI_SOCK" -n "$ns" tasks ls -q 2>/dev/null); do
      timeout 10 ctr -a "$CRI_SOCK" -n "$ns" tasks delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr -a "$CRI_SOCK" -n "$ns" containers ls -q 2>/dev/null); do
      ctr -a "$CRI_SOCK" -n "$ns" containers delete "$id" >/dev/null 2>&1 || true
    done
  done
}

# Processes left in the pods' cgroups (e.g. a workload whose shim died).
kill_pod_processes() {
  local f
  for f in $(find /sys/fs/cgroup/*/"$CGROUP_PARENT" /sys/fs/cgroup/"$CGROUP_PARENT" \
      -name cgroup.procs 2>/dev/null || true); do
    xargs -r kill -9 < "$f" 2>/dev/null || true
  done
}

# A killed shim leaves its socket in containerd's shared socket directory:
# /run/containerd/s/<sha256 of "<address>/<namespace>/<id>">.
shim_socket() {
  local args ns id
  args=$(tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null) || return 0
  ns=$(sed -n 's/.*-namespace \([^ ]*\).*/\1/p' <<<"$args")
  id=$(sed -n 's/.*-id \([^ ]*\).*/\1/p' <<<"$args")
  [ -n "$ns" ] && [ -n "$id" ] || return 0
  echo "/run/containerd/s/$(printf %s "$CRI_SOCK/$ns/$id" | sha256sum | cut -d' ' -f1)"
}

stop() {
  remove_tasks
  stop_containerd
  local shim sock
  for shim in $(our_shims); do
    sock=$(shim_socket "$shim")
    kill -9 "$shim" 2>/dev/null || true
    [ -z "$sock" ] || rm -f "$sock"
  done
  kill_pod_processes
  # Mounts left by killed shims (rootfs, shm, netns), deepest first.
  local m d
  for m in $(awk '{print $5}' /proc/self/mountinfo | grep -E "^($CRI_ROOT|$CRI_RUN)/" | sort -r || true); do
    umount -l "$m" 2>/dev/null || true
  done
  for d in /sys/fs/cgroup/*/"$CGROUP_PARENT" /sys/fs/cgroup/"$CGROUP_PARENT"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -rf "$CRI_ROOT" "$CRI_RUN"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) up && echo "cri containerd: up ($CRI_SOCK)" || echo "cri containerd: down" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
