//! Hooks: all six kinds, in the namespaces the spec names, in order, with
//! the container's state on stdin, their args, env and timeout; failures
//! of the first four kinds fail the operation and leave nothing behind,
//! failures of poststart and poststop are warnings.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::Path;

/// A hook script (on the host, and the same in the rootfs for
/// startContainer) that appends one JSON line per call to `log`: its name,
/// args, the state it read, its mount namespace, and its environment.
fn hook_script(c: &Ctx) -> (String, std::path::PathBuf) {
    let log = c.dir.join("hooks.log");
    let script = format!(
        "#!/bin/sh\nstate=$(cat)\nprintf '%s\\t%s\\t%s\\t%s\\t%s\\n' \"$1\" \"$*\" \"$state\" \"$(readlink /proc/self/ns/mnt)\" \"$HOOK_VAR\" >> {}\n",
        log.display()
    );
    let path = c.dir.join("hook.sh");
    std::fs::write(&path, &script).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    (path.to_string_lossy().into_owned(), log)
}

struct Call {
    kind: String,
    args: String,
    state: Value,
    mnt_ns: String,
    var: String,
}

fn calls(log: &Path) -> Vec<Call> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Call {
                kind: f[0].to_string(),
                args: f[1].to_string(),
                state: serde_json::from_str(f[2]).unwrap_or(Value::Null),
                mnt_ns: f[3].to_string(),
                var: f.get(4).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

fn hook(path: &str, kind: &str) -> Value {
    json!({"path": path, "args": ["hook.sh", kind, "extra-arg"], "env": ["HOOK_VAR=from-config", "PATH=/usr/bin:/bin"]})
}

#[test]
fn all_six_kinds_run_in_order_with_state_args_and_env() {
    let mut c = Ctx::new("hooksall");
    let (path, log) = hook_script(&c);
    // startContainer runs in the container: its log is the container's
    // /tmp, read back through the container's output.
    let inner = "#!/bin/sh\nstate=$(cat)\necho \"startContainer-inside $1 $HOOK_VAR $state\" > /tmp/start.log\n";
    std::fs::write(c.rootfs().join("hook.sh"), inner).unwrap();
    std::fs::set_permissions(
        c.rootfs().join("hook.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    c.args(&["sh", "-c", "cat /tmp/start.log; echo user-process"]).edit(|v| {
        v["annotations"] = json!({"org.example": "yes"});
        v["hooks"] = json!({
            "prestart": [hook(&path, "prestart")],
            "createRuntime": [hook(&path, "createRuntime")],
            "createContainer": [hook(&path, "createContainer")],
            "startContainer": [{"path": "/hook.sh", "args": ["hook.sh", "startContainer"], "env": ["HOOK_VAR=inside"]}],
            "poststart": [hook(&path, "poststart")],
            "poststop": [hook(&path, "poststop")],
        });
    });
    let (code, out, err) = c.run("a");
    assert_eq!(code, 0, "{err}");
    // startContainer ran inside, after start and before the user's process.
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("startContainer-inside startContainer inside"),
        "{out}"
    );
    let st: Value = serde_json::from_str(lines[0].splitn(4, ' ').nth(3).unwrap()).unwrap();
    assert_eq!(st["status"], "created");
    assert_eq!(lines[1], "user-process");

    let calls = calls(&log);
    let kinds: Vec<&str> = calls.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ]
    );
    let host_ns = std::fs::read_link("/proc/self/ns/mnt")
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let id = format!("{}-a", c.name);
    for call in &calls {
        assert_eq!(
            call.args,
            format!("{} extra-arg", call.kind),
            "args of {}",
            call.kind
        );
        assert_eq!(call.var, "from-config", "env of {}", call.kind);
        assert_eq!(call.state["id"], id.as_str());
        assert_eq!(call.state["bundle"], c.bundle.to_str().unwrap());
        assert_eq!(call.state["annotations"]["org.example"], "yes");
        assert!(call.state["ociVersion"].is_string());
        // The runtime's hooks run in the runtime's mount namespace, the
        // container's in the container's.
        if call.kind == "createContainer" {
            assert_ne!(
                call.mnt_ns, host_ns,
                "createContainer runs in the container's namespaces"
            );
        } else {
            assert_eq!(
                call.mnt_ns, host_ns,
                "{} runs in the runtime's namespaces",
                call.kind
            );
        }
    }
    let status = |k: &str| calls.iter().find(|c| c.kind == k).unwrap().state["status"].clone();
    assert_eq!(status("prestart"), "created");
    assert_eq!(status("createRuntime"), "created");
    assert_eq!(status("createContainer"), "created");
    assert_eq!(status("poststart"), "running");
    assert_eq!(status("poststop"), "stopped");
    // The pid hooks see is the host's pid of init, the same for all of them.
    let pid = calls[0].state["pid"].as_i64().unwrap();
    assert!(pid > 1);
    assert_eq!(calls[1].state["pid"], pid);
    assert_eq!(calls[2].state["pid"], pid);
}

#[test]
fn create_and_start_split_the_hooks_as_runc_does() {
    let mut c = Ctx::new("hookssplit");
    let (path, log) = hook_script(&c);
    c.args(&["sleep", "1000"]).edit(|v| {
        v["hooks"] = json!({
            "prestart": [hook(&path, "prestart")],
            "createRuntime": [hook(&path, "createRuntime")],
            "poststart": [hook(&path, "poststart")],
            "poststop": [hook(&path, "poststop")],
        });
    });
    let (id, _) = c.create("a");
    let kinds = |log: &Path| calls(log).into_iter().map(|c| c.kind).collect::<Vec<_>>();
    assert_eq!(
        kinds(&log),
        ["prestart", "createRuntime"],
        "prestart and createRuntime run in create"
    );
    c.ok(&["start", &id]);
    assert_eq!(kinds(&log), ["prestart", "createRuntime", "poststart"]);
    c.ok(&["delete", "--force", &id]);
    assert_eq!(
        kinds(&log),
        ["prestart", "createRuntime", "poststart", "poststop"]
    );
}

