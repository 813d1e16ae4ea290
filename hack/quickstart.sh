#!/usr/bin/env bash
# moat's quick start on a fresh Debian machine: install what it needs, build
# and register moat with Docker, build a local busybox image, and run a
# sandboxed container that prints the sandbox's own kernel log.
. "$(dirname "$0")/lib.sh"
need_root
"$MOAT_REPO/hack/deps.sh"
"$MOAT_REPO/hack/install.sh"
"$MOAT_REPO/hack/daemons.sh" start
"$MOAT_REPO/hack/images.sh" --quick
docker run --rm --runtime=moat --network=none busybox dmesg
