//! Isolation: namespaces made new or joined by path, the cgroup every
//! process lands in and that `kill --all` and `delete` reach, and
//! regression tests for known runtime escapes (CVE-2019-5736,
//! CVE-2024-21626, proc mounted through a rootfs symlink).

mod common;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Things a test made on the host outside its Ctx: removed when dropped,
/// even when the test fails. Declare it before the Ctx, so the Ctx (and
/// its containers) is dropped first.
#[derive(Default)]
struct HostCleanup {
    files: Vec<PathBuf>,
    /// Directories (cgroups among them), removed deepest first; only empty
    /// ones go, so nothing that is not ours can be lost.
    dirs: Vec<PathBuf>,
}

impl Drop for HostCleanup {
    fn drop(&mut self) {
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
        let mut dirs = self.dirs.clone();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            let _ = std::fs::remove_dir(&d);
        }
    }
}

/// The namespace links compared with the host (the test process's own).
const NS_KINDS: [&str; 8] = ["pid", "net", "mnt", "ipc", "uts", "cgroup", "user", "time"];

/// The spec's name of a /proc/PID/ns entry.
fn spec_kind(proc_kind: &str) -> &str {
    match proc_kind {
        "net" => "network",
        "mnt" => "mount",
        k => k,
    }
}

fn remove_ns(v: &mut Value, kind: &str) {
    v["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != kind);
}

fn add_ns(v: &mut Value, ns: Value) {
    v["linux"]["namespaces"].as_array_mut().unwrap().push(ns);
}

/// Sets (or adds) the namespace of type `kind` with a path to join.
fn join_ns(v: &mut Value, kind: &str, path: &str) {
    remove_ns(v, kind);
    add_ns(v, json!({"type": kind, "path": path}));
}

fn remove_mount_type(v: &mut Value, fstype: &str) {
    v["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != fstype);
}

/// Every cgroup hierarchy of this host: (directory under /sys/fs/cgroup,
/// the controllers as /proc/PID/cgroup names them).
const HIERARCHIES: [(&str, &str); 10] = [
    ("cpu", "cpu"),
    ("cpuacct", "cpuacct"),
    ("cpuset", "cpuset"),
    ("memory", "memory"),
    ("devices", "devices"),
    ("freezer", "freezer"),
    ("blkio", "blkio"),
    ("pids", "pids"),
    ("systemd", "name=systemd"),
    ("unified", ""),
];

/// The cgroup path of `pid` in the hierarchy of `controllers`.
fn proc_cgroup(pid: impl std::fmt::Display, controllers: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    text.lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let _ = f.next()?;
            (f.next()? == controllers).then(|| f.next().unwrap_or("").to_string())
        })
        .unwrap_or_else(|| panic!("no {controllers:?} line in /proc/{pid}/cgroup:\n{text}"))
}

/// Where a container's cgroup is in every hierarchy, as /proc/PID/cgroup
/// shows it from the host: an absolute cgroupsPath from the hierarchy's
/// root, a relative one from the cgroup of the caller of berth (us).
fn expected_cgroups(cgroups_path: &str) -> Vec<(&'static str, &'static str, String)> {
    HIERARCHIES
        .iter()
        .map(|(dir, ctl)| {
            let path = if cgroups_path.starts_with('/') {
                cgroups_path.to_string()
            } else {
                let own = proc_cgroup("self", ctl);
                format!("{}/{cgroups_path}", own.trim_end_matches('/'))
            };
            (*dir, *ctl, path)
        })
        .collect()
}

fn cg_dir(hierarchy: &str, path: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup")
        .join(hierarchy)
        .join(path.trim_start_matches('/'))
}

/// Asserts `pid` is in the container's directory of every hierarchy and
/// that /proc/PID/cgroup says so too.
fn assert_placed(pid: i32, expected: &[(&str, &str, String)]) {
    for (dir, ctl, path) in expected {
        let d = cg_dir(dir, path);
        let listed = procs(&d);
        assert!(
            listed.contains(&pid),
            "pid {pid} is not in {}/cgroup.procs ({listed:?})",
            d.display()
        );
        assert_eq!(
            &proc_cgroup(pid, ctl),
            path,
            "/proc/{pid}/cgroup, hierarchy {ctl:?}"
        );
    }
}

/// The pids of container `id` (default cgroupsPath) per its pids cgroup.
fn container_pids(id: &str) -> Vec<i32> {
    let own = proc_cgroup("self", "pids");
    procs(&cg_dir(
        "pids",
        &format!("{}/{id}", own.trim_end_matches('/')),
    ))
}

/// Asserts no directory of the container's cgroup is left in any hierarchy.
fn assert_no_cgroup(cgroups_path: &str) {
    for (dir, _, path) in expected_cgroups(cgroups_path) {
        let d = cg_dir(dir, &path);
        assert!(!d.exists(), "cgroup {} is left", d.display());
    }
}

