//! The process a container runs, as config.json describes it: args, env,
//! cwd, user, umask, rlimits, noNewPrivileges, oomScoreAdj, capabilities,
//! hostname, sysctl, a read-only root, inherited fds, the session keyring
//! and dumpability. Each is checked from outside (/proc/PID/...) and, where
//! the container can see it, from inside (its output).

mod common;
use common::*;
use serde_json::json;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Output;

/// Sets process.args to `sh -c script`.
fn sh(c: &mut Ctx, script: &str) {
    c.args(&["sh", "-c", script]);
}

/// Runs berth with `fd` (ours) as fd `target` in berth and what it starts.
fn berth_with_fd(c: &Ctx, args: &[&str], fd: &OwnedFd, target: i32) -> Output {
    // A copy far above `target`: dup2 onto itself would keep close-on-exec.
    let high = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(100))
        .expect("dup the fd high");
    let mut cmd = c.cmd(args);
    with_fd(&mut cmd, high, target);
    let out = output(cmd, &c.dir);
    nix::unistd::close(high).unwrap();
    out
}

/// `create` with extra flags; returns (id, init pid).
fn create_with(c: &mut Ctx, suffix: &str, flags: &[&str]) -> (String, i32) {
    let id = c.id(suffix);
    let b = c.bundle.to_string_lossy().into_owned();
    let mut args = vec!["create", "--bundle", &b];
    args.extend_from_slice(flags);
    args.push(&id);
    c.ok(&args);
    let pid = c.state(&id)["pid"].as_i64().unwrap() as i32;
    c.reap_later(pid);
    (id, pid)
}

/// Starts the config (which must run `sleep`) and waits until it has exec'd.
fn start_sleep(c: &mut Ctx, suffix: &str) -> (String, i32) {
    let (id, pid) = c.start(suffix);
    wait_until("sleep to exec", || execd(pid, "sleep"));
    (id, pid)
}

/// /proc/PID/environ as entries.
fn environ(pid: i32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    raw.split(|b| *b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

/// The open fds of `pid`, sorted.
fn fds(pid: i32) -> Vec<i32> {
    let mut v: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    v.sort();
    v
}

/// The owner uid of /proc/PID/`entry`: root while the process is not
/// dumpable. (Not of /proc/PID itself: the kernel always gives that
/// world-readable directory the euid, see task_dump_owner in fs/proc/base.c.)
fn proc_owner(pid: i32, entry: &str) -> u32 {
    std::fs::metadata(format!("/proc/{pid}/{entry}"))
        .unwrap()
        .uid()
}

/// The Cap* lines of a /proc/PID/status text, as (name, mask) in order.
fn caps_in(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| l.starts_with("Cap"))
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.to_string(), v.trim().to_string()))
        })
        .collect()
}

/// Sets all five capability sets; permitted and effective alike (`pe`).
fn set_caps(v: &mut serde_json::Value, b: &[&str], pe: &[&str], i: &[&str], a: &[&str]) {
    v["process"]["capabilities"] = json!({
        "bounding": b,
        "effective": pe,
        "permitted": pe,
        "inheritable": i,
        "ambient": a,
    });
}

#[test]
fn args_reach_the_process_verbatim() {
    let mut c = Ctx::new("pargs");
    c.args(&["sh", "-c", "printf '[%s]' \"$@\"", "zero", "a b", "", "c*"]);
    assert_eq!(c.run_ok("in"), "[a b][][c*]");
    c.args(&["sleep", "1000"]);
    let (_, pid) = start_sleep(&mut c, "out");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x001000\x00");
}

