//! The runc-compatible lifecycle: create → start → state → kill → delete,
//! `run` in the foreground and detached, `list`, `spec`, and the global flags.

mod common;
use common::*;
use serde_json::json;
use std::process::Stdio;

#[test]
fn create_start_kill_delete_moves_through_every_status() {
    let mut c = Ctx::new("lifecycle");
    c.args(&["sleep", "1000"]);
    let pid_file = c.dir.join("init.pid");
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    c.ok(&[
        "create",
        "--bundle",
        &b,
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ]);
    let st = c.state(&id);
    assert_eq!(st["status"], "created");
    let pid = st["pid"].as_i64().unwrap() as i32;
    c.reap_later(pid);
    // --pid-file holds init's pid, written before create returned.
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    assert!(alive(pid));
    // Created: init waits, not yet the user's process.
    assert_eq!(comm(pid), "berth:[init]");
    c.ok(&["start", &id]);
    assert_eq!(c.status(&id), "running");
    wait_until("sleep to exec", || execd(pid, "sleep"));
    c.ok(&["kill", &id, "KILL"]);
    c.wait_status(&id, "stopped");
    let st = c.state(&id);
    assert_eq!(st["pid"], 0, "a stopped container reports pid 0");
    c.ok(&["delete", &id]);
    c.assert_gone(&id);
}

#[test]
fn state_has_the_runtime_spec_fields_and_runc_extras() {
    let mut c = Ctx::new("stateshape");
    c.args(&["sleep", "1000"])
        .edit(|v| v["annotations"] = json!({"org.example.key": "value"}));
    let (id, pid) = c.create("a");
    let st = c.state(&id);
    for key in [
        "ociVersion",
        "id",
        "pid",
        "status",
        "bundle",
        "rootfs",
        "created",
        "owner",
        "annotations",
    ] {
        assert!(st.get(key).is_some(), "state lacks {key}: {st}");
    }
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["pid"], pid);
    assert_eq!(st["bundle"], c.bundle.to_str().unwrap());
    assert_eq!(st["rootfs"], c.rootfs().to_str().unwrap());
    assert_eq!(st["owner"], "root");
    assert_eq!(st["annotations"]["org.example.key"], "value");
    let created = st["created"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && created.contains('T'),
        "created is RFC 3339: {created}"
    );
}

#[test]
fn kill_takes_names_with_and_without_sig_and_numbers() {
    let mut c = Ctx::new("killsig");
    c.args(&["sleep", "1000"]);
    for (n, sig) in ["KILL", "SIGKILL", "9", "kill"].iter().enumerate() {
        let (id, pid) = c.start(&format!("s{n}"));
        c.ok(&["kill", &id, sig]);
        wait_until("init to die", || !alive(pid));
        assert_eq!(c.status(&id), "stopped", "after kill {sig}");
        c.ok(&["delete", &id]);
    }
}

#[test]
fn kill_defaults_to_sigterm() {
    let mut c = Ctx::new("killterm");
    // As PID 1 of its namespace, sh only receives signals it traps.
    c.args(&[
        "sh",
        "-c",
        "trap 'exit 7' TERM; touch /tmp/ready; while :; do sleep 0.05; done",
    ]);
    let (id, pid) = c.start("a");
    wait_until("the trap to be set", || {
        std::path::Path::new(&format!("/proc/{pid}/root/tmp/ready")).exists()
    });
    c.ok(&["kill", &id]);
    wait_until("init to exit on TERM", || !alive(pid));
    c.ok(&["delete", &id]);
}

#[test]
fn delete_refuses_a_running_container_unless_forced() {
    let mut c = Ctx::new("delforce");
    c.args(&["sleep", "1000"]);
    let (id, pid) = c.start("a");
    c.fails(&["delete", &id], "not stopped");
    assert!(alive(pid));
    c.ok(&["delete", "--force", &id]);
    assert!(!alive(pid));
    c.assert_gone(&id);
    // Idempotent: forcing the delete of a missing container succeeds.
    c.ok(&["delete", "--force", &id]);
}

