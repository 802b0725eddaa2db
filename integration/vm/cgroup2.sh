#!/bin/bash
# usage: cgroup2.sh BERTH
#   Boots Debian's kernel with cgroup v2 only (cgroup_no_v1=all, see
#   v2vm.sh) and checks berth's cgroup2 paths on a real kernel: a container
#   is cloned straight into its cgroup (CLONE_INTO_CGROUP) for an absolute,
#   a relative and a default cgroupsPath, sees itself at the root of its
#   cgroup namespace, `kill --all` and `delete --force` reach every process,
#   and the directories berth made are gone afterwards.
#   Prints PASS/FAIL lines and "N passed, M failed"; exits 0 only if all pass.
set -euo pipefail

if [ "${1:-}" != --guest ]; then
    [ $# -ge 1 ] || { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
    BERTH=$(realpath "$1")
    HERE=$(dirname "$(realpath "$0")")
    ROOT=$(realpath "$HERE/../..")
    [ -x "$ROOT/bundles/busybox/rootfs/bin/busybox" ] || { echo "cgroup2: run 'make bundles' first" >&2; exit 2; }
    W=$(mktemp -d "${TMPDIR:-/tmp}/berth-vm.XXXXXX")
    trap 'rm -rf "$W"' EXIT
    cp "$BERTH" "$W/berth"
    cp "$0" "$W/check.sh"
    cp -a "$ROOT/bundles/busybox" "$W/bundle"
    set +e
    "$HERE/v2vm.sh" "$W" ./check.sh --guest
    rc=$?
    set -e
    [ $rc -lt 124 ] || echo "FAIL: the VM itself (v2vm.sh exit $rc)"
    exit $rc
fi

# --- guest: root, cgroup2 at /sys/fs/cgroup; cwd = the payload dir ----------
set +e    # a failing step is a FAIL line, not the end of the suite
B=/tmp/bundle
cp -a bundle $B        # 9p is slow: work from the guest's tmpfs
BERTH=$PWD/berth
pass=0 fail=0
check() { # NAME STATUS DETAIL
    if [ "$2" = 0 ]; then echo "PASS: $1 ($3)"; pass=$((pass+1)); else echo "FAIL: $1 ($3)"; fail=$((fail+1)); fi
}
config() { # JQ-EXPRESSION: the bundle's config from the demo one
    jq "$1" bundle/config.json > $B/config.json
}
yes_if() { if eval "$1"; then echo 0; else echo 1; fi; }

echo "== berth $($BERTH --version | head -1); kernel $(uname -r); $(stat -fc %T /sys/fs/cgroup)"

# An absolute path, cloned straight into it; inside, the cgroupns root.
config '.process.args = ["sh", "-c", "cat /proc/self/cgroup; sleep 1000"] | .linux.cgroupsPath = "/berth-vm/abs"'
$BERTH run -d -b $B abs > /tmp/abs.out 2>&1; rc=$?
pid=$($BERTH state abs | jq .pid)
check "run -d with an absolute cgroupsPath" "$rc" "rc=$rc pid=$pid"
check "init is in /sys/fs/cgroup/berth-vm/abs" "$(yes_if "grep -qx $pid /sys/fs/cgroup/berth-vm/abs/cgroup.procs")" \
    "cgroup.procs: $(tr '\n' ' ' < /sys/fs/cgroup/berth-vm/abs/cgroup.procs)"
check "/proc/PID/cgroup agrees" "$(yes_if "grep -qx 0::/berth-vm/abs /proc/$pid/cgroup")" "$(cat /proc/$pid/cgroup)"
for i in $(seq 50); do grep -q . /tmp/abs.out && break; sleep 0.1; done
check "inside: the root of its cgroup namespace" "$(yes_if "grep -qx 0::/ /tmp/abs.out")" "$(head -1 /tmp/abs.out)"
$BERTH delete -f abs; rc=$?
check "delete --force" "$rc" "rc=$rc"
check "the directories berth made are gone" "$(yes_if "[ ! -e /sys/fs/cgroup/berth-vm ]")" "$(ls -d /sys/fs/cgroup/berth-vm 2>&1)"

# A relative path (under berth's own cgroup, here the root) and the default (the id).
config '.process.args = ["sleep", "1000"] | .linux.cgroupsPath = "rel/x"'
$BERTH run -d -b $B rel; pid=$($BERTH state rel | jq .pid)
check "relative cgroupsPath" "$(yes_if "grep -qx $pid /sys/fs/cgroup/rel/x/cgroup.procs")" "$(cat /proc/$pid/cgroup)"
$BERTH delete -f rel
config '.process.args = ["sleep", "1000"] | del(.linux.cgroupsPath)'
$BERTH run -d -b $B dflt; pid=$($BERTH state dflt | jq .pid)
check "default cgroupsPath is the id" "$(yes_if "grep -qx $pid /sys/fs/cgroup/dflt/cgroup.procs")" "$(cat /proc/$pid/cgroup)"
$BERTH delete -f dflt
check "rel and dflt removed" "$(yes_if "[ ! -e /sys/fs/cgroup/rel ] && [ ! -e /sys/fs/cgroup/dflt ]")" "$(ls /sys/fs/cgroup | grep -E '^(rel|dflt)$' | tr '\n' ' ')"

# kill --all and delete --force reach processes init did not wait for,
# in a container sharing the host's PID namespace.
config '.process.args = ["sh", "-c", "sleep 1000 & sleep 1000 & exec sleep 1000"] | .linux.namespaces |= map(select(.type != "pid")) | .linux.cgroupsPath = "/berth-vm/all"'
$BERTH run -d -b $B all
for i in $(seq 50); do [ "$(wc -l < /sys/fs/cgroup/berth-vm/all/cgroup.procs)" -ge 3 ] && break; sleep 0.1; done
procs=$(cat /sys/fs/cgroup/berth-vm/all/cgroup.procs | tr '\n' ' ')
$BERTH kill --all all KILL
for i in $(seq 50); do [ -z "$(cat /sys/fs/cgroup/berth-vm/all/cgroup.procs)" ] && break; sleep 0.1; done
left=$(cat /sys/fs/cgroup/berth-vm/all/cgroup.procs | tr '\n' ' ')
check "kill --all KILL empties the cgroup" "$(yes_if "[ -z \"$left\" ] && [ $(wc -w <<<"$procs") -ge 3 ]")" "before: $procs after: ${left:-none}"
$BERTH delete all
config '.process.args = ["sh", "-c", "sleep 1000 & sleep 1000 & exec sleep 1000"] | .linux.namespaces |= map(select(.type != "pid")) | .linux.cgroupsPath = "/berth-vm/force"'
$BERTH run -d -b $B force
for i in $(seq 50); do [ "$(wc -l < /sys/fs/cgroup/berth-vm/force/cgroup.procs)" -ge 3 ] && break; sleep 0.1; done
procs=$(cat /sys/fs/cgroup/berth-vm/force/cgroup.procs)
$BERTH delete --force force
alive=0; for p in $procs; do [ -e /proc/$p ] && ! grep -q '^State:.*Z' /proc/$p/status && alive=$((alive+1)); done
check "delete --force kills every process" "$(yes_if "[ $alive = 0 ]")" "$alive of $(wc -w <<<"$procs") alive"
check "nothing left under /sys/fs/cgroup" "$(yes_if "[ ! -e /sys/fs/cgroup/berth-vm ]")" "$(ls /sys/fs/cgroup | grep berth || true)"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
