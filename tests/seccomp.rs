//! linux.seccomp: berth's own BPF compiler, loaded by init before exec,
//! and the kernel applying it.
//!
//! Most tests run `/bin/probe` (tests/probe/probe.c, built into the busybox
//! rootfs by scripts/busybox-rootfs.sh) inside the container: it makes the
//! raw syscalls named on its command line (x86_64, x32, i386 through
//! `int $0x80`, in a second thread, under a SIGSYS handler) and prints
//! `call NR` then `ret=R errno=E` for each, so a test sees exactly what
//! the kernel answered with berth's filter loaded.

mod common;
use common::*;
use serde_json::{json, Value};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

fn filter(c: &mut Ctx, seccomp: serde_json::Value) {
    c.edit(|v| v["linux"]["seccomp"] = seccomp);
}

#[test]
fn an_errno_rule_fails_that_syscall_only() {
    let mut c = Ctx::new("scerrno");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}),
    );
    c.args(&[
        "sh",
        "-c",
        "mkdir /tmp/a; echo rc=$?; touch /tmp/b && echo touched",
    ]);
    let out = c.run_ok("a");
    assert!(out.contains("rc=1"), "{out}");
    assert!(out.contains("touched"), "{out}");
    // The error is the errnoRet given (EACCES), not the default EPERM.
    c.args(&["sh", "-c", "mkdir /tmp/a 2>&1"]);
    let (_, out, _) = c.run("b");
    assert!(out.contains("Permission denied"), "{out}");
}

#[test]
fn the_filter_is_loaded_in_the_container_process() {
    let mut c = Ctx::new("scstatus");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    c.args(&["sleep", "1000"]);
    let (_, pid) = c.start("a");
    wait_until("sleep to exec", || execd(pid, "sleep"));
    assert_eq!(status_field(pid, "Seccomp"), "2", "filter mode");
    assert_eq!(status_field(pid, "Seccomp_filters"), "1");
    assert_eq!(status_field(pid, "NoNewPrivs"), "1");
}

#[test]
fn without_no_new_privileges_the_filter_is_loaded_while_init_is_privileged() {
    let mut c = Ctx::new("scnonnp");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    c.edit(|v| v["process"]["noNewPrivileges"] = json!(false));
    c.args(&["sleep", "1000"]);
    let (_, pid) = c.start("a");
    wait_until("sleep to exec", || execd(pid, "sleep"));
    assert_eq!(status_field(pid, "Seccomp"), "2");
    assert_eq!(status_field(pid, "NoNewPrivs"), "0");
}

#[test]
fn a_kill_rule_kills_with_sigsys() {
    let mut c = Ctx::new("sckill");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}),
    );
    c.args(&["mkdir", "/tmp/a"]);
    let (code, _, err) = c.run("a");
    assert_eq!(code, 128 + libc::SIGSYS, "{err}");
}

#[test]
fn argument_rules_compare_the_value() {
    let mut c = Ctx::new("scargs");
    // personality(PER_LINUX32) is refused, personality(PER_LINUX) is not.
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}),
    );
    c.args(&[
        "sh",
        "-c",
        "linux32 true; echo l32=$?; linux64 true; echo l64=$?",
    ]);
    let out = c.run_ok("a");
    assert!(out.contains("l32=1"), "{out}");
    assert!(out.contains("l64=0"), "{out}");
}

/// Docker's default profile as Debian ships it (golang-github-containers-
/// common: Podman's variant), in Docker's own format.
const DOCKER_PROFILE: &str = "/usr/share/containers/seccomp.json";

/// Docker's default profile converted to OCI's linux.seccomp for amd64 and
/// `caps`, the way Docker and Podman convert it: the entries whose
/// includes/excludes (arches, caps) fit, with the x86 and x32
/// sub-architectures.
fn docker_profile(caps: &[String]) -> Value {
    let profile: Value = serde_json::from_slice(&std::fs::read(DOCKER_PROFILE).expect(
        "Docker's seccomp profile (scripts/deps.sh installs golang-github-containers-common)",
    ))
    .unwrap();
    let arches = ["amd64", "x32", "x86"];
    let rules: Vec<Value> = profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            let inc = &s["includes"];
            let arch_ok = inc["arches"]
                .as_array()
                .is_none_or(|a| a.iter().any(|x| arches.contains(&x.as_str().unwrap())));
            let caps_ok = inc["caps"].as_array().is_none_or(|a| {
                a.iter()
                    .all(|x| caps.iter().any(|c| c == x.as_str().unwrap()))
            });
            let excl = s["excludes"]["caps"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|x| caps.iter().any(|c| c == x.as_str().unwrap()))
            });
            let excl_arch = s["excludes"]["arches"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "amd64"));
            arch_ok && caps_ok && !excl && !excl_arch
        })
        .map(|s| {
            let mut r = json!({"names": s["names"], "action": s["action"]});
            if !s["args"].is_null() {
                r["args"] = s["args"].clone();
            }
            if !s["errnoRet"].is_null() {
                r["errnoRet"] = s["errnoRet"].clone();
            }
            r
        })
        .collect();
    json!({
        "defaultAction": profile["defaultAction"],
        "defaultErrnoRet": profile["defaultErrnoRet"],
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": rules,
    })
}

/// The bundle's bounding capabilities.
fn bounding_caps(c: &Ctx) -> Vec<String> {
    c.config["process"]["capabilities"]["bounding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn dockers_default_profile_runs_a_container() {
    let mut c = Ctx::new("scdocker");
    let profile = docker_profile(&bounding_caps(&c));
    filter(&mut c, profile);
    c.args(&[
        "sh",
        "-c",
        "echo hello; ls / >/dev/null && echo listed; grep ^Seccomp: /proc/self/status",
    ]);
    let out = c.run_ok("a");
    assert!(out.contains("hello") && out.contains("listed"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
}

#[test]
fn a_bad_seccomp_section_is_a_clear_error_and_leaves_nothing() {
    let mut c = Ctx::new("scbad");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}]}),
    );
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    c.fails(
        &["run", "--bundle", &b, &id],
        "linux.seccomp.syscalls[0].action",
    );
    c.assert_gone(&id);
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
    );
    c.fails(&["run", "--bundle", &b, &id], "index");
    c.assert_gone(&id);
}

