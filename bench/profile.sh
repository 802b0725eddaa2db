#!/bin/bash
# usage: profile.sh [RUNS]
# Where `berth run` of /bin/true spends its time, to guide the work on
# start-up speed: system calls counted (strace -c), a timeline of one run
# with each call's duration (strace -f -ttt -T, kept in bench/out/), and
# CPU samples over RUNS runs (perf, default 200) by command, by symbol and
# by system call. Uses a release build with symbols (cargo profile
# "profiling"). Run as root.
set -eu
cd "$(dirname "$0")/.."
runs=${1:-200}
need=()
command -v strace >/dev/null || need+=(strace)
command -v perf >/dev/null || need+=(linux-perf)
if [ ${#need[@]} -gt 0 ]; then
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
        { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; }
fi
scripts/deps.sh
cargo build --quiet --profile profiling --target x86_64-unknown-linux-musl
BIN=$PWD/target/x86_64-unknown-linux-musl/profiling/berth
make --no-print-directory bundles >/dev/null
out=bench/out; mkdir -p $out
work=$(mktemp -d /tmp/berth-profile.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bundle"
cp -a bundles/busybox/rootfs "$work/bundle/"
jq '.process.args = ["/bin/true"]' bundles/busybox/config.json > "$work/bundle/config.json"
run() { "$BIN" --root "$work/state" run --bundle "$work/bundle" "p$1"; }
for i in 1 2 3; do run w$i; done

echo "== system calls of one run (parent and init; strace -f -c)"
strace -f -c -o "$work/count" "$BIN" --root "$work/state" run --bundle "$work/bundle" pc
sort -k4 -n -r "$work/count" | awk 'NR<=25'
echo
echo "== the slowest calls of one run (strace -f -T; full timeline in $out/profile-timeline.txt)"
strace -f -ttt -T -o "$out/profile-timeline.txt" "$BIN" --root "$work/state" run --bundle "$work/bundle" pt
awk '/<[0-9.]+>$/ { d = $NF; gsub(/[<>]/, "", d); $1 = ""; $2 = ""; $NF = ""; printf "%8.3f ms %s\n", d * 1000, $0 }' \
    "$out/profile-timeline.txt" | sort -rn | head -12 | cut -c1-150
echo
if perf stat -e task-clock true >/dev/null 2>&1; then
    echo "== CPU over $runs runs (perf record -e cpu-clock)"
    perf record -q -e cpu-clock -F 20000 -g -o "$work/perf.data" -- \
        bash -c "for i in \$(seq $runs); do $BIN --root $work/state run --bundle $work/bundle r\$i; done" 2>/dev/null
    echo "-- by command and object"
    perf report -i "$work/perf.data" --no-children --sort comm,dso -q -g none 2>/dev/null | head -8
    echo "-- by system call (time inside each, children included)"
    perf report -i "$work/perf.data" --children --sort sym -q -g none 2>/dev/null |
        grep -E '__x64_sys_|__do_sys_|ksys_' | head -15
    echo "-- berth's own code"
    perf report -i "$work/perf.data" --no-children --comm berth --dso berth --sort sym -q -g none 2>/dev/null | head -15
else
    echo "== perf cannot sample here (perf stat -e task-clock fails); skipped"
fi
