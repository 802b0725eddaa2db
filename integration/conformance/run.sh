#!/usr/bin/env bash
# OCI runtime-tools conformance driver.
#
# Usage: run.sh BERTH RUNTIME_TOOLS_DIR [FILE...]
#
#   BERTH              the runtime binary to test (berth, or any runtime called
#                      like runc: runc, crun, youki...)
#   RUNTIME_TOOLS_DIR  a work tree of github.com/opencontainers/runtime-tools
#                      with `make runtimetest validation-executables` done
#                      (see README.md next to this script)
#   FILE...            test files to run: paths like validation/create/create.t
#                      (relative to RUNTIME_TOOLS_DIR, or absolute) or bare
#                      names like `create`; default: every validation/*/*.t
#
# Run as root. Each file runs alone, from RUNTIME_TOOLS_DIR (the tests open
# ./runtimetest and ./rootfs-<arch>.tar.gz), under a timeout, with
# RUNTIME pointing at a small wrapper that calls BERTH with a private --root
# (a temp dir per file, removed afterwards) and records every call, and with
# TMPDIR set to a private temp dir so every bundle the file makes lives
# there. The file's TAP output is counted (ok / not ok / skip) and, after the
# file, the driver looks for what it left behind:
#   state   entries left in the private --root
#   cgroup  cgroup directories made during the file (a before/after walk of
#           /sys/fs/cgroup) that belong to the file's containers (their id or
#           cgroupsPath as recorded by the wrapper)
#   mount   lines of the host's mountinfo naming the file's temp dirs
#   proc    processes still in the file's containers' cgroups, or whose root
#           or cwd is inside the file's temp dirs
# Leftovers are reported in the table, then removed (containers deleted with
# --force, processes killed by pid, mounts detached, cgroups removed) so the
# next file starts clean.
#
# Environment:
#   CONFORMANCE_TIMEOUT  seconds per file (default 120)
#   CONFORMANCE_LOGS     directory for each file's TAP output, stderr and the
#                        runtime calls (default: a new /tmp/conformance-logs.*)
#
# Exit status: 0 when every file passes (or the suite is missing: "skipped"),
# 1 when any file fails, times out or leaves something behind, 2 on misuse.

set -u

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

[ $# -ge 2 ] || usage
case "$1" in -h|--help) usage ;; esac

runtime_arg=$1
rtdir=$2
shift 2

skip() {
    echo "skipped: $*"
    exit 0
}

# --- the runtime and the suite ----------------------------------------------

arch=$(uname -m)
case "$arch" in
    x86_64) goarch=amd64 ;;
    i?86) goarch=386 ;;
    aarch64) goarch=arm64 ;;
    *) goarch=$arch ;;
esac

if [ -z "$rtdir" ]; then
    skip "no runtime-tools directory given (build the suite as integration/conformance/README.md says, then pass its path)"
fi
if [ ! -d "$rtdir" ]; then
    skip "runtime-tools directory $rtdir does not exist (build the suite as integration/conformance/README.md says)"
fi
rtdir=$(cd -- "$rtdir" && pwd -P)
shopt -s nullglob
built=("$rtdir"/validation/*/*.t)
shopt -u nullglob
if [ ${#built[@]} -eq 0 ]; then
    skip "no built validation tests (validation/*/*.t) in $rtdir; run 'make runtimetest validation-executables' there"
fi
if [ ! -x "$rtdir/runtimetest" ]; then
    skip "$rtdir/runtimetest is not built; run 'make runtimetest' there"
fi
if [ ! -f "$rtdir/rootfs-$goarch.tar.gz" ]; then
    skip "$rtdir/rootfs-$goarch.tar.gz is missing (the suite has no root filesystem for $arch)"
fi
if [ "$(id -u)" -ne 0 ]; then
    skip "the suite needs root (run.sh was started as uid $(id -u))"
