#!/bin/bash
# usage: containerd.sh RUNTIME
#   containerd (Debian's 1.6) with berth, or any runc-compatible RUNTIME, as
#   its runc: a private containerd (own root, state, socket), the busybox
#   bundle imported as an OCI image, and `ctr` doing a user's everyday
#   work through the runc shim. Prints PASS/FAIL lines and
#   "N passed, M failed"; removes everything it made, also on failure.
set -u
CLIENT=containerd
HERE=$(dirname "$(realpath "$0")")
ROOT=$(realpath "$HERE/../..")
. "$HERE/lib.sh"
driver_args "$0" "$@"
need containerd ctr script

W=$(mktemp -d /tmp/berth-ctrd.XXXXXX)
NS=berthtest
TAG=bctr$$
IMG=docker.io/library/berth-busybox:latest
host_snapshot "$W" "$TAG" >"$W.before"

cat >"$W/config.toml" <<EOF
version = 2
root = "$W/root"
state = "$W/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$W/containerd.sock"
[ttrpc]
  address = "$W/containerd.sock.ttrpc"
EOF
containerd --config "$W/config.toml" >"$W/containerd.log" 2>&1 &
CTRD=$!
ctr() { command ctr -a "$W/containerd.sock" -n $NS "$@"; }

# What a user would do to remove it all.
remove_all() {
    local c
    for c in $(ctr tasks ls -q 2>/dev/null); do
        ctr tasks kill -s SIGKILL "$c" >/dev/null 2>&1
    done
    for c in $(ctr containers ls -q 2>/dev/null); do
        wait_for "ctr tasks delete $c || ! ctr tasks ls -q | grep -qx $c" 50
        ctr containers delete "$c" >/dev/null 2>&1
    done
    ctr images rm $IMG >/dev/null 2>&1
}

# And what is left after that, by force (a failed run may leave more).
cleanup() {
    remove_all
    kill $CTRD 2>/dev/null
    wait $CTRD 2>/dev/null
    # Shims outlive containerd by design; theirs are ours to stop.
    pkill -f "containerd-shim-runc-v2 -namespace $NS" 2>/dev/null
    sleep 0.3
    grep -F "$W" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name $NS 2>/dev/null | while read -r d; do
        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    rmdir /run/containerd/runc/$NS 2>/dev/null
    rm -rf "$W"
}
trap 'cleanup; rm -f "$W.before" "$W.after"' EXIT

wait_for "ctr version" 100 || { echo "FAIL: $CLIENT: containerd did not start"; cat "$W/containerd.log"; exit 1; }
python3 "$HERE/oci-archive.py" "$ROOT/bundles/busybox/rootfs" $IMG "$W/image.tar"
ctr images import "$W/image.tar" >/dev/null
check "image imported" "$(yes_if "ctr images ls -q | grep -qx $IMG")" "$(ctr images ls -q)"
R=(--runc-binary "$RUNTIME")

# run with output and exit code
out=$(ctr run --rm "${R[@]}" $IMG ${TAG}a sh -c 'echo hello from $(hostname); exit 3' 2>&1); rc=$?
check "run: output and exit code" "$(yes_if '[ $rc = 3 ] && [[ "$out" == *"hello from"* ]]')" "rc=$rc out=$out"

# env and workdir
out=$(ctr run --rm "${R[@]}" --env GREETING=hi --cwd /tmp $IMG ${TAG}b sh -c 'echo $GREETING $(pwd)' 2>&1)
check "run: env and workdir" "$(yes_if '[ "$out" = "hi /tmp" ]')" "$out"

# detached run, its log through --log-uri
ctr run -d "${R[@]}" --log-uri "file://$W/c.log" $IMG ${TAG}c \
    sh -c 'trap "echo got-usr1" USR1; echo started; while :; do sleep 0.1; done' >/dev/null 2>&1
check "detached run + log" "$(yes_if "wait_for 'grep -q started $W/c.log' 50")" "$(cat "$W/c.log" 2>&1)"
st=$(ctr tasks ls | awk -v c=${TAG}c '$1 == c {print $3}')
check "task listed as running" "$(yes_if '[ "$st" = RUNNING ]')" "$st"