#[test]
fn unknown_syscall_names_are_skipped_with_a_debug_record() {
    let mut c = Ctx::new("scunknown");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["no_such_syscall", "mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    c.args(&["sh", "-c", "mkdir /tmp/a; echo rc=$?"]);
    let (code, out, err) = c.run("a");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rc=1"), "{out}");
    // Quiet, as runc is: clients' profiles name other architectures' calls.
    assert!(!err.contains("no_such_syscall"), "{err}");
    let id = c.id("b");
    let b = c.bundle.to_string_lossy().into_owned();
    let o = c.berth(&["--debug", "run", "--bundle", &b, &id]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("debug") && err.contains("no_such_syscall"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// The probe: raw syscalls made inside the container
// ---------------------------------------------------------------------------

/// x86_64 syscall numbers.
const GETPPID: u32 = 110;
const GETPID: u32 = 39;
const GETUID: u32 = 102;
const MKDIR: u32 = 83;
const ACCESS: u32 = 21;
const SYSFS: u32 = 139;
const KEXEC_LOAD: u32 = 246;
const KEYCTL: u32 = 250;
const IO_URING_SETUP: u32 = 425;
/// i386 syscall numbers (int 0x80).
const I386_GETPID: u32 = 20;
const I386_GETPPID: u32 = 64;
const I386_NICE: u32 = 34;
const I386_KEXEC_LOAD: u32 = 283;
/// The x32 bit of an x32 syscall number.
const X32_BIT: u32 = 0x4000_0000;
/// linux/audit.h
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `berth run`'s exit status for a container killed by SIGSYS.
const SIGSYS_EXIT: i32 = 128 + libc::SIGSYS;

/// A test context whose rootfs has the probe.
fn probe_ctx(name: &str) -> Ctx {
    let probe = busybox_rootfs().join("bin/probe");
    assert!(
        probe.exists(),
        "{} is missing: the rootfs predates tests/probe/probe.c; rebuild it: \
         rm -rf bundles/busybox/rootfs && make bundles",
        probe.display()
    );
    Ctx::new(name)
}

/// One probe command: `KIND NR ARG...` (KIND: syscall, x32, int80, trap,
/// thread). For x32 the probe adds the x32 bit itself.
fn call(kind: &str, nr: u32, args: &[u64]) -> Vec<String> {
    let mut v = vec![kind.to_string(), nr.to_string()];
    v.extend(args.iter().map(|a| format!("{a:#x}")));
    v
}

/// An x86_64 syscall without arguments.
fn sys(nr: u32) -> Vec<String> {
    call("syscall", nr, &[])
}

/// An x86_64 syscall on a path: mkdir(path, 0755), access(path, F_OK).
fn on_path(nr: u32, path: &str) -> Vec<String> {
    let arg = if nr == MKDIR { "0755" } else { "0" };
    vec![
        "syscall".into(),
        nr.to_string(),
        format!("s:{path}"),
        arg.into(),
    ]
}

/// Sets process.args to the probe making `calls` in order.
fn probe_args(c: &mut Ctx, calls: &[Vec<String>]) {
    let mut a = vec!["probe".to_string()];
    for (i, cmd) in calls.iter().enumerate() {
        if i > 0 {
            a.push("--".into());
        }
        a.extend(cmd.iter().cloned());
    }
    c.edit(|v| v["process"]["args"] = json!(a));
}

/// What one call returned: the value (-1 on error) and errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ret {
    ret: i64,
    errno: i32,
}

const fn ok(ret: i64) -> Ret {
    Ret { ret, errno: 0 }
}

const fn fail(errno: i32) -> Ret {
    Ret { ret: -1, errno }
}

/// The `ret=R errno=E` lines of the probe's output, in order.
fn rets(out: &str) -> Vec<Ret> {
    out.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("ret=")?;
            let (r, e) = rest.split_once(" errno=")?;
            Some(Ret {
                ret: r.parse().ok()?,
                errno: e.trim().parse().ok()?,
            })
        })
        .collect()
}

/// Runs the probe making `calls` under the config's filter: (exit code,
/// stdout, stderr).
fn probe(c: &mut Ctx, suffix: &str, calls: &[Vec<String>]) -> (i32, String, String) {
    probe_args(c, calls);
    c.run(suffix)
}

/// The same, which must exit 0: the results and the output.
fn probe_ok(c: &mut Ctx, suffix: &str, calls: &[Vec<String>]) -> (Vec<Ret>, String) {
    let (code, out, err) = probe(c, suffix, calls);
    assert_eq!(
        code, 0,
        "probe {calls:?} failed:\nstdout: {out}\nstderr: {err}"
    );
    (rets(&out), out)
}

/// Asserts the probe was killed by SIGSYS at its last call: it printed
/// `call NR` for it and nothing after.
fn assert_killed_at(code: i32, out: &str, err: &str, nr: u32) {
    assert_eq!(
        code, SIGSYS_EXIT,
        "not killed by SIGSYS:\nstdout: {out}\nstderr: {err}"
    );
    let last = out.lines().last().unwrap_or_default();
    assert_eq!(last, format!("call {nr}"), "killed elsewhere:\n{out}");
}

/// `run --pid-file`: (exit code, stdout, stderr, the container's host pid).
fn run_with_pid(c: &mut Ctx, suffix: &str) -> (i32, String, String, i32) {
    let id = c.id(suffix);
    let pid_file = c.dir.join(format!("{suffix}.pid"));
    let b = c.bundle.to_string_lossy().into_owned();
    let p = pid_file.to_string_lossy().into_owned();
    let out = c.berth(&["run", "--pid-file", &p, "--bundle", &b, &id]);
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(-1);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        pid,
    )
}

// ---------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------

#[test]
fn errno_returns_the_exact_errno_ret_and_the_call_is_not_made() {
    let mut c = probe_ctx("scerrnoret");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77},
            {"names": ["getuid"], "action": "SCMP_ACT_ERRNO"},
            // errnoRet 0: the call "succeeds" without being made.
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0},
        ]}),
    );
    let (r, out) = probe_ok(
        &mut c,
        "a",
        &[
            sys(GETPPID),
            sys(GETUID),
            sys(GETPID),
            on_path(MKDIR, "/tmp/d"),
            on_path(ACCESS, "/tmp/d"),
        ],
    );
    assert_eq!(
        r,
        [
            fail(77),
            fail(libc::EPERM),
            ok(1),
            ok(0),
            fail(libc::ENOENT)
        ],
        "getppid errnoRet 77, getuid the default EPERM, getpid untouched (pid 1), \
         mkdir returns 0 without making /tmp/d:\n{out}"
    );
}

/// An allow-list under a default ERRNO: what the probe's start-up and
/// init's last steps (ready message, wait for start, execve) need.
fn allow_list(extra: &[&str]) -> Vec<String> {
    "read write readv writev sendmsg recvmsg sendto recvfrom close execve brk arch_prctl \
     set_tid_address set_robust_list rseq prlimit64 readlink readlinkat getrandom mprotect \
     mmap munmap newfstatat fstat exit exit_group futex rt_sigprocmask rt_sigaction rt_sigreturn"
        .split_whitespace()
        .chain(extra.iter().copied())
        .map(str::to_owned)
        .collect()
}

#[test]
fn allow_rules_and_default_errno_ret_under_a_default_errno() {
    let mut c = probe_ctx("scdefault");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 121, "syscalls": [
            {"names": allow_list(&["getuid"]), "action": "SCMP_ACT_ALLOW"},
        ]}),
    );
    let (r, out) = probe_ok(&mut c, "a", &[sys(GETUID), sys(GETPID), sys(GETPPID)]);
    assert_eq!(
        r,
        [ok(0), fail(121), fail(121)],
        "getuid allowed (root), getpid and getppid get defaultErrnoRet 121:\n{out}"
    );
    // Without defaultErrnoRet the default errno is EPERM.
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": allow_list(&["getpid"]), "action": "SCMP_ACT_ALLOW"},
        ]}),
    );
    let (r, out) = probe_ok(&mut c, "b", &[sys(GETPID), sys(GETUID)]);
    assert_eq!(r, [ok(1), fail(libc::EPERM)], "{out}");
}

#[test]
fn kill_and_kill_thread_kill_a_single_threaded_process_with_sigsys() {
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL_PROCESS",
    ] {
        let mut c = probe_ctx("sckill1");
        filter(
            &mut c,
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["getppid"], "action": action}]}),
        );
        let (code, out, err) = probe(&mut c, "a", &[sys(GETPID), sys(GETPPID), sys(GETPID)]);
        assert_eq!(rets(&out), [ok(1)], "{action}: {out}");
        assert_killed_at(code, &out, &err, GETPPID);
    }
}

