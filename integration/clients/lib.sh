# Shared by the client drivers (sourced): PASS/FAIL lines and counts,
# images built offline from the busybox bundle, and the host checked for
# anything a driver's containers left behind.

pass=0 fail=0

# The driver's one argument, the runtime (usage from the script's header
# otherwise), and the tools it needs.
driver_args() { # SCRIPT ARGS...
    local script=$1
    shift
    [ $# -eq 1 ] || { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$script" >&2; exit 2; }
    RUNTIME=$(realpath "$1")
}
need() { # TOOL...
    local t
    for t; do
        command -v "$t" >/dev/null || { echo "$CLIENT.sh: $t is needed" >&2; exit 2; }
    done
}

# The end of a driver: the client's own removal (remove_all, the
# driver's), the host compared with its state before (through FILTER, the
# daemon's own plumbing left out), and the count.
finish() { # [FILTER]
    remove_all
    host_snapshot "$W" "$TAG" | "${1:-cat}" >"$W.after"
    check_nothing_left "$W.before" "$W.after"
    echo "$pass passed, $fail failed"
    [ $fail -eq 0 ]
}
check() { # NAME yes|no DETAIL
    if [ "$2" = yes ]; then
        echo "PASS: $CLIENT: $1"
        pass=$((pass + 1))
    else
        echo "FAIL: $CLIENT: $1 (${3:-})"
        fail=$((fail + 1))
    fi
}
yes_if() { if eval "$1"; then echo yes; else echo no; fi; }
skip() { echo "SKIP: $CLIENT: $*"; }

# Waits up to $2 tenths of a second for a command to succeed.
wait_for() { # COMMAND TENTHS
    local i
    for ((i = 0; i < ${2:-50}; i++)); do
        eval "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# A rootfs tarball of the busybox bundle (for `import`).
rootfs_tar() { # OUT
    tar -C "$ROOT/bundles/busybox/rootfs" --numeric-owner --owner=0 --group=0 -cf "$1" .
}

# Everything a set of containers could leave on the host, one line each,
# for a before/after comparison: processes rooted in the work dir, and
# berth's init and exec children, mounts naming the work dir, cgroups
# named after the driver's tag, network namespaces, bridges and veths,
# iptables chains.
host_snapshot() { # WORKDIR TAG
    local w=$1 tag=$2 p
    for p in /proc/[0-9]*; do
        local comm root cmd
        root=$(readlink "$p/root" 2>/dev/null) || continue
        comm=$(cat "$p/comm" 2>/dev/null)
        cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | head -c 120)
        case "$root|$comm" in
            *"$w"* | *"berth:["*) echo "proc: ${p#/proc/} $comm $cmd" ;;
        esac
    done
    grep -F "$w" /proc/self/mountinfo | awk '{print "mount: " $5}'
    find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d -name "*$tag*" 2>/dev/null | sed 's/^/cgroup: /'
    ip netns list 2>/dev/null | sed 's/^/netns: /'
    ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^(veth|br-|docker|podman|cni|berth)' | sed 's/@.*//; s/^/link: /'
    iptables-save 2>/dev/null | grep -E '^:' | awk '{print "iptables: " $1}' | grep -vE ':(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING)$'
}

# Reports what appeared on the host between two snapshots.
check_nothing_left() { # BEFORE AFTER
    local new
    new=$(comm -13 <(sort "$1") <(sort "$2"))
    check "nothing left on the host" "$(yes_if '[ -z "$new" ]')" "$(echo "$new" | head -20 | tr '\n' ';')"
}

# The memory limit of a process's cgroup, v1 or v2, read from the host.
memory_limit() { # PID
    local rel
    rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' "/proc/$1/cgroup")
    if [ -n "$rel" ]; then
        cat "/sys/fs/cgroup/memory$rel/memory.limit_in_bytes" 2>&1
    else
        rel=$(awk -F: '$1 == 0 {print $3}' "/proc/$1/cgroup")
        cat "/sys/fs/cgroup$rel/memory.max" 2>&1
    fi
}