#[test]
fn delete_removes_a_created_container() {
    let mut c = Ctx::new("delcreated");
    c.args(&["sleep", "1000"]);
    let (id, pid) = c.create("a");
    c.ok(&["delete", &id]);
    assert!(!alive(pid));
    c.assert_gone(&id);
}

#[test]
fn run_returns_the_exit_status() {
    let mut c = Ctx::new("runexit");
    c.args(&["sh", "-c", "echo out; echo err >&2; exit 3"]);
    let (code, out, err) = c.run("a");
    assert_eq!(code, 3);
    assert_eq!(out, "out\n");
    assert!(err.contains("err"), "{err}");
    let id = format!("{}-a", c.name);
    c.assert_gone(&id);
}

#[test]
fn run_reports_death_by_signal_as_128_plus_n() {
    let mut c = Ctx::new("runsig");
    // Without a PID namespace of its own, sh is not an init and dies of it.
    c.args(&["sh", "-c", "kill -KILL $$"]).edit(|v| {
        let ns = v["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "pid");
    });
    let (code, _, err) = c.run("a");
    assert_eq!(code, 128 + 9, "{err}");
}

#[test]
fn run_forwards_signals_to_the_container() {
    let mut c = Ctx::new("runfwd");
    c.args(&[
        "sh",
        "-c",
        "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done",
    ]);
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let mut child = c
        .cmd(&["run", "--bundle", &b, &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 6];
    std::io::Read::read_exact(&mut out, &mut buf).unwrap();
    assert_eq!(&buf, b"ready\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert_eq!(rest, "got-term\n");
    assert_eq!(status.code(), Some(42));
    c.assert_gone(&id);
}

#[test]
fn run_detach_returns_with_the_container_running() {
    let mut c = Ctx::new("rundetach");
    c.args(&["sleep", "1000"]);
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let pid_file = c.dir.join("pid");
    c.ok(&[
        "run",
        "--detach",
        "--bundle",
        &b,
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ]);
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    c.reap_later(pid);
    assert_eq!(c.status(&id), "running");
    wait_until("sleep to exec", || execd(pid, "sleep"));
    c.ok(&["delete", "--force", &id]);
    c.assert_gone(&id);
}

#[test]
fn run_keep_leaves_the_stopped_container() {
    let mut c = Ctx::new("runkeep");
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    c.ok(&["run", "--keep", "--bundle", &b, &id]);
    assert_eq!(c.status(&id), "stopped");
    c.ok(&["delete", &id]);
    c.assert_gone(&id);
}

#[test]
fn list_prints_runc_columns_quiet_ids_and_json() {
    let mut c = Ctx::new("list");
    c.args(&["sleep", "1000"]);
    let (a, pid_a) = c.create("a");
    let (b, _) = c.start("b");
    let table = c.ok(&["list"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    );
    let row_a: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row_a[0], a);
    assert_eq!(row_a[1], pid_a.to_string());
    assert_eq!(row_a[2], "created");
    assert_eq!(row_a[3], c.bundle.to_str().unwrap());
    assert_eq!(row_a[5], "root");
    let row_b: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!((row_b[0], row_b[2]), (b.as_str(), "running"));
    assert_eq!(c.ok(&["list", "--quiet"]), format!("{a}\n{b}\n"));
    let json: serde_json::Value =
        serde_json::from_str(&c.ok(&["list", "--format", "json"])).unwrap();
    let arr = json.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[1]["id"], b.as_str());
    assert_eq!(arr[1]["status"], "running");
    for key in ["ociVersion", "pid", "bundle", "rootfs", "created", "owner"] {
        assert!(arr[0].get(key).is_some(), "list json lacks {key}");
    }
    let empty = Ctx::new("listempty");
    assert_eq!(empty.ok(&["list", "-f", "json"]).trim(), "[]");
}

#[test]
fn spec_writes_a_config_that_runs() {
    let mut c = Ctx::new("spec");
    let dir = c.dir.join("specbundle");
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_string_lossy().into_owned();
    c.ok(&["spec", "--bundle", &d]);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(v["process"]["terminal"], true);
    assert_eq!(v["root"]["path"], "rootfs");
    c.fails(&["spec", "--bundle", &d], "exists");
    // The default config, made non-interactive, runs the busybox rootfs.
    let mut v = v;
    v["process"]["terminal"] = json!(false);
    v["process"]["args"] = json!(["echo", "from-spec"]);
    std::fs::write(dir.join("config.json"), serde_json::to_vec(&v).unwrap()).unwrap();
    std::os::unix::fs::symlink(c.rootfs(), dir.join("rootfs")).unwrap();
    let id = c.id("s");
    assert_eq!(c.ok(&["run", "--bundle", &d, &id]), "from-spec\n");

    let rl = c.dir.join("rootless");
    std::fs::create_dir_all(&rl).unwrap();
    c.ok(&["spec", "--rootless", "--bundle", rl.to_str().unwrap()]);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rl.join("config.json")).unwrap()).unwrap();
    let kinds: Vec<&str> = v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"user"), "{kinds:?}");
    assert_eq!(v["linux"]["uidMappings"][0]["hostID"], 0);
}

