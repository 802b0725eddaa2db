//! linux.seccomp: berth's own BPF compiler, loaded by init before exec.

mod common;
use common::*;
use serde_json::json;

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

#[test]
fn dockers_default_profile_runs_a_container() {
    let mut c = Ctx::new("scdocker");
    let profile: serde_json::Value =
        serde_json::from_slice(&std::fs::read("/usr/share/containers/seccomp.json").expect(
            "Docker's seccomp profile (scripts/deps.sh installs golang-github-containers-common)",
        ))
        .unwrap();
    let caps: Vec<String> = c.config["process"]["capabilities"]["bounding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    // Docker's format to OCI's, for amd64 and the bundle's capabilities.
    let arches = ["amd64", "x32", "x86"];
    let rules: Vec<serde_json::Value> = profile["syscalls"]
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
            arch_ok && caps_ok && !excl
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
    filter(
        &mut c,
        json!({
            "defaultAction": profile["defaultAction"],
            "defaultErrnoRet": profile["defaultErrnoRet"],
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": rules,
        }),
    );
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
fn unknown_syscall_names_are_skipped_with_a_warning() {
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
    assert!(
        err.contains("warning") && err.contains("no_such_syscall"),
        "{err}"
    );
}