# exec without and with a terminal (a real pty through script(1))
out=$(ctr tasks exec --exec-id e1 ${TAG}c sh -c 'echo in-container; exit 4' 2>&1); rc=$?
check "exec: output and exit code" "$(yes_if '[ $rc = 4 ] && [ "$out" = in-container ]')" "rc=$rc out=$out"
out=$(script -qec "ctr -a $W/containerd.sock -n $NS tasks exec -t --exec-id e2 ${TAG}c tty" /dev/null 2>&1 | tr -d '\r')
check "exec with a tty" "$(yes_if '[[ "$out" == /dev/pts/* ]]')" "$out"

# kill with a signal, then ps
ctr tasks kill -s SIGUSR1 ${TAG}c
check "kill with a signal" "$(yes_if "wait_for 'grep -q got-usr1 $W/c.log' 50")" "$(tail -2 "$W/c.log")"
ps=$(ctr tasks ps ${TAG}c 2>&1)
check "ps lists the processes" "$(yes_if '[ "$(echo "$ps" | tail -n +2 | grep -c .)" -ge 2 ]')" "$(echo "$ps" | tr '\n' ' ')"

# pause and resume
ctr tasks pause ${TAG}c; st=$(ctr tasks ls | awk -v c=${TAG}c '$1 == c {print $3}')
check "pause" "$(yes_if '[ "$st" = PAUSED ]')" "$st"
ctr tasks resume ${TAG}c; st=$(ctr tasks ls | awk -v c=${TAG}c '$1 == c {print $3}')
check "resume" "$(yes_if '[ "$st" = RUNNING ]')" "$st"

# stop: SIGTERM is ignored, SIGKILL after a timeout
ctr run -d "${R[@]}" $IMG ${TAG}d sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
wait_for "ctr tasks ls | grep -q '${TAG}d.*RUNNING'" 50
ctr tasks kill ${TAG}d; sleep 1
st=$(ctr tasks ls | awk -v c=${TAG}d '$1 == c {print $3}')
ctr tasks kill -s SIGKILL ${TAG}d
wait_for "ctr tasks ls | grep -q '${TAG}d.*STOPPED'" 50
st2=$(ctr tasks ls | awk -v c=${TAG}d '$1 == c {print $3}')
check "stop: TERM ignored, KILL after the timeout" "$(yes_if '[ "$st" = RUNNING ] && [ "$st2" = STOPPED ]')" "after TERM $st, after KILL $st2"

# restart: the stopped task deleted, a new one started in the same container
ctr tasks delete ${TAG}d >/dev/null 2>&1
ctr tasks start -d ${TAG}d >/dev/null 2>&1
check "restart" "$(yes_if "wait_for \"ctr tasks ls | grep -q '${TAG}d.*RUNNING'\" 50")" "$(ctr tasks ls | grep ${TAG}d)"

# read-only root with a tmpfs, and a bind mount
mkdir -p "$W/vol"
out=$(ctr run --rm "${R[@]}" --read-only --mount type=tmpfs,src=tmpfs,dst=/scratch,options=rw:nosuid \
    --mount type=bind,src="$W/vol",dst=/vol,options=rbind:rw $IMG ${TAG}e \
    sh -c 'touch /x 2>/dev/null && echo root-writable; touch /scratch/y && echo tmpfs-writable; echo from-container > /vol/f' 2>&1)
check "read-only root with a writable tmpfs" "$(yes_if '[ "$out" = tmpfs-writable ]')" "$out"
check "bind mount reaches the host" "$(yes_if "grep -qx from-container $W/vol/f")" "$(cat "$W/vol/f" 2>&1)"

# a memory limit, seen in the container's cgroup from the host
ctr run -d "${R[@]}" --memory-limit 33554432 $IMG ${TAG}f sleep 1000 >/dev/null 2>&1
pid=$(ctr tasks ls | awk -v c=${TAG}f '$1 == c {print $2}')
out=$(memory_limit "$pid")
check "memory limit" "$(yes_if '[ "$out" = 33554432 ]')" "pid $pid: $out"
ctr tasks kill -s SIGKILL ${TAG}f

# a failing create: the runtime's error reaches the user
out=$(ctr run --rm "${R[@]}" $IMG ${TAG}g /no/such/binary 2>&1); rc=$?
check "a failing create shows the runtime's error" "$(yes_if '[ $rc != 0 ] && [[ "$out" == *"/no/such/binary"* ]]')" "rc=$rc $out"

finish
