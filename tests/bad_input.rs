//! Bad input, one test per path: broken or invalid config.json, bundles and
//! root filesystems that are not there, mounts, namespaces, rlimits and
//! devices the runtime must refuse, bad container ids, lifecycle commands
//! on containers in the wrong state, bad signals, executables that do not
//! exist, an unusable --root, terminal and console-socket mismatches, and
//! command lines berth does not know.
//!
//! Each failure must exit non-zero with exactly one error line on stderr
//! (warnings aside) that names what is wrong, and leave nothing behind: no
//! state directory, no cgroup, no process, no host mount.

mod common;
use common::*;
use serde_json::{json, Value};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The bundle path as a string.
fn bundle(c: &Ctx) -> String {
    c.bundle.to_string_lossy().into_owned()
}

/// The error lines of berth's stderr: every non-empty line but warnings.
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("berth: warning:"))
        .collect()
}

/// Shows the test's directory as "<dir>" in `line`, so needles that are
/// words cannot match inside the path and paths can be given as "<dir>/...".
fn redact(c: &Ctx, line: &str) -> String {
    let mut line = line.to_string();
    if let Ok(real) = std::fs::canonicalize(&c.dir) {
        line = line.replace(real.to_str().unwrap(), "<dir>");
    }
    line.replace(c.dir.to_str().unwrap(), "<dir>")
}

/// Asserts that `out` is a failure with exactly one error line on stderr
/// (warnings aside), and returns that line, redacted.
fn one_error(c: &Ctx, what: &str, out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{what} succeeded but should fail\nstdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines = error_lines(&stderr);
    assert_eq!(
        lines.len(),
        1,
        "{what}: expected exactly one error line on stderr ({}), got:\n{stderr}",
        out.status
    );
    redact(c, lines[0])
}

fn assert_names(line: &str, needles: &[&str]) {
    for n in needles {
        assert!(line.contains(n), "the error does not name {n:?}:\n{line}");
    }
}

/// Runs berth with the test's --root, asserts it fails with one error line
/// naming every needle; returns the line.
fn fails_naming(c: &Ctx, args: &[&str], needles: &[&str]) -> String {
    let out = c.berth(args);
    let what = format!("berth {}", short(&args.join(" ")));
    let line = one_error(c, &what, &out);
    assert_names(&line, needles);
    line
}

/// A long argument list, shortened for messages.
fn short(s: &str) -> String {
    if s.len() > 200 {
        format!("{}...", &s[..200])
    } else {
        s.to_string()
    }
}

/// Every cgroup directory named `name`, at any depth up to 6 below
/// /sys/fs/cgroup (berth's own cgroup may be nested in some hierarchies).
fn cgroups_named(name: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, name: &str, depth: usize, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let p = e.path();
            if e.file_name() == std::ffi::OsStr::new(name) {
                out.push(p.clone());
            }
            if depth > 0 {
                walk(&p, name, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), name, 6, &mut out);
    out
}

/// Processes (not this one) whose command line mentions `needle`: a
/// container's init keeps the command line of the berth that made it.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let me = std::process::id() as i32;
    all_pids()
        .into_iter()
        .filter(|p| *p != me)
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
            cmd.contains(needle)
                .then(|| format!("{pid} {} ({})", comm(pid), short(cmd.trim())))
        })
        .collect()
}

fn assert_no_process_mentioning(needle: &str) {
    let left = processes_mentioning(needle);
    assert!(left.is_empty(), "processes of {needle} are left: {left:?}");
}

/// Nothing of container `id` is left: the harness's checks, no entry for
/// it in the state root, no cgroup of that name at any depth, no process
/// started for this test's bundle.
fn assert_nothing_left(c: &Ctx, id: &str) {
    c.assert_gone(id);
    if let Ok(rd) = std::fs::read_dir(&c.root) {
        let names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|n| n == id),
            "the state root holds a directory for {id}: {names:?}"
        );
    }
    let cg = cgroups_named(id);
    assert!(cg.is_empty(), "cgroups of {id} are left: {cg:?}");
    assert_no_process_mentioning(&format!("{}/", c.dir.display()));
}

/// The state root is absent or empty.
fn assert_root_empty(c: &Ctx) {
    if let Ok(rd) = std::fs::read_dir(&c.root) {
        let names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.is_empty(), "the state root is not empty: {names:?}");
    }
}

