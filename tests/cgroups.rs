//! cgroup resources on a v1 (hybrid) host: every linux.resources field
//! berth applies, read back from the kernel's cgroupfs from outside (the
//! container's directory per hierarchy, found through /proc/PID/cgroup and
//! the host's mountinfo, never guessed) and, where it makes sense, from
//! inside through the container's own /sys/fs/cgroup mount; enforcement of
//! memory, pids and device limits; pause/resume, update, events, ps, and
//! kill/delete of paused containers; and the errors for values that are
//! wrong or that this host cannot apply, each leaving nothing behind.

mod common;
use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const MIB: i64 = 1 << 20;

// ---------------------------------------------------------------------------
// Where a container's cgroups are
// ---------------------------------------------------------------------------

/// A cgroup or cgroup2 mount of the host.
struct Mount {
    point: PathBuf,
    root: String,
    v2: bool,
    opts: Vec<String>,
}

/// The host's cgroup mounts, from our /proc/self/mountinfo.
fn cgroup_mounts() -> Vec<Mount> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut out = Vec::new();
    for line in mi.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 || !matches!(r[0], "cgroup" | "cgroup2") {
            continue;
        }
        out.push(Mount {
            point: PathBuf::from(l[4]),
            root: l[3].to_string(),
            v2: r[0] == "cgroup2",
            opts: r[2].split(',').map(String::from).collect(),
        });
    }
    out
}

/// (controllers, path) per line of /proc/PID/cgroup; "" is cgroup2.
fn proc_cgroups(pid: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/cgroup: {e}"));
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let _ = f.next()?;
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

/// The mount of the hierarchy whose /proc/PID/cgroup controllers field is `ctrls`.
fn mount_of(ctrls: &str) -> Mount {
    cgroup_mounts()
        .into_iter()
        .find(|m| {
            if ctrls.is_empty() {
                m.v2
            } else {
                !m.v2 && ctrls.split(',').all(|c| m.opts.iter().any(|o| o == c))
            }
        })
        .unwrap_or_else(|| panic!("no mount of the cgroup hierarchy {ctrls:?}"))
}

fn host_path(m: &Mount, path: &str) -> PathBuf {
    let rel = path.strip_prefix(m.root.as_str()).unwrap_or(path);
    m.point.join(rel.trim_start_matches('/'))
}

/// The host directory of `pid`'s cgroup in the hierarchy that has
/// `controller`: its v1 hierarchy, or cgroup2 when no v1 one has it (as
/// hugetlb on this host).
fn cg_dir(pid: impl std::fmt::Display, controller: &str) -> PathBuf {
    let pid = pid.to_string();
    let lines = proc_cgroups(&pid);
    let (ctrls, path) = lines
        .iter()
        .find(|(c, _)| !c.is_empty() && c.split(',').any(|x| x == controller))
        .or_else(|| lines.iter().find(|(c, _)| c.is_empty()))
        .unwrap_or_else(|| panic!("pid {pid} is in no hierarchy with {controller}"));
    host_path(&mount_of(ctrls), path)
}

/// A cgroupfs file of `pid`'s cgroup, trimmed.
fn cg_read(pid: i32, controller: &str, file: &str) -> String {
    let p = cg_dir(pid, controller).join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// The weight file of the blkio controller: CFQ's, or BFQ's where the
/// kernel has no CFQ.
fn blkio_weight_file(pid: i32) -> &'static str {
    if cg_dir(pid, "blkio").join("blkio.weight").exists() {
        "blkio.weight"
    } else {
        "blkio.bfq.weight"
    }
}

/// The directory name a v1 controller's hierarchy has under /sys/fs/cgroup
/// (inside a container too: berth mounts each one at its host name).
fn hierarchy_name(controller: &str) -> String {
    let m = cgroup_mounts()
        .into_iter()
        .find(|m| !m.v2 && m.opts.iter().any(|o| o == controller))
        .unwrap_or_else(|| panic!("no v1 hierarchy has {controller}"));
    m.point.file_name().unwrap().to_string_lossy().into_owned()
}

/// Every directory a container `id` with the default cgroupsPath would
/// have: in each of our hierarchies, our own cgroup joined with `id` (the
/// memory one is nested on this host).
fn default_cgroup_dirs(id: &str) -> Vec<PathBuf> {
    proc_cgroups("self")
        .iter()
        .map(|(c, p)| host_path(&mount_of(c), p).join(id))
        .collect()
}

/// Nothing of container `id` is left: the harness's checks (state
/// directory, processes, mounts, cgroups one level deep), plus every
/// nested cgroup directory it would have had.
fn assert_nothing_left(c: &Ctx, id: &str) {
    c.assert_gone(id);
    let left: Vec<PathBuf> = default_cgroup_dirs(id)
        .into_iter()
        .filter(|d| d.exists())
        .collect();
    assert!(left.is_empty(), "cgroups of {id} are left: {left:?}");
}

/// The CPUs (or memory nodes) of a cpuset list like "0-3,8".
fn members(list: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<u32>().unwrap()..=b.parse::<u32>().unwrap()),
            None => out.push(part.parse().unwrap()),
        }
    }
    out
}

/// The host's CPUs, as the root cpuset has them.
fn host_cpus() -> Vec<u32> {
    let root = mount_of("cpuset").point;
    let text = std::fs::read_to_string(root.join("cpuset.effective_cpus"))
        .or_else(|_| std::fs::read_to_string(root.join("cpuset.cpus")))
        .unwrap();
    members(&text)
}

