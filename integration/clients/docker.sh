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
[ $# -eq 1 ] || { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
RUNTIME=$(realpath "$1")
DOCKER=/usr/bin/docker   # Debian's CLI, whatever else is on the PATH
for t in dockerd $DOCKER script iptables-save iptables-restore; do
    command -v $t >/dev/null || { echo "docker.sh: $t is needed" >&2; exit 2; }
done

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
state() { dk inspect --format '{{.State.Status}}' "$1" 2>&1; }

# run with output and exit code, on the runtime given
out=$(dk run --rm $IMG sh -c 'echo hello; exit 3' 2>&1); rc=$?
check "run: output and exit code" "$(yes_if '[ $rc = 3 ] && [ "$out" = hello ]')" "rc=$rc out=$out"
dk run -d --name ${TAG}rt $IMG sleep 1000 >/dev/null 2>&1
rt=$(dk inspect --format '{{.HostConfig.Runtime}}' ${TAG}rt 2>&1)
check "the container runs on the runtime given" "$(yes_if '[ "$rt" = berth ]')" "$rt"
dk rm -f ${TAG}rt >/dev/null 2>&1

# env, user, workdir
out=$(dk run --rm -e GREETING=hi -u 1000:1000 -w /tmp $IMG sh -c 'echo $GREETING $(id -u):$(id -g) $(pwd)' 2>&1)
check "run: env, user and workdir" "$(yes_if '[ "$out" = "hi 1000:1000 /tmp" ]')" "$out"

# detached run + logs; exec with and without a tty; kill with a signal; top
dk run -d --name ${TAG}c $IMG sh -c 'trap "echo got-usr1" USR1; echo started; while :; do sleep 0.1; done' >/dev/null 2>&1
check "detached run + logs" "$(yes_if "wait_for 'dk logs ${TAG}c | grep -q started' 50")" "$(dk logs ${TAG}c 2>&1)"
out=$(dk exec ${TAG}c sh -c 'echo in-container; exit 4' 2>&1); rc=$?
check "exec: output and exit code" "$(yes_if '[ $rc = 4 ] && [ "$out" = in-container ]')" "rc=$rc out=$out"
out=$(script -qec "$DOCKER -H unix://$W/docker.sock exec -t ${TAG}c tty" /dev/null 2>&1 | tr -d '\r')
check "exec with a tty" "$(yes_if '[[ "$out" == /dev/pts/* ]]')" "$out"
dk kill -s USR1 ${TAG}c >/dev/null
check "kill with a signal" "$(yes_if "wait_for 'dk logs ${TAG}c | grep -q got-usr1' 50")" "$(dk logs ${TAG}c 2>&1 | tail -2)"
top=$(dk top ${TAG}c 2>&1)
check "top" "$(yes_if '[ $(echo "$top" | grep -c .) -ge 3 ]')" "$(echo "$top" | tr '\n' ' ')"

# pause and unpause
dk pause ${TAG}c >/dev/null 2>&1; st=$(state ${TAG}c)
check "pause" "$(yes_if '[ "$st" = paused ]')" "$st"
dk unpause ${TAG}c >/dev/null 2>&1; st=$(state ${TAG}c)
check "unpause" "$(yes_if '[ "$st" = running ]')" "$st"

# restart
dk restart -t 1 ${TAG}c >/dev/null 2>&1
wait_for "[ \$(dk logs ${TAG}c 2>&1 | grep -c started) = 2 ]" 50
n=$(dk logs ${TAG}c 2>&1 | grep -c started)
check "restart" "$(yes_if '[ "$(state ${TAG}c)" = running ] && [ $n = 2 ]')" "$(state ${TAG}c), started $n times"

# stop: a process ignoring SIGTERM is killed after the timeout; one that
# handles it stops with its own status
dk run -d --name ${TAG}d $IMG sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
t0=$(date +%s%N); dk stop -t 1 ${TAG}d >/dev/null 2>&1; t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000)); st=$(state ${TAG}d)
check "stop: SIGKILL after the timeout" "$(yes_if '[ "$st" = exited ] && [ $ms -ge 900 ]')" "$st after ${ms}ms"
dk run -d --name ${TAG}e $IMG sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
dk stop -t 10 ${TAG}e >/dev/null 2>&1
code=$(dk inspect --format '{{.State.ExitCode}}' ${TAG}e 2>&1)
check "stop: SIGTERM handled" "$(yes_if '[ "$code" = 7 ]')" "exit code $code"

