//! `features`: the runtime-spec features.md JSON of this build, and real
//! containers that use what it reports.

mod common;
use common::*;
use serde_json::{json, Value};

fn features(c: &Ctx) -> Value {
    serde_json::from_str(&c.ok(&["features"])).expect("features prints JSON")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn features_reports_the_spec_fields() {
    let c = Ctx::new("features");
    let f = features(&c);
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert_eq!(f["ociVersionMax"], "1.2.0");
    assert_eq!(strings(&f["hooks"]).len(), 6);
    let opts = strings(&f["mountOptions"]);
    for o in [
        "rbind", "ro", "nosuid", "rprivate", "rro", "idmap", "ratime",
    ] {
        assert!(opts.iter().any(|x| x == o), "{o} in {opts:?}");
    }
    let l = &f["linux"];
    let mut ns = strings(&l["namespaces"]);
    ns.sort();
    assert_eq!(
        ns,
        ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]
    );
    assert_eq!(l["cgroup"]["v1"], true);
    assert_eq!(l["cgroup"]["v2"], true);
    assert_eq!(l["cgroup"]["systemd"], false);
    assert_eq!(l["seccomp"]["enabled"], true);
    assert_eq!(strings(&l["seccomp"]["operators"]).len(), 7);
    assert_eq!(l["mountExtensions"]["idmap"]["enabled"], true);
}

#[test]
fn a_container_takes_every_capability_and_seccomp_name_features_reports() {
    let mut c = Ctx::new("featuresuse");
    let f = features(&c);
    let l = &f["linux"];
    // Every reported capability the kernel knows, in every set.
    let caps = strings(&l["capabilities"]);
    let last: usize = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Those this host lets berth hold (here CAP_SYS_RESOURCE is not).
    let ours = u64::from_str_radix(&status_field(std::process::id() as i32, "CapBnd"), 16).unwrap();
    let caps: Vec<String> = caps
        .into_iter()
        .take(last + 1)
        .enumerate()
        .filter(|(i, _)| ours & (1 << i) != 0)
        .map(|(_, n)| n)
        .collect();
    let known: Vec<&str> = caps.iter().map(String::as_str).collect();
    let sc = &l["seccomp"];
    // Every operator in an allow rule and every action on a call nobody
    // makes: the filter compiles and loads, the container runs.
    let args: Vec<Value> = strings(&sc["operators"])
        .iter()
        .map(|o| json!({"index": 5, "value": 7, "valueTwo": 7, "op": o}))
        .collect();
    let mut rules = vec![json!({"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "args": args})];
    for (i, a) in strings(&sc["actions"]).iter().enumerate() {
        if a == "SCMP_ACT_NOTIFY" {
            continue;
        }
        let call = [
            "acct",
            "swapon",
            "swapoff",
            "reboot",
            "kexec_load",
            "init_module",
            "delete_module",
            "pivot_root",
        ][i % 8];
        rules.push(json!({"names": [call], "action": a}));
    }
    c.edit(|v| {
        v["process"]["capabilities"] = json!({
            "bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps, "ambient": caps});
        v["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": strings(&sc["archs"]),
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": rules});
    });
    c.args(&[
        "sh",
        "-c",
        "grep -E '^(CapBnd|CapAmb|Seccomp):' /proc/self/status",
    ]);
    let (code, out, err) = c.run("a");
    assert_eq!(code, 0, "{err}");
    let all = cap_mask(&known);
    assert!(out.contains(&format!("CapBnd:\t{all}")), "{out}");
    assert!(out.contains(&format!("CapAmb:\t{all}")), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
}