#[test]
fn kill_thread_kills_only_the_calling_thread() {
    for action in ["SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL"] {
        let mut c = probe_ctx("sckillthr");
        filter(
            &mut c,
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["getppid"], "action": action}]}),
        );
        // The second thread dies in getppid; the main thread joins it and
        // goes on.
        let (r, out) = probe_ok(&mut c, "a", &[call("thread", GETPPID, &[]), sys(GETPID)]);
        assert!(
            out.contains("thread: killed\nmain: alive\n"),
            "{action}: the thread survived or the process died:\n{out}"
        );
        assert_eq!(r, [ok(1)], "{action}: {out}");
    }
}

#[test]
fn kill_process_kills_every_thread() {
    let mut c = probe_ctx("sckillproc");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}),
    );
    let (code, out, err) = probe(&mut c, "a", &[call("thread", GETPPID, &[]), sys(GETPID)]);
    assert_killed_at(code, &out, &err, GETPPID);
    assert!(!out.contains("main: alive"), "{out}");
}

#[test]
fn trap_delivers_sigsys_to_the_handler() {
    let mut c = probe_ctx("sctrap");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_TRAP"}]}),
    );
    let (_, out) = probe_ok(
        &mut c,
        "a",
        &[call("trap", GETPPID, &[7]), call("trap", GETPID, &[])],
    );
    // si_code 1 is SYS_SECCOMP; si_errno is the action's data (none).
    let want = format!(
        "call {GETPPID}\nsigsys si_code=1 si_syscall={GETPPID} si_arch={AUDIT_ARCH_X86_64:#x} si_errno=0\n"
    );
    assert!(out.contains(&want), "no SIGSYS report {want:?} in:\n{out}");
    assert!(
        out.ends_with(&format!("call {GETPID}\nno sigsys\nret=1 errno=0\n")),
        "getpid trapped too:\n{out}"
    );
}

#[test]
fn trace_without_a_tracer_fails_with_enosys() {
    let mut c = probe_ctx("sctrace");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_TRACE"},
            // The errnoRet of TRACE is the tracer's message, not an errno.
            {"names": ["getuid"], "action": "SCMP_ACT_TRACE", "errnoRet": 77}]}),
    );
    let (r, out) = probe_ok(&mut c, "a", &[sys(GETPPID), sys(GETUID), sys(GETPID)]);
    assert_eq!(r, [fail(libc::ENOSYS), fail(libc::ENOSYS), ok(1)], "{out}");
}

/// /dev/kmsg from now on: the kernel's printk records, where audit
/// records go when no audit daemon listens.
struct Kmsg {
    f: std::fs::File,
    lines: Vec<String>,
}

impl Kmsg {
    fn open() -> Option<Kmsg> {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .ok()?;
        // SAFETY: lseek on an fd we own; SEEK_END skips the old records.
        if unsafe { libc::lseek(f.as_raw_fd(), 0, libc::SEEK_END) } < 0 {
            return None;
        }
        Some(Kmsg {
            f,
            lines: Vec::new(),
        })
    }

    /// Reads the records that arrived: one per read(2).
    fn drain(&mut self) {
        use std::io::Read;
        let mut buf = vec![0u8; 8192];
        loop {
            match self.f.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]);
                    let msg = rec.split_once(';').map_or(&*rec, |(_, m)| m);
                    self.lines
                        .push(msg.lines().next().unwrap_or_default().to_string());
                }
                // Older records were overwritten: go on from the next one.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => panic!("read /dev/kmsg: {e}"),
            }
        }
    }

    /// Waits up to `limit` for a record that satisfies `pred` (poll(2) on
    /// /dev/kmsg, no sleep).
    fn wait_for(&mut self, limit: Duration, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            self.drain();
            if self.lines.iter().any(|l| pred(l)) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let mut p = libc::pollfd {
                fd: self.f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            unsafe { libc::poll(&mut p, 1, left.as_millis().min(1000) as i32) };
        }
    }

    fn has(&mut self, pred: impl Fn(&str) -> bool) -> bool {
        self.drain();
        self.lines.iter().any(|l| pred(l))
    }
}

/// A seccomp audit record (type 1326) of `pid` for syscall `nr` with
/// SECCOMP_RET_* `code` (the action; the kernel logs no errno).
fn seccomp_record(pid: i32, nr: u32, code: u32) -> impl Fn(&str) -> bool {
    move |l: &str| {
        l.contains("type=1326")
            && l.contains(&format!(" pid={pid} "))
            && l.contains(&format!(" syscall={nr} "))
            && l.trim_end().ends_with(&format!(" code={code:#x}"))
    }
}

/// Whether the kernel logs `action` (an actions_logged name) to printk:
/// the action is in actions_logged and no audit daemon takes the records.
fn kernel_logs(action: &str) -> bool {
    let auditd = all_pids().into_iter().any(|p| comm(p) == "auditd");
    !auditd
        && std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_logged")
            .is_ok_and(|s| s.split_whitespace().any(|a| a == action))
}

/// printk rate-limits audit records (10 per 5 s, for the whole machine):
/// a missing record is retried this long, one container run at a time.
const KMSG_PATIENCE: Duration = Duration::from_secs(25);