/// Registers every directory of the container's cgroup, and the parents
/// `parents` levels above it, for removal.
fn cleanup_cgroups(g: &mut HostCleanup, cgroups_path: &str, parents: usize) {
    for (dir, _, path) in expected_cgroups(cgroups_path) {
        let mut d = cg_dir(dir, &path);
        g.dirs.push(d.clone());
        for _ in 0..parents {
            d = d.parent().unwrap().to_path_buf();
            g.dirs.push(d.clone());
        }
    }
}

/// Mounts of type proc on the host, as "major:minor root mount-point".
fn host_proc_mounts() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|r| r.starts_with("proc "))
        })
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            format!("{} {} {}", f[2], f[3], f[4])
        })
        .collect()
}

fn host_mount_points() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(|l| l.split(' ').nth(4).unwrap_or("").to_string())
        .collect()
}

fn uptime(text: &str) -> f64 {
    text.split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not /proc/uptime: {text:?}"))
}

/// /proc/PID/timens_offsets as clock name -> (secs, nanosecs).
fn timens_offsets(pid: i32) -> Vec<(String, i64, i64)> {
    std::fs::read_to_string(format!("/proc/{pid}/timens_offsets"))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

/// A berth command that inherits, at every fd from 3 to 15, an open
/// directory of the host: what a careless caller might leak to it.
fn leak_host_dir(cmd: &mut std::process::Command, dir: Option<&std::os::fd::OwnedFd>) {
    if let Some(d) = dir {
        for target in 3..=15 {
            with_fd(cmd, std::os::fd::AsRawFd::as_raw_fd(d), target);
        }
    }
}

/// An open directory of the host, at an fd number above 100.
fn open_host_dir(p: &Path) -> std::os::fd::OwnedFd {
    let fd = nix::fcntl::open(
        p,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap();
    let high = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(100)).unwrap();
    // SAFETY: F_DUPFD_CLOEXEC returned a new fd that nothing else owns.
    unsafe { std::os::fd::FromRawFd::from_raw_fd(high) }
}

/// `run` of the current config in the foreground, maybe with a leaked
/// host directory: (exit code, stdout and stderr together).
fn run_collect(
    c: &mut Ctx,
    suffix: &str,
    leak: Option<&std::os::fd::OwnedFd>,
) -> (i32, String, String) {
    let id = c.id(suffix);
    let b = c.bundle.to_string_lossy().into_owned();
    let mut cmd = c.cmd(&["run", "--bundle", &b, &id]);
    leak_host_dir(&mut cmd, leak);
    let out = output(cmd, &c.dir);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `create` then `start` of the current config (maybe with a leaked
/// host directory) with the container's stdout and stderr in files we
/// keep, waits for it to stop, and returns everything berth and the
/// container wrote; Err with berth's stderr when create fails.
fn create_start_collect(
    c: &mut Ctx,
    suffix: &str,
    leak: Option<&std::os::fd::OwnedFd>,
) -> Result<String, String> {
    let id = c.id(suffix);
    let b = c.bundle.to_string_lossy().into_owned();
    let (o, e) = (
        c.dir.join(format!("{suffix}.out")),
        c.dir.join(format!("{suffix}.err")),
    );
    let mut cmd = c.cmd(&["create", "--bundle", &b, &id]);
    cmd.stdout(std::fs::File::create(&o).unwrap());
    cmd.stderr(std::fs::File::create(&e).unwrap());
    leak_host_dir(&mut cmd, leak);
    let st = cmd.status().unwrap();
    if !st.success() {
        c.assert_gone(&id);
        return Err(std::fs::read_to_string(&e).unwrap());
    }
    let pid = c.state(&id)["pid"].as_i64().unwrap() as i32;
    c.reap_later(pid);
    c.ok(&["start", &id]);
    c.wait_status(&id, "stopped");
    c.ok(&["delete", &id]);
    Ok(std::fs::read_to_string(&o).unwrap() + &std::fs::read_to_string(&e).unwrap())
}

// ---------------------------------------------------------------------------
// New namespaces
// ---------------------------------------------------------------------------

#[test]
fn configured_namespaces_are_new_and_absent_ones_are_the_hosts() {
    let mut c = Ctx::new("nsnew");
    c.args(&["sleep", "1000"]);
    let (_, pid) = c.start("a");
    // The base config: pid, network, ipc, uts, mount, cgroup.
    for kind in NS_KINDS {
        let (mine, host) = (ns(pid, kind), ns("self", kind));
        if ["user", "time"].contains(&kind) {
            assert_eq!(mine, host, "{kind} is not in the config: shared");
        } else {
            assert_ne!(mine, host, "{kind} is in the config: new");
        }
    }
    // Seen from inside: PID 1, only loopback, its own hostname.
    c.args(&[
        "sh",
        "-c",
        "echo $$; hostname; tail -n +3 /proc/net/dev | cut -d: -f1",
    ]);
    let out = c.run_ok("in");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines, ["1", "berth-demo", "lo"], "{out}");
}

#[test]
fn only_a_mount_namespace_shares_everything_else_with_the_host() {
    let mut c = Ctx::new("nsmin");
    c.args(&["sleep", "1000"]).edit(|v| {
        v["linux"]["namespaces"] = json!([{"type": "mount"}]);
        v.as_object_mut().unwrap().remove("hostname");
    });
    let (_, pid) = c.start("a");
    for kind in NS_KINDS {
        let (mine, host) = (ns(pid, kind), ns("self", kind));
        if kind == "mnt" {
            assert_ne!(mine, host, "mount is in the config: new");
        } else {
            assert_eq!(mine, host, "{kind} is not in the config: shared");
        }
    }
}

#[test]
fn each_namespace_type_alone_is_new() {
    let mut c = Ctx::new("nseach");
    c.args(&["sleep", "1000"]);
    for kind in ["pid", "net", "ipc", "uts", "cgroup"] {
        c.edit(|v| {
            v["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": spec_kind(kind)}]);
            if kind != "uts" {
                v.as_object_mut().unwrap().remove("hostname");
            } else {
                v["hostname"] = json!("berth-demo");
            }
        });
        let (id, pid) = c.start(kind);
        for other in NS_KINDS {
            let (mine, host) = (ns(pid, other), ns("self", other));
            if other == kind || other == "mnt" {
                assert_ne!(mine, host, "{other} with [mount, {kind}]: new");
            } else {
                assert_eq!(mine, host, "{other} with [mount, {kind}]: shared");
            }
        }
        c.ok(&["delete", "--force", &id]);
        c.assert_gone(&id);
    }
}

