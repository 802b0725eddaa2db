#!/bin/bash
# usage: cgroup2.sh BERTH
#   Boots Debian's kernel with cgroup v2 only (cgroup_no_v1=all, see
#   v2vm.sh) and checks berth's cgroup2 paths on a real kernel: a container
#   is cloned straight into its cgroup (CLONE_INTO_CGROUP) for an absolute,
#   a relative and a default cgroupsPath, sees itself at the root of its
#   cgroup namespace, `kill --all` and `delete --force` reach every process,
#   and the directories berth made are gone afterwards. Then linux.resources
#   as the cgroup2 files hold them (memory, cpu, cpuset, pids, io, hugetlb,
#   unified keys), enforced (an allocation past memory.max is OOM-killed and
#   `events` reports it, a fork loop stops at pids.max, a denied device
#   cannot be opened through the eBPF device program), and pause, resume,
#   update (which replaces the device program, never stacks one), events
#   --stats, ps, exec (placed by CLONE_INTO_CGROUP, refused while paused),
#   kill --all on a paused container, and AppArmor at create and exec.
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

# --- linux.resources on cgroup2 ------------------------------------------
val() { sed -n "s/^$1[= ]//p" <<<"$OUT" | head -1; }
run_in() { # ID SCRIPT: run a container with the resources of $RES, script in busybox sh
    config ".process.args = [\"sh\", \"-c\", $(jq -Rn --arg s "$2" '$s')] | .linux.cgroupsPath = \"/berth-vm/$1\" | .linux.resources = $RES"
    OUT=$($BERTH run -b $B "$1" 2>&1 </dev/null); RC=$?
}
RES='{"memory": {"limit": 33554432, "reservation": 16777216, "swap": 67108864},
      "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "cpus": "0", "mems": "0", "idle": 0},
      "pids": {"limit": 20}, "blockIO": {"weight": 500},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
      "unified": {"memory.high": "31457280"}}'
run_in res 'cd /sys/fs/cgroup; for f in memory.max memory.low memory.swap.max memory.high cpu.weight cpu.max cpu.max.burst cpu.idle cpuset.cpus cpuset.mems pids.max hugetlb.2MB.max; do echo "$f=$(cat $f)"; done; echo "io=$(cat io.weight io.bfq.weight 2>/dev/null | head -1)"'
check "run with resources" "$RC" "rc=$RC $(head -c 300 <<<"$OUT" | tr '\n' ' ')"
for kv in memory.max=33554432 memory.low=16777216 memory.swap.max=33554432 memory.high=31457280 "cpu.weight=39" "cpu.max=50000 100000" \
          cpu.max.burst=1000 cpu.idle=0 cpuset.cpus=0 cpuset.mems=0 pids.max=20 hugetlb.2MB.max=4194304; do
    k=${kv%%=*}; want=${kv#*=}
    check "$k" "$(yes_if "[ \"$(val $k)\" = \"$want\" ]")" "want $want, the kernel holds $(val $k)"
done
io=$(val io); check "io weight (blockIO.weight 500)" "$(yes_if "grep -qE '(^| )4950$|default 4950' <<<\"$io\"")" "$io"

# memory: past memory.max the OOM killer strikes and `events` says so
RES='{"memory": {"limit": 33554432, "swap": 33554432}}'
config '.process.args = ["sh", "-c", "sleep 0.5; head -c 104857600 /dev/zero | tail; echo tail_rc=$?; sleep 1000"] | .linux.cgroupsPath = "/berth-vm/mem" | .linux.resources = '"$RES"
$BERTH run -d -b $B mem
$BERTH events --interval 50ms mem > /tmp/events.out 2>&1 &
EV=$!
for i in $(seq 300); do grep -q '"type":"oom"' /tmp/events.out && break; sleep 0.1; done
kills=$(sed -n 's/^oom_kill //p' /sys/fs/cgroup/berth-vm/mem/memory.events)
check "over memory.max: OOM-killed" "$(yes_if "[ \"${kills:-0}\" -ge 1 ]")" "memory.events oom_kill=$kills"
noom=$(grep -c '"type":"oom"' /tmp/events.out)
check "events reports the OOM kill" "$(yes_if "[ $noom -ge 1 ]")" "$(grep -c . /tmp/events.out) lines, $noom oom events"
# The OOM-killed pipeline takes a moment to go: wait for the last sleep alone.
for i in $(seq 100); do [ "$(cat /sys/fs/cgroup/berth-vm/mem/pids.current)" = 1 ] && break; sleep 0.1; done
STATS=$($BERTH events --stats mem)
got=$(jq -r '[.type, .data.memory.usage.limit, .data.pids.current, (.data.cpu.usage.total > 0)] | map(tostring) | join(" ")' <<<"$STATS")
check "events --stats" "$(yes_if "[ \"$got\" = 'stats 33554432 1 true' ]")" "type, memory limit, pids, cpu used: $got"
kill $EV 2>/dev/null; $BERTH delete -f mem