#[test]
fn log_allows_the_call_and_the_kernel_logs_it() {
    let mut c = probe_ctx("sclog");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_LOG"}]}),
    );
    probe_args(&mut c, &[sys(GETPPID), sys(GETPID)]);
    let kmsg = if kernel_logs("log") {
        Kmsg::open()
    } else {
        None
    };
    let Some(mut kmsg) = kmsg else {
        eprintln!(
            "NOTE: /dev/kmsg is not readable, actions_logged lacks \"log\" or an audit \
             daemon takes the records: checking that the call succeeds under a loaded \
             filter only"
        );
        c.args(&[
            "sh",
            "-c",
            "probe syscall 110; grep ^Seccomp: /proc/self/status",
        ]);
        let out = c.run_ok("a");
        assert_eq!(rets(&out), [ok(0)], "{out}");
        assert!(out.contains("Seccomp:\t2"), "{out}");
        return;
    };
    let deadline = Instant::now() + KMSG_PATIENCE;
    for attempt in 0.. {
        let (code, out, err, pid) = run_with_pid(&mut c, &format!("a{attempt}"));
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
        // getppid is made (0: the parent is outside the pid namespace).
        assert_eq!(rets(&out), [ok(0), ok(1)], "{out}");
        let logged = seccomp_record(pid, GETPPID, libc::SECCOMP_RET_LOG);
        if kmsg.wait_for(Duration::from_secs(3), &logged) {
            // Only the LOG rule's call: getpid is allowed, not logged.
            assert!(
                !kmsg.has(seccomp_record(pid, GETPID, libc::SECCOMP_RET_LOG)),
                "getpid was logged"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no type=1326 record with code={:#x} for pid {pid} in /dev/kmsg after \
             {attempt} tries; the records seen:\n{}",
            libc::SECCOMP_RET_LOG,
            kmsg.lines.join("\n")
        );
    }
}

#[test]
fn allow_rules_run_the_call_and_the_first_matching_rule_wins() {
    let mut c = probe_ctx("scallow");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 121, "syscalls": [
            {"names": allow_list(&[]), "action": "SCMP_ACT_ALLOW"},
            {"names": ["getpid"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 33},
            {"names": ["getuid"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["getuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 34}]}),
    );
    let (r, out) = probe_ok(
        &mut c,
        "a",
        &[
            call("syscall", GETPID, &[0]),
            call("syscall", GETPID, &[1]),
            sys(GETUID),
            sys(GETPPID),
        ],
    );
    assert_eq!(r, [ok(1), fail(33), ok(0), fail(121)], "{out}");
}

// ---------------------------------------------------------------------------
// SCMP_ACT_NOTIFY: a seccomp agent at listenerPath
// ---------------------------------------------------------------------------

/// A seccomp agent, as the runtime spec describes one: it listens on a unix
/// socket, takes the container process state (JSON) with the listener fd
/// (SCM_RIGHTS), and answers the notifications with
/// SECCOMP_IOCTL_NOTIF_RECV / SECCOMP_IOCTL_NOTIF_SEND.
mod agent {
    use std::io::Read;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::FileExt;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::Path;
    use std::thread::JoinHandle;

    /// `struct seccomp_data`
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy)]
    pub struct Data {
        pub nr: i32,
        pub arch: u32,
        pub instruction_pointer: u64,
        pub args: [u64; 6],
    }

    /// `struct seccomp_notif`
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy)]
    pub struct Notif {
        pub id: u64,
        pub pid: u32,
        pub flags: u32,
        pub data: Data,
    }

    /// `struct seccomp_notif_resp`
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy)]
    pub struct Resp {
        pub id: u64,
        pub val: i64,
        pub error: i32,
        pub flags: u32,
    }

    /// SECCOMP_USER_NOTIF_FLAG_CONTINUE: let the kernel run the call.
    pub const FLAG_CONTINUE: u32 = 1;

    /// _IOC(dir, '!', nr, size), linux/seccomp.h's SECCOMP_IO*.
    const fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
        (dir << 30) | ((size as u64) << 16) | ((b'!' as u64) << 8) | nr
    }
    const IOC_WRITE: u64 = 1;
    const IOC_READ: u64 = 2;
    pub const NOTIF_RECV: u64 = ioc(IOC_READ | IOC_WRITE, 0, std::mem::size_of::<Notif>());
    pub const NOTIF_SEND: u64 = ioc(IOC_READ | IOC_WRITE, 1, std::mem::size_of::<Resp>());
    pub const NOTIF_ID_VALID: u64 = ioc(IOC_WRITE, 2, std::mem::size_of::<u64>());
    const _: () = {
        assert!(std::mem::size_of::<Notif>() == 80);
        assert!(std::mem::size_of::<Resp>() == 24);
        assert!(NOTIF_RECV == 0xc050_2100);
        assert!(NOTIF_SEND == 0xc018_2101);
        assert!(NOTIF_ID_VALID == 0x4008_2102);
    };

    /// What the agent saw.
    #[derive(Debug, Default)]
    pub struct Seen {
        /// The container process state, as received.
        pub state: serde_json::Value,
        /// How many fds came with it.
        pub nfds: usize,
        /// /proc/self/fd/N of the fd received.
        pub fd_link: String,
        /// Each notification with the string its first argument points
        /// to, read from the caller's memory.
        pub notifs: Vec<(Notif, String)>,
    }

    /// Waits up to 10 s for `fd` to be readable: the poll revents.
    fn wait(fd: i32) -> Result<i16, String> {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd for the duration of the call.
            match unsafe { libc::poll(&mut p, 1, 10_000) } {
                0 => return Err("nothing in 10 s".into()),
                n if n > 0 => return Ok(p.revents),
                _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
                _ => return Err(format!("poll: {}", std::io::Error::last_os_error())),
            }
        }
    }

    /// Binds `path` and serves one container on a thread: `answer` decides
    /// each reply (its id is filled in). The thread ends when the filter
    /// has no user left (POLLHUP on the listener).
    pub fn spawn(
        path: &Path,
        answer: fn(&Notif, &str) -> Resp,
    ) -> JoinHandle<Result<Seen, String>> {
        let sock = UnixListener::bind(path).unwrap();
        std::thread::spawn(move || serve(sock, answer))
    }

    fn serve(sock: UnixListener, answer: fn(&Notif, &str) -> Resp) -> Result<Seen, String> {
        wait(sock.as_raw_fd()).map_err(|e| format!("no connection from berth: {e}"))?;
        let (conn, _) = sock.accept().map_err(|e| format!("accept: {e}"))?;
        let (mut seen, listener) = receive(conn)?;
        loop {
            let revents = wait(listener.as_raw_fd())
                .map_err(|e| format!("listener: {e}; seen so far: {seen:?}"))?;
            if revents & libc::POLLIN == 0 {
                // POLLHUP: every task of the filter is gone.
                return Ok(seen);
            }
            let mut n = Notif::default();
            // SAFETY: NOTIF_RECV writes a seccomp_notif into `n`, which is
            // zeroed as the kernel requires.
            if unsafe { libc::ioctl(listener.as_raw_fd(), NOTIF_RECV, &mut n) } != 0 {
                let e = std::io::Error::last_os_error();
                // ENOENT: the caller died before we read the notification.
                if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EINTR)) {
                    continue;
                }
                return Err(format!("SECCOMP_IOCTL_NOTIF_RECV: {e}"));
            }
            let arg = read_string(n.pid, n.data.args[0]);
            // The caller may have gone (and its pid been reused) while we
            // read its memory: the id must still be valid.
            // SAFETY: NOTIF_ID_VALID reads a u64.
            if unsafe { libc::ioctl(listener.as_raw_fd(), NOTIF_ID_VALID, &n.id) } != 0 {
                continue;
            }
            let mut resp = answer(&n, &arg);
            resp.id = n.id;
            seen.notifs.push((n, arg));
            // SAFETY: NOTIF_SEND reads a seccomp_notif_resp.
            if unsafe { libc::ioctl(listener.as_raw_fd(), NOTIF_SEND, &resp) } != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::ENOENT) {
                    return Err(format!("SECCOMP_IOCTL_NOTIF_SEND: {e}"));
                }
            }
        }
    }

    /// The state JSON and the fd that came with it (read to EOF: berth
    /// closes the connection after sending).
    fn receive(conn: UnixStream) -> Result<(Seen, OwnedFd), String> {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        let mut buf = vec![0u8; 65536];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
        let (n, fds) = {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let msg = recvmsg::<()>(
                conn.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC,
            )
            .map_err(|e| format!("recvmsg: {e}"))?;
            let mut fds = Vec::new();
            for c in msg.cmsgs().map_err(|e| format!("cmsgs: {e}"))? {
                if let ControlMessageOwned::ScmRights(f) = c {
                    fds.extend(f);
                }
            }
            (msg.bytes, fds)
        };
        buf.truncate(n);
        (&conn)
            .read_to_end(&mut buf)
            .map_err(|e| format!("read: {e}"))?;
        let state: serde_json::Value = serde_json::from_slice(&buf).map_err(|e| {
            format!(
                "the container process state is not JSON ({e}): {}",
                String::from_utf8_lossy(&buf)
            )
        })?;
        let Some(&fd) = fds.first() else {
            return Err(format!("no fd came with the state {state}"));
        };
        // SAFETY: SCM_RIGHTS gave us these fds; nothing else owns them.
        let owned: Vec<OwnedFd> = fds
            .iter()
            .map(|&f| unsafe { OwnedFd::from_raw_fd(f) })
            .collect();
        let fd_link = std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_default();
        let nfds = owned.len();
        let listener = owned.into_iter().next().unwrap();
        Ok((
            Seen {
                state,
                nfds,
                fd_link,
                notifs: Vec::new(),
            },
            listener,
        ))
    }

    /// The NUL-terminated string at `addr` in `pid`'s memory, a page at a
    /// time (the next page may not be mapped).
    fn read_string(pid: u32, addr: u64) -> String {
        let Ok(mem) = std::fs::File::open(format!("/proc/{pid}/mem")) else {
            return String::new();
        };
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() < 4096 {
            let room = 4096 - (at % 4096) as usize;
            let mut page = vec![0u8; room];
            let Ok(n) = mem.read_at(&mut page, at) else {
                break;
            };
            if n == 0 {
                break;
            }
            if let Some(end) = page[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&page[..end]);
                return String::from_utf8_lossy(&out).into_owned();
            }
            out.extend_from_slice(&page[..n]);
            at += n as u64;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The agent's policy for mkdir in the notify test: an errno, a faked
/// success, or the real call, by path.
fn mkdir_policy(n: &agent::Notif, path: &str) -> agent::Resp {
    let mut r = agent::Resp::default();
    if n.data.nr != MKDIR as i32 {
        r.error = -libc::ENOTSUP;
        return r;
    }
    match path {
        "/tmp/n-errno" => r.error = -libc::EXDEV,
        "/tmp/n-fake" => r.val = 42,
        _ => r.flags = agent::FLAG_CONTINUE,
    }
    r
}

#[test]
fn notify_passes_the_listener_to_an_agent_whose_answers_reach_the_container() {
    let mut c = probe_ctx("scnotify");
    let sock = c.dir.join("agent.sock");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "listenerPath": sock, "listenerMetadata": "berth-test-meta",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    probe_args(
        &mut c,
        &[
            on_path(MKDIR, "/tmp/n-errno"),
            on_path(MKDIR, "/tmp/n-fake"),
            on_path(MKDIR, "/tmp/n-real"),
            on_path(ACCESS, "/tmp/n-errno"),
            on_path(ACCESS, "/tmp/n-fake"),
            on_path(ACCESS, "/tmp/n-real"),
            sys(GETPID),
        ],
    );
    let agent = agent::spawn(&sock, mkdir_policy);
    let (code, out, err, pid) = run_with_pid(&mut c, "a");
    let id = format!("{}-a", c.name);
    let seen = agent.join().unwrap();
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}\nagent: {seen:?}");
    let seen = seen.unwrap_or_else(|e| panic!("agent: {e}\nstdout: {out}\nstderr: {err}"));
    // The agent's answers, as the container saw them: EXDEV, 42 without a
    // directory, and the real mkdir.
    assert_eq!(
        rets(&out),
        [
            fail(libc::EXDEV),
            ok(42),
            ok(0),
            fail(libc::ENOENT),
            fail(libc::ENOENT),
            ok(0),
            ok(1)
        ],
        "{out}"
    );

    // The container process state, as the runtime spec describes it.
    let st = &seen.state;
    assert_eq!(st["ociVersion"], "1.2.0", "{st}");
    assert_eq!(st["fds"], json!(["seccompFd"]), "{st}");
    assert_eq!(st["pid"], json!(pid), "{st}");
    assert_eq!(st["metadata"], "berth-test-meta", "{st}");
    assert_eq!(st["state"]["id"], json!(id), "{st}");
    assert_eq!(st["state"]["status"], "creating", "{st}");
    assert_eq!(st["state"]["pid"], json!(pid), "{st}");
    let bundle = std::fs::canonicalize(&c.bundle).unwrap();
    assert_eq!(st["state"]["bundle"], json!(bundle), "{st}");
    assert_eq!(st["state"]["ociVersion"], "1.2.0", "{st}");
    assert_eq!(seen.nfds, 1, "{seen:?}");
    assert_eq!(seen.fd_link, "anon_inode:seccomp notify", "{seen:?}");

    // Each mkdir came to the agent from the container's process, in order.
    let got: Vec<(i32, u32, u32, &str)> = seen
        .notifs
        .iter()
        .map(|(n, p)| (n.data.nr, n.data.arch, n.pid, p.as_str()))
        .collect();
    let want: Vec<(i32, u32, u32, &str)> = ["/tmp/n-errno", "/tmp/n-fake", "/tmp/n-real"]
        .into_iter()
        .map(|p| (MKDIR as i32, AUDIT_ARCH_X86_64, pid as u32, p))
        .collect();
    assert_eq!(got, want, "{seen:?}");
    c.assert_gone(&id);
}