/// `create` of the current config must fail naming every needle, and
/// leave nothing behind; returns the error line.
fn create_fails(c: &mut Ctx, suffix: &str, needles: &[&str]) -> String {
    let id = c.id(suffix);
    let b = bundle(c);
    let line = fails_naming(c, &["create", "--bundle", &b, &id], needles);
    assert_nothing_left(c, &id);
    assert_root_empty(c);
    line
}

/// `run` of the current config must fail naming every needle, and leave
/// nothing behind; returns the error line.
fn run_fails(c: &mut Ctx, suffix: &str, needles: &[&str]) -> String {
    let id = c.id(suffix);
    let b = bundle(c);
    let line = fails_naming(c, &["run", "--bundle", &b, &id], needles);
    assert_nothing_left(c, &id);
    assert_root_empty(c);
    line
}

/// Replaces config.json with `text`, as is.
fn write_raw(c: &Ctx, text: &[u8]) {
    std::fs::write(c.bundle.join("config.json"), text).unwrap();
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

/// Appends `item` to the array at `v[key]` and returns its index.
fn push(v: &mut Value, key: &str, item: Value) -> usize {
    let arr = v[key].as_array_mut().unwrap();
    arr.push(item);
    arr.len() - 1
}

/// A started container running `sleep`, ready to be signalled.
fn sleeping(c: &mut Ctx, suffix: &str) -> (String, i32) {
    c.args(&["sleep", "1000"]);
    let (id, pid) = c.start(suffix);
    wait_until("sleep to exec", || execd(pid, "sleep"));
    (id, pid)
}

/// The container is untouched: init alive, still `status`, with its pid.
fn assert_untouched(c: &Ctx, id: &str, pid: i32, status: &str) {
    assert!(alive(pid), "init {pid} of {id} died");
    let st = c.state(id);
    assert_eq!(st["status"], status, "{st}");
    assert_eq!(st["pid"], pid, "{st}");
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        cg.lines().any(|l| l.ends_with(&format!("/{id}"))),
        "init {pid} left the cgroup of {id}:\n{cg}"
    );
}

// ---------------------------------------------------------------------------
// config.json that cannot be read or parsed
// ---------------------------------------------------------------------------

#[test]
fn config_with_a_json_syntax_error() {
    let mut c = Ctx::new("syntax");
    let text = pretty(&c.config).replacen(',', "", 1);
    write_raw(&c, text.as_bytes());
    create_fails(&mut c, "a", &["<dir>/bundle/config.json", "line"]);
}

#[test]
fn config_that_is_empty() {
    let mut c = Ctx::new("empty");
    write_raw(&c, b"");
    create_fails(&mut c, "a", &["<dir>/bundle/config.json"]);
}

#[test]
fn config_with_a_wrong_type() {
    let mut c = Ctx::new("wrongtype");
    c.edit(|v| v["process"]["user"]["uid"] = json!("root"));
    create_fails(
        &mut c,
        "a",
        &["<dir>/bundle/config.json", "process.user.uid"],
    );
}

#[test]
fn config_without_process() {
    let mut c = Ctx::new("noproc");
    c.edit(|v| {
        v.as_object_mut().unwrap().remove("process");
    });
    create_fails(&mut c, "a", &["<dir>/bundle/config.json", "process"]);
}

#[test]
fn config_without_root() {
    let mut c = Ctx::new("nofs");
    c.edit(|v| {
        v.as_object_mut().unwrap().remove("root");
    });
    create_fails(&mut c, "a", &["<dir>/bundle/config.json", "root"]);
}

#[test]
fn config_without_process_cwd() {
    let mut c = Ctx::new("nocwd");
    c.edit(|v| {
        v["process"].as_object_mut().unwrap().remove("cwd");
    });
    create_fails(&mut c, "a", &["<dir>/bundle/config.json", "process", "cwd"]);
}

#[test]
fn config_with_empty_process_args() {
    let mut c = Ctx::new("noargs");
    c.edit(|v| v["process"]["args"] = json!([]));
    create_fails(&mut c, "a", &["<dir>/bundle/config.json", "process.args"]);
}

