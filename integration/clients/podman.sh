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
[ $# -eq 1 ] || { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
RUNTIME=$(realpath "$1")
for t in podman conmon script; do
    command -v $t >/dev/null || { echo "podman.sh: $t is needed" >&2; exit 2; }
done

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
pm() {
    command podman --root "$W/root" --runroot "$W/runroot" --network-config-dir "$W/net" \
        --tmpdir "$W/tmp" --volumepath "$W/volumes" "$@"
}
PM="podman --root $W/root --runroot $W/runroot --network-config-dir $W/net --tmpdir $W/tmp --volumepath $W/volumes"

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
state() { pm inspect --format '{{.State.Status}}' "$1" 2>&1; }

# run with output and exit code, and the runtime podman used
out=$(pm run --rm $IMG sh -c 'echo hello; exit 3' 2>&1); rc=$?
check "run: output and exit code" "$(yes_if '[ $rc = 3 ] && [ "$out" = hello ]')" "rc=$rc out=$out"
pm run -d --name ${TAG}rt $IMG sleep 1000 >/dev/null 2>&1
rt=$(pm inspect --format '{{.OCIRuntime}}' ${TAG}rt 2>&1)
check "the container runs on the runtime given" "$(yes_if '[ "$rt" = berth ]')" "$rt"
pm rm -f -t 0 ${TAG}rt >/dev/null 2>&1

# env, user, workdir
out=$(pm run --rm -e GREETING=hi -u 1000:1000 -w /tmp $IMG sh -c 'echo $GREETING $(id -u):$(id -g) $(pwd)' 2>&1)
check "run: env, user and workdir" "$(yes_if '[ "$out" = "hi 1000:1000 /tmp" ]')" "$out"

# detached run + logs; exec with and without a tty; kill with a signal; top
pm run -d --name ${TAG}c $IMG sh -c 'trap "echo got-usr1" USR1; echo started; while :; do sleep 0.1; done' >/dev/null 2>&1
check "detached run + logs" "$(yes_if "wait_for 'pm logs ${TAG}c | grep -q started' 50")" "$(pm logs ${TAG}c 2>&1)"
out=$(pm exec ${TAG}c sh -c 'echo in-container; exit 4' 2>&1); rc=$?
check "exec: output and exit code" "$(yes_if '[ $rc = 4 ] && [ "$out" = in-container ]')" "rc=$rc out=$out"
out=$(script -qec "$PM exec -t ${TAG}c tty" /dev/null 2>&1 | tr -d '\r')
check "exec with a tty" "$(yes_if '[[ "$out" == /dev/pts/* ]]')" "$out"
pm kill -s USR1 ${TAG}c >/dev/null
check "kill with a signal" "$(yes_if "wait_for 'pm logs ${TAG}c | grep -q got-usr1' 50")" "$(pm logs ${TAG}c 2>&1 | tail -2)"
top=$(pm top ${TAG}c 2>&1)
check "top" "$(yes_if '[[ "$top" == *"sleep 0.1"* || "$top" == *"while"* ]] && [ $(echo "$top" | grep -c .) -ge 2 ]')" "$(echo "$top" | tr '\n' ' ')"

# pause and unpause
pm pause ${TAG}c >/dev/null 2>&1; st=$(state ${TAG}c)
check "pause" "$(yes_if '[ "$st" = paused ]')" "$st"
pm unpause ${TAG}c >/dev/null 2>&1; st=$(state ${TAG}c)
check "unpause" "$(yes_if '[ "$st" = running ]')" "$st"

# restart
pm restart -t 1 ${TAG}c >/dev/null 2>&1
n=$(pm logs ${TAG}c 2>&1 | grep -c started)
check "restart" "$(yes_if '[ "$(state ${TAG}c)" = running ] && [ $n = 2 ]')" "$(state ${TAG}c), started $n times"

# stop: a process ignoring SIGTERM is killed after the timeout; one that
# handles it stops with its own status
pm run -d --name ${TAG}d $IMG sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
t0=$(date +%s%N); pm stop -t 1 ${TAG}d >/dev/null 2>&1; t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000)); st=$(state ${TAG}d)
check "stop: SIGKILL after the timeout" "$(yes_if '[ "$st" = exited ] && [ $ms -ge 900 ]')" "$st after ${ms}ms"
pm run -d --name ${TAG}e $IMG sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
pm stop -t 10 ${TAG}e >/dev/null 2>&1
code=$(pm inspect --format '{{.State.ExitCode}}' ${TAG}e 2>&1)
check "stop: SIGTERM handled" "$(yes_if '[ "$code" = 7 ]')" "exit code $code"

