#!/usr/bin/env python3
"""berth beside runc and crun, measured in one run on this machine.

Every runtime gets the same busybox bundle running /bin/true and a private
--root; the runtimes take turns round-robin, the first of each round
rotating, so drift on the machine falls on all of them alike. Prints one
table (absolute figures, ratios against crun and runc, and the targets) and
writes it as JSON under bench/out/.

The whole bench runs in a private mount namespace in which
/sys/fs/cgroup/unified is unmounted: crun refuses a cgroup v1 host that also
has a cgroup2 mount there, so every runtime sees the same legacy layout. The
host's mounts are not touched. The bench is a child subreaper, so the inits
of created containers are reaped here.
"""

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
DOCKER_SECCOMP = "/usr/share/containers/seccomp.json"


def die(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(1)


def enter_private_mount_ns():
    """Re-executes the bench in a private mount namespace without the
    cgroup2 mount of a hybrid host."""
    if os.environ.get("BERTH_BENCH_NS") != "1":
        env = dict(os.environ, BERTH_BENCH_NS="1")
        cmd = ["unshare", "--mount", "--propagation", "private", sys.executable] + sys.argv
        os.execvpe("unshare", cmd, env)
    if os.path.ismount("/sys/fs/cgroup/unified"):
        subprocess.run(["umount", "-l", "/sys/fs/cgroup/unified"], check=True)


def set_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        die("prctl(PR_SET_CHILD_SUBREAPER) failed")


def reap_orphans():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Runtime:
    def __init__(self, name, path, work):
        self.name = name
        self.path = path
        self.root = os.path.join(work, "root-" + name)
        self.seq = 0

    def argv(self, *args):
        return [self.path, "--root", self.root] + list(args)

    def new_id(self, tag):
        self.seq += 1
        return f"{tag}{self.seq}"


def spawn(argv):
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        return os.posix_spawn(argv[0], argv, os.environ,
                              file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0),
                                            (os.POSIX_SPAWN_DUP2, devnull, 1),
                                            (os.POSIX_SPAWN_DUP2, devnull, 2)])
    finally:
        os.close(devnull)


# The kernel counts a process's memory before its execve into its peak
# RSS, so every runtime started from this Python would read as Python's
# size: peak RSS is measured through bench/rss.c, a small static program
# that vforks the runtime and reports what wait4 says.
RSS_TOOL = None


def build_rss_tool(work):
    global RSS_TOOL
    RSS_TOOL = os.path.join(work, "rss")
    subprocess.run(["gcc", "-O2", "-static", "-o", RSS_TOOL, os.path.join(HERE, "rss.c")], check=True)


def peak_rss(argv):
    """Peak RSS in KiB of argv and the children it waited for."""
    # A file, not a pipe: a created container's init keeps stderr open.
    with tempfile.TemporaryFile(mode="w+") as err:
        p = subprocess.run([RSS_TOOL] + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        text = err.read()
    if p.returncode != 0:
        die(f"{' '.join(argv)} failed: {text.strip()[:300]}")
    return int(text.strip().splitlines()[-1].split()[1])


def timed(argv, check=True):
    """Runs argv; returns its wall time in seconds (and ru_maxrss, which
    is not its own: see peak_rss)."""
    t0 = time.perf_counter()
    pid = spawn(argv)
    _, status, ru = os.wait4(pid, 0)
    dt = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if check and code != 0:
        err = subprocess.run(argv, capture_output=True, text=True).stderr.strip()
        die(f"{' '.join(argv)} exited {code}: {err[:300]}")
    return dt, ru.ru_maxrss


def order(runtimes, i):
    k = i % len(runtimes)
    return runtimes[k:] + runtimes[:k]


def pct(xs, q):
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0]
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def make_bundle(work, name, edit=None):
    b = os.path.join(work, name)
    os.makedirs(b)
    # A real directory: runc refuses a rootfs that is a symlink.
    subprocess.run(["cp", "-a", os.path.join(TOP, "bundles/busybox/rootfs"), b], check=True)
    with open(os.path.join(TOP, "bundles/busybox/config.json")) as f:
        cfg = json.load(f)
    # crun 1.8 and runc 1.1 know runtime-spec 1.0.x versions only.
    cfg["ociVersion"] = "1.0.2"
    cfg["process"]["args"] = ["/bin/true"]
    if edit:
        edit(cfg, b)
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    return b


def with_binds(n):
    def edit(cfg, b):
        src = os.path.join(b, "bindsrc")
        os.makedirs(src)
        for i in range(n):
            cfg["mounts"].append({"destination": f"/mnt/b{i}", "type": "bind",
                                  "source": src, "options": ["rbind", "ro"]})
    return edit