#[test]
fn config_with_a_relative_cwd() {
    let mut c = Ctx::new("relcwd");
    c.edit(|v| v["process"]["cwd"] = json!("relative/dir"));
    create_fails(&mut c, "a", &["process.cwd", "relative/dir"]);
}

#[test]
fn config_with_an_env_entry_without_equals() {
    let mut c = Ctx::new("envnoeq");
    let mut i = 0;
    c.edit(|v| {
        let env = v["process"]["env"].as_array_mut().unwrap();
        env.push(json!("NOEQUALSSIGN"));
        i = env.len() - 1;
    });
    let field = format!("process.env[{i}]");
    create_fails(&mut c, "a", &[&field, "NOEQUALSSIGN"]);
}

#[test]
fn config_with_an_unknown_major_version() {
    let mut c = Ctx::new("version2");
    c.edit(|v| v["ociVersion"] = json!("2.0.0"));
    create_fails(&mut c, "a", &["ociVersion", "2.0.0"]);
}

#[test]
fn config_with_trailing_garbage() {
    let mut c = Ctx::new("trailing");
    let text = format!("{}\n garbage\n", pretty(&c.config));
    write_raw(&c, text.as_bytes());
    create_fails(&mut c, "a", &["<dir>/bundle/config.json", "trailing"]);
}

#[test]
fn bundle_without_config_json() {
    let mut c = Ctx::new("noconfig");
    std::fs::remove_file(c.bundle.join("config.json")).unwrap();
    create_fails(&mut c, "a", &["<dir>/bundle/config.json"]);
}

#[test]
fn bundle_that_does_not_exist() {
    let mut c = Ctx::new("nobundle");
    let id = c.id("a");
    let missing = c.dir.join("nowhere");
    let m = missing.to_string_lossy().into_owned();
    fails_naming(&c, &["create", "--bundle", &m, &id], &["<dir>/nowhere"]);
    assert_nothing_left(&c, &id);
    assert_root_empty(&c);
    assert!(!missing.exists(), "the missing bundle was made");
    assert_no_process_mentioning(&m);
}

// ---------------------------------------------------------------------------
// Unknown properties: ignored with a warning
// ---------------------------------------------------------------------------

#[test]
fn unknown_properties_are_warned_about_and_the_container_runs() {
    let mut c = Ctx::new("unknownprop");
    c.args(&["echo", "ran-anyway"]).edit(|v| {
        v["process"]["bogus"] = json!(1);
        v["bogusTop"] = json!({"x": 1});
        v["linux"]["bogusLinux"] = json!(true);
    });
    let (code, out, err) = c.run("a");
    assert_eq!(code, 0, "run failed:\nstdout: {out}\nstderr: {err}");
    assert_eq!(out, "ran-anyway\n");
    assert!(
        error_lines(&err).is_empty(),
        "only warnings may be on stderr:\n{err}"
    );
    for prop in ["process.bogus", "bogusTop", "linux.bogusLinux"] {
        assert!(
            err.lines()
                .any(|l| l.starts_with("berth: warning:") && l.contains(prop)),
            "no warning names {prop}:\n{err}"
        );
    }
    let id = format!("{}-a", c.name);
    assert_nothing_left(&c, &id);
}

#[test]
fn unknown_property_inside_an_array_is_named_by_its_field_path() {
    let mut c = Ctx::new("unknownarr");
    c.args(&["echo", "ran-anyway"]).edit(|v| {
        v["mounts"][0]["bogus"] = json!(1);
    });
    let (code, out, err) = c.run("a");
    assert_eq!(code, 0, "run failed:\nstdout: {out}\nstderr: {err}");
    assert_eq!(out, "ran-anyway\n");
    assert!(
        error_lines(&err).is_empty(),
        "only warnings may be on stderr:\n{err}"
    );
    // The same notation as in errors: mounts[0].destination.
    assert!(
        err.lines()
            .any(|l| l.starts_with("berth: warning:") && l.contains("mounts[0].bogus")),
        "no warning names mounts[0].bogus:\n{err}"
    );
}

// ---------------------------------------------------------------------------
// The root filesystem
// ---------------------------------------------------------------------------

