//! `features`: what this build of berth supports, in the runtime-spec's
//! features.md shape. Every list comes from the table the code itself
//! uses to parse the config (mount options, capabilities, namespaces,
//! seccomp names, hook kinds), so the report cannot drift from the code.

use crate::namespaces::Kind;
use crate::rootfs::mounts;
use crate::security::{caps, seccomp};
use serde_json::{json, Value};

pub fn report() -> Value {
    let hooks: Vec<&str> = crate::hooks::kinds(&Default::default())
        .iter()
        .map(|(k, _, _)| *k)
        .collect();
    let namespaces: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
    let [actions, operators, archs, flags] = seccomp::names();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::spec::OCI_VERSION,
        "hooks": hooks,
        "mountOptions": mounts::option_names(),
        "linux": {
            "namespaces": namespaces,
            "capabilities": caps::NAMES.to_vec(),
            "cgroup": {
                "v1": true,
                "v2": true,
                "systemd": false,
                "systemdUser": false,
                "rdma": true,
            },
            "seccomp": {
                "enabled": true,
                "actions": actions,
                "operators": operators,
                "archs": archs,
                "knownFlags": flags,
                "supportedFlags": flags,
            },
            "apparmor": {"enabled": true},
            "selinux": {"enabled": true},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": true}},
            "netDevices": {"enabled": true},
        },
        "annotations": {
            "org.opencontainers.runc.checkpoint.enabled": "false",
            "io.github.berth.seccomp.compiler": "berth",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn names(v: &Value) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn every_mount_option_reported_is_taken_by_the_parser_itself() {
        let r = report();
        let opts = names(&r["mountOptions"]);
        assert!(opts.len() > 40, "{opts:?}");
        for o in opts {
            let kind = if o == "tmpcopyup" { "tmpfs" } else { "bind" };
            let m: crate::spec::Mount = serde_json::from_value(json!({
                "destination": "/mnt", "type": kind, "source": "/", "options": [o]
            }))
            .unwrap();
            let e = mounts::parse(0, &m, Path::new("/")).unwrap_or_else(|e| panic!("{o}: {e:#}"));
            // Acted on by berth, not handed to the filesystem as data.
            assert_eq!(e.data, "", "{o} went to the filesystem as data");
        }
    }

    #[test]
    fn an_option_berth_does_not_act_on_is_not_reported() {
        let opts = names(&report()["mountOptions"]);
        for o in ["mode=755", "size=1m", "uid=0", "context=x"] {
            assert!(!opts.iter().any(|x| x == o), "{o}");
        }
    }

    #[test]
    fn every_capability_and_namespace_reported_parses() {
        let r = report();
        let caps_reported = names(&r["linux"]["capabilities"]);
        let set = json!({"bounding": caps_reported});
        let c: crate::spec::Capabilities = serde_json::from_value(set).unwrap();
        let (_, missing) = caps::parse(Some(&c), 40).unwrap();
        assert!(missing.len() <= 1, "{missing:?}");
        for n in names(&r["linux"]["namespaces"]) {
            assert!(Kind::parse(&n).is_some(), "{n}");
        }
        assert_eq!(names(&r["linux"]["namespaces"]).len(), 8);
    }

    #[test]
    fn every_seccomp_name_reported_compiles() {
        let r = &report()["linux"]["seccomp"];
        let ops = names(&r["operators"]);
        let args: Vec<Value> = ops
            .iter()
            .map(|o| json!({"index": 0, "value": 1, "valueTwo": 1, "op": o}))
            .collect();
        let mut syscalls =
            vec![json!({"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "args": args})];
        for a in names(&r["actions"]) {
            let mut rule = json!({"names": ["getpid"], "action": a});
            if a == "SCMP_ACT_ERRNO" {
                rule["errnoRet"] = json!(1);
            }
            syscalls.push(rule);
        }
        let profile = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": names(&r["archs"]),
            "flags": names(&r["knownFlags"]),
            "listenerPath": "/run/agent.sock",
            "syscalls": syscalls,
        });
        let c = seccomp::compile(&profile).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(c.is_some());
        for a in names(&r["actions"]) {
            let p = json!({"defaultAction": a, "defaultErrnoRet": 1});
            if a == "SCMP_ACT_NOTIFY" {
                continue; // never a default action, by the spec
            }
            let p = if a == "SCMP_ACT_ERRNO" || a == "SCMP_ACT_TRACE" {
                p
            } else {
                json!({"defaultAction": a})
            };
            seccomp::compile(&p).unwrap_or_else(|e| panic!("{a}: {e:#}"));
        }
    }

    #[test]
    fn hooks_are_the_six_kinds() {
        assert_eq!(
            names(&report()["hooks"]),
            [
                "prestart",
                "createRuntime",
                "createContainer",
                "startContainer",
                "poststart",
                "poststop"
            ]
        );
    }
}
