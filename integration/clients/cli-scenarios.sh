# The everyday work of a Docker-style CLI (Podman and Docker share it),
# sourced by podman.sh and docker.sh after lib.sh. The driver defines:
#   cli             the client with its private daemon, root or socket
#   CLI_CMD         the same as a command line, for script(1)
#   IMG, TAG, W     the image, the names' tag, the work directory
#   RUNTIME_FORMAT  the inspect template naming the container's runtime
#   RM_FORCE        the flags of `rm` that remove a running container now
#   PORT            a free host port for the published-port check
#   UPDATE_MEMORY   the flags of `update` that set the memory limit to 48m
#   readonly_check  a function: --read-only with a tmpfs, as the client
#                   does it

state() { cli inspect --format '{{.State.Status}}' "$1" 2>&1; }

# run with output and exit code, on the runtime given
out=$(cli run --rm $IMG sh -c 'echo hello; exit 3' 2>&1); rc=$?
check "run: output and exit code" "$(yes_if '[ $rc = 3 ] && [ "$out" = hello ]')" "rc=$rc out=$out"
cli run -d --name ${TAG}rt $IMG sleep 1000 >/dev/null 2>&1
rt=$(cli inspect --format "$RUNTIME_FORMAT" ${TAG}rt 2>&1)
check "the container runs on the runtime given" "$(yes_if '[ "$rt" = berth ]')" "$rt"
cli rm $RM_FORCE ${TAG}rt >/dev/null 2>&1

# env, user, workdir
out=$(cli run --rm -e GREETING=hi -u 1000:1000 -w /tmp $IMG sh -c 'echo $GREETING $(id -u):$(id -g) $(pwd)' 2>&1)
check "run: env, user and workdir" "$(yes_if '[ "$out" = "hi 1000:1000 /tmp" ]')" "$out"

# detached run + logs; exec with and without a tty; kill with a signal; top
cli run -d --name ${TAG}c $IMG sh -c 'trap "echo got-usr1" USR1; echo started; while :; do sleep 0.1; done' >/dev/null 2>&1
check "detached run + logs" "$(yes_if "wait_for 'cli logs ${TAG}c | grep -q started' 50")" "$(cli logs ${TAG}c 2>&1)"
out=$(cli exec ${TAG}c sh -c 'echo in-container; exit 4' 2>&1); rc=$?
check "exec: output and exit code" "$(yes_if '[ $rc = 4 ] && [ "$out" = in-container ]')" "rc=$rc out=$out"
out=$(script -qec "$CLI_CMD exec -t ${TAG}c tty" /dev/null 2>&1 | tr -d '\r')
check "exec with a tty" "$(yes_if '[[ "$out" == /dev/pts/* ]]')" "$out"
cli kill -s USR1 ${TAG}c >/dev/null
check "kill with a signal" "$(yes_if "wait_for 'cli logs ${TAG}c | grep -q got-usr1' 50")" "$(cli logs ${TAG}c 2>&1 | tail -2)"
top=$(cli top ${TAG}c 2>&1)
check "top" "$(yes_if '[[ "$top" == *"sleep 0.1"* || "$top" == *"while"* ]] && [ $(echo "$top" | grep -c .) -ge 2 ]')" "$(echo "$top" | tr '\n' ' ')"

# pause and unpause
cli pause ${TAG}c >/dev/null 2>&1; st=$(state ${TAG}c)
check "pause" "$(yes_if '[ "$st" = paused ]')" "$st"
cli unpause ${TAG}c >/dev/null 2>&1; st=$(state ${TAG}c)
check "unpause" "$(yes_if '[ "$st" = running ]')" "$st"

# restart
cli restart -t 1 ${TAG}c >/dev/null 2>&1
wait_for "[ \$(cli logs ${TAG}c 2>&1 | grep -c started) = 2 ]" 50
n=$(cli logs ${TAG}c 2>&1 | grep -c started)
check "restart" "$(yes_if '[ "$(state ${TAG}c)" = running ] && [ $n = 2 ]')" "$(state ${TAG}c), started $n times"

