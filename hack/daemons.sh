#!/usr/bin/env bash
# hack/daemons.sh start|stop|status: containerd and dockerd for moat's tests,
# started idempotently; `stop` stops only what `start` started.
. "$(dirname "$0")/lib.sh"
need_root
PIDS=$MOAT_STATE/daemons.pids

docker_up() { timeout 5 docker info >/dev/null 2>&1; }

start() {
  [ -f /etc/docker/daemon.json ] || echo '{}' > /etc/docker/daemon.json
  # runsc as a second reference runtime (its KVM platform does not work here).
  local tmp; tmp=$(mktemp)
  jq '.runtimes.runsc = {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]}' \
    /etc/docker/daemon.json > "$tmp" && mv "$tmp" /etc/docker/daemon.json
  if ! [ -S /run/containerd/containerd.sock ] || ! timeout 5 ctr version >/dev/null 2>&1; then
    log "starting containerd"
    nohup containerd >"$MOAT_LOGS/containerd.log" 2>&1 &
    echo "containerd $!" >> "$PIDS"
    wait_for 30 ctr version || die "containerd did not start: see $MOAT_LOGS/containerd.log"
  fi
  if ! docker_up; then
    log "starting dockerd"
    nohup dockerd --iptables=false --ip-masq=false --bridge=none \
      --containerd=/run/containerd/containerd.sock >"$MOAT_LOGS/dockerd.log" 2>&1 &
    echo "dockerd $!" >> "$PIDS"
    wait_for 60 docker_up || die "dockerd did not start: see $MOAT_LOGS/dockerd.log"
  else
    reload
  fi
}

# dockerd re-reads daemon.json runtimes on SIGHUP.
reload() {
  local pid; pid=$(pgrep -xo dockerd || true)
  [ -n "$pid" ] && kill -HUP "$pid" && sleep 1
  return 0
}

stop() {
  [ -f "$PIDS" ] || return 0
  tac "$PIDS" | while read -r name pid; do
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping $name ($pid)"
      kill "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$PIDS"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  reload) reload ;;
  status) docker_up && echo "docker: up" || echo "docker: down" ;;
  *) die "usage: $0 start|stop|reload|status" ;;
esac
