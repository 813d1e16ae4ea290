#!/bin/bash
# hack/bench/programs-in.sh WORKLOAD SIZE: one real-program workload, run
# inside a moat-programs container (hack/bench/programs.sh pipes it to
# `bash -s`). Prepares its input untimed, then prints "item value" lines:
#   git N      a generated N-file tree: git init+add+commit+status+log (ms)
#   tar N      a generated N-file tree: tar create, tar extract, rm -rf (ms)
#   zlib MAKE  zlib's Debian source: ./configure, then `make MAKE` (ms)
#   find PART  find /usr (ms), then grep -r over /usr/PART (ms)
#   python N   N x python3 -c 'import json, email, http.client' (ms each)
#   nginx N    nginx serving a 4 KiB static file to ab in the same
#              container over loopback, N requests, 8 at a time (req/s)
set -euo pipefail
ms() { local e; e=$(date +%s%N); awk -v a="$1" -v b="$e" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

# tree DIR N: N small files of varied sizes, 100 to a directory (bash
# builtins only, so making it costs no exec per file).
tree() {
  local dir=$1 n=$2 i pad
  for ((i = 0; i < n; i++)); do
    ((i % 100)) || mkdir -p "$dir/d$((i / 100))"
    printf -v pad '%*s' $(( (i * 37) % 4096 )) ''
    printf 'file %d\n%s\n' "$i" "$pad" > "$dir/d$((i / 100))/f$i.txt"
  done
}

case $1 in
  git)
    tree /tmp/repo "$2"; cd /tmp/repo
    export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@b
    t=$(date +%s%N)
    git init -q . && git add -A && git commit -qm tree && git status --porcelain >/dev/null && git log --oneline >/dev/null
    echo "git_add_commit_ms $(ms "$t")" ;;
  tar)
    tree /tmp/src "$2"
    t=$(date +%s%N); tar -C /tmp -cf /tmp/t.tar src; echo "tar_create_ms $(ms "$t")"
    mkdir /tmp/x; t=$(date +%s%N); tar -C /tmp/x -xf /tmp/t.tar; echo "tar_extract_ms $(ms "$t")"
    t=$(date +%s%N); rm -rf /tmp/x; echo "rm_rf_ms $(ms "$t")" ;;
  zlib)
    cp -a /src/zlib /tmp/zlib; cd /tmp/zlib
    t=$(date +%s%N); ./configure >/dev/null; echo "zlib_configure_ms $(ms "$t")"
    t=$(date +%s%N); make "$2" >/dev/null; echo "zlib_make_ms $(ms "$t")" ;;
  find)
    t=$(date +%s%N); find /usr >/dev/null; echo "find_usr_ms $(ms "$t")"
    t=$(date +%s%N); grep -r zlib "/usr/$2" >/dev/null || true; echo "grep_r_ms $(ms "$t")" ;;
  python)
    t=$(date +%s%N)
    for ((i = 0; i < $2; i++)); do python3 -c 'import json, email, http.client'; done
    echo "python_imports_ms $(ms "$t") $2" | awk '{ printf "%s %.1f\n", $1, $2 / $3 }' ;;
  nginx)
    mkdir -p /srv; head -c 4096 /dev/zero | tr '\0' x > /srv/f.html
    cat > /tmp/nginx.conf <<'EOF'
worker_processes 2;
pid /tmp/nginx.pid;
error_log /tmp/nginx-error.log;
events { worker_connections 256; }
http {
  access_log /tmp/nginx-access.log;
  sendfile on;
  server { listen 127.0.0.1:8080; root /srv; }
}
EOF
    nginx -c /tmp/nginx.conf
    for _ in $(seq 50); do ab -q -n 1 http://127.0.0.1:8080/f.html >/dev/null 2>&1 && break; sleep 0.1; done
    ab -q -n "$2" -c 8 http://127.0.0.1:8080/f.html > /tmp/ab.out 2>&1 || { cat /tmp/ab.out /tmp/nginx-error.log >&2; exit 1; }
    grep -q '^Failed requests: *0$' /tmp/ab.out || { cat /tmp/ab.out >&2; exit 1; }
    awk '/^Requests per second:/ {print "nginx_rps", $4}' /tmp/ab.out ;;
  *) echo "usage: $0 git|tar|zlib|find|python|nginx SIZE" >&2; exit 2 ;;
esac