#[test]
fn a_failing_hook_before_start_fails_create_and_leaves_nothing() {
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let mut c = Ctx::new(&format!("hookfail{}", kind.to_lowercase()));
        let fail = c.dir.join("fail.sh");
        std::fs::write(&fail, "#!/bin/sh\necho hook-said-no >&2\nexit 3\n").unwrap();
        std::fs::set_permissions(&fail, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let f = fail.to_string_lossy().into_owned();
        c.edit(|v| v["hooks"] = json!({ kind: [{"path": f}] }));
        let id = c.id("a");
        let b = c.bundle.to_string_lossy().into_owned();
        let err = c.fails(
            &["create", "--bundle", &b, &id],
            &format!("hooks.{kind}[0]"),
        );
        assert!(
            err.contains("status 3") && err.contains("hook-said-no"),
            "{err}"
        );
        c.assert_gone(&id);
    }
}

#[test]
fn a_failing_start_container_hook_fails_the_start() {
    let mut c = Ctx::new("hookfailstart");
    std::fs::write(c.rootfs().join("fail.sh"), "#!/bin/sh\nexit 4\n").unwrap();
    std::fs::set_permissions(
        c.rootfs().join("fail.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    c.args(&["sh", "-c", "echo should-not-run"])
        .edit(|v| v["hooks"] = json!({"startContainer": [{"path": "/fail.sh"}]}));
    let (code, out, err) = c.run("a");
    assert_ne!(code, 0);
    assert!(
        err.contains("hooks.startContainer[0]") && err.contains("status 4"),
        "{err}"
    );
    assert!(!out.contains("should-not-run"), "{out}");
    c.assert_gone(&format!("{}-a", c.name));
}

#[test]
fn failing_poststart_and_poststop_hooks_are_warnings() {
    let mut c = Ctx::new("hookwarn");
    // After a failing hook, the next one of its kind still runs.
    let mark = |kind: &str| {
        let f = c.dir.join(format!("{kind}-ran"));
        (
            f.clone(),
            json!({"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}", f.display())]}),
        )
    };
    let (start_mark, start_hook) = mark("poststart");
    let (stop_mark, stop_hook) = mark("poststop");
    c.edit(|v| {
        v["hooks"] = json!({
            "poststart": [{"path": "/bin/false"}, start_hook],
            "poststop": [{"path": "/bin/false"}, stop_hook],
        })
    });
    let (code, _, err) = c.run("a");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: hooks.poststart[0]"), "{err}");
    assert!(err.contains("warning: hooks.poststop[0]"), "{err}");
    assert!(
        start_mark.exists(),
        "the poststart hook after the failing one did not run"
    );
    assert!(
        stop_mark.exists(),
        "the poststop hook after the failing one did not run"
    );
    c.assert_gone(&format!("{}-a", c.name));
}

#[test]
fn a_hook_past_its_timeout_is_killed_and_fails_create() {
    let mut c = Ctx::new("hooktimeout");
    let slow = c.dir.join("slow.sh");
    std::fs::write(&slow, "#!/bin/sh\nexec sleep 1000\n").unwrap();
    std::fs::set_permissions(&slow, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let s = slow.to_string_lossy().into_owned();
    c.edit(|v| v["hooks"] = json!({"createRuntime": [{"path": s, "timeout": 1}]}));
    let id = c.id("a");
    let b = c.bundle.to_string_lossy().into_owned();
    let err = c.fails(
        &["create", "--bundle", &b, &id],
        "did not finish within 1 s",
    );
    assert!(err.contains("hooks.createRuntime[0]"), "{err}");
    c.assert_gone(&id);
    // The hook itself was killed, not left running.
    let left: Vec<i32> = all_pids()
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.contains("sleep\u{0}1000"))
        })
        .filter(|p| {
            std::fs::read_link(format!("/proc/{p}/cwd")).is_ok_and(|d| d.starts_with(&c.dir))
        })
        .collect();
    assert!(left.is_empty(), "hook processes left: {left:?}");
}

#[test]
fn bad_hooks_are_refused_before_anything_runs() {
    let mut c = Ctx::new("hookbad");
    for (hooks, needle) in [
        (
            json!({"prestart": [{"path": "/no/such/hook"}]}),
            "hooks.prestart[0].path",
        ),
        (
            json!({"createRuntime": [{"path": "relative/hook"}]}),
            "hooks.createRuntime[0].path",
        ),
        (
            json!({"poststop": [{"path": "/bin/true", "timeout": 0}]}),
            "hooks.poststop[0].timeout",
        ),
    ] {
        c.edit(|v| v["hooks"] = hooks.clone());
        let id = c.id(&format!("b{}", needle.len()));
        let b = c.bundle.to_string_lossy().into_owned();
        c.fails(&["create", "--bundle", &b, &id], needle);
        c.assert_gone(&id);
    }
}

#[test]
fn a_failing_start_container_hook_fails_a_separate_start() {
    let mut c = Ctx::new("hookfailstart2");
    c.args(&["sh", "-c", "echo should-not-run"])
        .edit(|v| v["hooks"] = json!({"startContainer": [{"path": "/bin/false"}]}));
    let (id, _) = c.create("a");
    let err = c.fails(&["start", &id], "startContainer");
    assert!(err.contains(&id), "{err}");
    c.ok(&["delete", &id]);
    c.assert_gone(&id);
}