#[test]
fn rootfs_that_does_not_exist() {
    let mut c = Ctx::new("norootfs");
    c.edit(|v| v["root"]["path"] = json!("nowhere"));
    create_fails(&mut c, "a", &["root.path", "<dir>/bundle/nowhere"]);
}

#[test]
fn rootfs_that_is_a_file() {
    let mut c = Ctx::new("rootfsfile");
    std::fs::write(c.bundle.join("afile"), "").unwrap();
    c.edit(|v| v["root"]["path"] = json!("afile"));
    create_fails(&mut c, "a", &["root.path", "<dir>/bundle/afile"]);
}

// ---------------------------------------------------------------------------
// Mounts
// ---------------------------------------------------------------------------

#[test]
fn mount_with_a_relative_destination() {
    let mut c = Ctx::new("mntrel");
    c.edit(|v| v["mounts"][0]["destination"] = json!("proc"));
    create_fails(&mut c, "a", &["mounts[0].destination", "proc"]);
}

#[test]
fn mount_destination_that_escapes_the_root() {
    let mut c = Ctx::new("mntesc");
    c.edit(|v| v["mounts"][0]["destination"] = json!("/../../etc"));
    create_fails(&mut c, "a", &["mounts[0].destination", "/../../etc"]);
    // Nothing was mounted over, nor made in, the host's directories.
    assert!(!c.dir.join("etc").exists());
}

#[test]
fn bind_mount_whose_source_does_not_exist() {
    let mut c = Ctx::new("bindnosrc");
    let src = c.dir.join("no-such-source");
    let mut i = 0;
    c.edit(|v| {
        i = push(
            v,
            "mounts",
            json!({"destination": "/mnt", "type": "bind",
                   "source": src.to_str().unwrap(), "options": ["rbind"]}),
        );
    });
    let field = format!("mounts[{i}].source");
    create_fails(&mut c, "a", &[&field, "<dir>/no-such-source"]);
    assert!(!src.exists());
}

#[test]
fn mount_of_a_type_the_kernel_rejects() {
    let mut c = Ctx::new("nosuchfs");
    let mut i = 0;
    c.edit(|v| {
        i = push(
            v,
            "mounts",
            json!({"destination": "/mnt/x", "type": "nosuchfs", "source": "none"}),
        );
    });
    let field = format!("mounts[{i}]");
    // The kernel's error (ENODEV), passed through with the mount named,
    // from init (which existed) for create and run alike.
    let needles = [field.as_str(), "/mnt/x", "nosuchfs", "No such device"];
    create_fails(&mut c, "a", &needles);
    run_fails(&mut c, "b", &needles);
}

// ---------------------------------------------------------------------------
// Namespaces
// ---------------------------------------------------------------------------

#[test]
fn unknown_namespace_type() {
    let mut c = Ctx::new("nsbogus");
    let mut i = 0;
    c.edit(|v| i = push(&mut v["linux"], "namespaces", json!({"type": "bogus"})));
    let field = format!("linux.namespaces[{i}].type");
    create_fails(&mut c, "a", &[&field, "bogus"]);
}

#[test]
fn namespace_given_twice() {
    let mut c = Ctx::new("nstwice");
    let mut i = 0;
    c.edit(|v| i = push(&mut v["linux"], "namespaces", json!({"type": "pid"})));
    let field = format!("linux.namespaces[{i}]");
    create_fails(&mut c, "a", &[&field, "\"pid\""]);
}

#[test]
fn user_namespace_without_uid_mappings() {
    let mut c = Ctx::new("usernomap");
    c.edit(|v| {
        push(&mut v["linux"], "namespaces", json!({"type": "user"}));
    });
    create_fails(&mut c, "a", &["linux.uidMappings", "user"]);
}

#[test]
fn mappings_without_a_user_namespace() {
    let mut c = Ctx::new("mapnouser");
    c.edit(|v| {
        v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    });
    create_fails(&mut c, "a", &["linux.uidMappings", "no user namespace"]);
}