fn userns_config(c: &mut Ctx) {
    c.edit(|v| {
        add_ns(v, json!({"type": "user"}));
        v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        // cgroup v1 hierarchies cannot be mounted in a user namespace.
        remove_mount_type(v, "cgroup");
    });
}

#[test]
fn user_namespace_maps_container_root_to_host_100000() {
    let mut c = Ctx::new("userns");
    c.args(&["sleep", "1000"]);
    userns_config(&mut c);
    let (id, pid) = c.start("a");
    for kind in NS_KINDS {
        let (mine, host) = (ns(pid, kind), ns("self", kind));
        if kind == "time" {
            assert_eq!(mine, host, "time: shared");
        } else {
            assert_ne!(mine, host, "{kind}: new");
        }
    }
    for map in ["uid_map", "gid_map"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/{map}")).unwrap();
        let fields: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(fields, [["0", "100000", "65536"]], "{map}: {text}");
    }
    // Outside, the process is host uid 100000.
    assert_eq!(status_field(pid, "Uid"), "100000\t100000\t100000\t100000");
    assert_eq!(status_field(pid, "Gid"), "100000\t100000\t100000\t100000");
    c.ok(&["delete", "--force", &id]);
    c.assert_gone(&id);
    // Inside, it is root.
    c.args(&["sh", "-c", "id -u; id -g; id; cat /proc/self/uid_map"]);
    let out = c.run_ok("in");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0", "{out}");
    assert_eq!(lines[1], "0", "{out}");
    assert!(lines[2].starts_with("uid=0(root) gid=0(root)"), "{out}");
    assert_eq!(
        lines[3].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"],
        "{out}"
    );
}

#[test]
fn time_namespace_applies_the_configured_offsets() {
    let mut c = Ctx::new("timens");
    const DAY: i64 = 86400;
    c.args(&["sleep", "1000"]).edit(|v| {
        add_ns(v, json!({"type": "time"}));
        v["linux"]["timeOffsets"] = json!({
            "monotonic": {"secs": DAY, "nanosecs": 0},
            "boottime": {"secs": DAY, "nanosecs": 0}
        });
    });
    let (_, pid) = c.start("a");
    assert_ne!(ns(pid, "time"), ns("self", "time"), "time: new");
    let offs = timens_offsets(pid);
    assert!(offs.contains(&("monotonic".into(), DAY, 0)), "{offs:?}");
    assert!(offs.contains(&("boottime".into(), DAY, 0)), "{offs:?}");
    // /proc/uptime is CLOCK_BOOTTIME: a day ahead of the host's.
    c.args(&["cat", "/proc/uptime"]);
    let before = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let inside = uptime(&c.run_ok("up"));
    let after = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let day = DAY as f64;
    assert!(
        inside >= before + day - 0.5 && inside <= after + day + 0.5,
        "container uptime {inside}, host {before}..{after}"
    );
}

