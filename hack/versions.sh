#!/usr/bin/env bash
# hack/versions.sh fetch|start|stop|status|env: the second column of the
# version matrix, next to the system's containerd 1.6 and Docker 20.10.
#
#   fetch  downloads Debian 13 (trixie)'s containerd 1.7 and Docker 26
#          (and sid's containerd 2.x) with a private apt configuration (the
#          system's apt sources are not touched) and unpacks them under
#          $MOAT_STATE/trixie. They run on Debian 12.
#   start  runs containerd 1.7 and dockerd 26 with their own state dirs and
#          sockets (/run/moat-v26), dockerd's own daemon.json with moat
#          registered twice: `moat` (path form) and `moat-shim`
#          (`moat install --docker-shim`), and loads the busybox image.
#   env    prints the variables the tests take for this column.
#   MOAT_PREFIX  where moat and containerd-shim-moat-v1 are (/usr/local/bin)
. "$(dirname "$0")/lib.sh"
need_root

T=$MOAT_STATE/trixie
C17=$T/containerd-1.7/usr/bin/containerd
C2=$T/containerd-2/usr/bin/containerd
D26=$T/docker-26
RUN=/run/moat-v26
ROOT=$MOAT_STATE/v26
SOCK=$RUN/docker.sock
PIDS=$MOAT_STATE/v26.pids
prefix=${MOAT_PREFIX:-/usr/local/bin}

fetch() {
  [ -x "$C17" ] && [ -x "$C2" ] && [ -x "$D26/usr/sbin/dockerd" ] && return 0
  local apt=$T/apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$T/debs"
  cat > "$apt/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
EOF
  local o=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=-
           -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")
  log "fetching containerd 1.7 and Docker 26 (trixie), containerd 2.x (sid)"
  apt-get -qq "${o[@]}" update
  # The newest of each line that the lists hold.
  local c17 c2 d26
  c17=$(apt-cache "${o[@]}" madison containerd | awk '$3 ~ /^1\.7\./ {print $3; exit}')
  c2=$(apt-cache "${o[@]}" madison containerd | awk '$3 ~ /^2\./ {print $3; exit}')
  d26=$(apt-cache "${o[@]}" madison docker.io | awk '$3 ~ /^26\./ {print $3; exit}')
  [ -n "$c17" ] && [ -n "$d26" ] || die "containerd 1.7 / docker.io 26 not in the trixie lists"
  (cd "$T/debs" && rm -f ./*.deb && apt-get -qq "${o[@]}" download \
    "containerd=$c17" "docker.io=$d26" "docker-cli=$d26" ${c2:+"containerd=$c2"} 2>/dev/null)
  rm -rf "$T/containerd-1.7" "$T/containerd-2" "$D26"
  dpkg -x "$T/debs/containerd_${c17//:/%3a}_amd64.deb" "$T/containerd-1.7"
  dpkg -x "$T/debs/docker.io_${d26//:/%3a}_amd64.deb" "$D26"
  dpkg -x "$T/debs/docker-cli_${d26//:/%3a}_amd64.deb" "$D26"
  if [ -n "$c2" ]; then
    dpkg -x "$T/debs/containerd_${c2//:/%3a}_amd64.deb" "$T/containerd-2"
  else
    log "no containerd 2.x package in the lists"
  fi
}

ctr_up() { timeout 5 "$T/containerd-1.7/usr/bin/ctr" -a "$RUN/containerd.sock" version >/dev/null 2>&1; }
docker_up() { timeout 5 "$D26/usr/bin/docker" -H "unix://$SOCK" info >/dev/null 2>&1; }

start() {
  fetch
  "$MOAT_REPO/hack/daemons.sh" start
  mkdir -p "$RUN" "$ROOT"
  if ! ctr_up; then
    cat > "$RUN/containerd.toml" <<EOF
version = 2
root = "$ROOT/containerd"
state = "$RUN/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$RUN/containerd.sock"
[ttrpc]
  address = "$RUN/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$ROOT/opt"
EOF
    log "starting containerd $("$C17" --version | cut -d' ' -f3) on $RUN/containerd.sock"
    PATH="$prefix:$PATH" nohup "$C17" --config "$RUN/containerd.toml" >"$MOAT_LOGS/containerd-1.7.log" 2>&1 &
    echo "containerd $!" >> "$PIDS"
    wait_for 30 ctr_up || die "containerd 1.7 did not start: see $MOAT_LOGS/containerd-1.7.log"
  fi
  # Registered with moat's own installer, both forms.
  echo '{}' > "$ROOT/daemon.json"
  "$prefix/moat" install --config-file "$ROOT/daemon.json" >/dev/null
  "$prefix/moat" install --docker-shim --runtime moat-shim --config-file "$ROOT/daemon.json" >/dev/null
  if ! docker_up; then
    log "starting dockerd $("$D26/usr/sbin/dockerd" --version | cut -d' ' -f3 | tr -d ,) on $SOCK"
    PATH="$D26/usr/bin:$D26/usr/sbin:$prefix:$PATH" nohup "$D26/usr/sbin/dockerd" \
      -H "unix://$SOCK" --containerd "$RUN/containerd.sock" --config-file "$ROOT/daemon.json" \
      --data-root "$ROOT/docker" --exec-root "$RUN/docker" --pidfile "$RUN/docker.pid" \
      --iptables=false --ip6tables=false --ip-masq=false --bridge=none \
      >"$MOAT_LOGS/dockerd-26.log" 2>&1 &
    echo "dockerd $!" >> "$PIDS"
    wait_for 60 docker_up || die "dockerd 26 did not start: see $MOAT_LOGS/dockerd-26.log"
  else
    kill -HUP "$(cat "$RUN/docker.pid")"
  fi
  local img
  for img in busybox moat-probe; do
    [ "$(docker image inspect -f '{{.Id}}' "$img:latest")" = \
      "$("$D26/usr/bin/docker" -H "unix://$SOCK" image inspect -f '{{.Id}}' "$img:latest" 2>/dev/null)" ] ||
      docker save "$img:latest" | "$D26/usr/bin/docker" -H "unix://$SOCK" load -q >/dev/null
  done
}

stop() {
  if [ -f "$PIDS" ]; then
    docker_up && "$D26/usr/bin/docker" -H "unix://$SOCK" rm -f $("$D26/usr/bin/docker" -H "unix://$SOCK" ps -aq) >/dev/null 2>&1 || true
    tac "$PIDS" | while read -r name pid; do
      if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm")" = "$name" ]; then
        log "stopping $name ($pid)"
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
      fi
    done
    rm -f "$PIDS"
  fi
  local m
  for m in $(awk '{print $5}' /proc/self/mountinfo | grep -E "^($ROOT|$RUN)/" | sort -r || true); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$RUN" "$ROOT"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) docker_up && echo "docker 26: up ($SOCK)" || echo "docker 26: down" ;;
  env)
    echo "MOAT_DOCKER_HOST=unix://$SOCK"
    echo "MOAT_CONTAINERD_BIN=$C17"
    [ -x "$C2" ] && echo "# containerd 2.x: MOAT_CONTAINERD_BIN=$C2" ;;
  *) die "usage: $0 fetch|start|stop|status|env" ;;
esac