# --read-only with a tmpfs
out=$(dk run --rm --read-only --tmpfs /scratch $IMG sh -c 'touch /x 2>/dev/null && echo root-writable; touch /scratch/y && echo tmpfs-writable' 2>&1)
check "--read-only with a writable tmpfs" "$(yes_if '[ "$out" = tmpfs-writable ]')" "$out"

# a bind mount and a named volume that keeps its data
mkdir -p "$W/host"
out=$(dk run --rm -v "$W/host:/c" $IMG sh -c 'echo from-container > /c/f; echo ok' 2>&1)
check "bind mount reaches the host" "$(yes_if "grep -qx from-container $W/host/f")" "$out"
dk volume create ${TAG}vol >/dev/null 2>&1
dk run --rm -v ${TAG}vol:/data $IMG sh -c 'echo kept > /data/f' >/dev/null 2>&1
out=$(dk run --rm -v ${TAG}vol:/data $IMG cat /data/f 2>&1)
check "a named volume keeps its data" "$(yes_if '[ "$out" = kept ]')" "$out"

# a published port, reached from the host
dk run -d --name ${TAG}web -p 127.0.0.1:18932:80 $IMG \
    sh -c 'mkdir /www; echo published > /www/index.html; exec httpd -f -p 80 -h /www' >/dev/null 2>&1
get() { exec 3<>/dev/tcp/127.0.0.1/18932 && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3; exec 3<&-; }
wait_for "get | grep -q published" 50
out=$(get 2>&1 | tail -1)
check "published port reached from the host" "$(yes_if '[ "$out" = published ]')" "$out"

# two containers on one user network reach each other by name
dk network create ${TAG}net >/dev/null 2>&1
dk run -d --name ${TAG}srv --network ${TAG}net $IMG \
    sh -c 'mkdir /www; echo by-name > /www/index.html; exec httpd -f -p 80 -h /www' >/dev/null 2>&1
out=$(dk run --rm --network ${TAG}net $IMG sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://${TAG}srv/ && exit; sleep 0.3; done" 2>&1)
check "two containers on a network, by name" "$(yes_if '[ "$out" = by-name ]')" "$out"

# limits, and update
dk run -d --name ${TAG}lim --memory 32m --memory-swap 64m --pids-limit 20 $IMG sleep 1000 >/dev/null 2>&1
pid=$(dk inspect --format '{{.State.Pid}}' ${TAG}lim 2>&1)
mem=$(memory_limit "$pid")
check "memory limit" "$(yes_if '[ "$mem" = 33554432 ]')" "$mem"
dk update --memory 48m --memory-swap 96m ${TAG}lim >/dev/null 2>&1
mem=$(memory_limit "$pid")
check "docker update of the memory limit" "$(yes_if '[ "$mem" = 50331648 ]')" "$mem"
out=$(dk exec ${TAG}lim sh -c 'for i in $(seq 30); do sleep 5 & done; wait' 2>&1 | grep -c "can.t fork\|Resource temporarily")
check "pids limit" "$(yes_if '[ $out -ge 1 ]')" "$out fork failures"

# a failing create: the runtime's error reaches the user
out=$(dk run --rm $IMG /no/such/binary 2>&1); rc=$?
check "a failing create shows the runtime's error" "$(yes_if '[ $rc != 0 ] && [[ "$out" == *"/no/such/binary"* ]]')" "rc=$rc $out"

remove_all
host_snapshot "$W" "$TAG" | plumbing >"$W.after"
check_nothing_left "$W.before" "$W.after"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