# pids: a fork loop stops at pids.max
RES='{"pids": {"limit": 20}}'
run_in pids '(for i in $(seq 40); do sleep 30 & done) 2>/dev/null; read c < /sys/fs/cgroup/pids.current; echo pids.current=$c; while read k v; do echo pids.events.$k=$v; done < /sys/fs/cgroup/pids.events'
check "fork loop stops at pids.max 20" "$(yes_if "[ \"$(val pids.current)\" -le 20 ] && [ \"$(val pids.events.max)\" -ge 1 ]")" "pids.current=$(val pids.current) events max=$(val pids.events.max)"

# devices: the eBPF program denies /dev/full, allows /dev/null
RES='{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}, {"allow": false, "type": "c", "major": 1, "minor": 7, "access": "rwm"}]}'
# (berth, as runc, allows the spec's default devices after the config's
# rules; /dev/kmsg, made by linux.devices, is not one of them.)
# Writing /dev/kmsg needs no capability, only the device cgroup's leave.
config '.process.args = ["sh", "-c", "echo berth > /dev/kmsg 2>/dev/null; echo kmsg=$?; echo x > /dev/null; echo null=$?"] | .linux.cgroupsPath = "/berth-vm/dev" | .linux.devices = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}] | .linux.resources = '"$RES"
OUT=$($BERTH run -b $B dev 2>&1 </dev/null); RC=$?
check "denied device cannot be opened" "$(yes_if "[ \"$(val kmsg)\" != 0 ] && [ \"$(val null)\" = 0 ]")" "kmsg=$(val kmsg) null=$(val null) rc=$RC"
RES='{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]}'
config '.process.args = ["sh", "-c", "echo berth > /dev/kmsg; echo kmsg=$?"] | .linux.cgroupsPath = "/berth-vm/dev2" | .linux.devices = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}] | .linux.resources = '"$RES"
OUT=$($BERTH run -b $B dev2 2>&1 </dev/null); RC=$?
check "an allowed device can be opened" "$(yes_if "[ \"$(val kmsg)\" = 0 ]")" "kmsg=$(val kmsg) rc=$RC"

# pause, resume, update (device program replaced), ps, kill --all on a paused container
RES='{"devices": [{"allow": false, "access": "rwm"}]}'
config '.process.args = ["sh", "-c", "sleep 1000 & sleep 1000 & exec sleep 1000"] | .linux.namespaces |= map(select(.type != "pid")) | .linux.cgroupsPath = "/berth-vm/life" | .linux.resources = '"$RES"
$BERTH run -d -b $B life
$BERTH pause life
check "pause: frozen" "$(yes_if "grep -qx 'frozen 1' /sys/fs/cgroup/berth-vm/life/cgroup.events && [ \"$($BERTH state life | jq -r .status)\" = paused ]")" "$(tr '\n' ' ' < /sys/fs/cgroup/berth-vm/life/cgroup.events)"
$BERTH resume life
check "resume: thawed" "$(yes_if "grep -qx 'frozen 0' /sys/fs/cgroup/berth-vm/life/cgroup.events && [ \"$($BERTH state life | jq -r .status)\" = running ]")" "$($BERTH state life | jq -r .status)"
$BERTH update --memory 64m --pids-limit 30 --cpu-share 2048 life
check "update: memory.max pids.max cpu.weight" "$(yes_if "[ \"$(cat /sys/fs/cgroup/berth-vm/life/memory.max)\" = 67108864 ] && [ \"$(cat /sys/fs/cgroup/berth-vm/life/pids.max)\" = 30 ] && [ \"$(cat /sys/fs/cgroup/berth-vm/life/cpu.weight)\" = 79 ]")" \
    "$(cat /sys/fs/cgroup/berth-vm/life/memory.max) $(cat /sys/fs/cgroup/berth-vm/life/pids.max) $(cat /sys/fs/cgroup/berth-vm/life/cpu.weight)"