/// A real block device of the host: (name, "major:minor").
fn block_device() -> (String, String) {
    let mut names: Vec<String> = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !["loop", "ram", "zram", "nbd", "sr"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .collect();
    names.sort();
    let name = names
        .first()
        .unwrap_or_else(|| panic!("no disk in /sys/block"))
        .clone();
    let dev = std::fs::read_to_string(format!("/sys/block/{name}/dev"))
        .unwrap()
        .trim()
        .to_string();
    let partitions = std::fs::read_to_string("/proc/partitions").unwrap();
    assert!(
        partitions
            .lines()
            .any(|l| l.split_whitespace().last() == Some(name.as_str())),
        "{name} is not in /proc/partitions:\n{partitions}"
    );
    (name, dev)
}

/// The largest value a v1 memory limit file holds: "no limit".
fn v1_unlimited() -> String {
    // SAFETY: sysconf with a valid name has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as i64;
    ((i64::MAX / page) * page).to_string()
}

// ---------------------------------------------------------------------------
// Running berth and containers
// ---------------------------------------------------------------------------

/// Sets linux.resources (and writes the config).
fn resources(c: &mut Ctx, r: Value) -> &mut Ctx {
    c.edit(|v| v["linux"]["resources"] = r)
}

/// A started container running `sleep 1000`, exec'd.
fn sleeper(c: &mut Ctx, suffix: &str) -> (String, i32) {
    c.args(&["sleep", "1000"]);
    let (id, pid) = c.start(suffix);
    wait_until("sleep to exec", || execd(pid, "sleep"));
    (id, pid)
}

/// Runs berth with `input` on its standard input.
fn berth_stdin(c: &Ctx, args: &[&str], input: &str) -> Output {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let file = c.dir.join(format!("stdin-{n}.json"));
    std::fs::write(&file, input).unwrap();
    let mut cmd = c.cmd(args);
    cmd.stdin(std::fs::File::open(&file).unwrap());
    output(cmd, &c.dir)
}

/// Whether `value` appears in `line` as a whole token (not inside a longer
/// number or word).
fn has_token(line: &str, value: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    line.match_indices(value).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + value.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// Asserts `out` failed with exactly one error line on stderr (warnings
/// aside) that holds every needle and names every value as a token;
/// returns the line.
fn one_error(what: &str, out: &Output, needles: &[&str], values: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{what} succeeded but should fail\nstdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("berth: warning:"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: expected one error line on stderr, got:\n{stderr}"
    );
    let line = lines[0].to_string();
    for n in needles {
        assert!(
            line.contains(n),
            "{what}: the error does not name {n:?}:\n{line}"
        );
    }
    for v in values {
        assert!(
            has_token(&line, v),
            "{what}: the error does not name the value {v:?}:\n{line}"
        );
    }
    line
}

fn fails_naming(c: &Ctx, args: &[&str], needles: &[&str], values: &[&str]) -> String {
    let out = c.berth(args);
    one_error(&format!("berth {args:?}"), &out, needles, values)
}

/// `create` with linux.resources `r` must fail with one error naming the
/// needles and values, and leave nothing behind.
fn create_fails(c: &mut Ctx, suffix: &str, r: Value, needles: &[&str], values: &[&str]) {
    resources(c, r.clone());
    let id = c.id(suffix);
    let b = c.bundle.to_string_lossy().into_owned();
    let out = c.berth(&["create", "--bundle", &b, &id]);
    one_error(&format!("create with {r}"), &out, needles, values);
    assert_nothing_left(c, &id);
}

/// Starts a container whose process writes the cgroupfs files `files`
/// ("memory/memory.limit_in_bytes", relative to its /sys/fs/cgroup), as it
/// sees them, into /tmp/inside, then sleeps. Returns (id, pid, file → text).
fn start_reporting(
    c: &mut Ctx,
    suffix: &str,
    files: &[String],
) -> (String, i32, BTreeMap<String, String>) {
    let script =
        "for f in \"$@\"; do echo \"== $f\"; cat \"/sys/fs/cgroup/$f\" 2>&1; done > /tmp/inside; \
                  touch /tmp/ready; exec sleep 1000";
    let mut args = vec!["sh", "-c", script, "sh"];
    args.extend(files.iter().map(String::as_str));
    c.args(&args);
    let (id, pid) = c.start(suffix);
    let ready = format!("/proc/{pid}/root/tmp/ready");
    wait_until("the container to report its cgroupfs", || {
        Path::new(&ready).exists()
    });
    let text = std::fs::read_to_string(format!("/proc/{pid}/root/tmp/inside")).unwrap();
    let mut seen = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("== ") {
            cur = Some(f.to_string());
            seen.insert(f.to_string(), String::new());
        } else if let Some(f) = &cur {
            let e = seen.get_mut(f).unwrap();
            if !e.is_empty() {
                e.push('\n');
            }
            e.push_str(line);
        }
    }
    (id, pid, seen)
}

/// `berth events ID` running in the background, its lines read by a thread.
struct Events {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: PathBuf,
}

impl Events {
    fn spawn(c: &Ctx, id: &str) -> Events {
        let stderr = c.dir.join(format!("events-{id}.err"));
        let mut child = c
            .cmd(&["events", "--interval", "60s", id])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Events {
            child,
            lines: rx,
            stderr,
        }
    }

    /// The next line as JSON, within 30 seconds.
    fn next(&self, what: &str) -> Value {
        match self.lines.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => serde_json::from_str(&l)
                .unwrap_or_else(|e| panic!("events printed a line that is not JSON ({e}): {l}")),
            Err(e) => panic!(
                "no events line while waiting for {what} ({e}); its stderr: {}",
                std::fs::read_to_string(&self.stderr).unwrap_or_default()
            ),
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `events --stats ID` parsed: the one line it prints.
fn stats(c: &Ctx, id: &str) -> Value {
    let out = c.ok(&["events", "--stats", id]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "events --stats prints one line: {out}");
    serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("events --stats is not JSON ({e}): {out}"))
}

// ---------------------------------------------------------------------------
// memory
// ---------------------------------------------------------------------------

#[test]
fn memory_fields_reach_cgroupfs_outside_and_inside() {
    let mut c = Ctx::new("cgmem");
    resources(
        &mut c,
        json!({"memory": {
            "limit": 32 * MIB, "reservation": 16 * MIB, "swap": 64 * MIB,
            "swappiness": 10, "disableOOMKiller": true, "useHierarchy": true,
            "kernelTCP": 8 * MIB}}),
    );
    let m = hierarchy_name("memory");
    let want = [
        ("memory.limit_in_bytes", (32 * MIB).to_string()),
        ("memory.soft_limit_in_bytes", (16 * MIB).to_string()),
        ("memory.memsw.limit_in_bytes", (64 * MIB).to_string()),
        ("memory.swappiness", "10".to_string()),
        ("memory.use_hierarchy", "1".to_string()),
        ("memory.kmem.tcp.limit_in_bytes", (8 * MIB).to_string()),
    ];
    let mut files: Vec<String> = want.iter().map(|(f, _)| format!("{m}/{f}")).collect();
    files.push(format!("{m}/memory.oom_control"));
    let (_id, pid, inside) = start_reporting(&mut c, "a", &files);
    for (file, value) in &want {
        assert_eq!(&cg_read(pid, "memory", file), value, "{file} (outside)");
        assert_eq!(
            inside[&format!("{m}/{file}")].trim(),
            value,
            "{file} (inside)"
        );
    }
    let oom = cg_read(pid, "memory", "memory.oom_control");
    assert!(
        oom.lines().any(|l| l == "oom_kill_disable 1"),
        "memory.oom_control (outside):\n{oom}"
    );
    let oom_in = &inside[&format!("{m}/memory.oom_control")];
    assert!(
        oom_in.lines().any(|l| l == "oom_kill_disable 1"),
        "memory.oom_control (inside):\n{oom_in}"
    );
}

#[test]
fn minus_one_is_unlimited_and_zero_leaves_the_kernel_default() {
    let mut c = Ctx::new("cgunset");
    // A container without linux.resources: the kernel's defaults.
    let (_, base) = sleeper(&mut c, "base");
    resources(
        &mut c,
        json!({"memory": {"limit": -1, "reservation": -1, "swap": -1, "kernelTCP": -1},
               "cpu": {"quota": -1}, "pids": {"limit": -1}}),
    );
    let (_, unl) = sleeper(&mut c, "unl");
    resources(
        &mut c,
        json!({"memory": {"limit": 0, "reservation": 0, "swap": 0, "kernelTCP": 0},
               "cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""},
               "pids": {"limit": 0}, "blockIO": {"weight": 0}}),
    );
    let (_, zero) = sleeper(&mut c, "zero");
    let unlimited = v1_unlimited();
    for file in [
        "memory.limit_in_bytes",
        "memory.soft_limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "memory.kmem.tcp.limit_in_bytes",
    ] {
        assert_eq!(cg_read(unl, "memory", file), unlimited, "{file} for -1");
        assert_eq!(
            cg_read(zero, "memory", file),
            cg_read(base, "memory", file),
            "{file} for 0"
        );
    }
    assert_eq!(cg_read(unl, "cpu", "cpu.cfs_quota_us"), "-1");
    assert_eq!(cg_read(unl, "pids", "pids.max"), "max");
    let wf = blkio_weight_file(zero);
    for (ctl, file) in [
        ("cpu", "cpu.shares"),
        ("cpu", "cpu.cfs_quota_us"),
        ("cpu", "cpu.cfs_period_us"),
        ("cpuset", "cpuset.cpus"),
        ("cpuset", "cpuset.mems"),
        ("pids", "pids.max"),
        ("blkio", wf),
    ] {
        assert_eq!(
            cg_read(zero, ctl, file),
            cg_read(base, ctl, file),
            "{file} for 0"
        );
    }
    assert_eq!(cg_read(zero, "pids", "pids.max"), "max");
}

// ---------------------------------------------------------------------------
// cpu and cpuset
// ---------------------------------------------------------------------------

#[test]
fn cpu_and_cpuset_fields_reach_cgroupfs_outside_and_inside() {
    let mut c = Ctx::new("cgcpu");
    let cpus = host_cpus();
    let cpu = cpus[cpus.len() - 1].to_string();
    resources(
        &mut c,
        json!({"cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 20000,
                       "cpus": cpu, "mems": "0"}}),
    );
    let (cpu_h, cpuset_h) = (hierarchy_name("cpu"), hierarchy_name("cpuset"));
    let want = [
        ("cpu", &cpu_h, "cpu.shares", "512".to_string()),
        ("cpu", &cpu_h, "cpu.cfs_quota_us", "50000".to_string()),
        ("cpu", &cpu_h, "cpu.cfs_period_us", "100000".to_string()),
        ("cpu", &cpu_h, "cpu.cfs_burst_us", "20000".to_string()),
        ("cpuset", &cpuset_h, "cpuset.cpus", cpu.clone()),
        ("cpuset", &cpuset_h, "cpuset.mems", "0".to_string()),
    ];
    let files: Vec<String> = want.iter().map(|(_, h, f, _)| format!("{h}/{f}")).collect();
    let (_id, pid, inside) = start_reporting(&mut c, "a", &files);
    for (ctl, h, file, value) in &want {
        assert_eq!(&cg_read(pid, ctl, file), value, "{file} (outside)");
        assert_eq!(
            inside[&format!("{h}/{file}")].trim(),
            value,
            "{file} (inside)"
        );
    }
    // The kernel holds the process to its cpuset.
    assert_eq!(status_field(pid, "Cpus_allowed_list"), cpu);
    assert_eq!(status_field(pid, "Mems_allowed_list"), "0");
}

#[test]
fn cpu_idle_reaches_cgroupfs() {
    let mut c = Ctx::new("cgidle");
    resources(&mut c, json!({"cpu": {"idle": 1}}));
    let (_, pid) = sleeper(&mut c, "a");
    assert_eq!(cg_read(pid, "cpu", "cpu.idle"), "1");
}

#[test]
fn cpu_realtime_applies_or_names_the_field() {
    let mut c = Ctx::new("cgrt");
    resources(
        &mut c,
        json!({"cpu": {"realtimePeriod": 500000, "realtimeRuntime": 10000}}),
    );
    c.args(&["sleep", "1000"]);
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let out = c.berth(&["create", "--bundle", &b, &id]);
    if out.status.success() {
        let pid = c.state(&id)["pid"].as_i64().unwrap() as i32;
        c.reap_later(pid);
        assert_eq!(cg_read(pid, "cpu", "cpu.rt_period_us"), "500000");
        assert_eq!(cg_read(pid, "cpu", "cpu.rt_runtime_us"), "10000");
    } else {
        // The parent has no real-time budget to give: the kernel refuses,
        // and berth says which field.
        one_error("create with cpu.realtime*", &out, &["cpu.realtime"], &[]);
        assert_nothing_left(&c, &id);
    }
}

// ---------------------------------------------------------------------------
// blkio
// ---------------------------------------------------------------------------

#[test]
fn blkio_weight_and_throttles_reach_cgroupfs() {
    let mut c = Ctx::new("cgblkio");
    let (_, dev) = block_device();
    let (major, minor) = dev.split_once(':').unwrap();
    let (major, minor): (i64, i64) = (major.parse().unwrap(), minor.parse().unwrap());
    let t = |rate: u64| json!([{"major": major, "minor": minor, "rate": rate}]);
    resources(
        &mut c,
        json!({"blockIO": {"weight": 500,
            "throttleReadBpsDevice": t(1048576), "throttleWriteBpsDevice": t(2097152),
            "throttleReadIOPSDevice": t(1000), "throttleWriteIOPSDevice": t(500)}}),
    );
    let (_, pid) = sleeper(&mut c, "a");
    let wf = blkio_weight_file(pid);
    assert_eq!(cg_read(pid, "blkio", wf), "500", "{wf}");
    for (file, rate) in [
        ("blkio.throttle.read_bps_device", 1048576),
        ("blkio.throttle.write_bps_device", 2097152),
        ("blkio.throttle.read_iops_device", 1000),
        ("blkio.throttle.write_iops_device", 500),
    ] {
        assert_eq!(
            cg_read(pid, "blkio", file),
            format!("{dev} {rate}"),
            "{file}"
        );
    }
    // Inside, through the container's own blkio mount.
    let h = hierarchy_name("blkio");
    let inside = std::fs::read_to_string(format!(
        "/proc/{pid}/root/sys/fs/cgroup/{h}/blkio.throttle.read_bps_device"
    ))
    .unwrap();
    assert_eq!(inside.trim(), format!("{dev} 1048576"));
}

#[test]
fn blkio_weight_device_applies_or_names_the_field() {
    let mut c = Ctx::new("cgwdev");
    let (name, dev) = block_device();
    let (major, minor) = dev.split_once(':').unwrap();
    let (major, minor): (i64, i64) = (major.parse().unwrap(), minor.parse().unwrap());
    resources(
        &mut c,
        json!({"blockIO": {"weightDevice": [{"major": major, "minor": minor, "weight": 300}]}}),
    );
    c.args(&["sleep", "1000"]);
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let out = c.berth(&["create", "--bundle", &b, &id]);
    if out.status.success() {
        let pid = c.state(&id)["pid"].as_i64().unwrap() as i32;
        c.reap_later(pid);
        let file = if cg_dir(pid, "blkio").join("blkio.weight_device").exists() {
            "blkio.weight_device"
        } else {
            "blkio.bfq.weight_device"
        };
        let text = cg_read(pid, "blkio", file);
        assert!(
            text.lines().any(|l| l == format!("{dev} 300")),
            "{file}:\n{text}"
        );
    } else {
        // BFQ takes per-device weights only for a device it schedules; on
        // this host {name} may use another scheduler and the kernel refuses.
        let sched = std::fs::read_to_string(format!("/sys/block/{name}/queue/scheduler"))
            .unwrap_or_default();
        let line = one_error(
            &format!(
                "create with blockIO.weightDevice ({name} scheduler: {})",
                sched.trim()
            ),
            &out,
            &["blockIO.weightDevice[0]"],
            &[&format!("{dev} 300")],
        );
        assert!(
            line.contains("weight_device"),
            "the error names the file: {line}"
        );
        assert_nothing_left(&c, &id);
    }
}

// ---------------------------------------------------------------------------
// hugetlb (cgroup2 on this host), pids
// ---------------------------------------------------------------------------

/// Whether the hugetlb controller is only on cgroup2 here.
fn hugetlb_on_v2() -> bool {
    let v1 = cgroup_mounts()
        .iter()
        .any(|m| !m.v2 && m.opts.iter().any(|o| o == "hugetlb"));
    let v2 = cgroup_mounts().iter().find(|m| m.v2).is_some_and(|m| {
        std::fs::read_to_string(m.point.join("cgroup.controllers"))
            .unwrap_or_default()
            .split_whitespace()
            .any(|c| c == "hugetlb")
    });
    !v1 && v2
}

#[test]
fn hugepage_limits_land_in_the_unified_hierarchy() {
    let mut c = Ctx::new("cghuge");
    assert!(hugetlb_on_v2(), "this test expects hugetlb on cgroup2 only");
    resources(
        &mut c,
        json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MIB}]}),
    );
    let (_, pid) = sleeper(&mut c, "a");
    let dir = cg_dir(pid, "hugetlb");
    assert!(
        dir.starts_with(mount_of("").point),
        "hugetlb is on cgroup2: {}",
        dir.display()
    );
    assert_eq!(
        cg_read(pid, "hugetlb", "hugetlb.2MB.max"),
        (4 * MIB).to_string()
    );
}