def docker_to_oci(profile, caps):
    """Docker's seccomp format (archMap, includes, excludes) to the OCI
    form for x86_64 and a capability set, as Docker itself does."""
    arches = []
    for m in profile.get("archMap", []):
        if m["architecture"] == "SCMP_ARCH_X86_64":
            arches = [m["architecture"]] + m.get("subArchitectures", [])
    go_arches = {"amd64", "x32", "x86"}
    rules = []
    for s in profile["syscalls"]:
        inc, exc = s.get("includes", {}), s.get("excludes", {})
        if inc.get("arches") and not go_arches & set(inc["arches"]):
            continue
        if inc.get("caps") and not set(inc["caps"]) <= caps:
            continue
        if exc.get("caps") and set(exc["caps"]) & caps:
            continue
        if exc.get("arches") and go_arches & set(exc["arches"]):
            continue
        r = {"names": s["names"], "action": s["action"]}
        for k in ("args", "errnoRet"):
            if s.get(k):
                r[k] = s[k]
        rules.append(r)
    out = {"defaultAction": profile["defaultAction"], "architectures": arches, "syscalls": rules}
    if "defaultErrnoRet" in profile:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    return out


def with_seccomp(cfg, b):
    with open(DOCKER_SECCOMP) as f:
        profile = json.load(f)
    caps = set(cfg["process"]["capabilities"]["bounding"])
    cfg["linux"]["seccomp"] = docker_to_oci(profile, caps)


def binary_facts(path):
    real = os.path.realpath(path)
    out = subprocess.run(["file", "-L", real], capture_output=True, text=True).stdout
    static = "statically linked" in out or "static-pie linked" in out
    return os.path.getsize(real), static