#[test]
fn invalid_sysctls() {
    // A key the kernel does not have, and a value it refuses: both are
    // found by init, inside the container's namespaces.
    let mut c = Ctx::new("sysctlbad");
    c.edit(|v| v["linux"]["sysctl"] = json!({"net.ipv4.no_such_key": "1"}));
    create_fails(&mut c, "a", &["linux.sysctl", "net.ipv4.no_such_key"]);
    c.edit(|v| v["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "yes please"}));
    create_fails(
        &mut c,
        "b",
        &["linux.sysctl", "net.ipv4.ip_forward", "yes please"],
    );
}

#[test]
fn hostname_without_a_uts_namespace() {
    let mut c = Ctx::new("hostnouts");
    c.edit(|v| {
        let ns = v["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "uts");
        v["hostname"] = json!("berth-demo");
    });
    create_fails(&mut c, "a", &["hostname", "uts"]);
}

// ---------------------------------------------------------------------------
// rlimits, devices, propagation
// ---------------------------------------------------------------------------

#[test]
fn unknown_rlimit_type() {
    let mut c = Ctx::new("rlimbogus");
    let mut i = 0;
    c.edit(|v| {
        i = push(
            &mut v["process"],
            "rlimits",
            json!({"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}),
        );
    });
    let field = format!("process.rlimits[{i}].type");
    create_fails(&mut c, "a", &[&field, "RLIMIT_BOGUS"]);
}

#[test]
fn rlimit_soft_above_hard() {
    let mut c = Ctx::new("rlimsoft");
    c.edit(|v| {
        v["process"]["rlimits"] = json!([{"type": "RLIMIT_CORE", "soft": 2048, "hard": 1024}])
    });
    create_fails(&mut c, "a", &["process.rlimits[0]", "RLIMIT_CORE", "2048"]);
}

#[test]
fn unknown_device_type() {
    let mut c = Ctx::new("devbogus");
    c.edit(|v| {
        v["linux"]["devices"] =
            json!([{"type": "x", "path": "/dev/bogusdev", "major": 1, "minor": 3}])
    });
    create_fails(&mut c, "a", &["linux.devices[0].type", "\"x\""]);
}

#[test]
fn rootfs_propagation_with_an_unknown_value() {
    let mut c = Ctx::new("propbogus");
    c.edit(|v| v["linux"]["rootfsPropagation"] = json!("sideways"));
    create_fails(&mut c, "a", &["linux.rootfsPropagation", "sideways"]);
}

// ---------------------------------------------------------------------------
// Container ids
// ---------------------------------------------------------------------------

/// `create` with a bad id must fail naming the id, and make nothing.
fn bad_id(c: &Ctx, id: &str) {
    let b = bundle(c);
    let quoted = format!("{id:?}");
    fails_naming(c, &["create", "--bundle", &b, id], &[&quoted]);
    assert_root_empty(c);
    assert_no_process_mentioning(&format!("{}/", c.dir.display()));
}

#[test]
fn id_with_a_slash() {
    let c = Ctx::new("idslash");
    let first = format!("{}-a", c.name);
    bad_id(&c, &format!("{first}/b"));
    assert!(
        cgroups_named(&first).is_empty(),
        "a cgroup {first} was made"
    );
}

#[test]
fn id_dot_dot() {
    let c = Ctx::new("iddotdot");
    bad_id(&c, "..");
    // Nothing was written one level up, in the test's directory.
    assert!(!c.dir.join("state.json").exists());
    assert!(!c.dir.join("exec.fifo").exists());
    // Nor does a forced delete of ".." remove the state root's parent.
    let out = c.berth(&["delete", "--force", ".."]);
    one_error(&c, "delete --force ..", &out);
    assert!(c.bundle.join("config.json").exists(), "the bundle is gone");
}

#[test]
fn id_empty() {
    let c = Ctx::new("idempty");
    bad_id(&c, "");
}

#[test]
fn id_with_a_space() {
    let c = Ctx::new("idspace");
    let id = format!("{} b", c.name);
    bad_id(&c, &id);
    assert!(cgroups_named(&id).is_empty(), "a cgroup {id:?} was made");
}

#[test]
fn id_of_2000_characters() {
    let c = Ctx::new("idlong");
    let id = format!("{}-{}", c.name, "x".repeat(2000 - c.name.len() - 1));
    assert_eq!(id.len(), 2000);
    bad_id(&c, &id);
}

#[test]
fn duplicate_id_leaves_the_first_container_untouched() {
    let mut c = Ctx::new("dupid");
    c.args(&["sleep", "1000"]);
    let (id, pid) = c.create("a");
    let b = bundle(&c);
    fails_naming(
        &c,
        &["create", "--bundle", &b, &id],
        &[&id, "already exists"],
    );
    assert_untouched(&c, &id, pid, "created");
    assert_eq!(comm(pid), "berth:[init]");
    // The checks that nothing is left do see a live container.
    assert!(!cgroups_named(&id).is_empty(), "no cgroup of {id} found");
    assert!(
        !processes_mentioning(&format!("{}/", c.dir.display())).is_empty(),
        "the init of {id} is not found by its command line"
    );
    assert!(c.root.join(&id).join("state.json").exists());
    // Still startable: its exec FIFO and init are intact.
    c.ok(&["start", &id]);
    wait_until("sleep to exec", || execd(pid, "sleep"));
    assert_untouched(&c, &id, pid, "running");
    c.ok(&["delete", "--force", &id]);
    assert_nothing_left(&c, &id);
}

// ---------------------------------------------------------------------------
// Lifecycle commands on containers in the wrong state
// ---------------------------------------------------------------------------

/// `cmd` on a container that does not exist fails saying so, and makes nothing.
fn on_missing(name: &str, cmd: &[&str]) {
    let mut c = Ctx::new(name);
    let id = c.id("nosuch");
    let mut args = cmd.to_vec();
    args.push(&id);
    fails_naming(&c, &args, &[&id, "does not exist"]);
    assert_nothing_left(&c, &id);
    assert_root_empty(&c);
}

#[test]
fn start_of_a_missing_container() {
    on_missing("startmissing", &["start"]);
}

#[test]
fn kill_of_a_missing_container() {
    on_missing("killmissing", &["kill"]);
}

#[test]
fn delete_of_a_missing_container() {
    on_missing("delmissing", &["delete"]);
}

#[test]
fn state_of_a_missing_container() {
    on_missing("statemissing", &["state"]);
}

#[test]
fn start_of_a_running_container() {
    let mut c = Ctx::new("startrunning");
    let (id, pid) = sleeping(&mut c, "a");
    let line = fails_naming(&c, &["start", &id], &[&id, "running"]);
    assert!(!line.contains("not running"), "it is running: {line}");
    assert_untouched(&c, &id, pid, "running");
    assert_eq!(comm(pid), "sleep");
}

#[test]
fn start_of_a_stopped_container() {
    let mut c = Ctx::new("startstopped");
    c.args(&["true"]);
    let (id, pid) = c.start("a");
    wait_until("init to exit", || !alive(pid));
    c.wait_status(&id, "stopped");
    fails_naming(&c, &["start", &id], &[&id, "stopped"]);
    assert_eq!(c.status(&id), "stopped");
    c.ok(&["delete", &id]);
    assert_nothing_left(&c, &id);
}

#[test]
fn kill_of_a_stopped_container() {
    let mut c = Ctx::new("killstopped");
    let (id, pid) = sleeping(&mut c, "a");
    c.ok(&["kill", &id, "KILL"]);
    wait_until("init to die", || !alive(pid));
    c.wait_status(&id, "stopped");
    fails_naming(&c, &["kill", &id], &[&id, "not running"]);
    fails_naming(&c, &["kill", &id, "KILL"], &[&id, "not running"]);
    // The stopped container is still there to be deleted.
    assert_eq!(c.status(&id), "stopped");
    c.ok(&["delete", &id]);
    assert_nothing_left(&c, &id);
}

#[test]
fn delete_of_a_running_container_without_force() {
    let mut c = Ctx::new("delrunning");
    let (id, pid) = sleeping(&mut c, "a");
    fails_naming(&c, &["delete", &id], &[&id, "not stopped"]);
    assert_untouched(&c, &id, pid, "running");
    assert_eq!(comm(pid), "sleep");
    assert!(c.has_state(&id));
}

// ---------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------

/// `kill ID <args>` with a bad signal fails naming it; the container runs on.
fn bad_signal(name: &str, args: &[&str], sig: &str) {
    let mut c = Ctx::new(name);
    let (id, pid) = sleeping(&mut c, "a");
    let mut cmd = vec!["kill", id.as_str()];
    cmd.extend_from_slice(args);
    let quoted = format!("{sig:?}");
    fails_naming(&c, &cmd, &[&quoted, "signal"]);
    assert_untouched(&c, &id, pid, "running");
    assert_eq!(comm(pid), "sleep");
}

#[test]
fn kill_with_signal_sigbogus() {
    bad_signal("sigbogus", &["SIGBOGUS"], "SIGBOGUS");
}

#[test]
fn kill_with_signal_0() {
    bad_signal("sig0", &["0"], "0");
}

#[test]
fn kill_with_signal_65() {
    bad_signal("sig65", &["65"], "65");
}

#[test]
fn kill_with_signal_minus_9() {
    // Past "--" the value surely reaches the signal parser...
    bad_signal("sigminus9a", &["--", "-9"], "-9");
    // ...and written as a user would, "-9" is the signal too, not a flag.
    bad_signal("sigminus9b", &["-9"], "-9");
}

// ---------------------------------------------------------------------------
// The executable
// ---------------------------------------------------------------------------

#[test]
fn executable_path_that_does_not_exist() {
    let mut c = Ctx::new("exeabs");
    c.args(&["/bin/nope"]);
    create_fails(&mut c, "a", &["\"/bin/nope\""]);
    run_fails(&mut c, "b", &["\"/bin/nope\""]);
}

#[test]
fn executable_name_not_in_path() {
    let mut c = Ctx::new("exepath");
    c.args(&["nope"]);
    create_fails(&mut c, "a", &["\"nope\""]);
    run_fails(&mut c, "b", &["\"nope\""]);
}

// ---------------------------------------------------------------------------
// --root
// ---------------------------------------------------------------------------

/// `create` (and `run`) under a --root that cannot be made fails naming it.
fn bad_root(c: &mut Ctx, root: &str, shown: &str) {
    for (n, sub) in ["create", "run"].iter().enumerate() {
        let id = c.id(&format!("r{n}"));
        let b = bundle(c);
        let mut cmd = Command::new(bin());
        cmd.args(["--root", root, sub, "--bundle", &b, &id]);
        cmd.stdin(std::process::Stdio::null());
        let out = output(cmd, &c.dir);
        let line = one_error(c, &format!("berth --root {root} {sub}"), &out);
        assert_names(&line, &[shown]);
        assert!(!Path::new(root).exists(), "{root} was made");
        assert_nothing_left(c, &id);
    }
}

#[test]
fn root_under_proc() {
    let mut c = Ctx::new("rootproc");
    bad_root(&mut c, "/proc/berth-not-here", "/proc/berth-not-here");
}

#[test]
fn root_under_a_regular_file() {
    let mut c = Ctx::new("rootfile");
    let file = c.dir.join("regular");
    std::fs::write(&file, "").unwrap();
    let root = file.join("state");
    bad_root(&mut c, root.to_str().unwrap(), "<dir>/regular/state");
}

// ---------------------------------------------------------------------------
// Terminal and console socket
// ---------------------------------------------------------------------------

#[test]
fn terminal_without_console_socket() {
    let mut c = Ctx::new("ttynosock");
    c.edit(|v| v["process"]["terminal"] = json!(true));
    create_fails(&mut c, "a", &["process.terminal", "--console-socket"]);
    // run --detach cannot relay the terminal either.
    let id = c.id("b");
    let b = bundle(&c);
    fails_naming(
        &c,
        &["run", "--detach", "--bundle", &b, &id],
        &["process.terminal", "--console-socket"],
    );
    assert_nothing_left(&c, &id);
}

#[test]
fn console_socket_without_terminal() {
    let mut c = Ctx::new("socknotty");
    let sock = c.dir.join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    listener.set_nonblocking(true).unwrap();
    let s = sock.to_string_lossy().into_owned();
    let id = c.id("a");
    let b = bundle(&c);
    fails_naming(
        &c,
        &["create", "--console-socket", &s, "--bundle", &b, &id],
        &["--console-socket", "process.terminal"],
    );
    assert_nothing_left(&c, &id);
    assert!(
        listener.accept().is_err(),
        "berth connected to the console socket"
    );
}

#[test]
fn console_socket_where_nothing_listens() {
    let mut c = Ctx::new("sockdead");
    c.edit(|v| v["process"]["terminal"] = json!(true));
    // A socket file whose listener is gone: connect is refused.
    let sock = c.dir.join("dead.sock");
    drop(UnixListener::bind(&sock).unwrap());
    let s = sock.to_string_lossy().into_owned();
    let id = c.id("a");
    let b = bundle(&c);
    fails_naming(
        &c,
        &["create", "--console-socket", &s, "--bundle", &b, &id],
        &["--console-socket", "<dir>/dead.sock"],
    );
    assert_nothing_left(&c, &id);
    assert_root_empty(&c);
}

#[test]
fn console_socket_that_is_not_a_socket() {
    let mut c = Ctx::new("socknotsock");
    c.edit(|v| v["process"]["terminal"] = json!(true));
    let file = c.dir.join("plain-file");
    std::fs::write(&file, "").unwrap();
    let s = file.to_string_lossy().into_owned();
    let id = c.id("a");
    let b = bundle(&c);
    fails_naming(
        &c,
        &["create", "--console-socket", &s, "--bundle", &b, &id],
        &["--console-socket", "<dir>/plain-file", "not a socket"],
    );
    assert_nothing_left(&c, &id);
    assert_root_empty(&c);
}

#[test]
fn console_socket_that_does_not_exist() {
    let mut c = Ctx::new("sockmissing");
    c.edit(|v| v["process"]["terminal"] = json!(true));
    let s = c.dir.join("missing.sock").to_string_lossy().into_owned();
    let id = c.id("a");
    let b = bundle(&c);
    fails_naming(
        &c,
        &["create", "--console-socket", &s, "--bundle", &b, &id],
        &["--console-socket", "<dir>/missing.sock"],
    );
    assert_nothing_left(&c, &id);
    assert_root_empty(&c);
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

#[test]
fn systemd_cgroup_flag_is_refused() {
    let mut c = Ctx::new("systemdflag");
    for sub in ["create", "run"] {
        let id = c.id(sub);
        let b = bundle(&c);
        fails_naming(
            &c,
            &["--systemd-cgroup", sub, "--bundle", &b, &id],
            &["--systemd-cgroup"],
        );
        assert_nothing_left(&c, &id);
        assert_root_empty(&c);
    }
}

#[test]
fn unknown_subcommand() {
    let c = Ctx::new("unknownsub");
    let out = c.berth(&["frobnicate"]);
    assert!(!out.status.success(), "berth frobnicate succeeded");
    assert_eq!(out.status.code(), Some(1), "{}", out.status);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("frobnicate"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unknown_flag() {
    let mut c = Ctx::new("unknownflag");
    let id = c.id("a");
    let b = bundle(&c);
    for args in [
        vec!["create", "--frobnicate", "--bundle", &b, &id],
        vec!["--frobnicate", "list"],
        vec!["list", "--frobnicate"],
    ] {
        let out = c.berth(&args);
        assert!(!out.status.success(), "berth {args:?} succeeded");
        assert_eq!(out.status.code(), Some(1), "{}", out.status);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--frobnicate"), "{err}");
    }
    assert_nothing_left(&c, &id);
    assert_root_empty(&c);
}

// ---------------------------------------------------------------------------
// Security labels on a host without the LSM
// ---------------------------------------------------------------------------

/// Whether this host's kernel runs AppArmor (the test asserts the error
/// only where it is not).
fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.starts_with('Y'))
}

#[test]
fn an_apparmor_profile_without_apparmor_is_refused() {
    let mut c = Ctx::new("apparmor");
    c.edit(|v| v["process"]["apparmorProfile"] = json!("berth-test-profile"));
    if apparmor_enabled() {
        // Enabled here: a profile that is not loaded is the error.
        create_fails(&mut c, "a", &["process.apparmorProfile", "not loaded"]);
    } else {
        create_fails(
            &mut c,
            "a",
            &["process.apparmorProfile", "AppArmor is not enabled"],
        );
    }
}

#[test]
fn an_selinux_label_without_selinux_is_refused() {
    let mut c = Ctx::new("selinux");
    c.edit(|v| v["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0"));
    assert!(
        !Path::new("/sys/fs/selinux/enforce").exists(),
        "this test expects a host without SELinux"
    );
    create_fails(
        &mut c,
        "a",
        &["process.selinuxLabel", "SELinux is not enabled"],
    );
}
