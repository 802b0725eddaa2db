#!/bin/bash
# usage: run.sh RUNTIME [containerd|podman|docker]...
#   Runs the client drivers (all three by default) with RUNTIME as the
#   clients' runc, one after another, and ends with the total
#   "N passed, M failed"; exits 0 only if every check of every driver
#   passed. The clients come from Debian's packages (scripts/deps.sh
#   --clients installs them).
set -u
HERE=$(dirname "$(realpath "$0")")
[ $# -ge 1 ] || { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
RUNTIME=$1
shift
drivers=("$@")
[ ${#drivers[@]} -gt 0 ] || drivers=(containerd podman docker)
tp=0 tf=0
for d in "${drivers[@]}"; do
    echo "== $d"
    out=$(mktemp)
    timeout 600 "$HERE/$d.sh" "$RUNTIME" 2>&1 | grep -v 'level=warning' | tee "$out"
    rc=${PIPESTATUS[0]}
    counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)
    if [ -z "$counts" ]; then
        echo "FAIL: $d: the driver ended without a count (exit $rc)"
        tf=$((tf + 1))
    else
        tp=$((tp + ${counts%% *}))
        f=${counts#*, }
        tf=$((tf + ${f%% *}))
    fi
    rm -f "$out"
done
echo "clients: $tp passed, $tf failed"
[ $tf -eq 0 ]