#[test]
fn notify_works_with_tsync_and_without_no_new_privileges() {
    fn answer(_: &agent::Notif, _: &str) -> agent::Resp {
        agent::Resp {
            val: 4242,
            ..Default::default()
        }
    }
    for (nnp, flags) in [
        (true, json!(["SECCOMP_FILTER_FLAG_TSYNC"])),
        (
            false,
            json!(["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"]),
        ),
    ] {
        let mut c = probe_ctx("scnotifytsync");
        let sock = c.dir.join("agent.sock");
        filter(
            &mut c,
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock, "flags": flags,
                   "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
        );
        c.edit(|v| v["process"]["noNewPrivileges"] = json!(nnp));
        probe_args(&mut c, &[sys(GETPPID), sys(GETPID)]);
        let agent = agent::spawn(&sock, answer);
        let (code, out, err) = c.run("a");
        let seen = agent.join().unwrap();
        assert_eq!(
            code, 0,
            "flags {flags}: stdout: {out}\nstderr: {err}\nagent: {seen:?}"
        );
        let seen = seen.unwrap_or_else(|e| panic!("agent: {e}"));
        assert_eq!(rets(&out), [ok(4242), ok(1)], "flags {flags}: {out}");
        assert_eq!(seen.notifs.len(), 1, "{seen:?}");
    }
}

// ---------------------------------------------------------------------------
// Operators: both sides of each boundary, on 64-bit values
// ---------------------------------------------------------------------------

/// getppid with `value` as argument `index` (the others 0): the kernel
/// ignores the arguments, the filter sees all six.
fn getppid_with(index: usize, value: u64) -> Vec<String> {
    let mut args = [0u64; 6];
    args[index] = value;
    call("syscall", GETPPID, &args)
}

/// One container: getppid errs with `errno` when argument `index`
/// compares `op` to `value` (and `value_two`); each case says whether it
/// matches. Unmatched calls return 0 (the parent is outside the pid
/// namespace).
fn check_operator(
    name: &str,
    op: &str,
    index: usize,
    value: u64,
    value_two: u64,
    cases: &[(u64, bool)],
) {
    let errno = 40 + index as i32;
    let mut c = probe_ctx(name);
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno,
             "args": [{"index": index, "value": value, "valueTwo": value_two, "op": op}]}]}),
    );
    let calls: Vec<Vec<String>> = cases.iter().map(|&(v, _)| getppid_with(index, v)).collect();
    let (got, out) = probe_ok(&mut c, "a", &calls);
    let want: Vec<Ret> = cases
        .iter()
        .map(|&(_, m)| if m { fail(errno) } else { ok(0) })
        .collect();
    for (i, (&(v, m), (g, w))) in cases.iter().zip(got.iter().zip(&want)).enumerate() {
        assert_eq!(
            g, w,
            "case {i}: arg{index} = {v:#x} {op} {value:#x} (valueTwo {value_two:#x}) should {}match\n{out}",
            if m { "" } else { "not " }
        );
    }
    assert_eq!(got.len(), want.len(), "{out}");
}

/// A value whose high and low words both matter.
const V: u64 = 0x1_0000_0005;

