//! Shared harness for berth's integration tests: they run the real binary,
//! as root, on real bundles, and look at the container from outside
//! (/proc, cgroupfs, mountinfo) and from inside (its output).
//!
//! Each test gets its own `--root` and bundle (a copy of the busybox
//! rootfs), and unique container ids, so tests run in parallel. nextest runs
//! each test in its own process, which makes itself a child subreaper so
//! detached containers' inits are reaped here, not left as zombies.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// The berth binary under test: $BERTH_BIN (the static release build, as
/// `make test` sets it) or the one cargo built for this test run.
pub fn bin() -> PathBuf {
    match std::env::var_os("BERTH_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_berth")),
    }
}

/// The busybox rootfs the Makefile assembles (`make bundles`).
pub fn busybox_rootfs() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/busybox/rootfs");
    assert!(
        p.join("bin/busybox").exists(),
        "{} is missing: run `make bundles` first",
        p.display()
    );
    p
}

/// The checked-in demo config, the base of every test's config.
pub fn base_config() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/busybox/config.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Must run as root: every integration test starts real containers.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "berth's integration tests run containers and need root"
    );
}

/// A test's world: a state root, a bundle, and the containers it made,
/// all removed when it is dropped.
pub struct Ctx {
    pub name: String,
    pub dir: PathBuf,
    pub root: PathBuf,
    pub bundle: PathBuf,
    pub config: Value,
    ids: Vec<String>,
    pids: Vec<i32>,
}