#[test]
fn version_and_help() {
    let c = Ctx::new("version");
    let v = c.ok(&["--version"]);
    assert!(v.starts_with("berth version "), "{v}");
    assert!(v.contains("spec: 1.2"), "{v}");
    let h = c.ok(&["--help"]);
    for sub in [
        "create", "start", "state", "kill", "delete", "run", "list", "spec",
    ] {
        assert!(h.contains(sub), "help lacks {sub}");
    }
}

#[test]
fn errors_go_to_the_log_file_as_json_lines() {
    let c = Ctx::new("logjson");
    let log = c.dir.join("log.json");
    let out = c.berth(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "state",
        "no-such-container",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(
        last["msg"].as_str().unwrap().contains("does not exist"),
        "{last}"
    );
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
    // Text format: logfmt-style records.
    let log = c.dir.join("log.txt");
    c.berth(&["--log", log.to_str().unwrap(), "kill", "no-such-container"]);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("level=error") && text.contains("does not exist"),
        "{text}"
    );
}

#[test]
fn debug_flag_logs_debug_records() {
    let mut c = Ctx::new("debug");
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let out = c.berth(&["--debug", "run", "--bundle", &b, &id]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("debug:"));
}

#[test]
fn systemd_cgroup_is_a_clear_error() {
    let c = Ctx::new("systemd");
    c.fails(
        &["--systemd-cgroup", "list"],
        "systemd cgroup driver is not supported",
    );
}

#[test]
fn global_flags_work_before_and_after_the_subcommand() {
    let c = Ctx::new("globals");
    let root = c.root.to_str().unwrap().to_string();
    let out = std::process::Command::new(bin())
        .args(["--root", &root, "list", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = std::process::Command::new(bin())
        .args([&format!("--root={root}"), "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = std::process::Command::new(bin())
        .args(["list", "--root", &root])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn fields_not_applied_yet_are_named_in_a_warning() {
    let mut c = Ctx::new("notapplied");
    c.edit(|v| {
        v["process"]["execCPUAffinity"] = json!({"initial": "0"});
    });
    let (code, _, err) = c.run("a");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "warning: config.json: not applied by this version of berth: process.execCPUAffinity"
        ),
        "{err}"
    );
}

#[test]
fn start_returns_once_the_process_is_executed() {
    // Poststart hooks and clients that look at the container right after
    // `start` find the user's process, not berth's init.
    let mut c = Ctx::new("startexec");
    c.args(&["sleep", "1000"]);
    for i in 0..10 {
        let (id, pid) = c.create(&format!("a{i}"));
        c.ok(&["start", &id]);
        assert_eq!(comm(pid), "sleep", "round {i}");
        c.ok(&["delete", "--force", &id]);
    }
}

#[test]
fn a_root_whose_parents_do_not_exist_is_made() {
    // containerd's shim passes /run/containerd/runc/NAMESPACE before any
    // of it exists.
    let mut c = Ctx::new("rootparents");
    let root = c.dir.join("a/b/root");
    let id = c.id("x");
    let b = c.bundle.to_string_lossy().into_owned();
    let r = root.to_string_lossy().into_owned();
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["--root", &r, "run", "--bundle", &b, &id]);
    let out = output(cmd, &c.dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&root).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o711);
}