#[test]
fn env_is_exactly_the_config_plus_home() {
    let mut c = Ctx::new("penv");
    c.edit(|v| {
        v["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!("GREETING=hello world"))
    });
    sh(&mut c, "echo \"$GREETING\"");
    assert_eq!(c.run_ok("in"), "hello world\n");
    c.args(&["sleep", "1000"]);
    let (_, pid) = start_sleep(&mut c, "out");
    let mut env = environ(pid);
    env.sort();
    assert_eq!(
        env,
        [
            "GREETING=hello world",
            "HOME=/root",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm",
        ],
        "nothing of berth's own environment may leak in"
    );
}

#[test]
fn cwd_is_the_working_directory() {
    let mut c = Ctx::new("pcwd");
    c.edit(|v| v["process"]["cwd"] = json!("/etc"));
    sh(&mut c, "pwd; ls passwd");
    assert_eq!(c.run_ok("in"), "/etc\npasswd\n");
    c.args(&["sleep", "1000"]);
    let (_, pid) = start_sleep(&mut c, "out");
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(cwd, std::path::Path::new("/etc"));
}

#[test]
fn missing_cwd_is_created() {
    let mut c = Ctx::new("pcwdnew");
    c.edit(|v| {
        v["root"]["readonly"] = json!(false);
        v["process"]["cwd"] = json!("/work/deep/dir");
    });
    sh(&mut c, "pwd");
    assert_eq!(c.run_ok("a"), "/work/deep/dir\n");
    let made = c.rootfs().join("work/deep/dir");
    let md = std::fs::metadata(&made).expect("cwd made in the rootfs");
    assert!(md.is_dir());
    assert_eq!(md.permissions().mode() & 0o7777, 0o755);
}

#[test]
fn missing_cwd_is_created_under_a_readonly_root() {
    // runc makes the cwd (prepareRootfs) before it remounts the root
    // read-only (finalizeRootfs): a read-only root with a missing cwd runs.
    let mut c = Ctx::new("pcwdro");
    c.edit(|v| {
        v["root"]["readonly"] = json!(true);
        v["process"]["cwd"] = json!("/work/deep/dir");
    });
    sh(
        &mut c,
        "pwd; touch /x 2>/dev/null && echo writable || echo read-only",
    );
    assert_eq!(c.run_ok("a"), "/work/deep/dir\nread-only\n");
    assert!(c.rootfs().join("work/deep/dir").is_dir());
}

#[test]
fn home_comes_from_the_containers_passwd() {
    let mut c = Ctx::new("phome");
    c.edit(|v| v["process"]["user"] = json!({"uid": 1000, "gid": 1000}));
    sh(&mut c, "echo \"$HOME\"");
    assert_eq!(c.run_ok("in"), "/home/user\n");
    c.args(&["sleep", "1000"]);
    let (_, pid) = start_sleep(&mut c, "out");
    let homes: Vec<String> = environ(pid)
        .into_iter()
        .filter(|e| e.starts_with("HOME="))
        .collect();
    assert_eq!(homes, ["HOME=/home/user"]);
}

#[test]
fn home_in_env_wins_over_passwd() {
    let mut c = Ctx::new("phomeset");
    c.edit(|v| {
        v["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        v["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!("HOME=/custom"));
    });
    sh(&mut c, "echo \"$HOME\"; env | grep -c '^HOME='");
    assert_eq!(c.run_ok("a"), "/custom\n1\n");
}

#[test]
fn user_uid_gid_and_additional_gids() {
    let mut c = Ctx::new("puser");
    c.edit(|v| {
        v["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [100, 5]})
    });
    sh(&mut c, "id -u; id -g; id -G");
    let out = c.run_ok("in");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1000", "{out}");
    assert_eq!(lines[1], "1000", "{out}");
    let mut groups: Vec<u32> = lines[2]
        .split_whitespace()
        .map(|g| g.parse().unwrap())
        .collect();
    groups.sort();
    groups.dedup();
    assert_eq!(groups, [5, 100, 1000], "{out}");
    c.args(&["sleep", "1000"]);
    let (_, pid) = start_sleep(&mut c, "out");
    assert_eq!(status_field(pid, "Uid"), "1000\t1000\t1000\t1000");
    assert_eq!(status_field(pid, "Gid"), "1000\t1000\t1000\t1000");
    assert_eq!(status_field(pid, "Groups"), "5 100");
}

#[test]
fn user_without_additional_gids_has_no_groups() {
    let mut c = Ctx::new("pnogroups");
    c.edit(|v| v["process"]["user"] = json!({"uid": 65534, "gid": 65534}));
    c.args(&["sleep", "1000"]);
    let (_, pid) = start_sleep(&mut c, "a");
    assert_eq!(status_field(pid, "Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(
        status_field(pid, "Groups"),
        "",
        "the caller's groups must not leak in"
    );
}

#[test]
fn umask_defaults_to_0022_and_follows_the_config() {
    let mut c = Ctx::new("pumask");
    sh(&mut c, "umask");
    assert_eq!(c.run_ok("default"), "0022\n");
    c.edit(|v| v["process"]["user"]["umask"] = json!(0o027));
    assert_eq!(c.run_ok("set"), "0027\n");
    c.args(&["sleep", "1000"]);
    let (_, pid) = start_sleep(&mut c, "out");
    assert_eq!(status_field(pid, "Umask"), "0027");
}

#[test]
fn rlimit_nofile_soft_and_hard() {
    let (_, host_hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    assert!(
        host_hard >= 654,
        "the host's hard NOFILE limit is {host_hard}"
    );
    let mut c = Ctx::new("prlimit");
    c.edit(|v| {
        v["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}])
    });
    sh(&mut c, "ulimit -n; ulimit -Hn");
    assert_eq!(c.run_ok("in"), "321\n654\n");
    c.args(&["sleep", "1000"]);
    let (_, pid) = start_sleep(&mut c, "out");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!((f[3], f[4]), ("321", "654"), "{line}");
}

#[test]
fn no_new_privileges_true_and_false() {
    let mut c = Ctx::new("pnnp");
    c.args(&["sleep", "1000"]);
    c.edit(|v| v["process"]["noNewPrivileges"] = json!(true));
    let (_, on) = start_sleep(&mut c, "on");
    assert_eq!(status_field(on, "NoNewPrivs"), "1");
    c.edit(|v| v["process"]["noNewPrivileges"] = json!(false));
    let (_, off) = start_sleep(&mut c, "off");
    assert_eq!(status_field(off, "NoNewPrivs"), "0");
}

#[test]
fn oom_score_adj_is_set() {
    let mut c = Ctx::new("poom");
    c.edit(|v| v["process"]["oomScoreAdj"] = json!(500));
    sh(&mut c, "cat /proc/self/oom_score_adj");
    assert_eq!(c.run_ok("in"), "500\n");
    c.args(&["sleep", "1000"]);
    let (_, pid) = start_sleep(&mut c, "out");
    let adj = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
    assert_eq!(adj.trim(), "500");
}

#[test]
fn capabilities_of_root_all_five_sets() {
    let b = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW",
        "CAP_AUDIT_WRITE",
    ];
    let i = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let a = ["CAP_NET_BIND_SERVICE"];
    let mut c = Ctx::new("pcaproot");
    c.args(&["sleep", "1000"]);
    c.edit(|v| set_caps(v, &b, &b, &i, &a));
    let (_, pid) = start_sleep(&mut c, "a");
    assert_eq!(status_field(pid, "CapBnd"), cap_mask(&b));
    assert_eq!(status_field(pid, "CapPrm"), cap_mask(&b));
    assert_eq!(status_field(pid, "CapEff"), cap_mask(&b));
    assert_eq!(status_field(pid, "CapInh"), cap_mask(&i));
    assert_eq!(status_field(pid, "CapAmb"), cap_mask(&a));
}

#[test]
fn capabilities_of_a_user_come_through_ambient() {
    let b = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_AUDIT_WRITE",
    ];
    let i = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let mut c = Ctx::new("pcapuser");
    c.edit(|v| {
        v["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        set_caps(v, &b, &b, &i, &i);
    });
    // A non-root user's exec keeps in permitted and effective only the
    // ambient set (capabilities(7)); bounding and inheritable stay.
    let want = [
        ("CapInh".to_string(), cap_mask(&i)),
        ("CapPrm".to_string(), cap_mask(&i)),
        ("CapEff".to_string(), cap_mask(&i)),
        ("CapBnd".to_string(), cap_mask(&b)),
        ("CapAmb".to_string(), cap_mask(&i)),
    ];
    sh(&mut c, "grep ^Cap /proc/self/status");
    assert_eq!(caps_in(&c.run_ok("in")), want);
    c.args(&["sleep", "1000"]);
    let (_, pid) = start_sleep(&mut c, "out");
    assert_eq!(status_field(pid, "Uid"), "1000\t1000\t1000\t1000");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(caps_in(&status), want);
}

#[test]
fn unknown_capability_is_a_clear_error_and_leaves_nothing() {
    let mut c = Ctx::new("pcapbogus");
    c.edit(|v| {
        v["process"]["capabilities"]["effective"]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_BOGUS"))
    });
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let err = c.fails(&["create", "--bundle", &b, &id], "CAP_BOGUS");
    assert!(err.contains("process.capabilities.effective"), "{err}");
    c.assert_gone(&id);
}

#[test]
fn hostname_and_domainname() {
    let mut c = Ctx::new("phost");
    let host = nix::unistd::gethostname().unwrap();
    c.edit(|v| {
        v["hostname"] = json!("box-one");
        v["domainname"] = json!("example.test");
    });
    sh(&mut c, "hostname; cat /proc/sys/kernel/domainname");
    assert_eq!(c.run_ok("in"), "box-one\nexample.test\n");
    assert_eq!(
        nix::unistd::gethostname().unwrap(),
        host,
        "host's name kept"
    );
    c.args(&["sleep", "1000"]);
    let (_, pid) = start_sleep(&mut c, "out");
    assert_ne!(ns(pid, "uts"), ns("self", "uts"));
}

#[test]
fn namespaced_sysctl_is_set_inside_only() {
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let mut c = Ctx::new("psysctl");
    c.edit(|v| v["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"}));
    sh(&mut c, "cat /proc/sys/net/ipv4/ip_forward");
    assert_eq!(c.run_ok("in"), "1\n");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host,
        "the host's value must not change"
    );
}

#[test]
fn non_namespaced_sysctl_is_refused() {
    let mut c = Ctx::new("psysctlhost");
    let before = std::fs::read_to_string("/proc/sys/vm/swappiness").unwrap();
    let other = if before.trim() == "17" { "18" } else { "17" };
    c.edit(|v| v["linux"]["sysctl"] = json!({"vm.swappiness": other}));
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let err = c.fails(&["create", "--bundle", &b, &id], "vm.swappiness");
    assert!(err.contains("not namespaced"), "{err}");
    c.assert_gone(&id);
    assert_eq!(
        std::fs::read_to_string("/proc/sys/vm/swappiness").unwrap(),
        before
    );
}

#[test]
fn readonly_root_refuses_writes() {
    let mut c = Ctx::new("prootro");
    c.edit(|v| v["root"]["readonly"] = json!(true));
    sh(
        &mut c,
        "touch /probe 2>/dev/null && echo wrote || echo refused; touch /tmp/ok && echo tmp-ok",
    );
    assert_eq!(c.run_ok("a"), "refused\ntmp-ok\n");
    assert!(!c.rootfs().join("probe").exists());
}

#[test]
fn writable_root_when_readonly_is_false() {
    let mut c = Ctx::new("prootrw");
    c.edit(|v| v["root"]["readonly"] = json!(false));
    sh(&mut c, "echo inside > /probe && echo wrote");
    assert_eq!(c.run_ok("a"), "wrote\n");
    assert_eq!(
        std::fs::read_to_string(c.rootfs().join("probe")).unwrap(),
        "inside\n"
    );
}

#[test]
fn preserve_fds_passes_fd_3() {
    let mut c = Ctx::new("ppreserve");
    sh(&mut c, "echo through-fd3 >&3");
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let out = berth_with_fd(
        &c,
        &["run", "--preserve-fds", "1", "--bundle", &b, &id],
        &w,
        3,
    );
    drop(w);
    assert_ok(&out, "run --preserve-fds 1");
    let mut got = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut got).unwrap();
    assert_eq!(got, "through-fd3\n");
}

#[test]
fn fds_of_the_caller_are_not_inherited() {
    let mut c = Ctx::new("pleak");
    let (_r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    // Inside: the shell and ls see stdio (and ls its own directory fd) only.
    sh(&mut c, "ls /proc/self/fd");
    let id = c.id("in");
    let b = c.bundle.to_string_lossy().into_owned();
    let out = berth_with_fd(&c, &["run", "--bundle", &b, &id], &w, 5);
    let listed = assert_ok(&out, "run with fd 5 leaked");
    let inside: Vec<&str> = listed.split_whitespace().collect();
    assert!(!inside.contains(&"5"), "fd 5 is visible inside: {inside:?}");
    // Outside: a running container has exactly stdio open.
    c.args(&["sleep", "1000"]);
    let id = c.id("out");
    let out = berth_with_fd(&c, &["create", "--bundle", &b, &id], &w, 5);
    assert_ok(&out, "create with fd 5 leaked");
    let pid = c.state(&id)["pid"].as_i64().unwrap() as i32;
    c.reap_later(pid);
    c.ok(&["start", &id]);
    wait_until("sleep to exec", || execd(pid, "sleep"));
    assert_eq!(fds(pid), [0, 1, 2]);
}

#[test]
fn session_keyring_is_named_after_the_container() {
    let mut c = Ctx::new("pkeyring");
    c.args(&["sleep", "1000"]);
    let (id, _) = start_sleep(&mut c, "a");
    let keys = std::fs::read_to_string("/proc/keys").unwrap();
    let name = format!(" _ses.{id}:");
    assert!(
        keys.lines()
            .any(|l| l.contains(" keyring ") && l.contains(&name)),
        "no keyring _ses.{id} in /proc/keys:\n{keys}"
    );
}

#[test]
fn no_new_keyring_keeps_the_callers_session() {
    let mut c = Ctx::new("pnokeyring");
    c.args(&["sleep", "1000"]);
    let (id, pid) = create_with(&mut c, "a", &["--no-new-keyring"]);
    c.ok(&["start", &id]);
    wait_until("sleep to exec", || execd(pid, "sleep"));
    let keys = std::fs::read_to_string("/proc/keys").unwrap();
    assert!(
        !keys.contains(&format!("_ses.{id}:")),
        "a keyring _ses.{id} was made despite --no-new-keyring:\n{keys}"
    );
}

#[test]
fn init_is_not_dumpable_until_it_execs() {
    let mut c = Ctx::new("pdump");
    c.args(&["sleep", "1000"])
        .edit(|v| v["process"]["user"] = json!({"uid": 1000, "gid": 1000}));
    let (id, pid) = c.create("a");
    assert_eq!(comm(pid), "berth:[init]");
    assert_eq!(status_field(pid, "Uid"), "1000\t1000\t1000\t1000");
    for entry in ["status", "environ", "fd"] {
        assert_eq!(
            proc_owner(pid, entry),
            0,
            "created init must be non-dumpable: /proc/{pid}/{entry} belongs to root"
        );
    }
    c.ok(&["start", &id]);
    wait_until("sleep to exec", || execd(pid, "sleep"));
    for entry in ["status", "environ", "fd"] {
        assert_eq!(
            proc_owner(pid, entry),
            1000,
            "after exec the process is dumpable: /proc/{pid}/{entry} is the user's"
        );
    }
}