impl Ctx {
    /// A fresh context; `name` makes ids and paths recognisable.
    pub fn new(name: &str) -> Ctx {
        require_root();
        let _ = nix::sys::prctl::set_child_subreaper(true);
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{name}-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("berth-test-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = dir.join("state");
        let bundle = dir.join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        let st = Command::new("cp")
            .arg("-a")
            .arg(busybox_rootfs())
            .arg(bundle.join("rootfs"))
            .status()
            .unwrap();
        assert!(st.success(), "copy rootfs");
        let mut config = base_config();
        config["process"]["args"] = json!(["true"]);
        let ctx = Ctx {
            name: tag,
            dir,
            root,
            bundle,
            config,
            ids: Vec::new(),
            pids: Vec::new(),
        };
        ctx.write_config();
        ctx
    }

    /// A container id unique to this test.
    pub fn id(&mut self, suffix: &str) -> String {
        let id = format!("{}-{suffix}", self.name);
        self.ids.push(id.clone());
        id
    }

    pub fn rootfs(&self) -> PathBuf {
        self.bundle.join("rootfs")
    }

    pub fn write_config(&self) {
        std::fs::write(
            self.bundle.join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// Sets process.args and writes the config.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.config["process"]["args"] = json!(args);
        self.write_config();
        self
    }

    /// Edits the config and writes it.
    pub fn edit(&mut self, f: impl FnOnce(&mut Value)) -> &mut Self {
        f(&mut self.config);
        self.write_config();
        self
    }

    /// A berth command with this test's --root.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("--root").arg(&self.root).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// Runs berth to completion. Its stdout and stderr go to files, not
    /// pipes: a created container's init inherits them and keeps them open,
    /// so reading a pipe to its end would wait for the container.
    pub fn berth(&self, args: &[&str]) -> Output {
        output(self.cmd(args), &self.dir)
    }

    /// Runs berth and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        assert_ok(&self.berth(args), &format!("berth {args:?}"))
    }

    /// Runs berth, asserts failure and that stderr holds `needle`; returns stderr.
    pub fn fails(&self, args: &[&str], needle: &str) -> String {
        let out = self.berth(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "berth {args:?} succeeded but should fail; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            err.contains(needle),
            "stderr of berth {args:?} lacks {needle:?}:\n{err}"
        );
        err
    }

    /// `run` of the current config in the foreground: (exit code, stdout, stderr).
    pub fn run(&mut self, suffix: &str) -> (i32, String, String) {
        let id = self.id(suffix);
        let b = self.bundle.to_string_lossy().into_owned();
        let out = self.berth(&["run", "--bundle", &b, &id]);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `run` that must exit 0; returns stdout.
    pub fn run_ok(&mut self, suffix: &str) -> String {
        let (code, out, err) = self.run(suffix);
        assert_eq!(code, 0, "run failed:\nstdout: {out}\nstderr: {err}");
        out
    }

    /// `create` of the current config; returns (id, init pid).
    pub fn create(&mut self, suffix: &str) -> (String, i32) {
        let id = self.id(suffix);
        let b = self.bundle.to_string_lossy().into_owned();
        self.ok(&["create", "--bundle", &b, &id]);
        let pid = self.state(&id)["pid"].as_i64().unwrap() as i32;
        self.pids.push(pid);
        (id, pid)
    }

    /// `create` then `start`; returns (id, init pid).
    pub fn start(&mut self, suffix: &str) -> (String, i32) {
        let (id, pid) = self.create(suffix);
        self.ok(&["start", &id]);
        (id, pid)
    }

    /// `state ID` parsed.
    pub fn state(&self, id: &str) -> Value {
        let out = self.ok(&["state", id]);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("state output is not JSON ({e}): {out}"))
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_string()
    }

    /// Waits until `id` reports `status` (init exits on its own, say).
    pub fn wait_status(&self, id: &str, status: &str) {
        wait_until(&format!("{id} to be {status}"), || {
            self.status(id) == status
        });
    }

    /// Remembers a pid to reap when the test ends.
    pub fn reap_later(&mut self, pid: i32) {
        self.pids.push(pid);
    }

    /// The state directory of `id` exists.
    pub fn has_state(&self, id: &str) -> bool {
        self.root.join(id).exists()
    }

    /// Asserts that nothing of container `id` is left: no state directory,
    /// no cgroup directory in any hierarchy, no process in such a cgroup,
    /// no mount of this test's bundle in the host's mount table.
    pub fn assert_gone(&self, id: &str) {
        assert!(!self.has_state(id), "state directory of {id} is left");
        let dirs = cgroup_dirs(id);
        assert!(dirs.is_empty(), "cgroups of {id} are left: {dirs:?}");
        let needle = format!("/{id}\n");
        for pid in all_pids() {
            if let Ok(cg) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) {
                if cg.lines().any(|l| format!("{l}\n").ends_with(&needle)) {
                    panic!("process {pid} of {id} is left ({})", comm(pid));
                }
            }
        }
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let b = self.bundle.to_string_lossy();
        assert!(
            !mi.contains(b.as_ref()),
            "a mount of {b} is left on the host"
        );
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        for id in &self.ids {
            let _ = self
                .cmd(&["delete", "--force", id])
                .stderr(Stdio::null())
                .status();
        }
        for pid in &self.pids {
            let _ = nix::sys::wait::waitpid(
                nix::unistd::Pid::from_raw(*pid),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `cmd` with stdout and stderr in files under `dir`, and collects them.
pub fn output(mut cmd: Command, dir: &Path) -> Output {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let (o, e) = (dir.join(format!(".out{n}")), dir.join(format!(".err{n}")));
    cmd.stdout(std::fs::File::create(&o).unwrap());
    cmd.stderr(std::fs::File::create(&e).unwrap());
    let status = cmd.status().expect("spawn berth");
    let out = Output {
        status,
        stdout: std::fs::read(&o).unwrap(),
        stderr: std::fs::read(&e).unwrap(),
    };
    let _ = std::fs::remove_file(o);
    let _ = std::fs::remove_file(e);
    out
}

/// Polls `cond` every millisecond, for up to 10 seconds.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Every directory named `id` in a cgroup hierarchy (one level or two deep).
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let p = h.path().join(id);
        if p.exists() {
            out.push(p);
        }
    }
    if Path::new("/sys/fs/cgroup").join(id).exists() {
        out.push(Path::new("/sys/fs/cgroup").join(id));
    }
    out
}

pub fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

pub fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Whether `pid` has exec'd `name`: comm is set early in execve, the
/// command line only once the new program's stack is built.
pub fn execd(pid: i32, name: &str) -> bool {
    comm(pid) == name && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

/// A field of /proc/PID/status ("CapEff", "NoNewPrivs", ...).
pub fn status_field(pid: i32, field: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// The namespace link of `pid` ("net:[4026531840]").
pub fn ns(pid: impl std::fmt::Display, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Whether a process exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .chars()
                .next();
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// Capability mask of names, for comparing with /proc/PID/status.
pub fn cap_mask(names: &[&str]) -> String {
    const ALL: [&str; 41] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    let mut m: u64 = 0;
    for n in names {
        let i = ALL
            .iter()
            .position(|a| a == n)
            .unwrap_or_else(|| panic!("unknown cap {n}"));
        m |= 1 << i;
    }
    format!("{m:016x}")
}

/// Runs `cmd` with `fd` (an open file of ours) as fd `target` in the child.
pub fn with_fd(cmd: &mut Command, fd: std::os::fd::RawFd, target: std::os::fd::RawFd) {
    // SAFETY: dup2 between fork and exec touches only the child's fd table.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself keeps close-on-exec: clear it instead.
            let r = if fd == target {
                libc::fcntl(fd, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, target)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Receives one fd sent with SCM_RIGHTS, and the message that came with it.
pub fn recv_fd(sock: &std::os::unix::net::UnixStream) -> (String, std::os::fd::OwnedFd) {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::io::IoSliceMut;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    let mut buf = [0u8; 256];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .unwrap();
    let mut fd = None;
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: SCM_RIGHTS gave this process a new fd.
            fd = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    let n = msg.bytes;
    (
        String::from_utf8_lossy(&buf[..n]).into_owned(),
        fd.expect("an fd"),
    )
}

/// A string no earlier run could have produced.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// The pids listed in `dir`/cgroup.procs (none when it is gone).
pub fn procs(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Asserts `out` is a success; its stdout.
pub fn assert_ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reads from a pty master until `needle` shows up (or the other side closes).
pub fn read_until(master: &mut std::fs::File, needle: &str) -> String {
    use std::io::Read;
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while !text.contains(needle) {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    text
}

/// Runs `cmd` with a new pty of `rows` x `cols` as its stdio and waits for
/// it; its status and what it wrote, read until `needle`.
pub fn run_in_pty(
    mut cmd: Command,
    rows: u16,
    cols: u16,
    needle: &str,
) -> (std::process::ExitStatus, String) {
    let size = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&size), None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    cmd.stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    let mut child = cmd.spawn().unwrap();
    // The slave's last copy here goes with `cmd`: end of file comes when
    // the child's copies close.
    drop(cmd);
    let mut master = std::fs::File::from(pty.master);
    let status = child.wait().unwrap();
    (status, read_until(&mut master, needle))
}
