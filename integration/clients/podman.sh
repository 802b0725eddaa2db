#!/bin/bash
# usage: podman.sh RUNTIME
#   Podman (Debian's 4.3, with conmon and netavark) with berth, or any
#   runc-compatible RUNTIME, as its OCI runtime: private --root, --runroot,
#   network config and containers.conf (which names the runtime in
#   runtime_supports_json, so Podman passes it JSON log flags), the busybox
#   bundle imported as an image, and a user's everyday work. Prints
#   PASS/FAIL lines and "N passed, M failed"; removes everything it made,
#   also on failure.
set -u
CLIENT=podman
HERE=$(dirname "$(realpath "$0")")
ROOT=$(realpath "$HERE/../..")
. "$HERE/lib.sh"
driver_args "$0" "$@"
need podman conmon script

W=$(mktemp -d /tmp/berth-podman.XXXXXX)
TAG=bpm$$
IMG=localhost/berth-busybox:latest
host_snapshot "$W" "$TAG" >"$W.before"

# The hard limits podman would ask for by default (the host's maximum)
# need CAP_SYS_RESOURCE where the runtime lacks it: ask for less.
cat >"$W/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:4096", "nproc=2048:4096"]
[engine]
runtime = "berth"
runtime_supports_json = ["crun", "runc", "berth"]
cgroup_manager = "cgroupfs"
events_logger = "file"
[engine.runtimes]
berth = ["$RUNTIME"]
EOF
export CONTAINERS_CONF="$W/containers.conf"
# (W, from mktemp, holds no space: the words split where they should.)
PM="podman --root $W/root --runroot $W/runroot --network-config-dir $W/net --tmpdir $W/tmp --volumepath $W/volumes"
pm() { $PM "$@"; }

# What a user would do to remove it all, one container at a time.
remove_all() {
    local c
    for c in $(pm ps -aq 2>/dev/null); do pm rm -f -t 0 "$c" >/dev/null 2>&1; done
    pm volume rm -af >/dev/null 2>&1
    pm network rm -f ${TAG}net >/dev/null 2>&1
    pm rmi -af >/dev/null 2>&1
    # netavark 1.4 keeps a network's DNAT chain, empty, once its last
    # published port is gone (with any runtime): removed, and said.
    local ch
    for ch in $(iptables -t nat -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^NETAVARK-DN-/ {print $2}'); do
        grep -qx "iptables: :$ch" "$W.before" && continue
        [ "$(iptables -t nat -S "$ch" 2>/dev/null | grep -vc '^-N')" = 0 ] || continue
        iptables -t nat -X "$ch" && echo "NOTE: $CLIENT: netavark left its empty chain $ch; removed"
    done
}

# And what is left after that, by force (a failed run may leave more).
cleanup() {
    remove_all
    pkill -f "conmon.*$W" 2>/dev/null
    grep -F "$W" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -name "libpod*" 2>/dev/null |
        while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
    rm -rf "$W"
}
trap 'cleanup; rm -f "$W.before" "$W.after"' EXIT

rootfs_tar "$W/rootfs.tar"
pm import --change 'CMD ["sh"]' "$W/rootfs.tar" $IMG >/dev/null 2>&1
check "image imported" "$(yes_if "pm image exists $IMG")" "$(pm images 2>&1 | tail -1)"
cli() { pm "$@"; }
CLI_CMD=$PM
RUNTIME_FORMAT='{{.OCIRuntime}}'
RM_FORCE="-f -t 0"
PORT=18931
UPDATE_MEMORY="--memory 48m --memory-swap 96m"
readonly_check() { # Podman asks for tmpcopyup: the tmpfs keeps /etc's files
    out=$(pm run --rm --read-only --tmpfs /etc $IMG sh -c 'touch /x 2>/dev/null && echo root-writable; touch /etc/y && echo etc-writable; head -1 /etc/passwd' 2>&1)
    check "--read-only with a tmpfs (its files copied up)" "$(yes_if '[ "$out" = "etc-writable
root:x:0:0:root:/root:/bin/sh" ]')" "$out"
}
. "$HERE/cli-scenarios.sh"

finish