#[test]
fn operator_eq() {
    check_operator(
        "scopeq",
        "SCMP_CMP_EQ",
        0,
        V,
        0,
        &[
            (V, true),
            (5, false),             // same low word, high word 0
            (0x2_0000_0005, false), // same low word, high word 2
            (0x1_0000_0004, false),
            (0x1_0000_0006, false),
            (0xffff_ffff_0000_0005, false),
        ],
    );
}

#[test]
fn operator_ne() {
    check_operator(
        "scopne",
        "SCMP_CMP_NE",
        1,
        V,
        0,
        &[
            (V, false),
            (5, true),
            (0x2_0000_0005, true),
            (0x1_0000_0006, true),
            (0, true),
        ],
    );
}

#[test]
fn operator_lt() {
    check_operator(
        "scoplt",
        "SCMP_CMP_LT",
        2,
        V,
        0,
        &[
            (0x1_0000_0004, true),
            (V, false),
            (0x1_0000_0006, false),
            (0xffff_ffff, true),    // high word less, low word greater
            (0x2_0000_0000, false), // high word greater, low word less
            (0, true),
            (u64::MAX, false),
        ],
    );
}

#[test]
fn operator_le() {
    check_operator(
        "scople",
        "SCMP_CMP_LE",
        3,
        V,
        0,
        &[
            (0x1_0000_0004, true),
            (V, true),
            (0x1_0000_0006, false),
            (0xffff_ffff, true),
            (0x2_0000_0000, false),
            (u64::MAX, false),
        ],
    );
}

#[test]
fn operator_ge() {
    check_operator(
        "scopge",
        "SCMP_CMP_GE",
        4,
        V,
        0,
        &[
            (0x1_0000_0004, false),
            (V, true),
            (0x1_0000_0006, true),
            (0xffff_ffff, false),
            (0x2_0000_0000, true),
            (u64::MAX, true),
            (0, false),
        ],
    );
}

#[test]
fn operator_gt() {
    check_operator(
        "scopgt",
        "SCMP_CMP_GT",
        5,
        V,
        0,
        &[
            (V, false),
            (0x1_0000_0006, true),
            (0x1_0000_0004, false),
            (0xffff_ffff, false),
            (0x2_0000_0000, true),
            (u64::MAX, true),
        ],
    );
}

#[test]
fn operator_masked_eq() {
    // (arg & 0xff00_0000_0000_00f0) == 0x1200_0000_0000_0030
    check_operator(
        "scopmasked",
        "SCMP_CMP_MASKED_EQ",
        0,
        0xff00_0000_0000_00f0,
        0x1200_0000_0000_0030,
        &[
            (0x1200_0000_0000_0030, true),
            (0x12ff_ffff_ffff_ff3f, true), // bits outside the mask ignored
            (0x1300_0000_0000_0030, false), // high word differs in the mask
            (0x1200_0000_0000_0040, false), // low word differs in the mask
            (0x30, false),
            (0x1200_0000_0000_0000, false),
        ],
    );
}

#[test]
fn conditions_of_a_rule_are_anded_and_an_argument_named_twice_is_ored() {
    let mut c = probe_ctx("scandor");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 50,
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 5, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_GE"}]},
            // runc: the same argument twice is one rule per condition.
            {"names": ["getuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 51,
             "args": [{"index": 1, "value": 3, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 0x3_0000_0000u64, "op": "SCMP_CMP_EQ"}]}]}),
    );
    let (r, out) = probe_ok(
        &mut c,
        "a",
        &[
            call("syscall", GETPPID, &[1, 0, 0, 0, 0, 0x1_0000_0000]),
            call("syscall", GETPPID, &[1, 0, 0, 0, 0, 0xffff_ffff]),
            call("syscall", GETPPID, &[2, 0, 0, 0, 0, 0x1_0000_0000]),
            call("syscall", GETUID, &[0, 3]),
            call("syscall", GETUID, &[0, 0x3_0000_0000]),
            call("syscall", GETUID, &[0, 0x3_0000_0003]),
        ],
    );
    assert_eq!(
        r,
        [fail(50), ok(0), ok(0), fail(51), fail(51), ok(0)],
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// Architectures: i386 through int 0x80, x32
// ---------------------------------------------------------------------------

/// Whether the kernel runs i386 calls (IA32 emulation): the probe's
/// int 0x80 getpid in a container without a filter.
fn has_ia32() -> bool {
    let mut c = probe_ctx("scia32");
    let (code, out, _) = probe(&mut c, "a", &[call("int80", I386_GETPID, &[])]);
    code == 0 && rets(&out) == [ok(1)]
}

/// Whether the kernel has the x32 ABI: an x32 getpid from this process
/// (no filter here) returns a pid, else ENOSYS.
fn has_x32() -> bool {
    // SAFETY: getpid with the x32 bit takes no argument and touches no memory.
    unsafe { libc::syscall(libc::c_long::from(X32_BIT) + libc::SYS_getpid) > 0 }
}

#[test]
fn with_x86_listed_an_int80_call_follows_the_i386_rules() {
    if !has_ia32() {
        eprintln!("NOTE: no IA32 emulation in this kernel (int 0x80 fails): nothing to check");
        return;
    }
    let mut c = probe_ctx("scx86");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
               "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 71},
            // i386 arguments are 32 bits: only the low word is compared.
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 72,
             "args": [{"index": 2, "value": 0x1_0000_0007u64, "op": "SCMP_CMP_EQ"}]}]}),
    );
    let (r, out) = probe_ok(
        &mut c,
        "a",
        &[
            call("int80", I386_GETPPID, &[]),
            call("int80", I386_GETPID, &[0, 0, 7]),
            call("int80", I386_GETPID, &[0, 0, 8]),
            sys(GETPPID),
            call("syscall", GETPID, &[0, 0, 7]),
            call("syscall", GETPID, &[0, 0, 0x1_0000_0007]),
        ],
    );
    assert_eq!(
        r,
        [fail(71), fail(72), ok(1), fail(71), ok(1), fail(72)],
        "i386 getppid is number 64 there; x86_64 compares all 64 bits:\n{out}"
    );
}

#[test]
fn without_x86_listed_an_int80_call_kills_the_process() {
    if !has_ia32() {
        eprintln!("NOTE: no IA32 emulation in this kernel (int 0x80 fails): nothing to check");
        return;
    }
    for arches in [
        json!(["SCMP_ARCH_X86_64"]),
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"]),
        json!(null),
    ] {
        let mut c = probe_ctx("scnox86");
        filter(
            &mut c,
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": arches, "syscalls": [
                {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}),
        );
        let (code, out, err) = probe(&mut c, "a", &[sys(GETPID), call("int80", I386_GETPID, &[])]);
        assert_eq!(rets(&out), [ok(1)], "{arches}: {out}");
        assert_killed_at(code, &out, &err, I386_GETPID);
    }
}

#[test]
fn with_x32_listed_x32_calls_follow_the_rules() {
    // The filter sees x32 numbers whether or not the kernel has the ABI;
    // an x32 call the filter lets through is then the kernel's: ENOSYS
    // without x32 support.
    let x32 = has_x32();
    let mut c = probe_ctx("scx32");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
               "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 73},
            // x32 arguments are compared on their low word, as libseccomp does.
            {"names": ["getuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 74,
             "args": [{"index": 0, "value": 0x1_0000_0009u64, "op": "SCMP_CMP_EQ"}]}]}),
    );
    let (r, out) = probe_ok(
        &mut c,
        "a",
        &[
            call("x32", GETPPID, &[]),
            call("x32", GETUID, &[9]),
            call("x32", GETPID, &[]),
            sys(GETPPID),
        ],
    );
    let passed = if x32 { ok(1) } else { fail(libc::ENOSYS) };
    assert_eq!(
        r,
        [fail(73), fail(74), passed, fail(73)],
        "x32 ABI in the kernel: {x32}\n{out}"
    );
}