fi
if [[ "$runtime_arg" == */* ]]; then
    runtime=$(readlink -f -- "$runtime_arg") || runtime=
else
    runtime=$(command -v -- "$runtime_arg") || runtime=
fi
if [ -z "$runtime" ] || [ ! -x "$runtime" ]; then
    echo "run.sh: runtime $runtime_arg: not an executable" >&2
    exit 2
fi

for tool in timeout find sort comm mktemp; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is needed" >&2; exit 2; }
done

files=()
if [ $# -eq 0 ]; then
    for f in "${built[@]}"; do files+=("${f#"$rtdir"/}"); done
else
    for a in "$@"; do
        if [[ "$a" == */* || "$a" == *.t ]]; then
            f=$a
            [[ "$f" == /* ]] && f=${f#"$rtdir"/}
        else
            f=validation/$a/$a.t
        fi
        if [ ! -x "$rtdir/$f" ]; then
            echo "run.sh: $a: no built test $rtdir/$f" >&2
            exit 2
        fi
        files+=("$f")
    done
fi

timeout_s=${CONFORMANCE_TIMEOUT:-120}
logs=${CONFORMANCE_LOGS:-}
if [ -z "$logs" ]; then
    logs=$(mktemp -d /tmp/conformance-logs.XXXXXX)
else
    mkdir -p -- "$logs"
fi
logs=$(cd -- "$logs" && pwd -P)

# --- helpers ----------------------------------------------------------------

cgroup_dirs() {
    find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | sort
}

# The names a file's containers may have in cgroup paths: their ids and the
# components of their cgroupsPath, one a line.
container_names() { # CALLS_FILE
    local calls=$1
    [ -f "$calls" ] || return 0
    sed -n 's/^id=//p; s/^cgroupsPath=//p' "$calls" | tr '/:' '\n\n' | sed '/^$/d' | sort -u
}

# Does the cgroup path (or /proc/PID/cgroup line) name one of NAMES?
names_match() { # PATH NAMES_FILE
    local p=$1 n
    while IFS= read -r n; do
        [[ "/$p/" == *"/$n/"* ]] && return 0
    done <"$2"
    return 1
}

write_wrapper() { # WRAPPER ROOT CALLS
    # The runtime under test, with a private --root; every call is recorded
    # (arguments, container id and cgroupsPath of create/run, exit status).
    cat >"$1" <<EOF
#!/usr/bin/env bash
runtime='$runtime'
root='$2'
calls='$3'
EOF
    cat >>"$1" <<'EOF'
{
    printf 'call=%q' "$(basename "$runtime")"; printf ' %q' "$@"; printf '\n'
    sub= bundle=. id=
    skipval=0
    for a in "$@"; do
        if [ "$skipval" = bundle ]; then bundle=$a; skipval=0; continue; fi
        if [ "$skipval" = 1 ]; then skipval=0; continue; fi
        case "$a" in
            --bundle|-b) skipval=bundle ;;
            --bundle=*) bundle=${a#--bundle=} ;;
            --pid-file|--console-socket|--preserve-fds|--root|--log|--log-format|--criu|--signal|-s) skipval=1 ;;
            -*) ;;
            *) if [ -z "$sub" ]; then sub=$a; elif [ -z "$id" ]; then id=$a; fi ;;
        esac
    done
    case "$sub" in
        create|run)
            [ -n "$id" ] && printf 'id=%s\n' "$id"
            cg=$(grep -o '"cgroupsPath"[[:space:]]*:[[:space:]]*"[^"]*"' "$bundle/config.json" 2>/dev/null | sed 's/.*"\([^"]*\)"$/\1/')
            [ -n "$cg" ] && printf 'cgroupsPath=%s\n' "$cg"
            ;;
    esac
} >>"$calls" 2>/dev/null
"$runtime" --root "$root" "$@"
rc=$?
printf 'rc=%d\n' "$rc" >>"$calls"
exit "$rc"
EOF
    chmod 755 "$1"
}

# TAP counts of a file: "OK NOTOK SKIP BADPLAN ERRORS". A file may hold
# several TAP streams (each "TAP version" line starts one); BADPLAN counts
# the streams whose plan does not match their test points, ERRORS the
# "error" keys in top-level YAML diagnostics.
tap_counts() { # TAP_FILE
    awk '
        function endstream() {
            if (hasplan && plan != n) badplan++
            hasplan = 0; n = 0
        }
        /^TAP version/ { endstream(); next }
        /^ok([ \t]|$)/ { n++; if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) skip++; else ok++; next }
        /^not ok([ \t]|$)/ { n++; if ($0 ~ /#[ \t]*[Tt][Oo][Dd][Oo]/) ok++; else notok++; next }
        /^1\.\.[0-9]+/ { sub(/^1\.\./, ""); split($0, a, /[^0-9]/); plan = a[1] + 0; hasplan = 1; next }
        /^  ---/ { yaml = 1; next }
        /^  \.\.\./ { yaml = 0; next }
        yaml && /^    "error":/ { errors++ }
        END { endstream(); printf "%d %d %d %d %d\n", ok, notok, skip, badplan, errors }
    ' "$1"
}

# --- the run ----------------------------------------------------------------

cd "$rtdir" || exit 2
echo "runtime: $runtime ($("$runtime" --version 2>/dev/null | head -n1))"
echo "suite:   $rtdir ($(git -C "$rtdir" rev-parse --short HEAD 2>/dev/null || echo 'not a git work tree'))"
echo "logs:    $logs"
echo

results=()
details=()
notes=()
npass=0
nleft=0
nlenient=0
nfiles=0

for f in "${files[@]}"; do
    name=$(basename "$f" .t)
    nfiles=$((nfiles + 1))
    work=$(mktemp -d /tmp/conformance.XXXXXX)
    root=$work/root
    tmp=$work/tmp
    mkdir -p "$root" "$tmp"
    # Bundles must be reachable by a container's mapped root (as under /tmp)
    chmod 711 "$work"
    chmod 1777 "$tmp"
    calls=$logs/$name.calls
    : >"$calls"
    wrapper=$work/runtime
    write_wrapper "$wrapper" "$root" "$calls"

    before=$work/cgroups.before
    cgroup_dirs >"$before"

    start=$(date +%s.%N)
    env RUNTIME="$wrapper" TMPDIR="$tmp" \
        timeout --kill-after=10 "$timeout_s" "./$f" \
        </dev/null >"$logs/$name.tap" 2>"$logs/$name.stderr"
    rc=$?
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

    read -r ok notok skipped badplan errors < <(tap_counts "$logs/$name.tap")

    # What was left behind?
    left=()
    names=$work/names
    container_names "$calls" >"$names"

    # state: the private --root must be empty again
    mapfile -t st < <(find "$root" -mindepth 1 -maxdepth 1 2>/dev/null)
    for s in "${st[@]}"; do left+=("state: ${s#"$root"/}"); done

    # cgroups made during the file that belong to its containers; plain
    # directories a runtime made on the /sys/fs/cgroup tmpfs (crun does
    # where a cgroup2 mount is hidden) are noted, not counted
    leftcg=() leftjunk=()
    if [ -s "$names" ]; then
        while IFS= read -r d; do
            rel=${d#/sys/fs/cgroup/}
            names_match "$rel" "$names" || continue
            case $(stat -f -c %T "$d" 2>/dev/null) in
                cgroupfs|cgroup2fs) leftcg+=("$d") ;;
                *) leftjunk+=("$d") ;;
            esac
        done < <(cgroup_dirs | comm -13 "$before" -)
    fi
    for d in "${leftcg[@]}"; do left+=("cgroup: ${d#/sys/fs/cgroup/}"); done
    [ ${#leftjunk[@]} -gt 0 ] &&
        notes+=("$name: ${#leftjunk[@]} plain directories on the /sys/fs/cgroup tmpfs (not cgroups), e.g. ${leftjunk[0]}")

    # processes in the containers' cgroups or rooted in the file's temp dirs
    leftpids=()
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [ "$pid" = $$ ] && continue
        # zombies are no one's leftover: they wait for pid 1 to reap them
        pstate=$(sed "s/.*) //" "$p/stat" 2>/dev/null) || continue
        [ "${pstate%% *}" = Z ] && continue
        hit=
        if [ -s "$names" ] && [ -r "$p/cgroup" ]; then
            while IFS=: read -r _ _ cgp; do
                [ "$cgp" = / ] && continue
                names_match "$cgp" "$names" && { hit="cgroup ${cgp}"; break; }
            done <"$p/cgroup" 2>/dev/null
        fi
        if [ -z "$hit" ]; then
            for l in root cwd; do
                t=$(readlink "$p/$l" 2>/dev/null) || continue
                [[ "$t" == "$work"/* ]] && { hit="$l $t"; break; }
            done
        fi
        if [ -n "$hit" ]; then
            comm=$(tr -d '\n' <"$p/comm" 2>/dev/null)
            leftpids+=("$pid")
            left+=("proc: $pid ($comm) $hit")
        fi
    done

    # mounts in the host's mount table naming the file's temp dirs
    mapfile -t leftmnt < <(awk -v w="$work" 'index($0, w) { print $5 }' /proc/self/mountinfo)
    for m in "${leftmnt[@]}"; do left+=("mount: $m"); done

    # A file passes when it exits 0 with no "not ok", its plans (if any)
    # match, and, when it has no test points at all (the hook tests and the
    # *_fail tests report that way), it printed no error diagnostic. The
    # lenient count is node-tap's view: exit 0 and no "not ok".
    [ $rc -eq 0 ] && [ "$notok" -eq 0 ] && nlenient=$((nlenient + 1))
    result=fail
    npoints=$((ok + notok + skipped))
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        result=timeout why="killed after ${timeout_s}s"
    elif [ $rc -ne 0 ]; then
        why="exit $rc"
    elif [ "$notok" -gt 0 ]; then
        why="not ok"
    elif [ "$badplan" -gt 0 ]; then
        why="plan not met"
    elif [ "$npoints" -eq 0 ] && [ "$errors" -gt 0 ]; then
        why="error, no test points"
    else
        result=pass why=
    fi
    if [ ${#left[@]} -gt 0 ] && [ "$result" = pass ]; then
        result=pass*
    fi
    [ "$result" = pass ] && npass=$((npass + 1))
    [ "$result" = pass* ] && nleft=$((nleft + 1))

    lefttxt=-
    [ ${#left[@]} -gt 0 ] && lefttxt="${#left[@]} (see below)"
    results+=("$(printf '%-32s %-8s %4s %6s %4s %5ss  %-22s %s' "$name" "$result" "$ok" "$notok" "$skipped" "$secs" "${why:--}" "$lefttxt")")
    for l in "${left[@]}"; do details+=("$name: $l"); done
    printf '[%2d/%d] %-38s %s\n' "$nfiles" "${#files[@]}" "$name" "$result"

    # Clean up so the next file starts from nothing.
    if [ -n "$(find "$root" -mindepth 1 -maxdepth 1 2>/dev/null)" ]; then
        while IFS= read -r id; do
            [ -n "$id" ] && "$runtime" --root "$root" delete --force "$id" >/dev/null 2>&1
        done < <("$runtime" --root "$root" list -q 2>/dev/null)
    fi
    for pid in "${leftpids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    [ ${#leftpids[@]} -gt 0 ] && sleep 0.5
    mapfile -t leftmnt < <(awk -v w="$work" 'index($0, w) { print $5 }' /proc/self/mountinfo | tac)
    for m in "${leftmnt[@]}"; do umount -l "$m" 2>/dev/null; done
    for ((i = ${#leftcg[@]} - 1; i >= 0; i--)); do
        # deepest first: the list is sorted, children follow their parents
        rmdir "${leftcg[$i]}" 2>/dev/null
    done
    for d in "${leftjunk[@]}"; do rm -rf --one-file-system -- "$d"; done
    rm -rf --one-file-system "$work"
done

# --- the table --------------------------------------------------------------

echo
printf '%-32s %-8s %4s %6s %4s %6s  %-22s %s\n' FILE RESULT OK NOT_OK SKIP TIME WHY LEFTOVERS
for r in "${results[@]}"; do echo "$r"; done
echo
if [ "$nleft" -gt 0 ]; then
    echo "$npass of $nfiles files pass ($nleft more pass their tests but leave something behind: $((npass + nleft)) ignoring leftovers)"
else
    echo "$npass of $nfiles files pass"
fi
echo "($nlenient of $nfiles exit 0 without a \"not ok\", the lenient count node-tap would give)"
if [ ${#details[@]} -gt 0 ]; then
    echo
    echo "left behind (pass* = the TAP passed but something was left; counted as a failure):"
    for d in "${details[@]}"; do echo "  $d"; done
fi
if [ ${#notes[@]} -gt 0 ]; then
    echo
    echo "notes (removed, not counted as leftovers):"
    for d in "${notes[@]}"; do echo "  $d"; done
fi
echo
echo "TAP output, stderr and runtime calls of each file: $logs"

[ "$npass" -eq "$nfiles" ]