#[test]
fn time_namespace_with_only_a_monotonic_offset_leaves_boottime_alone() {
    let mut c = Ctx::new("timemono");
    c.args(&["sleep", "1000"]).edit(|v| {
        add_ns(v, json!({"type": "time"}));
        v["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 86400, "nanosecs": 0}});
    });
    let (_, pid) = c.start("a");
    assert_ne!(ns(pid, "time"), ns("self", "time"));
    let offs = timens_offsets(pid);
    assert!(offs.contains(&("monotonic".into(), 86400, 0)), "{offs:?}");
    assert!(offs.contains(&("boottime".into(), 0, 0)), "{offs:?}");
    // The kernel's /proc/uptime follows CLOCK_BOOTTIME, not the monotonic
    // clock, so it stays the host's.
    c.args(&["cat", "/proc/uptime"]);
    let before = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let inside = uptime(&c.run_ok("up"));
    let after = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    assert!(
        inside >= before - 0.5 && inside <= after + 0.5,
        "container uptime {inside}, host {before}..{after}"
    );
}

// ---------------------------------------------------------------------------
// Namespaces joined by path
// ---------------------------------------------------------------------------

/// Starts A, then B joining A's namespace `kind` by path; asserts B shares
/// that one with A and keeps new ones of the other configured types.
/// Returns (A's pid, B's pid).
fn join_and_compare(c: &mut Ctx, kind: &str) -> (i32, i32) {
    c.args(&["sleep", "1000"]);
    let (_, a) = c.start("a");
    let path = format!("/proc/{a}/ns/{kind}");
    c.args(&["sleep", "2000"])
        .edit(|v| join_ns(v, spec_kind(kind), &path));
    let (_, b) = c.start("b");
    // `start` returns once init may exec, not once it has.
    wait_until("both inits to exec sleep", || {
        execd(a, "sleep") && execd(b, "sleep")
    });
    assert_eq!(ns(b, kind), ns(a, kind), "B joined A's {kind} namespace");
    assert_ne!(
        ns(b, kind),
        ns("self", kind),
        "A's {kind} is not the host's"
    );
    for other in ["pid", "net", "mnt", "ipc", "uts", "cgroup"] {
        if other != kind {
            assert_ne!(ns(b, other), ns(a, other), "B's own {other} namespace");
            assert_ne!(ns(b, other), ns("self", other), "B's own {other}");
        }
    }
    (a, b)
}

#[test]
fn joins_a_network_namespace_by_path() {
    let mut c = Ctx::new("joinnet");
    let (a, _) = join_and_compare(&mut c, "net");
    // A third container in A's network sees A's interfaces, by inode.
    c.args(&["sh", "-c", "readlink /proc/self/ns/net"])
        .edit(|v| join_ns(v, "network", &format!("/proc/{a}/ns/net")));
    let out = c.run_ok("c");
    assert_eq!(out.trim(), ns(a, "net"));
}

#[test]
fn joins_an_ipc_namespace_by_path() {
    let mut c = Ctx::new("joinipc");
    join_and_compare(&mut c, "ipc");
}

#[test]
fn joins_a_uts_namespace_by_path() {
    let mut c = Ctx::new("joinuts");
    let host_name = format!("a-{}", std::process::id());
    let hn = host_name.clone();
    c.edit(|v| v["hostname"] = json!(hn));
    let (a, _) = join_and_compare(&mut c, "uts");
    // A container in A's uts namespace that sets no hostname sees A's.
    c.args(&["hostname"]).edit(|v| {
        v.as_object_mut().unwrap().remove("hostname");
        join_ns(v, "uts", &format!("/proc/{a}/ns/uts"));
    });
    assert_eq!(c.run_ok("c").trim(), host_name);
}

#[test]
fn joins_a_pid_namespace_by_path_and_the_processes_see_each_other() {
    let mut c = Ctx::new("joinpid");
    let (a, b) = join_and_compare(&mut c, "pid");
    // B's init has a pid in A's namespace (NSpid: host pid, then A's).
    let nspid = status_field(b, "NSpid");
    let nspid: Vec<i32> = nspid
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(nspid.len(), 2, "NSpid of B: {nspid:?}");
    assert_eq!(nspid[0], b);
    assert_ne!(nspid[1], 1, "A's sleep is PID 1 there");
    // A's /proc (its own mount, seen through its root) lists B's process.
    let cmdline = std::fs::read(format!("/proc/{a}/root/proc/{}/cmdline", nspid[1])).unwrap();
    assert_eq!(cmdline, b"sleep\x002000\x00", "B as A's /proc shows it");
    // A third container in the same namespace sees both with ps.
    c.args(&["ps", "-o", "pid,args"])
        .edit(|v| join_ns(v, "pid", &format!("/proc/{a}/ns/pid")));
    let out = c.run_ok("ps");
    let rows: Vec<(String, String)> = out
        .lines()
        .skip(1)
        .filter_map(|l| {
            let l = l.trim();
            let (pid, args) = l.split_once(' ')?;
            Some((pid.to_string(), args.trim().to_string()))
        })
        .collect();
    assert!(
        rows.contains(&("1".into(), "sleep 1000".into())),
        "A's init is PID 1:\n{out}"
    );
    assert!(
        rows.contains(&(nspid[1].to_string(), "sleep 2000".into())),
        "B's init is visible:\n{out}"
    );
}

#[test]
fn joining_a_path_that_is_not_a_namespace_is_a_clear_error() {
    let mut c = Ctx::new("joinbad");
    c.args(&["sleep", "1000"]);
    let (_, a) = c.start("a");
    let file = c.dir.join("not-a-namespace");
    std::fs::write(&file, "x").unwrap();
    let missing = c.dir.join("missing");
    let cases = [
        ("network", file.to_string_lossy().into_owned()),
        ("network", missing.to_string_lossy().into_owned()),
        ("ipc", format!("/proc/{a}/ns")),
        // A namespace, of the wrong type.
        ("ipc", format!("/proc/{a}/ns/net")),
        ("uts", format!("/proc/{a}/ns/pid")),
        ("pid", format!("/proc/{a}/ns/mnt")),
    ];
    let b = c.bundle.to_string_lossy().into_owned();
    for (n, (kind, path)) in cases.iter().enumerate() {
        c.edit(|v| {
            v["linux"]["namespaces"] = base_config()["linux"]["namespaces"].clone();
            join_ns(v, kind, path);
        });
        let id = c.id(&format!("bad{n}"));
        let err = c.fails(&["create", "--bundle", &b, &id], path);
        assert!(err.contains("namespace"), "{kind} {path}: {err}");
        c.assert_gone(&id);
    }
    assert!(alive(a), "A is unharmed");
}

// ---------------------------------------------------------------------------
// Cgroups: placement and removal
// ---------------------------------------------------------------------------

/// Starts a container with `cgroups_path` (None: none in the config, so the
/// id), checks its placement everywhere, kills and deletes it, and checks
/// that every directory listed in `made` (relative to each hierarchy's
/// root, as berth should have made them) is gone.
fn placement(c: &mut Ctx, cgroups_path: Option<&str>, made: &[String]) {
    for m in made {
        for (dir, _, _) in expected_cgroups("/") {
            assert!(!cg_dir(dir, m).exists(), "{m} exists before the test");
        }
    }
    c.args(&["sleep", "1000"]).edit(|v| match cgroups_path {
        Some(p) => v["linux"]["cgroupsPath"] = json!(p),
        None => {
            v["linux"].as_object_mut().unwrap().remove("cgroupsPath");
        }
    });
    let (id, pid) = c.start("a");
    let path = cgroups_path.map(str::to_string).unwrap_or(id.clone());
    let expected = expected_cgroups(&path);
    assert_placed(pid, &expected);
    c.ok(&["kill", &id, "KILL"]);
    c.wait_status(&id, "stopped");
    c.ok(&["delete", &id]);
    c.assert_gone(&id);
    assert_no_cgroup(&path);
    for m in made {
        for (dir, _, _) in expected_cgroups("/") {
            let d = cg_dir(dir, m);
            assert!(!d.exists(), "{} (made by berth) is left", d.display());
        }
    }
}

#[test]
fn cgroup_absolute_path_in_every_hierarchy_and_its_parents_removed() {
    let mut g = HostCleanup::default();
    let mut c = Ctx::new("cgabs");
    let top = format!("/berth-test-{}", c.name);
    let path = format!("{top}/mid/c");
    cleanup_cgroups(&mut g, &path, 2);
    placement(&mut c, Some(&path), &[top.clone(), format!("{top}/mid")]);
}

#[test]
fn cgroup_relative_path_is_under_the_callers_cgroup() {
    let mut g = HostCleanup::default();
    let mut c = Ctx::new("cgrel");
    let rel = format!("berth-test-{}", c.name);
    cleanup_cgroups(&mut g, &rel, 0);
    // Where the memory hierarchy puts us matters here: a relative path is
    // not taken from the hierarchy's root.
    placement(&mut c, Some(&rel), &[]);
}

#[test]
fn cgroup_defaults_to_the_container_id() {
    let mut g = HostCleanup::default();
    let mut c = Ctx::new("cgdef");
    let id = format!("{}-a", c.name);
    cleanup_cgroups(&mut g, &id, 0);
    placement(&mut c, None, &[]);
}

#[test]
fn cgroup_parent_shared_with_another_container_survives_its_delete() {
    let mut g = HostCleanup::default();
    let mut c = Ctx::new("cgshared");
    let top = format!("/berth-test-{}", c.name);
    let (pa, pb) = (format!("{top}/a"), format!("{top}/b"));
    cleanup_cgroups(&mut g, &pa, 1);
    cleanup_cgroups(&mut g, &pb, 0);
    c.args(&["sleep", "1000"])
        .edit(|v| v["linux"]["cgroupsPath"] = json!(pa));
    let (ida, a) = c.start("a");
    c.edit(|v| v["linux"]["cgroupsPath"] = json!(pb));
    let (idb, b) = c.start("b");
    assert_placed(a, &expected_cgroups(&pa));
    assert_placed(b, &expected_cgroups(&pb));
    // A made the parent, but B is in it now: A's delete must succeed,
    // remove A's own cgroup and leave the parent and B alone.
    c.ok(&["delete", "--force", &ida]);
    c.assert_gone(&ida);
    assert_no_cgroup(&pa);
    assert!(alive(b), "B survives A's delete");
    assert_placed(b, &expected_cgroups(&pb));
    c.ok(&["delete", "--force", &idb]);
    c.assert_gone(&idb);
    assert_no_cgroup(&pb);
}

#[test]
fn cgroup_path_escaping_with_dotdot_is_refused() {
    let mut g = HostCleanup::default();
    let mut c = Ctx::new("cgesc");
    let name = format!("berth-esc-{}", c.name);
    // Everywhere an escape could land.
    let mut landing = vec![
        PathBuf::from("/sys/fs/cgroup").join(&name),
        PathBuf::from("/sys/fs").join(&name),
        PathBuf::from("/sys").join(&name),
        PathBuf::from("/").join(&name),
    ];
    for (dir, ctl) in HIERARCHIES {
        landing.push(cg_dir(dir, &name));
        let own = cg_dir(dir, &proc_cgroup("self", ctl));
        if let Some(p) = own.parent() {
            landing.push(p.join(&name));
        }
    }
    g.dirs.extend(landing.iter().cloned());
    c.args(&["sleep", "1000"]);
    let b = c.bundle.to_string_lossy().into_owned();
    let cases = [
        format!("/../{name}"),
        format!("/../../../{name}"),
        format!("../{name}"),
        format!("x/../../{name}"),
        format!("/x/../../{name}"),
    ];
    for (n, p) in cases.iter().enumerate() {
        c.edit(|v| v["linux"]["cgroupsPath"] = json!(p));
        let id = c.id(&format!("e{n}"));
        c.fails(&["create", "--bundle", &b, &id], "linux.cgroupsPath");
        c.assert_gone(&id);
        for d in &landing {
            assert!(!d.exists(), "cgroupsPath {p:?} made {}", d.display());
        }
    }
}

// ---------------------------------------------------------------------------
// Every process of the container is reached
// ---------------------------------------------------------------------------

/// Starts `sh -c script` without a PID namespace of its own; waits until
/// `n` processes are in its cgroup and returns (id, init pid, their pids).
fn start_shared_pid_ns(c: &mut Ctx, script: &str, n: usize) -> (String, i32, Vec<i32>) {
    c.args(&["sh", "-c", script]).edit(|v| remove_ns(v, "pid"));
    let (id, pid) = c.start("a");
    let mut pids = Vec::new();
    wait_until(&format!("{n} processes in the cgroup of {id}"), || {
        pids = container_pids(&id);
        pids.len() == n && pids.iter().filter(|p| comm(**p) == "sleep").count() >= 2
    });
    for p in &pids {
        c.reap_later(*p);
    }
    (id, pid, pids)
}

#[test]
fn kill_all_reaches_every_process_without_a_pid_namespace() {
    let mut c = Ctx::new("killall");
    let (id, pid, pids) = start_shared_pid_ns(&mut c, "sleep 1000 & sleep 1000 & wait", 3);
    assert!(pids.contains(&pid), "init {pid} in {pids:?}");
    c.ok(&["kill", "--all", &id, "KILL"]);
    wait_until("every process to die", || pids.iter().all(|p| !alive(*p)));
    assert_eq!(container_pids(&id), Vec::<i32>::new());
    c.wait_status(&id, "stopped");
    c.ok(&["delete", &id]);
    c.assert_gone(&id);
    assert_no_cgroup(&id);
}

#[test]
fn kill_without_all_reaches_only_init_and_delete_the_rest() {
    let mut c = Ctx::new("killinit");
    let (id, pid, pids) = start_shared_pid_ns(&mut c, "sleep 1000 & sleep 1000 & wait", 3);
    c.ok(&["kill", &id, "KILL"]);
    wait_until("init to die", || !alive(pid));
    c.wait_status(&id, "stopped");
    let left: Vec<i32> = pids.iter().copied().filter(|p| *p != pid).collect();
    assert!(left.iter().all(|p| alive(*p)), "the sleeps outlive init");
    c.ok(&["delete", &id]);
    assert!(pids.iter().all(|p| !alive(*p)), "delete killed the rest");
    c.assert_gone(&id);
    assert_no_cgroup(&id);
}

#[test]
fn delete_force_kills_every_process_without_a_pid_namespace() {
    let mut c = Ctx::new("delforceall");
    let (id, _, pids) = start_shared_pid_ns(&mut c, "sleep 1000 & sleep 1000 & wait", 3);
    c.ok(&["delete", "--force", &id]);
    let alive_now: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(alive_now.is_empty(), "left alive: {alive_now:?}");
    assert_eq!(container_pids(&id), Vec::<i32>::new());
    c.assert_gone(&id);
    assert_no_cgroup(&id);
}

#[test]
fn delete_after_init_exits_kills_the_processes_it_left() {
    let mut c = Ctx::new("orphans");
    c.args(&["sh", "-c", "sleep 1000 & sleep 1000 & exit 0"])
        .edit(|v| remove_ns(v, "pid"));
    let (id, pid) = c.start("a");
    c.wait_status(&id, "stopped");
    assert!(!alive(pid));
    let mut left = Vec::new();
    wait_until("the two sleeps to be in the cgroup", || {
        left = container_pids(&id);
        left.len() == 2 && left.iter().all(|p| comm(*p) == "sleep")
    });
    for p in &left {
        c.reap_later(*p);
    }
    assert_eq!(c.status(&id), "stopped");
    c.ok(&["delete", &id]);
    let alive_now: Vec<i32> = left.iter().copied().filter(|p| alive(*p)).collect();
    assert!(
        alive_now.is_empty(),
        "left alive after delete: {alive_now:?}"
    );
    c.assert_gone(&id);
    assert_no_cgroup(&id);
}

// ---------------------------------------------------------------------------
// Known runtime escapes
// ---------------------------------------------------------------------------

#[test]
fn cve_2019_5736_berths_own_binary_is_refused() {
    let mut c = Ctx::new("cve5736");
    let bin_before = std::fs::read(bin()).unwrap();
    let root = c.rootfs();
    std::fs::write(root.join("evil.sh"), "#!/proc/self/exe\necho hi\n").unwrap();
    std::fs::write(root.join("evil-args.sh"), "#!/proc/self/exe init\n").unwrap();
    for f in ["evil.sh", "evil-args.sh"] {
        std::fs::set_permissions(
            root.join(f),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    }
    std::os::unix::fs::symlink("/proc/self/exe", root.join("bin/evil-link")).unwrap();
    let b = c.bundle.to_string_lossy().into_owned();
    let cases: [&[&str]; 5] = [
        &["/proc/self/exe"],
        &["/proc/self/exe", "init"],
        &["/evil.sh"],
        &["/evil-args.sh"],
        // Through PATH and a symlink.
        &["evil-link"],
    ];
    for (n, args) in cases.iter().enumerate() {
        c.args(args);
        let id = c.id(&format!("c{n}"));
        c.fails(&["create", "--bundle", &b, &id], "berth's own binary");
        c.assert_gone(&id);
        let (code, out, err) = c.run(&format!("r{n}"));
        assert_ne!(code, 0, "run {args:?}: {out}");
        assert!(err.contains("berth's own binary"), "run {args:?}: {err}");
        c.assert_gone(&format!("{}-r{n}", c.name));
    }
    assert!(
        std::fs::read(bin()).unwrap() == bin_before,
        "berth's binary changed"
    );
}

#[test]
fn cve_2024_21626_cwd_through_an_inherited_fd_never_leaves_the_root() {
    let mut g = HostCleanup::default();
    let mut c = Ctx::new("cve21626");
    let name = format!("berth-marker-{}", c.name);
    let secret = unique("host-secret");
    let marker = Path::new("/").join(&name);
    g.files.push(marker.clone());
    std::fs::write(&marker, &secret).unwrap();
    let ups = "../".repeat(16);
    let probe = format!(
        "pwd; cat {ups}{name}; cat ./{ups}{name}; cat /proc/self/cwd/{ups}{name}; \
         cd {ups} && cat {name}"
    );
    // berth's own fds, then a host directory its caller leaked at 3..=15
    // (runc's leak was a host cgroup directory).
    let host_dir = open_host_dir(&c.dir);
    for (mode, leak) in [("own", None), ("leaked", Some(&host_dir))] {
        for n in 3..=15 {
            let cwd = format!("/proc/self/fd/{n}");
            c.args(&["sh", "-c", &probe])
                .edit(|v| v["process"]["cwd"] = json!(cwd));
            let (code, out, err) = run_collect(&mut c, &format!("run-{mode}{n}"), leak);
            assert!(
                !out.contains(&secret) && !err.contains(&secret),
                "run with cwd {cwd} ({mode} fds) read the host's {}:\n{out}\n{err}",
                marker.display()
            );
            if code == 0 {
                assert!(
                    out.starts_with('/'),
                    "run with cwd {cwd} ({mode} fds): pwd is outside the root: {out}"
                );
            }
            match create_start_collect(&mut c, &format!("create-{mode}{n}"), leak) {
                Ok(all) => {
                    assert!(
                        !all.contains(&secret),
                        "create with cwd {cwd} ({mode} fds) read the host's {}:\n{all}",
                        marker.display()
                    );
                    assert!(
                        all.starts_with('/'),
                        "create with cwd {cwd} ({mode} fds): pwd is outside the root: {all}"
                    );
                }
                Err(e) => assert!(!e.contains(&secret), "{e}"),
            }
        }
    }
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), secret);
}