# stop: a process ignoring SIGTERM is killed after the timeout; one that
# handles it stops with its own status
cli run -d --name ${TAG}d $IMG sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
t0=$(date +%s%N); cli stop -t 1 ${TAG}d >/dev/null 2>&1; t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000)); st=$(state ${TAG}d)
check "stop: SIGKILL after the timeout" "$(yes_if '[ "$st" = exited ] && [ $ms -ge 900 ]')" "$st after ${ms}ms"
cli run -d --name ${TAG}e $IMG sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
cli stop -t 10 ${TAG}e >/dev/null 2>&1
code=$(cli inspect --format '{{.State.ExitCode}}' ${TAG}e 2>&1)
check "stop: SIGTERM handled" "$(yes_if '[ "$code" = 7 ]')" "exit code $code"

readonly_check

# a bind mount and a named volume that keeps its data
mkdir -p "$W/host"
out=$(cli run --rm -v "$W/host:/c" $IMG sh -c 'echo from-container > /c/f; echo ok' 2>&1)
check "bind mount reaches the host" "$(yes_if "grep -qx from-container $W/host/f")" "$out"
cli volume create ${TAG}vol >/dev/null 2>&1
cli run --rm -v ${TAG}vol:/data $IMG sh -c 'echo kept > /data/f' >/dev/null 2>&1
out=$(cli run --rm -v ${TAG}vol:/data $IMG cat /data/f 2>&1)
check "a named volume keeps its data" "$(yes_if '[ "$out" = kept ]')" "$out"

# a published port, reached from the host
cli run -d --name ${TAG}web -p 127.0.0.1:$PORT:80 $IMG \
    sh -c 'mkdir /www; echo published > /www/index.html; exec httpd -f -p 80 -h /www' >/dev/null 2>&1
get() { exec 3<>/dev/tcp/127.0.0.1/$PORT && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3; exec 3<&-; }
wait_for "get | grep -q published" 50
out=$(get 2>&1 | tail -1)
check "published port reached from the host" "$(yes_if '[ "$out" = published ]')" "$out"

# two containers on one user network reach each other by name
cli network create ${TAG}net >/dev/null 2>&1
cli run -d --name ${TAG}srv --network ${TAG}net $IMG \
    sh -c 'mkdir /www; echo by-name > /www/index.html; exec httpd -f -p 80 -h /www' >/dev/null 2>&1
out=$(cli run --rm --network ${TAG}net $IMG sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://${TAG}srv/ && exit; sleep 0.3; done" 2>&1)
check "two containers on a network, by name" "$(yes_if '[ "$out" = by-name ]')" "$out"

# limits, and update
cli run -d --name ${TAG}lim --memory 32m --memory-swap 64m --pids-limit 20 $IMG sleep 1000 >/dev/null 2>&1
pid=$(cli inspect --format '{{.State.Pid}}' ${TAG}lim 2>&1)
mem=$(memory_limit "$pid")
check "memory limit" "$(yes_if '[ "$mem" = 33554432 ]')" "$mem"
cli update $UPDATE_MEMORY ${TAG}lim >/dev/null 2>&1
mem=$(memory_limit "$pid")
check "update of the memory limit" "$(yes_if '[ "$mem" = 50331648 ]')" "$mem"
out=$(cli exec ${TAG}lim sh -c 'for i in $(seq 30); do sleep 5 & done; wait' 2>&1 | grep -c "can.t fork\|Resource temporarily")
check "pids limit" "$(yes_if '[ $out -ge 1 ]')" "$out fork failures"

# a failing create: the runtime's error reaches the user
out=$(cli run --rm $IMG /no/such/binary 2>&1); rc=$?
check "a failing create shows the runtime's error" "$(yes_if '[ $rc != 0 ] && [[ "$out" == *"/no/such/binary"* ]]')" "rc=$rc $out"
