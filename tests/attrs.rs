//! The rest of config.json's process attributes: linux.personality,
//! process.ioPriority, process.scheduler, linux.memoryPolicy, and clear
//! errors for what this host lacks (intelRdt), and a mountLabel without
//! SELinux dropped with a warning.

mod common;
use common::*;
use serde_json::json;

fn sleeping(c: &mut Ctx) -> i32 {
    c.args(&["sleep", "1000"]);
    let (_, pid) = c.start("a");
    wait_until("sleep to exec", || execd(pid, "sleep"));
    pid
}

#[test]
fn personality_linux32_shows_a_32_bit_machine() {
    let mut c = Ctx::new("pers32");
    c.args(&["uname", "-m"])
        .edit(|v| v["linux"]["personality"] = json!({"domain": "LINUX32"}));
    assert_eq!(c.run_ok("a").trim(), "i686");
    c.edit(|v| v["linux"]["personality"] = json!({"domain": "LINUX"}));
    assert_eq!(c.run_ok("b").trim(), "x86_64");
    // From outside: the personality of the container's process.
    c.edit(|v| {
        v["linux"]["personality"] = json!({"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]})
    });
    let pid = sleeping(&mut c);
    let p = std::fs::read_to_string(format!("/proc/{pid}/personality")).unwrap();
    assert_eq!(u32::from_str_radix(p.trim(), 16).unwrap(), 0x0040008, "{p}");
}

#[test]
fn io_priority_is_set() {
    let mut c = Ctx::new("ioprio");
    c.edit(|v| v["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6}));
    let pid = sleeping(&mut c);
    let out = std::process::Command::new("ionice")
        .args(["-p", &pid.to_string()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "best-effort: prio 6"
    );
}

#[test]
fn scheduler_policy_and_nice_are_set() {
    let mut c = Ctx::new("sched");
    c.edit(|v| v["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 7}));
    let pid = sleeping(&mut c);
    let out = std::process::Command::new("chrt")
        .args(["-p", &pid.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SCHED_BATCH"), "{text}");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let nice: i32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(16)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(nice, 7);
}

#[test]
fn memory_policy_binds_to_the_nodes() {
    let mut c = Ctx::new("mempol");
    c.edit(|v| v["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"}));
    let pid = sleeping(&mut c);
    let maps = std::fs::read_to_string(format!("/proc/{pid}/numa_maps")).unwrap();
    assert!(maps.lines().any(|l| l.contains(" bind:0")), "{maps}");
}

#[test]
fn bad_attributes_are_named_and_leave_nothing() {
    let mut c = Ctx::new("attrbad");
    for (edit, needle) in [
        (
            json!({"linux": {"personality": {"domain": "PER_BSD"}}}),
            "linux.personality.domain",
        ),
        (
            json!({"process": {"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 8}}}),
            "process.ioPriority.priority",
        ),
        (
            json!({"process": {"scheduler": {"policy": "SCHED_WHATEVER"}}}),
            "process.scheduler.policy",
        ),
        (
            json!({"linux": {"memoryPolicy": {"mode": "MPOL_BIND", "nodes": "5"}}}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"linux": {"intelRdt": {"closID": "berth"}}}),
            "linux.intelRdt",
        ),
    ] {
        let base = c.config.clone();
        c.edit(|v| {
            for section in ["linux", "process"] {
                if let Some(obj) = edit[section].as_object() {
                    for (k, val) in obj {
                        v[section][k] = val.clone();
                    }
                }
            }
        });
        let id = c.id(&format!("b{}", needle.len()));
        let b = c.bundle.to_string_lossy().into_owned();
        c.fails(&["create", "--bundle", &b, &id], needle);
        c.assert_gone(&id);
        c.config = base;
        c.write_config();
    }
}

#[test]
fn a_mount_label_without_selinux_is_dropped_with_a_warning() {
    assert!(
        !std::path::Path::new("/sys/fs/selinux/enforce").exists(),
        "this test expects a host without SELinux"
    );
    let mut c = Ctx::new("mountlabel");
    c.edit(|v| v["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0:c1,c2"));
    c.args(&["sh", "-c", "grep ' /dev ' /proc/self/mountinfo"]);
    let (code, out, err) = c.run("a");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: linux.mountLabel: \"system_u:object_r:container_file_t:s0:c1,c2\" ignored: SELinux is not enabled"),
        "{err}"
    );
    assert!(out.contains(" - tmpfs "), "{out}");
    assert!(!out.contains("context="), "{out}");
}
