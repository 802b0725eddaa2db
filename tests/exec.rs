//! `exec`: a new process in a running container, from the container's own
//! process with runc's flags or from a --process file, in every namespace,
//! cgroup and security setting of the container; its output, exit status,
//! terminal and pid file; and the errors that leave the container as it was.

mod common;
use common::*;
use serde_json::{json, Value};
use std::os::fd::RawFd;
use std::os::unix::net::UnixListener;
use std::process::Output;

fn text(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `exec` that must succeed: its stdout.
fn exec_ok(c: &Ctx, args: &[&str]) -> String {
    let mut a = vec!["exec"];
    a.extend_from_slice(args);
    c.ok(&a)
}

/// A sleeping container (create + start); (id, init pid).
fn sleeper(c: &mut Ctx, suffix: &str) -> (String, i32) {
    c.args(&["sleep", "1000"]);
    let (id, pid) = c.start(suffix);
    wait_until("sleep to exec", || execd(pid, "sleep"));
    (id, pid)
}

/// `exec -d --pid-file` of `args`; the process's host pid.
fn exec_detached(c: &mut Ctx, id: &str, extra: &[&str], args: &[&str]) -> i32 {
    exec_detached_with_fds(c, id, extra, args, &[])
}

/// The same, with (our fd, its number in berth) pairs passed to berth.
fn exec_detached_with_fds(
    c: &mut Ctx,
    id: &str,
    extra: &[&str],
    args: &[&str],
    fds: &[(RawFd, RawFd)],
) -> i32 {
    let pf = c.dir.join(format!("exec-{}.pid", args.join("-").len()));
    let pfs = pf.to_string_lossy().into_owned();
    let mut a = vec!["exec", "--detach", "--pid-file", &pfs];
    a.extend_from_slice(extra);
    a.push(id);
    a.extend_from_slice(args);
    let mut cmd = c.cmd(&a);
    for (fd, target) in fds {
        with_fd(&mut cmd, *fd, *target);
    }
    assert_ok(&output(cmd, &c.dir), &format!("berth {a:?}"));
    let pid: i32 = std::fs::read_to_string(&pf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    c.reap_later(pid);
    pid
}

fn userns(v: &mut Value) {
    v["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .extend([json!({"type": "user"}), json!({"type": "time"})]);
    v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    v["linux"]["timeOffsets"] = json!({"boottime": {"secs": 86400, "nanosecs": 0}});
}

fn chown_rootfs(c: &Ctx, id: u32) {
    let st = std::process::Command::new("chown")
        .arg("-R")
        .arg(format!("{id}:{id}"))
        .arg(c.rootfs())
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn exec_joins_every_namespace_and_the_cgroup_of_the_container() {
    let mut c = Ctx::new("exns");
    c.edit(userns);
    chown_rootfs(&c, 200000);
    let (id, init) = sleeper(&mut c, "a");
    let pid = exec_detached(&mut c, &id, &[], &["sleep", "500"]);
    wait_until("the exec'd sleep", || execd(pid, "sleep"));
    for kind in ["user", "mnt", "net", "ipc", "uts", "pid", "cgroup", "time"] {
        assert_eq!(ns(pid, kind), ns(init, kind), "{kind} namespace");
        assert_ne!(
            ns(pid, kind),
            ns("self", kind),
            "{kind} is the container's own"
        );
    }
    let cg = |p: i32| std::fs::read_to_string(format!("/proc/{p}/cgroup")).unwrap();
    // Both seen from the host's cgroup namespace.
    assert_eq!(cg(pid), cg(init));
    // Mapped to the container's root, and pid 2 or more inside.
    assert!(
        status_field(pid, "Uid").starts_with("200000"),
        "{}",
        status_field(pid, "Uid")
    );
    let nspid = status_field(pid, "NSpid");
    assert!(nspid.split_whitespace().count() == 2, "{nspid}");
    // Inside: the container's root, hostname and clock offset.
    let out = exec_ok(
        &c,
        &[&id, "sh", "-c", "ls /; hostname; cat /proc/uptime; id -u"],
    );
    assert!(out.contains("linuxrc"), "{out}");
    let up: f64 = out
        .lines()
        .find(|l| l.contains('.') && l.split_whitespace().count() == 2)
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(up > 86400.0, "the boottime offset applies: {out}");
    assert!(out.lines().any(|l| l == "0"), "{out}");
    // A kill of the container takes the exec'd process with it.
    c.ok(&["kill", &id, "KILL"]);
    wait_until("the exec'd process to die", || !alive(pid));
    // Its parent, berth, is gone: this test (a subreaper) reaps it, and
    // only then can the container's init finish dying.
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    c.wait_status(&id, "stopped");
    c.ok(&["delete", &id]);
    c.assert_gone(&id);
}

#[test]
fn exec_returns_the_status_and_output_of_the_process() {
    let mut c = Ctx::new("exstatus");
    let (id, _) = sleeper(&mut c, "a");
    let (code, out, err) =
        text(&c.berth(&["exec", &id, "sh", "-c", "echo out; echo err >&2; exit 7"]));
    assert_eq!(code, 7, "{err}");
    assert_eq!(out, "out\n");
    assert_eq!(err, "err\n");
    let (code, _, _) = text(&c.berth(&["exec", &id, "sh", "-c", "kill -TERM $$"]));
    assert_eq!(code, 128 + 15, "killed by SIGTERM");
}

#[test]
fn exec_takes_the_containers_process_with_the_flags_changes() {
    let mut c = Ctx::new("exflags");
    c.edit(|v| {
        v["process"]["env"] = json!(["PATH=/bin:/sbin", "KEEP=1", "OVER=old"]);
        v["process"]["capabilities"] = json!({
            "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]});
    });
    let (id, _) = sleeper(&mut c, "a");
    let out = exec_ok(
        &c,
        &[
            "--cwd", "/tmp", "--env", "OVER=new", "-e", "ADDED=2", "--user", "1000:1001",
            "--additional-gids", "7", "-g", "8", &id, "sh", "-c",
            "pwd; echo $KEEP $OVER $ADDED; id -u; id -g; id -G; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "/tmp", "{out}");
    assert_eq!(lines[1], "1 new 2", "{out}");
    assert_eq!(lines[2], "1000", "{out}");
    assert_eq!(lines[3], "1001", "{out}");
    assert!(lines[4].contains('7') && lines[4].contains('8'), "{out}");
    // The config's capabilities (a non-root user keeps none effective).
    assert!(
        out.contains(&format!("CapEff:\t{}", cap_mask(&[]))),
        "{out}"
    );
    // --cap adds to the config's sets; --no-new-privs sets no_new_privs.
    let out = exec_ok(
        &c,
        &[
            "--cap",
            "CAP_CHOWN",
            "--no-new-privs",
            &id,
            "grep",
            "-E",
            "^(CapEff|CapBnd|NoNewPrivs)",
            "/proc/self/status",
        ],
    );
    let both = cap_mask(&["CAP_CHOWN", "CAP_KILL"]);
    assert!(out.contains(&format!("CapEff:\t{both}")), "{out}");
    assert!(out.contains(&format!("CapBnd:\t{both}")), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
}

#[test]
fn exec_runs_a_process_file_as_clients_send_it() {
    let mut c = Ctx::new("exprocess");
    let (id, _) = sleeper(&mut c, "a");
    let p = json!({
        "terminal": false,
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [5]},
        "args": ["sh", "-c", "pwd; echo $WHO; id -G; ulimit -n; grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status"],
        "env": ["PATH=/bin", "WHO=file"],
        "cwd": "/etc",
        "capabilities": {"bounding": ["CAP_KILL", "CAP_NET_RAW"], "effective": ["CAP_KILL"],
                          "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 321, "soft": 123}],
        "noNewPrivileges": true
    });
    let f = c.dir.join("process.json");
    std::fs::write(&f, serde_json::to_vec(&p).unwrap()).unwrap();
    let fs = f.to_string_lossy().into_owned();
    let out = exec_ok(&c, &["--process", &fs, &id]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "/etc", "{out}");
    assert_eq!(lines[1], "file", "{out}");
    assert!(lines[2].split_whitespace().any(|g| g == "5"), "{out}");
    assert_eq!(lines[3], "123", "{out}");
    let kill = cap_mask(&["CAP_KILL"]);
    assert!(
        out.contains(&format!("CapEff:\t{kill}")),
        "ambient makes it effective: {out}"
    );
    assert!(out.contains(&format!("CapPrm:\t{kill}")), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
}

#[test]
fn exec_applies_the_containers_seccomp_profile() {
    let mut c = Ctx::new("exseccomp");
    c.edit(|v| {
        v["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]});
    });
    let (id, _) = sleeper(&mut c, "a");
    let out = exec_ok(
        &c,
        &[
            &id,
            "sh",
            "-c",
            "mkdir /tmp/x 2>&1; echo rc=$?; grep Seccomp: /proc/self/status",
        ],
    );
    assert!(out.contains("Permission denied"), "{out}");
    assert!(out.contains("rc=1"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
}

#[test]
fn exec_with_a_terminal_in_the_callers_pty_and_through_a_console_socket() {
    let mut c = Ctx::new("extty");
    let (id, _) = sleeper(&mut c, "a");
    // Foreground: berth relays the caller's terminal.
    let cmd = c.cmd(&["exec", "--tty", &id, "sh", "-c", "tty; stty size; exit 3"]);
    let (status, out) = run_in_pty(cmd, 31, 91, "91");
    assert!(out.contains("/dev/pts/"), "{out}");
    assert!(out.contains("31 91"), "{out}");
    assert_eq!(status.code(), Some(3));
    // Detached: the pty master goes to the console socket.
    let sock = c.dir.join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let s = sock.to_string_lossy().into_owned();
    let pid = exec_detached(
        &mut c,
        &id,
        &["--tty", "--console-socket", &s],
        &["sh", "-c", "tty; sleep 100"],
    );
    let (conn, _) = listener.accept().unwrap();
    let (_, fd) = recv_fd(&conn);
    // Kept open: closing the master would hang the terminal up.
    let mut master = std::fs::File::from(fd);
    let out = read_until(&mut master, "/dev/pts/");
    assert!(out.contains("/dev/pts/"), "{out}");
    assert!(alive(pid));
}

#[test]
fn exec_passes_preserved_fds_and_closes_the_rest() {
    let mut c = Ctx::new("exfds");
    let (id, _) = sleeper(&mut c, "a");
    let f = c.dir.join("three");
    std::fs::write(&f, "from-fd-3\n").unwrap();
    let file = std::fs::File::open(&f).unwrap();
    let leak = std::fs::File::open(&f).unwrap();
    use std::os::fd::AsRawFd;
    let pid = exec_detached_with_fds(
        &mut c,
        &id,
        &["--preserve-fds", "1"],
        &["sleep", "100"],
        &[(file.as_raw_fd(), 3), (leak.as_raw_fd(), 4)],
    );
    wait_until("the exec'd sleep", || execd(pid, "sleep"));
    let mut fds: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().parse().unwrap())
        .collect();
    fds.sort();
    assert_eq!(
        fds,
        [0, 1, 2, 3],
        "fd 3 preserved, fd 4 and berth's own closed"
    );
    let three = std::fs::read_link(format!("/proc/{pid}/fd/3")).unwrap();
    assert_eq!(three, std::fs::canonicalize(&f).unwrap());
}

#[test]
fn exec_works_in_containers_without_pivot_root_or_a_mount_namespace() {
    let mut c = Ctx::new("exroot");
    c.args(&["sleep", "1000"]);
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    c.ok(&["run", "--detach", "--no-pivot", "--bundle", &b, &id]);
    let out = exec_ok(&c, &[&id, "ls", "/"]);
    assert!(out.contains("linuxrc"), "{out}");
    c.ok(&["delete", "--force", &id]);
    c.edit(|v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "mount")
    });
    let (id, _) = sleeper(&mut c, "b");
    let out = exec_ok(&c, &[&id, "sh", "-c", "ls /; readlink /proc/self/root"]);
    assert!(out.contains("linuxrc"), "{out}");
    c.ok(&["delete", "--force", &id]);
    c.assert_gone(&id);
}

#[test]
fn exec_cannot_reach_the_host_through_a_cwd_in_proc_self_fd() {
    // CVE-2024-21626: a leaked fd to a host directory as the cwd.
    let mut c = Ctx::new("excwd");
    let (id, _) = sleeper(&mut c, "a");
    for fd in 3..12 {
        let cwd = format!("/proc/self/fd/{fd}");
        let out = c.berth(&[
            "exec",
            "--cwd",
            &cwd,
            &id,
            "sh",
            "-c",
            "ls ../../../../ ; cat ../../../../etc/hostname",
        ]);
        let (code, stdout, _) = text(&out);
        assert_ne!(code, 0, "cwd {cwd} was accepted:\n{stdout}");
    }
    assert_eq!(c.status(&id), "running");
}

// ---------------------------------------------------------------------------
// Bad input: one error line, non-zero, the container as it was
// ---------------------------------------------------------------------------

fn one_error_line(out: &Output) -> String {
    let (code, stdout, err) = text(out);
    assert_ne!(code, 0, "succeeded:\n{stdout}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("warning:"))
        .collect();
    assert_eq!(lines.len(), 1, "one error line:\n{err}");
    lines[0].to_string()
}

#[test]
fn exec_bad_input_is_one_clear_error_and_leaves_the_container_unharmed() {
    let mut c = Ctx::new("exbad");
    let (id, init) = sleeper(&mut c, "a");
    let procs = |c: &Ctx| c.ok(&["ps", "--format", "json", &id]);
    let before = procs(&c);
    let bad_json = c.dir.join("bad.json");
    std::fs::write(&bad_json, "{\"args\": [\"sh\"], \"cwd\": 5}").unwrap();
    let bj = bad_json.to_string_lossy().into_owned();
    let no_bin = c.dir.join("nobin.json");
    std::fs::write(
        &no_bin,
        serde_json::to_vec(
            &json!({"user": {"uid": 0, "gid": 0}, "args": ["/no/such/binary"], "cwd": "/"}),
        )
        .unwrap(),
    )
    .unwrap();
    let nb = no_bin.to_string_lossy().into_owned();
    let plain = c.dir.join("plain");
    std::fs::write(&plain, "").unwrap();
    let pl = plain.to_string_lossy().into_owned();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["exec", "--process", &bj, &id],
            vec!["--process", "cwd"],
        ),
        (vec!["exec", "--process", &nb, &id], vec!["/no/such/binary"]),
        (
            vec!["exec", &id, "no-such-command"],
            vec!["no-such-command"],
        ),
        (
            vec!["exec", "--cap", "CAP_BOGUS", &id, "true"],
            vec!["CAP_BOGUS"],
        ),
        (
            vec!["exec", "--tty", "--console-socket", &pl, &id, "true"],
            vec!["--console-socket", "not a socket"],
        ),
        (
            vec!["exec", "--user", "root", &id, "true"],
            vec!["--user", "root"],
        ),
        (vec!["exec", &id], vec!["command"]),
        (
            vec!["exec", "no-such-container", "true"],
            vec!["no-such-container"],
        ),
    ];
    for (args, needles) in cases {
        let line = one_error_line(&c.berth(&args));
        for n in needles {
            assert!(
                line.contains(n),
                "berth {args:?}: the error does not name {n:?}: {line}"
            );
        }
        assert_eq!(c.status(&id), "running", "after {args:?}");
        assert_eq!(procs(&c), before, "after {args:?}");
    }
    assert!(alive(init));
    // Paused: a clear error, and the container stays paused.
    c.ok(&["pause", &id]);
    let line = one_error_line(&c.berth(&["exec", &id, "true"]));
    assert!(line.contains("paused"), "{line}");
    assert_eq!(c.status(&id), "paused");
    c.ok(&["resume", &id]);
    // Stopped.
    c.ok(&["kill", &id, "KILL"]);
    c.wait_status(&id, "stopped");
    let line = one_error_line(&c.berth(&["exec", &id, "true"]));
    assert!(line.contains("stopped"), "{line}");
    c.ok(&["delete", &id]);
    c.assert_gone(&id);
}
