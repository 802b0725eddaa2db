#!/bin/bash
# usage: docker.sh RUNTIME
#   Docker (Debian's docker.io 20.10, with its own containerd) with berth,
#   or any runc-compatible RUNTIME, as the default runtime (--add-runtime):
#   a private dockerd (own data root, exec root, socket and bridge
#   address), the busybox bundle imported as an image, and a user's
#   everyday work through Debian's docker CLI. Prints PASS/FAIL lines and
#   "N passed, M failed"; removes everything it made, also on failure
#   (the daemon's bridge and iptables chains too, once it has stopped).
set -u
CLIENT=docker
HERE=$(dirname "$(realpath "$0")")
ROOT=$(realpath "$HERE/../..")
. "$HERE/lib.sh"
driver_args "$0" "$@"
DOCKER=/usr/bin/docker   # Debian's CLI, whatever else is on the PATH
need dockerd $DOCKER script iptables-save iptables-restore

W=$(mktemp -d /tmp/berth-docker.XXXXXX)
TAG=bdk$$
IMG=berth-busybox:latest
BRIDGE=docker0
# The daemon's own plumbing, there while it runs: not a container's (its
# bridge and chains, and its data root, which it mounts private).
plumbing() { grep -vE "^(link: $BRIDGE|iptables: :DOCKER.*|mount: $W/data)$" || true; }
W=$(realpath "$W")
host_snapshot "$W" "$TAG" | plumbing >"$W.before"

dockerd --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/docker.pid" \
    -H "unix://$W/docker.sock" --bip 10.231.7.1/24 \
    --add-runtime berth="$RUNTIME" --default-runtime berth >"$W/dockerd.log" 2>&1 &
DOCKERD=$!
dk() { "$DOCKER" -H "unix://$W/docker.sock" "$@"; }

remove_all() {
    local c
    for c in $(dk ps -aq 2>/dev/null); do dk rm -f "$c" >/dev/null 2>&1; done
    dk volume prune -f >/dev/null 2>&1
    dk network rm ${TAG}net >/dev/null 2>&1
    dk rmi -f $IMG >/dev/null 2>&1
}

cleanup() {
    remove_all
    kill $DOCKERD 2>/dev/null
    wait $DOCKERD 2>/dev/null
    pkill -f "containerd.*$W" 2>/dev/null
    sleep 0.3
    grep -F "$W" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name docker 2>/dev/null |
        while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
    # dockerd leaves its bridge and chains by design.
    ip link del $BRIDGE 2>/dev/null
    iptables-save | grep -vE "DOCKER|$BRIDGE" | iptables-restore
    rm -rf "$W"
}
trap 'cleanup; rm -f "$W.before" "$W.after"' EXIT

wait_for "dk version" 150 || { echo "FAIL: $CLIENT: dockerd did not start"; tail "$W/dockerd.log"; exit 1; }
rootfs_tar "$W/rootfs.tar"
dk import --change 'CMD ["sh"]' "$W/rootfs.tar" $IMG >/dev/null 2>&1
check "image imported" "$(yes_if "dk image inspect $IMG >/dev/null 2>&1")" "$(dk images 2>&1 | tail -1)"
cli() { dk "$@"; }
CLI_CMD="$DOCKER -H unix://$W/docker.sock"
RUNTIME_FORMAT='{{.HostConfig.Runtime}}'
RM_FORCE="-f"
PORT=18932
UPDATE_MEMORY="--memory 48m --memory-swap 96m"
readonly_check() {
    out=$(dk run --rm --read-only --tmpfs /scratch $IMG sh -c 'touch /x 2>/dev/null && echo root-writable; touch /scratch/y && echo tmpfs-writable' 2>&1)
    check "--read-only with a writable tmpfs" "$(yes_if '[ "$out" = tmpfs-writable ]')" "$out"
}
. "$HERE/cli-scenarios.sh"

finish plumbing