# --read-only with tmpfs (podman asks for tmpcopyup)
out=$(pm run --rm --read-only --tmpfs /etc $IMG sh -c 'touch /x 2>/dev/null && echo root-writable; touch /etc/y && echo etc-writable; head -1 /etc/passwd' 2>&1)
check "--read-only with a tmpfs (its files copied up)" "$(yes_if '[ "$out" = "etc-writable
root:x:0:0:root:/root:/bin/sh" ]')" "$out"

# a bind mount and a named volume that keeps its data
mkdir -p "$W/host"
out=$(pm run --rm -v "$W/host:/c" $IMG sh -c 'echo from-container > /c/f; echo ok' 2>&1)
check "bind mount reaches the host" "$(yes_if "grep -qx from-container $W/host/f")" "$out"
pm volume create ${TAG}vol >/dev/null 2>&1
pm run --rm -v ${TAG}vol:/data $IMG sh -c 'echo kept > /data/f' >/dev/null 2>&1
out=$(pm run --rm -v ${TAG}vol:/data $IMG cat /data/f 2>&1)
check "a named volume keeps its data" "$(yes_if '[ "$out" = kept ]')" "$out"

# a published port, reached from the host
pm run -d --name ${TAG}web -p 127.0.0.1:18931:80 $IMG \
    sh -c 'mkdir /www; echo published > /www/index.html; exec httpd -f -p 80 -h /www' >/dev/null 2>&1
get() { exec 3<>/dev/tcp/127.0.0.1/18931 && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3; exec 3<&-; }
wait_for "get | grep -q published" 50
out=$(get 2>&1 | tail -1)
check "published port reached from the host" "$(yes_if '[ "$out" = published ]')" "$out"

# two containers on one user network reach each other by name
pm network create ${TAG}net >/dev/null 2>&1
pm run -d --name ${TAG}srv --network ${TAG}net $IMG \
    sh -c 'mkdir /www; echo by-name > /www/index.html; exec httpd -f -p 80 -h /www' >/dev/null 2>&1
out=$(pm run --rm --network ${TAG}net $IMG sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://${TAG}srv/ && exit; sleep 0.3; done" 2>&1)
check "two containers on a network, by name" "$(yes_if '[ "$out" = by-name ]')" "$out"

# limits, and update
pm run -d --name ${TAG}lim --memory 32m --pids-limit 20 $IMG sleep 1000 >/dev/null 2>&1
pid=$(pm inspect --format '{{.State.Pid}}' ${TAG}lim 2>&1)
mem=$(memory_limit "$pid")
check "memory limit" "$(yes_if '[ "$mem" = 33554432 ]')" "$mem"
pm update --memory 48m ${TAG}lim >/dev/null 2>&1
mem=$(memory_limit "$pid")
check "update of the memory limit" "$(yes_if '[ "$mem" = 50331648 ]')" "$mem"
out=$(pm exec ${TAG}lim sh -c 'for i in $(seq 30); do sleep 5 & done; wait' 2>&1 | grep -c "can.t fork\|Resource temporarily")
check "pids limit" "$(yes_if '[ $out -ge 1 ]')" "$out fork failures"

# a failing create: the runtime's error reaches the user
out=$(pm run --rm $IMG /no/such/binary 2>&1); rc=$?
check "a failing create shows the runtime's error" "$(yes_if '[ $rc != 0 ] && [[ "$out" == *"/no/such/binary"* ]]')" "rc=$rc $out"

remove_all
host_snapshot "$W" "$TAG" >"$W.after"
check_nothing_left "$W.before" "$W.after"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