#[test]
fn without_x32_listed_an_x32_call_kills_the_process() {
    for arches in [
        json!(["SCMP_ARCH_X86_64"]),
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]),
        json!([]),
    ] {
        let mut c = probe_ctx("scnox32");
        filter(
            &mut c,
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": arches, "syscalls": [
                {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}),
        );
        let (code, out, err) = probe(&mut c, "a", &[sys(GETPID), call("x32", GETPID, &[])]);
        assert_eq!(rets(&out), [ok(1)], "{arches}: {out}");
        assert_killed_at(code, &out, &err, X32_BIT + GETPID);
    }
}

// ---------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------

/// The Speculation_Store_Bypass line of a sleeping container started under
/// `seccomp` (None: no linux.seccomp).
fn ssb_under(name: &str, seccomp: Option<Value>) -> String {
    let mut c = probe_ctx(name);
    if let Some(s) = seccomp {
        filter(&mut c, s);
    }
    c.args(&["sleep", "1000"]);
    let (_, pid) = c.start("a");
    wait_until("sleep to exec", || execd(pid, "sleep"));
    let want_mode = if c.config["linux"]["seccomp"].is_null() {
        "0"
    } else {
        "2"
    };
    assert_eq!(status_field(pid, "Seccomp"), want_mode);
    status_field(pid, "Speculation_Store_Bypass")
}

#[test]
fn flags_are_accepted_and_spec_allow_keeps_speculation_as_it_is() {
    // With the kernel's SSB mitigation in "seccomp" mode (the default on
    // affected CPUs), a filter loaded without SPEC_ALLOW forces the
    // mitigation on; elsewhere the status is the same either way.
    let mode = std::fs::read_to_string("/sys/devices/system/cpu/vulnerabilities/spec_store_bypass")
        .unwrap_or_default();
    let forced = mode.contains("seccomp");
    let baseline = ssb_under("scssb0", None);
    eprintln!(
        "spec_store_bypass: {}; without a filter: {baseline}",
        mode.trim()
    );
    let rule = json!([{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]);
    for (flags, spec_allow) in [
        (json!(null), true), // absent: SPEC_ALLOW, as runc does
        (json!([]), false),
        (json!(["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]), true),
        (json!(["SECCOMP_FILTER_FLAG_TSYNC"]), false),
        (json!(["SECCOMP_FILTER_FLAG_LOG"]), false),
        (
            json!([
                "SECCOMP_FILTER_FLAG_TSYNC",
                "SECCOMP_FILTER_FLAG_LOG",
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
            ]),
            true,
        ),
    ] {
        let mut s = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rule});
        if !flags.is_null() {
            s["flags"] = flags.clone();
        }
        let got = ssb_under("scssb", Some(s.clone()));
        let want = if forced && !spec_allow {
            "thread force mitigated"
        } else {
            baseline.as_str()
        };
        assert_eq!(
            got,
            want,
            "flags {flags} (spec_store_bypass: {})",
            mode.trim()
        );
        // And the filter works with these flags.
        let mut c = probe_ctx("scflags");
        filter(&mut c, s);
        let (r, out) = probe_ok(&mut c, "a", &[sys(GETPPID), sys(GETPID)]);
        assert_eq!(r, [fail(libc::EPERM), ok(1)], "flags {flags}: {out}");
    }
}

#[test]
fn flag_log_logs_the_errno_actions_that_are_not_logged_without_it() {
    let Some(mut kmsg) = Kmsg::open().filter(|_| kernel_logs("errno")) else {
        eprintln!(
            "NOTE: /dev/kmsg is not readable, actions_logged lacks \"errno\" or an audit \
             daemon takes the records: nothing to check"
        );
        return;
    };
    let mut c = probe_ctx("scflaglog");
    let seccomp = |flags: Value| {
        json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": flags, "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77}]})
    };
    // The record's code is the action without its data.
    let errno = libc::SECCOMP_RET_ERRNO;
    probe_args(&mut c, &[sys(GETPPID)]);
    let deadline = Instant::now() + KMSG_PATIENCE;
    for attempt in 0.. {
        // Logged, not logged, logged: the second's record, were it made,
        // would come before the third's.
        let mut pids = Vec::new();
        for (i, flags) in [
            json!(["SECCOMP_FILTER_FLAG_LOG"]),
            json!([]),
            json!(["SECCOMP_FILTER_FLAG_LOG"]),
        ]
        .into_iter()
        .enumerate()
        {
            filter(&mut c, seccomp(flags));
            let (code, out, err, pid) = run_with_pid(&mut c, &format!("a{attempt}-{i}"));
            assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
            assert_eq!(rets(&out), [fail(77)], "{out}");
            pids.push(pid);
        }
        let (first, third) = (
            seccomp_record(pids[0], GETPPID, errno),
            seccomp_record(pids[2], GETPPID, errno),
        );
        if kmsg.wait_for(Duration::from_secs(3), |l| third(l)) && kmsg.has(&first) {
            assert!(
                !kmsg.has(seccomp_record(pids[1], GETPPID, errno)),
                "the call of pid {} was logged without SECCOMP_FILTER_FLAG_LOG:\n{}",
                pids[1],
                kmsg.lines.join("\n")
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no type=1326 record with code={errno:#x} for pids {pids:?} in /dev/kmsg after \
             {attempt} tries; the records seen:\n{}",
            kmsg.lines.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------
// Docker's default profile, through the probe
// ---------------------------------------------------------------------------

/// What the converted profile says for `name` on x86_64 or i386: None when
/// it allows the call, else the errno. (The syscalls asked about have
/// entries without argument conditions.)
fn profile_says(p: &Value, name: &str) -> Option<i32> {
    for s in p["syscalls"].as_array().unwrap() {
        if !s["names"].as_array().unwrap().iter().any(|n| n == name) {
            continue;
        }
        assert!(
            s["args"].as_array().is_none_or(|a| a.is_empty()),
            "{name} has argument rules: {s}"
        );
        return match s["action"].as_str().unwrap() {
            "SCMP_ACT_ALLOW" => None,
            "SCMP_ACT_ERRNO" => Some(s["errnoRet"].as_i64().unwrap_or(1) as i32),
            a => panic!("{name}: {a}"),
        };
    }
    match p["defaultAction"].as_str().unwrap() {
        "SCMP_ACT_ERRNO" => Some(p["defaultErrnoRet"].as_i64().unwrap_or(1) as i32),
        a => panic!("default {a}"),
    }
}

#[test]
fn dockers_default_profile_denies_with_the_errno_it_says() {
    // The bundle's capabilities and CAP_SYS_BOOT, so that kexec_load is
    // the filter's to refuse, not the kernel's for want of the capability.
    let mut c = probe_ctx("scdockerprobe");
    c.edit(|v| {
        for set in ["bounding", "effective", "permitted"] {
            v["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_SYS_BOOT"));
        }
    });
    let profile = docker_profile(&bounding_caps(&c));
    // Arguments that make each call harmless: kexec_load with too many
    // segments and unknown flags fails its checks before doing anything.
    let kexec = [0, 1000, 0, 0x00aa_8000];
    let keyring = [0, (-3i64) as u64, 0]; // KEYCTL_GET_KEYRING_ID, session
    let calls = [
        ("getppid", sys(GETPPID)),
        ("keyctl", call("syscall", KEYCTL, &keyring)),
        ("kexec_load", call("syscall", KEXEC_LOAD, &kexec)),
        ("sysfs", call("syscall", SYSFS, &[3])),
        ("io_uring_setup", call("syscall", IO_URING_SETUP, &[0, 0])),
        ("nice", call("int80", I386_NICE, &[0])),
        ("kexec_load", call("int80", I386_KEXEC_LOAD, &kexec)),
    ];
    let cmds: Vec<Vec<String>> = calls.iter().map(|(_, c)| c.clone()).collect();
    // Without the filter: what the kernel itself answers.
    let (bare, out) = probe_ok(&mut c, "bare", &cmds);
    assert_eq!(bare.len(), calls.len(), "{out}");
    filter(&mut c, profile.clone());
    let (got, out) = probe_ok(&mut c, "docker", &cmds);
    assert_eq!(got.len(), calls.len(), "{out}");
    for ((name, _), (g, b)) in calls.iter().zip(got.iter().zip(&bare)) {
        eprintln!("{name}: under the profile {g:?}, without a filter {b:?}");
    }
    for (((name, cmd), g), b) in calls.iter().zip(&got).zip(&bare) {
        match profile_says(&profile, name) {
            Some(e) => {
                assert_eq!(
                    *g,
                    fail(e),
                    "{name} ({cmd:?}): the profile says errno {e}; unfiltered {b:?}"
                );
                if b.errno == e {
                    eprintln!("NOTE: {name} fails with {e} without the filter too");
                }
            }
            None => assert!(
                g.errno == b.errno && (g.ret >= 0) == (b.ret >= 0),
                "{name} ({cmd:?}) is allowed: {g:?}, unfiltered {b:?}"
            ),
        }
    }
    // The calls that discriminate: they succeed without the filter.
    let sysfs = calls.iter().position(|c| c.0 == "sysfs").unwrap();
    let nice = calls.iter().position(|c| c.0 == "nice").unwrap();
    assert!(
        bare[sysfs].ret > 0,
        "sysfs(3) unfiltered: {:?}",
        bare[sysfs]
    );
    if has_ia32() {
        assert_eq!(bare[nice], ok(0), "nice(0) unfiltered");
    }
}

// ---------------------------------------------------------------------------
// Bad input: a clear error naming the field, exit 1, nothing left
// ---------------------------------------------------------------------------

/// `berth run` (and `create`) of the current config fails with exit
/// status 1, an error holding `needle`, and leaves nothing behind.
fn refused(c: &mut Ctx, what: &str, needle: &str) {
    let b = c.bundle.to_string_lossy().into_owned();
    for cmd in ["run", "create"] {
        let id = c.id(&format!("{what}-{cmd}"));
        let out = c.berth(&[cmd, "--bundle", &b, &id]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: {cmd}: exit {}:\n{err}",
            out.status
        );
        assert!(
            err.contains(needle),
            "{what}: {cmd}: the error lacks {needle:?}:\n{err}"
        );
        c.assert_gone(&id);
    }
}

#[test]
fn bad_seccomp_input_is_refused_naming_the_field() {
    let mut c = probe_ctx("scbadinput");
    let rule = |extra: Value| {
        let mut r = json!({"names": ["getppid"], "action": "SCMP_ACT_ERRNO"});
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    let seven_args: Vec<Value> = (0..7)
        .map(|i| json!({"index": i, "value": 1, "op": "SCMP_CMP_EQ"}))
        .collect();
    let cases = [
        (
            "action",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                rule(json!({})), rule(json!({"action": "SCMP_ACT_BOGUS"}))]}),
            r#"linux.seccomp.syscalls[1].action: unknown action "SCMP_ACT_BOGUS""#,
        ),
        (
            "default",
            json!({"defaultAction": "SCMP_ACT_NOPE"}),
            r#"linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE""#,
        ),
        (
            "arch",
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_PDP11"]}),
            r#"linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_PDP11""#,
        ),
        (
            "nonames",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule(json!({"names": []}))]}),
            "linux.seccomp.syscalls[0].names: empty",
        ),
        (
            "emptyname",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                rule(json!({"names": ["getppid", ""]}))]}),
            "linux.seccomp.syscalls[0].names[1]: empty",
        ),
        (
            "errnoret",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                rule(json!({"action": "SCMP_ACT_KILL_PROCESS", "errnoRet": 5}))]}),
            "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_KILL_PROCESS takes no errno (got 5)",
        ),
        (
            "defaulterrnoret",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5}),
            "linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno (got 5)",
        ),
        (
            "sevenargs",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule(json!({"args": seven_args}))]}),
            "linux.seccomp.syscalls[0].args[6].index: 6 is out of range",
        ),
        (
            "op",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule(json!({"args": [
                {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 1, "op": "SCMP_CMP_APPROX"}]}))]}),
            r#"linux.seccomp.syscalls[0].args[1].op: unknown operator "SCMP_CMP_APPROX""#,
        ),
        (
            "nolistener",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                rule(json!({"action": "SCMP_ACT_NOTIFY"}))]}),
            "linux.seccomp.listenerPath: missing",
        ),
    ];
    for (what, seccomp, needle) in cases {
        filter(&mut c, seccomp);
        refused(&mut c, what, needle);
    }
}