#[test]
fn unified_key_for_hugetlb_is_applied_on_cgroup2() {
    let mut c = Ctx::new("cgunihuge");
    assert!(hugetlb_on_v2(), "this test expects hugetlb on cgroup2 only");
    resources(&mut c, json!({"unified": {"hugetlb.2MB.max": "2097152"}}));
    let (_, pid) = sleeper(&mut c, "a");
    assert_eq!(cg_read(pid, "hugetlb", "hugetlb.2MB.max"), "2097152");
}

#[test]
fn pids_limit_reaches_cgroupfs_outside_and_inside() {
    let mut c = Ctx::new("cgpids");
    resources(&mut c, json!({"pids": {"limit": 20}}));
    let h = hierarchy_name("pids");
    let (_, pid, inside) = start_reporting(&mut c, "a", &[format!("{h}/pids.max")]);
    assert_eq!(cg_read(pid, "pids", "pids.max"), "20");
    assert_eq!(inside[&format!("{h}/pids.max")].trim(), "20");
}

// ---------------------------------------------------------------------------
// What this host cannot apply
// ---------------------------------------------------------------------------

#[test]
fn network_and_rdma_without_their_controllers_are_refused() {
    let mut c = Ctx::new("cgnet");
    c.args(&["sleep", "1000"]);
    create_fails(
        &mut c,
        "cls",
        json!({"network": {"classID": 1048577}}),
        &["network.classID", "net_cls"],
        &[],
    );
    create_fails(
        &mut c,
        "prio",
        json!({"network": {"priorities": [{"name": "lo", "priority": 5}]}}),
        &["network.priorities", "net_prio"],
        &[],
    );
    create_fails(
        &mut c,
        "rdma",
        json!({"rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}}),
        &["rdma", "mlx5_1"],
        &[],
    );
}

#[test]
fn unified_keys_for_v1_controllers_are_refused() {
    let mut c = Ctx::new("cgunimem");
    c.args(&["sleep", "1000"]);
    create_fails(
        &mut c,
        "a",
        json!({"unified": {"memory.high": "1000000"}}),
        &["unified", "memory.high"],
        &[],
    );
    create_fails(
        &mut c,
        "b",
        json!({"unified": {"pids.max": "10"}}),
        &["unified", "pids.max"],
        &[],
    );
}

#[test]
fn bad_values_at_create_are_named_and_leave_nothing() {
    let mut c = Ctx::new("cgbad");
    c.args(&["sleep", "1000"]);
    let cpus = host_cpus();
    assert!(!cpus.contains(&63), "this test needs a host without CPU 63");
    let cases = [
        (json!({"memory": {"limit": -5}}), "memory.limit", "-5"),
        (
            json!({"memory": {"swappiness": 101}}),
            "memory.swappiness",
            "101",
        ),
        (json!({"cpu": {"cpus": "0-x"}}), "cpu.cpus", "0-x"),
        (json!({"cpu": {"cpus": "63"}}), "cpu.cpus", "63"),
        (json!({"blockIO": {"weight": 5}}), "blockIO.weight", "5"),
        (
            json!({"devices": [{"allow": true, "type": "x", "access": "rwm"}]}),
            "devices[0].type",
            "x",
        ),
    ];
    for (i, (r, field, value)) in cases.into_iter().enumerate() {
        create_fails(&mut c, &format!("b{i}"), r, &[field], &[value]);
    }
}

// ---------------------------------------------------------------------------
// devices
// ---------------------------------------------------------------------------

#[test]
fn devices_list_after_deny_all_and_an_allow_rule_keeps_the_defaults() {
    let mut c = Ctx::new("cgdevlist");
    resources(
        &mut c,
        json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"}]}),
    );
    let h = hierarchy_name("devices");
    let (_, pid, inside) = start_reporting(&mut c, "a", &[format!("{h}/devices.list")]);
    let list = cg_read(pid, "devices", "devices.list");
    let rules: BTreeSet<&str> = list.lines().collect();
    assert!(
        !rules.contains("a *:* rwm"),
        "deny-all was not applied:\n{list}"
    );
    for r in [
        "c 10:200 rw",
        "c 1:3 rwm",
        "c 1:5 rwm",
        "c 1:7 rwm",
        "c 1:8 rwm",
        "c 1:9 rwm",
        "c 5:0 rwm",
        "c 5:2 rwm",
        "c 136:* rwm",
        "c *:* m",
        "b *:* m",
    ] {
        assert!(rules.contains(r), "devices.list lacks {r:?}:\n{list}");
    }
    assert_eq!(inside[&format!("{h}/devices.list")].trim(), list, "inside");
}

/// A container that opens `path` for reading and writing, then /dev/null,
/// and prints what happened.
fn open_devices_script(path: &str) -> String {
    format!(
        "if true <> {path}; then echo {path}=ok; fi; if true <> /dev/null; then echo null=ok; fi"
    )
}

/// linux.devices entry for a character device node.
fn char_node(path: &str, major: i64, minor: i64) -> Value {
    json!({"path": path, "type": "c", "major": major, "minor": minor,
           "fileMode": 438, "uid": 0, "gid": 0})
}

/// A deny rule for a character device.
fn deny(major: i64, minor: i64, access: &str) -> Value {
    json!({"allow": false, "type": "c", "major": major, "minor": minor, "access": access})
}

/// Runs the current config, whose process tries to open `path` and
/// /dev/null, and asserts `path` is refused with EPERM while /dev/null
/// works.
fn assert_open_denied(c: &mut Ctx, suffix: &str, path: &str) {
    c.args(&["sh", "-c", &open_devices_script(path)]);
    let (code, out, err) = c.run(suffix);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(
        !out.contains(&format!("{path}=ok")),
        "{path} opened despite the deny rule: {out}"
    );
    assert!(
        err.contains(path) && err.contains("Operation not permitted"),
        "opening {path} should fail with EPERM: {err}"
    );
    assert!(
        out.contains("null=ok"),
        "/dev/null must stay usable: {out}\n{err}"
    );
}

#[test]
fn device_deny_rule_is_enforced() {
    let mut c = Ctx::new("cgdevdeny");
    // /dev/fuse (c 10:229) opens without any capability when allowed.
    c.edit(|v| v["linux"]["devices"] = json!([char_node("/dev/fuse", 10, 229)]));
    c.args(&["sh", "-c", &open_devices_script("/dev/fuse")]);
    let out = c.run_ok("allowed");
    assert!(
        out.contains("/dev/fuse=ok") && out.contains("null=ok"),
        "without a rule /dev/fuse opens: {out}"
    );
    resources(&mut c, json!({"devices": [deny(10, 229, "rw")]}));
    assert_open_denied(&mut c, "denied", "/dev/fuse");
}

#[test]
fn device_deny_rule_for_dev_full_is_enforced() {
    let mut c = Ctx::new("cgdevfull");
    // The config supplies /dev/full itself, so the default allow rule for
    // it is dropped (as runc drops a default device whose path
    // linux.devices gives) and the deny rule for c 1:7 decides.
    c.edit(|v| {
        v["linux"]["devices"] = json!([char_node("/dev/full", 1, 7)]);
        v["linux"]["resources"] = json!({"devices": [deny(1, 7, "rw")]});
    });
    assert_open_denied(&mut c, "a", "/dev/full");
}

#[test]
fn device_nodes_are_made_before_the_device_rules_apply() {
    let mut c = Ctx::new("cgdevmknod");
    // A rule denying even mknod of a device that linux.devices supplies:
    // runc makes the nodes before it writes the rules (its cgroup Set
    // comes at the procHooks sync, after the root filesystem is set up),
    // so the container starts with the node and cannot open it.
    c.edit(|v| {
        v["linux"]["devices"] = json!([char_node("/dev/fuse", 10, 229)]);
        v["linux"]["resources"] = json!({"devices": [deny(10, 229, "rwm")]});
    });
    assert_open_denied(&mut c, "a", "/dev/fuse");
}

// ---------------------------------------------------------------------------
// Enforcement: memory (OOM and events), pids
// ---------------------------------------------------------------------------

#[test]
fn memory_limit_is_enforced_with_an_oom_event_and_stats() {
    let mut c = Ctx::new("cgoom");
    resources(&mut c, json!({"memory": {"limit": 32 * MIB}}));
    // tail keeps a line in memory, and /dev/zero has no newline: 100 MiB.
    c.args(&[
        "sh",
        "-c",
        "while [ ! -e /tmp/go ]; do sleep 0.01; done; \
         head -c 104857600 /dev/zero | tail; echo $? > /tmp/done; exec sleep 1000",
    ]);
    let (id, pid) = c.start("a");
    wait_until("sh to exec", || execd(pid, "sh"));
    let events = Events::spawn(&c, &id);
    // events prints a stats line as soon as it watches.
    let first = events.next("the first stats line");
    assert_eq!(first["type"], "stats", "{first}");
    assert_eq!(first["id"], id.as_str(), "{first}");
    std::fs::write(format!("/proc/{pid}/root/tmp/go"), "").unwrap();
    loop {
        let ev = events.next("an oom event");
        if ev["type"] == "oom" {
            assert_eq!(ev["id"], id.as_str(), "{ev}");
            break;
        }
        assert_eq!(ev["type"], "stats", "unexpected event {ev}");
    }
    let done = format!("/proc/{pid}/root/tmp/done");
    wait_until("the pipeline to end", || Path::new(&done).exists());
    assert_eq!(
        std::fs::read_to_string(&done).unwrap().trim(),
        "137",
        "tail was not killed by SIGKILL"
    );
    let oom = cg_read(pid, "memory", "memory.oom_control");
    assert!(
        oom.lines()
            .any(|l| l.strip_prefix("oom_kill ").is_some_and(|n| n != "0")),
        "memory.oom_control:\n{oom}"
    );
    let s = stats(&c, &id);
    let usage = &s["data"]["memory"]["usage"];
    assert_eq!(usage["limit"], 32 * MIB, "{usage}");
    assert!(usage["failcnt"].as_u64().unwrap() > 0, "{usage}");
    assert!(
        usage["usage"].as_u64().unwrap() <= 32 * MIB as u64,
        "{usage}"
    );
    assert_eq!(
        usage["failcnt"].as_u64().unwrap().to_string(),
        cg_read(pid, "memory", "memory.failcnt")
    );
}

#[test]
fn pids_limit_is_enforced() {
    let mut c = Ctx::new("cgforks");
    resources(&mut c, json!({"pids": {"limit": 20}}));
    // The loop runs in a subshell: a shell that cannot fork exits, and the
    // container's init must stay to be looked at.
    c.args(&[
        "sh",
        "-c",
        "(i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done; echo all) \
         > /tmp/out 2> /tmp/err; echo $? > /tmp/done; exec sleep 1000",
    ]);
    let (_, pid) = c.start("a");
    let done = format!("/proc/{pid}/root/tmp/done");
    wait_until("the fork loop to end", || Path::new(&done).exists());
    let out = std::fs::read_to_string(format!("/proc/{pid}/root/tmp/out")).unwrap();
    let err = std::fs::read_to_string(format!("/proc/{pid}/root/tmp/err")).unwrap();
    assert!(!out.contains("all"), "all 40 forks succeeded");
    assert!(
        err.contains("can't fork") || err.contains("Resource temporarily unavailable"),
        "the container does not see fork fail: {err}"
    );
    let current: u32 = cg_read(pid, "pids", "pids.current").parse().unwrap();
    assert!(current <= 20, "pids.current {current}");
    let listed = procs(&cg_dir(pid, "pids"));
    assert!(listed.len() <= 20, "{} processes: {listed:?}", listed.len());
    assert!(listed.len() >= 10, "the sleeps did not start: {listed:?}");
    let ev = cg_read(pid, "pids", "pids.events");
    assert!(
        ev.strip_prefix("max ")
            .is_some_and(|n| n.parse::<u32>().unwrap() > 0),
        "pids.events: {ev}"
    );
}

// ---------------------------------------------------------------------------
// pause / resume
// ---------------------------------------------------------------------------

const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.01; done";

/// The counter file's text (may be empty while being rewritten).
fn counter_text(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/root/tmp/n"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn counter(pid: i32) -> Option<u64> {
    counter_text(pid).parse().ok()
}

/// The State line of /proc/PID/status ("S (sleeping)").
fn proc_state(pid: i32) -> String {
    status_field(pid, "State")
}

#[test]
fn pause_freezes_and_resume_thaws() {
    let mut c = Ctx::new("cgpause");
    c.args(&["sh", "-c", COUNTER]);
    let (id, pid) = c.start("a");
    let (_, rpid) = c.start("ref");
    let mut last = 0;
    wait_until("the counter to run", || {
        last = counter(pid).unwrap_or(last);
        last > 3
    });
    c.ok(&["pause", &id]);
    assert_eq!(c.status(&id), "paused");
    assert_eq!(cg_read(pid, "freezer", "freezer.state"), "FROZEN");
    let h = hierarchy_name("freezer");
    let inside =
        std::fs::read_to_string(format!("/proc/{pid}/root/sys/fs/cgroup/{h}/freezer.state"))
            .unwrap();
    assert_eq!(inside.trim(), "FROZEN", "inside");
    let pids = procs(&cg_dir(pid, "freezer"));
    assert!(pids.contains(&pid), "{pids:?}");
    for p in &pids {
        let st = proc_state(*p);
        if st.starts_with('Z') {
            continue; // exited just before the freeze
        }
        let wchan = std::fs::read_to_string(format!("/proc/{p}/wchan")).unwrap_or_default();
        // A frozen task is in uninterruptible sleep, in the refrigerator
        // or frozen where it slept.
        assert!(
            st.starts_with('D'),
            "pid {p} is {st} (wchan {wchan}) while frozen"
        );
    }
    // While the reference counter advances by 20, the frozen one does not move.
    let frozen = counter_text(pid);
    let mut start = None;
    wait_until("the reference counter", || {
        start = counter(rpid);
        start.is_some()
    });
    let start = start.unwrap();
    wait_until("the reference counter to advance", || {
        counter(rpid).is_some_and(|n| n >= start + 20)
    });
    assert_eq!(
        counter_text(pid),
        frozen,
        "the counter advanced while paused"
    );
    c.ok(&["resume", &id]);
    assert_eq!(c.status(&id), "running");
    assert_eq!(cg_read(pid, "freezer", "freezer.state"), "THAWED");
    let before: u64 = frozen.parse().unwrap_or(last).max(last);
    wait_until("the counter to advance after resume", || {
        counter(pid).is_some_and(|n| n > before + 3)
    });
    wait_until("init to leave the freezer", || {
        !proc_state(pid).starts_with('D')
    });
}

#[test]
fn pause_and_resume_in_the_wrong_state_are_clear_errors() {
    let mut c = Ctx::new("cgpausebad");
    let (id, pid) = sleeper(&mut c, "a");
    fails_naming(&c, &["resume", &id], &[&id, "not paused"], &[]);
    c.ok(&["pause", &id]);
    fails_naming(&c, &["pause", &id], &[&id, "already paused"], &[]);
    assert_eq!(c.status(&id), "paused");
    c.ok(&["resume", &id]);
    c.ok(&["kill", &id, "KILL"]);
    wait_until("init to die", || !alive(pid));
    c.wait_status(&id, "stopped");
    fails_naming(&c, &["pause", &id], &[&id, "not running"], &[]);
    fails_naming(&c, &["resume", &id], &[&id, "not running"], &[]);
    fails_naming(
        &c,
        &["pause", "cgpausebad-nosuch"],
        &["cgpausebad-nosuch"],
        &[],
    );
}

#[test]
fn kill_all_of_a_paused_container_empties_its_cgroup() {
    let mut c = Ctx::new("cgkillpaused");
    c.args(&["sh", "-c", "sleep 1001 & sleep 1002 & exec sleep 1000"]);
    let (id, pid) = c.start("a");
    let dir = cg_dir(pid, "pids");
    wait_until("three processes", || procs(&dir).len() == 3);
    c.ok(&["pause", &id]);
    assert_eq!(c.status(&id), "paused");
    c.ok(&["kill", "--all", &id, "KILL"]);
    wait_until("the cgroup to empty", || procs(&dir).is_empty());
    c.wait_status(&id, "stopped");
    c.ok(&["delete", &id]);
    assert_nothing_left(&c, &id);
}

#[test]
fn delete_force_of_a_paused_container_leaves_nothing() {
    let mut c = Ctx::new("cgdelpaused");
    c.args(&["sh", "-c", "sleep 1001 & exec sleep 1000"]);
    let (id, pid) = c.start("a");
    let dir = cg_dir(pid, "pids");
    wait_until("two processes", || procs(&dir).len() == 2);
    let all = procs(&dir);
    c.ok(&["pause", &id]);
    assert_eq!(c.state(&id)["status"], "paused");
    c.ok(&["delete", "--force", &id]);
    // Out of the cgroup, a killed task may still be finishing its exit.
    for p in all {
        wait_until(&format!("pid {p} to die"), || !alive(p));
    }
    assert_nothing_left(&c, &id);
}

// ---------------------------------------------------------------------------
// update
// ---------------------------------------------------------------------------

#[test]
fn update_with_runc_flags_changes_cgroupfs() {
    let mut c = Ctx::new("cgupdate");
    let cpus = host_cpus();
    let last = cpus[cpus.len() - 1].to_string();
    resources(
        &mut c,
        json!({"memory": {"limit": 32 * MIB}, "cpu": {"shares": 1024, "cpus": "0"},
               "pids": {"limit": 100}, "blockIO": {"weight": 100}}),
    );
    let (id, pid) = sleeper(&mut c, "a");
    c.ok(&[
        "update",
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "--memory-reservation",
        "32m",
        "--cpu-share",
        "512",
        "--cpu-quota",
        "20000",
        "--cpu-period",
        "50000",
        "--cpuset-cpus",
        &last,
        "--pids-limit",
        "30",
        "--blkio-weight",
        "300",
        &id,
    ]);
    let wf = blkio_weight_file(pid);
    for (ctl, file, want) in [
        ("memory", "memory.limit_in_bytes", (64 * MIB).to_string()),
        (
            "memory",
            "memory.memsw.limit_in_bytes",
            (128 * MIB).to_string(),
        ),
        (
            "memory",
            "memory.soft_limit_in_bytes",
            (32 * MIB).to_string(),
        ),
        ("cpu", "cpu.shares", "512".into()),
        ("cpu", "cpu.cfs_quota_us", "20000".into()),
        ("cpu", "cpu.cfs_period_us", "50000".into()),
        ("cpuset", "cpuset.cpus", last.clone()),
        ("pids", "pids.max", "30".into()),
        ("blkio", wf, "300".into()),
    ] {
        assert_eq!(cg_read(pid, ctl, file), want, "{file}");
    }
    assert_eq!(status_field(pid, "Cpus_allowed_list"), last);
    // -1 lifts a limit again.
    c.ok(&["update", "--pids-limit", "-1", "--cpu-quota", "-1", &id]);
    assert_eq!(cg_read(pid, "pids", "pids.max"), "max");
    assert_eq!(cg_read(pid, "cpu", "cpu.cfs_quota_us"), "-1");
}

#[test]
fn update_resources_json_on_stdin_zeros_mean_unset() {
    let mut c = Ctx::new("cgupdjson");
    resources(
        &mut c,
        json!({"memory": {"limit": 32 * MIB}, "cpu": {"shares": 256, "quota": 30000, "period": 100000, "cpus": "0"},
               "pids": {"limit": 50}, "blockIO": {"weight": 200}}),
    );
    let (id, pid) = sleeper(&mut c, "a");
    // As Docker sends it: every field, zero where nothing changes.
    let body = json!({
        "memory": {"limit": 64 * MIB, "reservation": 16 * MIB, "swap": 128 * MIB, "kernel": 0, "kernelTCP": 0},
        "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0, "realtimePeriod": 0, "cpus": "", "mems": ""},
        "pids": {"limit": 0},
        "blockIO": {"weight": 0}
    });
    let out = berth_stdin(&c, &["update", "--resources", "-", &id], &body.to_string());
    assert_ok(&out, "update --resources -");
    let wf = blkio_weight_file(pid);
    for (ctl, file, want) in [
        ("memory", "memory.limit_in_bytes", (64 * MIB).to_string()),
        (
            "memory",
            "memory.soft_limit_in_bytes",
            (16 * MIB).to_string(),
        ),
        (
            "memory",
            "memory.memsw.limit_in_bytes",
            (128 * MIB).to_string(),
        ),
        ("cpu", "cpu.shares", "256".into()),
        ("cpu", "cpu.cfs_quota_us", "30000".into()),
        ("cpu", "cpu.cfs_period_us", "100000".into()),
        ("cpuset", "cpuset.cpus", "0".into()),
        ("pids", "pids.max", "50".into()),
        ("blkio", wf, "200".into()),
    ] {
        assert_eq!(cg_read(pid, ctl, file), want, "{file}");
    }
}

/// The files an update may change, as they are now.
fn limits_snapshot(pid: i32) -> Vec<(String, String)> {
    let wf = blkio_weight_file(pid);
    [
        ("memory", "memory.limit_in_bytes"),
        ("memory", "memory.memsw.limit_in_bytes"),
        ("memory", "memory.soft_limit_in_bytes"),
        ("cpu", "cpu.shares"),
        ("cpu", "cpu.cfs_quota_us"),
        ("cpu", "cpu.cfs_period_us"),
        ("cpuset", "cpuset.cpus"),
        ("pids", "pids.max"),
        ("blkio", wf),
        ("devices", "devices.list"),
    ]
    .iter()
    .map(|(ctl, f)| (f.to_string(), cg_read(pid, ctl, f)))
    .collect()
}

#[test]
fn update_with_impossible_values_is_refused_and_changes_nothing() {
    let mut c = Ctx::new("cgupdbad");
    resources(
        &mut c,
        json!({"memory": {"limit": 32 * MIB}, "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0"},
               "pids": {"limit": 40}, "blockIO": {"weight": 100},
               "devices": [{"allow": false, "access": "rwm"}]}),
    );
    let (id, pid) = sleeper(&mut c, "a");
    assert!(
        !host_cpus().contains(&99),
        "this test needs a host without CPU 99"
    );
    let before = limits_snapshot(pid);
    let cases: [(&[&str], &[&str], &[&str]); 7] = [
        (&["--memory", "-5"], &["--memory"], &["-5"]),
        (&["--cpuset-cpus", "99"], &["cpu.cpus"], &["99"]),
        (&["--blkio-weight", "5"], &["weight"], &["5"]),
        (
            &["--memory", "64m", "--memory-swap", "-7"],
            &["memory-swap"],
            &["-7"],
        ),
        (&["--cpu-quota", "500"], &["cpu.quota"], &["500"]),
        (&["--cpu-period", "10"], &["cpu.period"], &["10"]),
        (&["--pids-limit", "-7"], &["pids.limit"], &["-7"]),
    ];
    for (flags, needles, values) in cases {
        let mut args = vec!["update"];
        args.extend_from_slice(flags);
        args.push(&id);
        fails_naming(&c, &args, needles, values);
        assert_eq!(limits_snapshot(pid), before, "after update {flags:?}");
    }
    let bad_device =
        json!({"devices": [{"allow": true, "type": "x", "major": 1, "minor": 3, "access": "rwm"}]});
    let out = berth_stdin(
        &c,
        &["update", "--resources", "-", &id],
        &bad_device.to_string(),
    );
    one_error(
        "update with a device rule of type x",
        &out,
        &["devices[0].type"],
        &["x"],
    );
    assert_eq!(limits_snapshot(pid), before, "after the bad device rule");
    let out = berth_stdin(&c, &["update", "--resources", "-", &id], "{\"memory\": ");
    one_error("update with broken JSON", &out, &["--resources"], &[]);
    assert_eq!(limits_snapshot(pid), before, "after broken JSON");
    assert_eq!(c.status(&id), "running");
}

#[test]
fn update_the_kernel_refuses_leaves_every_limit_as_it_was() {
    let mut c = Ctx::new("cgupdroll");
    resources(
        &mut c,
        json!({"memory": {"limit": 32 * MIB}, "cpu": {"shares": 1024, "quota": 20000, "period": 100000}}),
    );
    let (id, pid) = sleeper(&mut c, "a");
    let before = limits_snapshot(pid);
    // Valid values, then one the kernel refuses at its write: a real-time
    // runtime longer than its period, a burst far above the quota. runc
    // puts back the previous limits when a Set fails (linuxContainer.Set,
    // "Set configs back"), so nothing of the update stays.
    let cases: [(&[&str], &str, &str); 2] = [
        (
            &[
                "--memory",
                "64m",
                "--cpu-share",
                "512",
                "--cpu-rt-runtime",
                "2000000",
            ],
            "cpu.realtimeRuntime",
            "2000000",
        ),
        (
            &[
                "--memory",
                "64m",
                "--cpu-quota",
                "50000",
                "--cpu-burst",
                "90000000",
            ],
            "cpu.burst",
            "90000000",
        ),
    ];
    for (flags, field, value) in cases {
        let mut args = vec!["update"];
        args.extend_from_slice(flags);
        args.push(&id);
        fails_naming(&c, &args, &[field], &[value]);
        assert_eq!(limits_snapshot(pid), before, "after update {flags:?}");
    }
    assert_eq!(c.status(&id), "running");
}

#[test]
fn update_check_before_update_refuses_a_limit_below_usage() {
    let mut c = Ctx::new("cgupdcheck");
    resources(&mut c, json!({"memory": {"limit": 64 * MIB}}));
    // 8 MiB in tmpfs, charged to the container and not reclaimable without swap.
    c.args(&[
        "sh",
        "-c",
        "dd if=/dev/zero of=/tmp/fill bs=1048576 count=8 2>/dev/null; touch /tmp/ready; exec sleep 1000",
    ]);
    let (id, pid) = c.start("a");
    let ready = format!("/proc/{pid}/root/tmp/ready");
    wait_until("the fill", || Path::new(&ready).exists());
    let usage: i64 = cg_read(pid, "memory", "memory.usage_in_bytes")
        .parse()
        .unwrap();
    assert!(usage > 8 * MIB, "usage {usage}");
    let limit = 4 * MIB;
    let body = json!({"memory": {"limit": limit, "checkBeforeUpdate": true}});
    let out = berth_stdin(&c, &["update", "--resources", "-", &id], &body.to_string());
    one_error(
        "update below usage with checkBeforeUpdate",
        &out,
        &["memory.limit", "usage"],
        &[&limit.to_string()],
    );
    assert_eq!(
        cg_read(pid, "memory", "memory.limit_in_bytes"),
        (64 * MIB).to_string()
    );
    assert!(alive(pid), "the container died");
    assert_eq!(c.status(&id), "running");
}

#[test]
fn update_of_a_stopped_or_missing_container_is_an_error() {
    let mut c = Ctx::new("cgupdstop");
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    c.ok(&["run", "--keep", "--bundle", &b, &id]);
    assert_eq!(c.status(&id), "stopped");
    fails_naming(
        &c,
        &["update", "--memory", "64m", &id],
        &[&id, "not running"],
        &[],
    );
    let missing = format!("{}-nosuch", c.name);
    fails_naming(
        &c,
        &["update", "--memory", "64m", &missing],
        &[&missing, "does not exist"],
        &[],
    );
    let out = berth_stdin(
        &c,
        &["update", "--resources", "-", &missing],
        "{\"pids\": {\"limit\": 10}}",
    );
    one_error(
        "update --resources of a missing container",
        &out,
        &[&missing],
        &[],
    );
}

// ---------------------------------------------------------------------------
// events --stats, ps
// ---------------------------------------------------------------------------

#[test]
fn events_stats_has_runc_shape_and_cgroupfs_values() {
    let mut c = Ctx::new("cgstats");
    resources(
        &mut c,
        json!({"memory": {"limit": 32 * MIB}, "pids": {"limit": 50}}),
    );
    let (id, pid) = sleeper(&mut c, "a");
    let s = stats(&c, &id);
    assert_eq!(s["type"], "stats", "{s}");
    assert_eq!(s["id"], id.as_str(), "{s}");
    let d = &s["data"];
    assert!(
        d["cpu"]["usage"]["total"].as_u64().is_some_and(|n| n > 0),
        "data.cpu.usage.total: {}",
        d["cpu"]
    );
    let mem = &d["memory"]["usage"];
    assert!(mem["usage"].as_u64().is_some_and(|n| n > 0), "{mem}");
    assert_eq!(mem["limit"], 32 * MIB, "{mem}");
    assert!(mem["failcnt"].is_u64(), "{mem}");
    assert_eq!(d["pids"]["limit"], 50, "{}", d["pids"]);
    assert_eq!(
        d["pids"]["current"].as_u64().unwrap().to_string(),
        cg_read(pid, "pids", "pids.current"),
        "{}",
        d["pids"]
    );
    fails_naming(
        &c,
        &["events", "--stats", &format!("{}-nosuch", c.name)],
        &["does not exist"],
        &[],
    );
}

#[test]
fn ps_lists_only_the_containers_processes() {
    let mut c = Ctx::new("cgps");
    c.args(&["sh", "-c", "sleep 1001 & sleep 1002 & exec sleep 1000"]);
    let (id, pid) = c.start("a");
    let dir = cg_dir(pid, "pids");
    wait_until("three sleeps", || {
        let p = procs(&dir);
        p.len() == 3 && p.iter().all(|p| execd(*p, "sleep"))
    });
    let mut want = procs(&dir);
    want.sort();
    let table = c.ok(&["ps", &id]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
        "{table}"
    );
    let mut rows: Vec<i32> = lines
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    rows.sort();
    assert_eq!(rows, want, "ps rows:\n{table}");
    assert!(
        table.lines().skip(1).all(|l| l.contains("sleep 100")),
        "{table}"
    );
    let json: Value = serde_json::from_str(&c.ok(&["ps", "--format", "json", &id])).unwrap();
    let mut got: Vec<i32> = json
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {json}"))
        .iter()
        .map(|v| v.as_i64().unwrap() as i32)
        .collect();
    got.sort();
    assert_eq!(got, want);
}