#[test]
fn proc_symlinked_out_of_the_rootfs_is_never_mounted_on_the_host() {
    let mut g = HostCleanup::default();
    let mut c = Ctx::new("procsym");
    let host_dir = c.dir.join("host-target");
    std::fs::create_dir(&host_dir).unwrap();
    std::fs::write(host_dir.join("canary"), "x").unwrap();
    let abs_missing = PathBuf::from(format!("/berth-proc-{}", c.name));
    g.dirs.push(abs_missing.clone());
    let targets = [
        host_dir.to_string_lossy().into_owned(),
        // Relative: from the rootfs, ../../host-target is host_dir.
        "../../host-target".to_string(),
        abs_missing.to_string_lossy().into_owned(),
        "/proc".to_string(),
        "/".to_string(),
        // Exists on the host and in the rootfs.
        "/etc".to_string(),
    ];
    let proc_link = c.rootfs().join("proc");
    std::fs::remove_dir(&proc_link).unwrap();
    c.args(&["sleep", "1000"]);
    let b = c.bundle.to_string_lossy().into_owned();
    for (n, t) in targets.iter().enumerate() {
        let _ = std::fs::remove_file(&proc_link);
        std::os::unix::fs::symlink(t, &proc_link).unwrap();
        let procs_before = host_proc_mounts();
        let id = c.id(&format!("s{n}"));
        let out = c.berth(&["create", "--bundle", &b, &id]);
        let check = |when: &str| {
            assert_eq!(
                host_proc_mounts(),
                procs_before,
                "/proc -> {t}: the host's proc mounts changed ({when})"
            );
            for mp in host_mount_points() {
                assert!(
                    !Path::new(&mp).starts_with(&host_dir)
                        && !Path::new(&mp).starts_with(&abs_missing),
                    "/proc -> {t}: {mp} is mounted on the host ({when})"
                );
            }
            let entries: Vec<_> = std::fs::read_dir(&host_dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(entries, ["canary"], "/proc -> {t}: {when}");
            assert!(
                !abs_missing.exists(),
                "/proc -> {t}: made {}",
                abs_missing.display()
            );
        };
        if out.status.success() {
            let pid = c.state(&id)["pid"].as_i64().unwrap() as i32;
            c.reap_later(pid);
            check("while created");
            // Whatever proc the container got is inside its own root.
            let mi = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
            for l in mi.lines().filter(|l| l.contains(" - proc ")) {
                let mp = l.split(' ').nth(4).unwrap();
                assert!(
                    !mp.starts_with(host_dir.to_str().unwrap()),
                    "/proc -> {t}: proc at {mp} in the container"
                );
            }
        }
        c.ok(&["delete", "--force", &id]);
        c.assert_gone(&id);
        check("after delete");
    }
}

#[test]
fn proc_mount_on_a_symlink_in_the_rootfs_is_refused() {
    // runc refuses to mount proc (or sysfs) anywhere but on an ordinary
    // directory ("filesystem \"proc\" must be mounted on ordinary
    // directory"): a proc mounted where the symlink leads escapes the
    // protections keyed to /proc (CVE-2019-16884). Here /proc -> /etc, a
    // directory that exists inside the rootfs.
    let mut c = Ctx::new("procsymref");
    let proc_link = c.rootfs().join("proc");
    std::fs::remove_dir(&proc_link).unwrap();
    std::os::unix::fs::symlink("/etc", &proc_link).unwrap();
    c.args(&["sleep", "1000"]);
    let b = c.bundle.to_string_lossy().into_owned();
    let id = c.id("a");
    let out = c.berth(&["create", "--bundle", &b, &id]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        let pid = c.state(&id)["pid"].as_i64().unwrap() as i32;
        c.reap_later(pid);
        let mi = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
        let procs: Vec<&str> = mi.lines().filter(|l| l.contains(" - proc ")).collect();
        panic!(
            "create with /proc -> /etc succeeded; the container's proc mounts:\n{}",
            procs.join("\n")
        );
    }
    assert!(err.contains("/proc"), "the error names /proc: {err}");
    c.assert_gone(&id);
}

#[test]
fn cgroup_namespace_root_is_the_containers_cgroup() {
    let mut c = Ctx::new("cgns");
    let id = format!("{}-a", c.name);
    // The config mounts the hierarchies at /sys/fs/cgroup (read-only).
    c.args(&[
        "sh",
        "-c",
        "cat /proc/self/cgroup; echo ---; ls /sys/fs/cgroup/pids /sys/fs/cgroup/cpu",
    ]);
    let out = c.run_ok("a");
    let (cgroup, listing) = out.split_once("---\n").unwrap();
    assert_eq!(cgroup.lines().count(), HIERARCHIES.len(), "{out}");
    // In its cgroup namespace the container's own cgroup is "/" in every
    // hierarchy, and the hierarchies it mounts start there: nothing of the
    // host's tree (its own directory among its parent's) shows.
    let not_root: Vec<&str> = cgroup
        .lines()
        .filter(|l| l.splitn(3, ':').nth(2) != Some("/"))
        .collect();
    let sees_host_tree = listing.split_whitespace().any(|e| e == id);
    assert!(
        not_root.is_empty() && !sees_host_tree,
        "the cgroup namespace is not rooted at the container's cgroup:\n\
         lines not at \"/\": {not_root:?}\n\
         its own cgroup {id} is listed in its /sys/fs/cgroup: {sees_host_tree}\n{out}"
    );
}