echo '{"devices": [{"allow": true, "access": "rwm"}], "memory": {"limit": 0}}' | $BERTH update -r - life
progs=$(bpftool cgroup list /sys/fs/cgroup/berth-vm/life 2>/dev/null | grep -c device)
check "update --resources replaces the device program" "$(yes_if "[ \"$progs\" = 1 ]")" "$progs device programs attached"
ps_json=$($BERTH ps -f json life); procs=$(sort -n /sys/fs/cgroup/berth-vm/life/cgroup.procs | tr '\n' ' ')
got=$(jq -r '.[]' <<<"$ps_json" | sort -n | tr '\n' ' ')
check "ps --format json" "$(yes_if "[ \"$got\" = \"$procs\" ] && [ $(wc -w <<<"$procs") -ge 3 ]")" "$ps_json vs $procs"
# exec: cloned straight into the container's cgroup2 (CLONE_INTO_CGROUP),
# its status forwarded, refused while the container is paused
$BERTH exec -d --pid-file /tmp/exec.pid life sleep 300; epid=$(cat /tmp/exec.pid)
check "exec: the process is in the container's cgroup" "$(yes_if "grep -qx $epid /sys/fs/cgroup/berth-vm/life/cgroup.procs")" "$(cat /proc/$epid/cgroup)"
$BERTH exec life sh -c 'exit 6'; RC=$?
check "exec: exit status forwarded" "$(yes_if "[ $RC = 6 ]")" "rc=$RC"
$BERTH pause life
OUT=$($BERTH exec life true 2>&1); RC=$?
check "exec into a paused container is refused" "$(yes_if "[ $RC != 0 ] && grep -q paused <<<\"\$OUT\"")" "rc=$RC $OUT"
$BERTH kill --all life KILL
for i in $(seq 50); do [ -z "$(cat /sys/fs/cgroup/berth-vm/life/cgroup.procs)" ] && break; sleep 0.1; done
check "kill --all on a paused container" "$(yes_if "[ -z \"$(cat /sys/fs/cgroup/berth-vm/life/cgroup.procs)\" ]")" "left: $(tr '\n' ' ' < /sys/fs/cgroup/berth-vm/life/cgroup.procs)"
$BERTH delete -f life
check "nothing left after the resource tests" "$(yes_if "[ ! -e /sys/fs/cgroup/berth-vm ]")" "$(ls /sys/fs/cgroup/berth-vm 2>&1 | tr '\n' ' ')"

# --- AppArmor, where Debian's kernel runs it ---------------------------------
if grep -q Y /sys/module/apparmor/parameters/enabled 2>/dev/null; then
    config '.process.args = ["sh", "-c", "cat /proc/self/attr/apparmor/current 2>/dev/null || cat /proc/self/attr/current"] | .process.apparmorProfile = "unconfined" | del(.linux.resources)'
    OUT=$($BERTH run -b $B aa 2>&1 </dev/null); RC=$?
    check "process.apparmorProfile applied at exec" "$(yes_if "[ $RC = 0 ] && grep -q unconfined <<<\"\$OUT\"")" "rc=$RC $OUT"
    config '.process.apparmorProfile = "berth-no-such-profile" | del(.linux.resources)'
    OUT=$($BERTH run -b $B aa2 2>&1 </dev/null); RC=$?
    check "a profile that is not loaded is refused" "$(yes_if "[ $RC != 0 ] && grep -q 'not loaded' <<<\"\$OUT\"")" "rc=$RC $OUT"
    config '.process.args = ["sleep", "300"] | del(.process.apparmorProfile) | del(.linux.resources)'
    $BERTH run -d -b $B aa3 </dev/null
    OUT=$($BERTH exec --apparmor unconfined aa3 sh -c 'cat /proc/self/attr/apparmor/current 2>/dev/null || cat /proc/self/attr/current' 2>&1); RC=$?
    check "exec --apparmor applied" "$(yes_if "[ $RC = 0 ] && grep -q unconfined <<<\"\$OUT\"")" "rc=$RC $OUT"
    OUT=$($BERTH exec --apparmor berth-no-such-profile aa3 true 2>&1); RC=$?
    check "exec --apparmor with a profile not loaded is refused" "$(yes_if "[ $RC != 0 ] && grep -q 'not loaded' <<<\"\$OUT\"")" "rc=$RC $OUT"
    $BERTH delete -f aa3
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
