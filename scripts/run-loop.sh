#!/bin/bash
# usage: run-loop.sh BERTH N [PARALLEL]
# Runs `berth run` of /bin/true N times (PARALLEL at once, default 1) from a
# copy of the busybox bundle, each under a 10 s timeout, then checks that
# nothing is left behind: no state directory, no cgroup, no mount, no
# process. Prints one summary line; exits non-zero on any failure, hang or
# leftover.
set -euo pipefail
berth=$(realpath "$1"); n=$2; par=${3:-1}
cd "$(dirname "$0")/.."
[ -x bundles/busybox/rootfs/bin/busybox ] || { echo "run-loop: run 'make bundles' first" >&2; exit 2; }
work=$(mktemp -d /tmp/berth-loop.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bundle"
touch "$work/errors" "$work/hangs" "$work/failures"
ln -s "$PWD/bundles/busybox/rootfs" "$work/bundle/rootfs"
jq '.process.args = ["/bin/true"] | .root.readonly = true' bundles/busybox/config.json > "$work/bundle/config.json"
prefix=loop$$
export berth work prefix

one() {
    local i=$1 rc=0
    timeout 10 "$berth" --root "$work/state" run --bundle "$work/bundle" "$prefix-$i" \
        </dev/null >/dev/null 2>>"$work/errors" || rc=$?
    case $rc in
        0) ;;
        124) echo hang >> "$work/hangs" ;;
        *) echo "run $i: exit $rc" >> "$work/failures" ;;
    esac
}
export -f one
start=$(date +%s.%N)
seq 1 "$n" | xargs -P "$par" -I{} bash -c 'one {}'
end=$(date +%s.%N)

fail=$(wc -l < "$work/failures")
hangs=$(wc -l < "$work/hangs")
left_state=$( (find "$work/state" -mindepth 1 -maxdepth 1 2>/dev/null || true) | wc -l)
left_cgroups=$( (find /sys/fs/cgroup -maxdepth 3 -type d -name "$prefix-*" 2>/dev/null || true) | wc -l)
left_mounts=$(grep -c "$work" /proc/self/mountinfo || true)
left_procs=$( (grep -l "/$prefix-" /proc/[0-9]*/cgroup 2>/dev/null || true) | wc -l)
secs=$(echo "$end - $start" | bc)
echo "run-loop: $n runs ($par at once) in ${secs}s: $fail failed, $hangs hung; left behind: $left_state state dirs, $left_cgroups cgroups, $left_mounts mounts, $left_procs processes"
[ "$fail" = 0 ] && [ "$hangs" = 0 ] && [ "$left_state" = 0 ] && [ "$left_cgroups" = 0 ] && [ "$left_mounts" = 0 ] && [ "$left_procs" = 0 ] || {
    head -5 "$work/errors" "$work/failures" 2>/dev/null >&2
    exit 1
}