#[test]
fn a_listener_path_that_is_not_a_socket_is_refused_and_leaves_nothing() {
    let mut c = probe_ctx("scbadlistener");
    let file = c.dir.join("not-a-socket");
    std::fs::write(&file, "").unwrap();
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": file, "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    let needle = format!("linux.seccomp.listenerPath: connect to {}", file.display());
    refused(&mut c, "file", &needle);
    // A path where nothing is.
    let missing = c.dir.join("missing.sock");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": missing, "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    let needle = format!(
        "linux.seccomp.listenerPath: connect to {}",
        missing.display()
    );
    refused(&mut c, "missing", &needle);
}

#[test]
fn without_no_new_privileges_init_needs_no_call_the_profile_denies_after_loading_it() {
    // Without no_new_privs the filter goes in while init is root, before
    // it switches user: what init does after that must not depend on
    // calls a profile may deny (getcwd for the cwd check, openat2 for
    // path resolution, close_range for closing fds).
    let mut c = probe_ctx("scearly");
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": allow_list(&["getpid", "setresuid", "setresgid", "setgroups", "capget",
                                   "capset", "prctl", "chdir", "umask", "exit"]),
             "action": "SCMP_ACT_ALLOW"},
        ]}),
    );
    c.edit(|v| {
        v["process"]["noNewPrivileges"] = json!(false);
        v["process"]["cwd"] = json!("/tmp");
    });
    let (r, out) = probe_ok(&mut c, "a", &[sys(GETPID), sys(GETUID)]);
    assert_eq!(r, [ok(1), fail(libc::EPERM)], "{out}");
    // The same with the cwd check's own call denied by an errno rule.
    filter(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getcwd", "openat2", "close_range"], "action": "SCMP_ACT_ERRNO"},
        ]}),
    );
    c.args(&["sh", "-c", "echo in=$(readlink /proc/self/cwd)"]);
    let out = c.run_ok("b");
    assert!(out.contains("in=/tmp"), "{out}");
}