def measure(args, runtimes, work):
    R = {r.name: {} for r in runtimes}
    bundle = make_bundle(work, "bundle")
    n = args.runs

    # run latency
    lat = {r.name: [] for r in runtimes}
    for _ in range(3):  # warm caches
        for r in runtimes:
            timed(r.argv("run", "--bundle", bundle, r.new_id("w")))
    for i in range(n):
        for r in order(runtimes, i):
            lat[r.name].append(timed(r.argv("run", "--bundle", bundle, r.new_id("r")))[0])
    for r in runtimes:
        xs = lat[r.name]
        R[r.name]["run_median_ms"] = statistics.median(xs) * 1e3
        R[r.name]["run_p10_ms"] = pct(xs, 0.1) * 1e3
        R[r.name]["run_p90_ms"] = pct(xs, 0.9) * 1e3

    # peak RSS of run and create
    for r in runtimes:
        R[r.name]["run_peak_rss_kib"] = max(peak_rss(r.argv("run", "--bundle", bundle, r.new_id("m"))) for _ in range(5))
        rss = []
        for _ in range(5):
            cid = r.new_id("mc")
            rss.append(peak_rss(r.argv("create", "--bundle", bundle, cid)))
            timed(r.argv("delete", "--force", cid))
        reap_orphans()
        R[r.name]["create_peak_rss_kib"] = max(rss)

    # create / state / start / delete, each alone
    parts = {r.name: {"create": [], "state": [], "start": [], "delete": []} for r in runtimes}
    for i in range(n):
        for r in order(runtimes, i):
            cid = r.new_id("c")
            pidfile = os.path.join(work, f"{r.name}.pid")
            parts[r.name]["create"].append(timed(r.argv("create", "--bundle", bundle, "--pid-file", pidfile, cid))[0])
            parts[r.name]["state"].append(timed(r.argv("state", cid))[0])
            parts[r.name]["start"].append(timed(r.argv("start", cid))[0])
            with open(pidfile) as f:
                pid = int(f.read())
            try:
                os.waitpid(pid, 0)  # /bin/true exits; its init was reparented here
            except ChildProcessError:
                pass
            parts[r.name]["delete"].append(timed(r.argv("delete", cid))[0])
    for r in runtimes:
        p = parts[r.name]
        for k in ("create", "state", "start", "delete"):
            R[r.name][f"{k}_median_ms"] = statistics.median(p[k]) * 1e3
        R[r.name]["create_start_delete_ms"] = sum(R[r.name][f"{k}_median_ms"] for k in ("create", "start", "delete"))

    # 100 sequential runs, then 10 at once x 5 rounds
    for i, r in enumerate(order(runtimes, 0)):
        t0 = time.perf_counter()
        for _ in range(args.sequential):
            timed(r.argv("run", "--bundle", bundle, r.new_id("s")))
        R[r.name]["sequential_s"] = time.perf_counter() - t0
    for r in runtimes:
        R[r.name]["parallel_s"] = 0.0
    for rnd in range(args.rounds):
        for r in order(runtimes, rnd):
            t0 = time.perf_counter()
            pids = [spawn(r.argv("run", "--bundle", bundle, r.new_id("p"))) for _ in range(args.parallel)]
            for pid in pids:
                _, st = os.waitpid(pid, 0)
                if os.waitstatus_to_exitcode(st) != 0:
                    die(f"{r.name} run failed in the parallel rounds")
            R[r.name]["parallel_s"] += time.perf_counter() - t0
    for r in runtimes:
        R[r.name]["parallel_per_s"] = args.parallel * args.rounds / R[r.name]["parallel_s"]

    # binary
    for r in runtimes:
        size, static = binary_facts(r.path)
        R[r.name]["binary_mib"] = size / 2**20
        R[r.name]["static"] = static

    # scaling: 100 bind mounts; the default seccomp profile
    scaled = [("binds_run_median_ms", make_bundle(work, "binds", with_binds(100)))]
    if os.path.exists(DOCKER_SECCOMP):
        scaled.append(("seccomp_run_median_ms", make_bundle(work, "seccomp", with_seccomp)))
    for key, b in scaled:
        xs = {r.name: [] for r in runtimes}
        for i in range(n):
            for r in order(runtimes, i):
                xs[r.name].append(timed(r.argv("run", "--bundle", b, r.new_id("x")))[0])
        for r in runtimes:
            R[r.name][key] = statistics.median(xs[r.name]) * 1e3
    for r in runtimes:
        if "seccomp_run_median_ms" in R[r.name]:
            R[r.name]["seccomp_cost_ms"] = R[r.name]["seccomp_run_median_ms"] - R[r.name]["run_median_ms"]

    # berth's seccomp compiler on the same profile
    if os.path.exists(DOCKER_SECCOMP) and "berth" in R:
        berth = next(r for r in runtimes if r.name == "berth")
        cfg = os.path.join(work, "seccomp", "config.json")
        out = subprocess.run([berth.path, "seccomp-stats", cfg], capture_output=True, text=True)
        if out.returncode == 0:
            st = json.loads(out.stdout)
            R["berth"]["seccomp_compile_us"] = st["first_compile_us"]
            R["berth"]["seccomp_insns"] = st["instructions"]
            R["berth"]["seccomp_depth"] = st["max_depth"]

    # list and state with many containers created
    if args.containers:
        for r in order(runtimes, 0):
            ids = [r.new_id("m") for _ in range(args.containers)]
            for cid in ids:
                timed(r.argv("create", "--bundle", bundle, cid))
            R[r.name]["list_many_ms"] = statistics.median(timed(r.argv("list"))[0] for _ in range(10)) * 1e3
            R[r.name]["state_many_ms"] = statistics.median(timed(r.argv("state", ids[len(ids) // 2]))[0] for _ in range(20)) * 1e3
            for cid in ids:
                timed(r.argv("delete", "--force", cid), check=False)
            reap_orphans()
    reap_orphans()
    return R


ROWS = [
    ("run_median_ms", "run /bin/true, median (ms)"),
    ("run_p10_ms", "run, p10 (ms)"),
    ("run_p90_ms", "run, p90 (ms)"),
    ("create_median_ms", "create (ms)"),
    ("start_median_ms", "start (ms)"),
    ("state_median_ms", "state (ms)"),
    ("delete_median_ms", "delete (ms)"),
    ("create_start_delete_ms", "create+start+delete (ms)"),
    ("sequential_s", "100 sequential runs (s)"),
    ("parallel_per_s", "10 at once x 5, containers/s"),
    ("run_peak_rss_kib", "peak RSS of run (KiB)"),
    ("create_peak_rss_kib", "peak RSS of create (KiB)"),
    ("binary_mib", "binary size (MiB)"),
    ("static", "static binary"),
    ("binds_run_median_ms", "run with 100 bind mounts (ms)"),
    ("seccomp_run_median_ms", "run with Docker's seccomp profile (ms)"),
    ("seccomp_cost_ms", "seccomp profile cost (ms)"),
    ("seccomp_compile_us", "seccomp: compile the profile (us)"),
    ("seccomp_insns", "seccomp: BPF instructions"),
    ("seccomp_depth", "seccomp: most instructions a syscall runs"),
    ("list_many_ms", "list with N containers (ms)"),
    ("state_many_ms", "state with N containers (ms)"),
]


def fmt(v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}"


def ratio(a, b):
    if a is None or b is None or isinstance(a, bool) or b == 0:
        return "-"
    return f"{a / b:.2f}"


def targets(R):
    b, c = R["berth"], R.get("crun", {})
    def le(key, k, other=c):
        return key in b and key in other and b[key] <= k * other[key]
    out = [
        ("run median <= 0.8x crun", le("run_median_ms", 0.8)),
        ("create+start+delete <= 0.8x crun", le("create_start_delete_ms", 0.8)),
        ("state <= 0.5x crun", le("state_median_ms", 0.5)),
        ("10-at-once throughput >= 1.2x crun", "parallel_per_s" in c and b["parallel_per_s"] >= 1.2 * c["parallel_per_s"]),
        ("100 sequential runs <= 0.8x crun", le("sequential_s", 0.8)),
        ("peak RSS of run <= crun", le("run_peak_rss_kib", 1.0)),
        ("static binary <= 3 MiB", b["static"] and b["binary_mib"] <= 3.0),
    ]
    if "seccomp_cost_ms" in b:
        out.append(("seccomp profile costs <= 1 ms", b["seccomp_cost_ms"] <= 1.0))
    if "seccomp_compile_us" in b:
        out.append(("seccomp profile compiles in < 0.5 ms", b["seccomp_compile_us"] < 500))
    if "list_many_ms" in b:
        out.append(("list with N containers < 50 ms", b["list_many_ms"] < 50))
    if "binds_run_median_ms" in b and "binds_run_median_ms" in c:
        out.append(("100 binds: ratio no worse than crun's",
                    b["binds_run_median_ms"] / b["run_median_ms"] <= c["binds_run_median_ms"] / c["run_median_ms"]))
    return out


def report(R, args):
    names = list(R)
    head = f"{'':44}" + "".join(f"{n:>10}" for n in names) + f"{'b/crun':>9}{'b/runc':>9}"
    lines = [head, "-" * len(head)]
    for key, label in ROWS:
        if not any(key in R[n] for n in names):
            continue
        label = label.replace("N containers", f"{args.containers} containers")
        vals = [R[n].get(key) for n in names]
        row = f"{label:44}" + "".join(f"{fmt(v):>10}" for v in vals)
        row += f"{ratio(R['berth'].get(key), R.get('crun', {}).get(key)):>9}"
        row += f"{ratio(R['berth'].get(key), R.get('runc', {}).get(key)):>9}"
        lines.append(row)
    lines.append("")
    for name, ok in targets(R):
        lines.append(f"{'met    ' if ok else 'NOT met'}  {name}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--berth", default=os.path.join(TOP, "target/berth"))
    ap.add_argument("--runs", type=int, default=50, help="runs per latency figure (default 50)")
    ap.add_argument("--sequential", type=int, default=100)
    ap.add_argument("--parallel", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--containers", type=int, default=1000, help="containers for list/state (0: skip)")
    ap.add_argument("--only", help="comma-separated runtimes (default berth,crun,runc)")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        die("run as root")
    enter_private_mount_ns()
    set_subreaper()
    paths = {"berth": os.path.abspath(args.berth), "crun": shutil.which("crun"), "runc": shutil.which("runc")}
    wanted = (args.only or "berth,crun,runc").split(",")
    for n in wanted:
        if not paths.get(n):
            die(f"{n} not found (make bench installs runc and crun)")
    work = tempfile.mkdtemp(prefix="berth-bench.")
    try:
        build_rss_tool(work)
        runtimes = [Runtime(n, paths[n], work) for n in wanted]
        versions = {r.name: subprocess.run([r.path, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
                    for r in runtimes}
        t0 = time.time()
        R = measure(args, runtimes, work)
        text = report(R, args)
        print(f"berth bench: {', '.join(versions.values())}; kernel {os.uname().release}; "
              f"{os.cpu_count()} CPUs; {args.runs} runs a figure; {time.time() - t0:.0f} s")
        print()
        print(text)
        os.makedirs(args.out, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        out = os.path.join(args.out, f"bench-{stamp}.json")
        with open(out, "w") as f:
            json.dump({"time": stamp, "versions": versions, "kernel": os.uname().release,
                       "args": vars(args), "results": R, "targets": dict(targets(R))}, f, indent=1)
        print(f"\nwritten to {os.path.relpath(out, TOP)}")
    finally:
        for r in runtimes if "runtimes" in locals() else []:
            if os.path.isdir(r.root):
                for cid in os.listdir(r.root):
                    subprocess.run(r.argv("delete", "--force", cid), capture_output=True)
        reap_orphans()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
