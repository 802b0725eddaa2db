//! config.json: the OCI runtime-spec (1.2) types berth reads, and loading them
//! with errors that name the file, the field path and what is wrong.
//!
//! Unknown properties are ignored, as config.md ("Extensibility") requires of a
//! runtime, but each one is reported back to the caller so it can be warned about.
//! Values are checked for shape here; their meaning (namespace kinds, mount
//! options, capability names...) is checked where it is turned into a plan.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The runtime-spec version berth implements and writes into new configs.
pub const OCI_VERSION: &str = "1.2.0";

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    pub oci_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<Root>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux: Option<Linux>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    #[serde(default)]
    pub terminal: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<ConsoleSize>,
    pub user: User,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    pub cwd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rlimits: Vec<Rlimit>,
    #[serde(default)]
    pub no_new_privileges: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apparmor_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selinux_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_priority: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<serde_json::Value>,
    #[serde(
        default,
        rename = "execCPUAffinity",
        skip_serializing_if = "Option::is_none"
    )]
    pub exec_cpu_affinity: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
pub struct ConsoleSize {
    pub height: u16,
    pub width: u16,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub umask: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_gids: Vec<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Capabilities {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounding: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inheritable: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permitted: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ambient: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Rlimit {
    #[serde(rename = "type")]
    pub kind: String,
    pub hard: u64,
    pub soft: u64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Root {
    pub path: String,
    #[serde(default)]
    pub readonly: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    pub destination: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uid_mappings: Vec<IdMapping>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gid_mappings: Vec<IdMapping>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hooks {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prestart: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_runtime: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_container: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start_container: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop: Vec<Hook>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Hook {
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uid_mappings: Vec<IdMapping>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gid_mappings: Vec<IdMapping>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctl: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroups_path: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<Namespace>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs_propagation: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readonly_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_label: Option<String>,
    #[serde(default, rename = "intelRdt", skip_serializing_if = "Option::is_none")]
    pub intel_rdt: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub time_offsets: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub net_devices: BTreeMap<String, NetDevice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_policy: Option<serde_json::Value>,
}

/// A `linux.netDevices` entry; the key is the device's name on the host.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct NetDevice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct IdMapping {
    #[serde(rename = "containerID")]
    pub container_id: u32,
    #[serde(rename = "hostID")]
    pub host_id: u32,
    pub size: u32,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
    #[serde(default)]
    pub major: i64,
    #[serde(default)]
    pub minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_mode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
}

/// A parsed config.json and the properties in it that berth does not know.
#[derive(Debug)]
pub struct Loaded {
    pub spec: Spec,
    pub unknown: Vec<String>,
    /// The file's text, as read.
    pub raw: Vec<u8>,
}

/// Reads and parses `path`, checking the version and the fields every
/// container needs. Errors name the file and the JSON path of the bad field.
pub fn load(path: &Path) -> Result<Loaded> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let mut loaded = parse(&bytes).with_context(|| format!("{}", path.display()))?;
    loaded.raw = bytes;
    Ok(loaded)
}

/// Parses config.json text; see [`load`].
pub fn parse(bytes: &[u8]) -> Result<Loaded> {
    let mut unknown = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut note = |p: serde_ignored::Path| unknown.push(field_path(&p));
    let ignored = serde_ignored::Deserializer::new(&mut de, &mut note);
    let spec: Spec = serde_path_to_error::deserialize(ignored).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            anyhow::anyhow!("invalid config: {inner}")
        } else {
            anyhow::anyhow!("invalid config: {path}: {inner}")
        }
    })?;
    de.end()
        .context("invalid config: trailing data after the JSON object")?;
    check(&spec)?;
    Ok(Loaded {
        spec,
        unknown,
        raw: Vec::new(),
    })
}

/// The fields present in `spec` that berth knows but does not apply yet,
/// so the user is told rather than left to find out.
pub fn not_applied(spec: &Spec) -> Vec<&'static str> {
    let mut out = Vec::new();
    if let Some(p) = &spec.process {
        for (set, name) in [(p.exec_cpu_affinity.is_some(), "process.execCPUAffinity")] {
            if set {
                out.push(name);
            }
        }
    }
    out
}

/// A JSON path in the form errors use: `mounts[0].options`.
fn field_path(p: &serde_ignored::Path) -> String {
    use serde_ignored::Path;
    match p {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => {
            let parent = field_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

/// The checks that do not belong to any one subsystem.
fn check(spec: &Spec) -> Result<()> {
    check_version(&spec.oci_version)?;
    let Some(root) = &spec.root else {
        bail!("invalid config: root: missing (a container needs a root filesystem)");
    };
    if root.path.is_empty() {
        bail!("invalid config: root.path: empty");
    }
    let Some(process) = &spec.process else {
        bail!("invalid config: process: missing (nothing to run)");
    };
    if process.args.is_empty() {
        bail!("invalid config: process.args: empty (nothing to run)");
    }
    if process.args[0].is_empty() {
        bail!("invalid config: process.args[0]: empty");
    }
    if !process.cwd.starts_with('/') {
        bail!(
            "invalid config: process.cwd: {:?} is not an absolute path",
            process.cwd
        );
    }
    for (i, e) in process.env.iter().enumerate() {
        if !e.contains('=') {
            bail!("invalid config: process.env[{i}]: {e:?} is not of the form KEY=VALUE");
        }
    }
    for (i, m) in spec.mounts.iter().enumerate() {
        if !m.destination.starts_with('/') {
            bail!(
                "invalid config: mounts[{i}].destination: {:?} is not an absolute path",
                m.destination
            );
        }
    }
    Ok(())
}

/// Accepts any 1.x version (the spec keeps 1.x backward compatible) and
/// refuses other majors, whose meaning berth cannot know.
fn check_version(v: &str) -> Result<()> {
    if v.is_empty() {
        bail!("invalid config: ociVersion: empty");
    }
    let major = v.split('.').next().unwrap_or_default();
    if major != "1" {
        bail!("invalid config: ociVersion: unsupported version {v:?} (berth implements 1.x, up to {OCI_VERSION})");
    }
    Ok(())
}

/// The config `berth spec` writes: runc's default (a terminal running sh
/// with few capabilities, read-only root, the usual mounts and masks), or
/// with `rootless` one an unprivileged user can run, mapping root to
/// `uid`/`gid` in a user namespace.
pub fn example(rootless: bool, uid: u32, gid: u32) -> Spec {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let caps = strings(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let mount = |dest: &str, kind: &str, source: &str, options: &[&str]| Mount {
        destination: dest.into(),
        kind: Some(kind.into()),
        source: Some(source.into()),
        options: strings(options),
        ..Default::default()
    };
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &[]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        ),
    ];
    let mut namespaces: Vec<Namespace> = ["pid", "network", "ipc", "uts", "mount", "cgroup"]
        .iter()
        .map(|k| Namespace {
            kind: k.to_string(),
            path: None,
        })
        .collect();
    let mut linux = Linux {
        resources: Some(serde_json::json!({"devices": [{"allow": false, "access": "rwm"}]})),
        masked_paths: strings(&[
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi",
        ]),
        readonly_paths: strings(&[
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger",
        ]),
        ..Default::default()
    };
    if rootless {
        // No devpts gid (the group is not mapped), sysfs bound from the
        // host (a new sysfs needs a network namespace we cannot own), no
        // device cgroup, and a user namespace mapping root to the caller.
        mounts[2].options.retain(|o| o != "gid=5");
        mounts[5] = mount(
            "/sys",
            "none",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        );
        mounts.retain(|m| m.destination != "/sys/fs/cgroup");
        namespaces.retain(|n| n.kind != "network" && n.kind != "cgroup");
        namespaces.push(Namespace {
            kind: "user".into(),
            path: None,
        });
        linux.resources = None;
        linux.uid_mappings = vec![IdMapping {
            container_id: 0,
            host_id: uid,
            size: 1,
        }];
        linux.gid_mappings = vec![IdMapping {
            container_id: 0,
            host_id: gid,
            size: 1,
        }];
    }
    linux.namespaces = namespaces;
    Spec {
        oci_version: OCI_VERSION.into(),
        process: Some(Process {
            terminal: true,
            user: User::default(),
            args: strings(&["sh"]),
            env: strings(&[
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ]),
            cwd: "/".into(),
            capabilities: Some(Capabilities {
                bounding: Some(caps.clone()),
                effective: Some(caps.clone()),
                permitted: Some(caps.clone()),
                ambient: Some(caps),
                inheritable: None,
            }),
            rlimits: vec![Rlimit {
                kind: "RLIMIT_NOFILE".into(),
                hard: 1024,
                soft: 1024,
            }],
            no_new_privileges: true,
            ..Default::default()
        }),
        root: Some(Root {
            path: "rootfs".into(),
            readonly: true,
        }),
        hostname: Some("berth".into()),
        mounts,
        linux: Some(linux),
        ..Default::default()
    }
}

/// Serialises a config the way runc writes one: indented with tabs.
pub fn to_json(spec: &Spec) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    spec.serialize(&mut ser)?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
        "process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"}}"#;

    #[test]
    fn minimal_config_parses() {
        let l = parse(MINIMAL.as_bytes()).unwrap();
        assert_eq!(l.spec.process.unwrap().args, ["sh"]);
        assert!(l.unknown.is_empty());
    }

    #[test]
    fn unknown_fields_are_reported_not_fatal() {
        let text = MINIMAL.replace(r#""cwd":"/""#, r#""cwd":"/","bogus":1"#);
        let l = parse(text.as_bytes()).unwrap();
        assert_eq!(l.unknown, ["process.bogus"]);
    }

    #[test]
    fn unknown_fields_in_arrays_are_indexed() {
        let text = MINIMAL.replace(
            r#""root""#,
            r#""mounts":[{"destination":"/x","type":"tmpfs","bogus":1}],"root""#,
        );
        assert_eq!(parse(text.as_bytes()).unwrap().unknown, ["mounts[0].bogus"]);
    }

    #[test]
    fn errors_name_the_field_path() {
        let text = MINIMAL.replace(r#""uid":0"#, r#""uid":"root""#);
        let e = format!("{:#}", parse(text.as_bytes()).unwrap_err());
        assert!(e.contains("process.user.uid"), "{e}");
    }

    #[test]
    fn major_version_two_is_refused() {
        let text = MINIMAL.replace("1.0.2", "2.0.0");
        let e = format!("{:#}", parse(text.as_bytes()).unwrap_err());
        assert!(e.contains("ociVersion"), "{e}");
    }

    #[test]
    fn missing_required_field_is_named() {
        let text = MINIMAL.replace(r#","cwd":"/""#, "");
        let e = format!("{:#}", parse(text.as_bytes()).unwrap_err());
        assert!(e.contains("cwd"), "{e}");
    }

    #[test]
    fn example_round_trips_and_passes_checks() {
        for rootless in [false, true] {
            let text = to_json(&example(rootless, 1000, 1000)).unwrap();
            let l = parse(&text).unwrap();
            assert!(l.unknown.is_empty(), "{:?}", l.unknown);
            let has_user = l
                .spec
                .linux
                .unwrap()
                .namespaces
                .iter()
                .any(|n| n.kind == "user");
            assert_eq!(has_user, rootless);
        }
    }

    #[test]
    fn relative_mount_destination_is_refused() {
        let text = MINIMAL.replace(
            r#""root""#,
            r#""mounts":[{"destination":"proc","type":"proc"}],"root""#,
        );
        let e = format!("{:#}", parse(text.as_bytes()).unwrap_err());
        assert!(e.contains("mounts[0].destination"), "{e}");
    }
}

/// Property tests: whatever bytes or JSON `parse` is given, it returns
/// (a config or an error), never panics. 256 cases a property
/// (PROPTEST_CASES overrides it, PROPTEST_RNG_SEED fixes the seed).
#[cfg(test)]
mod proptests {
    use super::{example, parse, to_json};
    use proptest::prelude::*;
    use proptest::test_runner::Config;
    use serde_json::Value;

    fn config() -> Config {
        Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        }
    }

    /// Keys and strings of config.json, and some that are not.
    fn words() -> Vec<&'static str> {
        let mut w: Vec<&str> = "x 1.0.2 1.2.0 2.0.0 ociVersion process root path readonly user \
            uid gid additionalGids umask args env PATH=/bin cwd / .. capabilities bounding \
            CAP_KILL rlimits type hard soft mounts destination source options linux namespaces \
            pid seccomp hostname uidMappings containerID hostID size devices sysctl hooks \
            annotations terminal consoleSize noNewPrivileges"
            .split_whitespace()
            .collect();
        w.push("");
        w
    }

    /// A full config (`berth spec`'s, rootless or not) as JSON.
    fn full() -> Value {
        serde_json::from_slice(&to_json(&example(true, 1000, 1000)).unwrap()).unwrap()
    }

    /// The JSON pointer of every value in `v`.
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    pointers(
                        x,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    pointers(x, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn random_bytes_are_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn random_json_is_an_error_not_a_panic(v in crate::testutil::json_value(words())) {
            let _ = parse(&serde_json::to_vec(&v).unwrap());
        }

        #[test]
        fn a_config_with_any_value_anywhere_parses_or_errs(
            at in any::<proptest::sample::Index>(),
            key in proptest::sample::select(words()),
            junk in crate::testutil::json_value(words()),
            add in any::<bool>(),
        ) {
            // One value of a full config replaced by anything, or anything
            // added under a config key to one of its objects.
            let mut v = full();
            let mut ptrs = Vec::new();
            pointers(&v, String::new(), &mut ptrs);
            let p = &ptrs[at.index(ptrs.len())];
            let slot = v.pointer_mut(p).unwrap();
            match slot {
                Value::Object(m) if add => {
                    m.insert(key.to_string(), junk);
                }
                _ => *slot = junk,
            }
            let _ = parse(&serde_json::to_vec(&v).unwrap());
        }

        #[test]
        fn a_damaged_config_text_parses_or_errs(
            cut in any::<proptest::sample::Index>(),
            flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..4),
        ) {
            let mut text = to_json(&example(false, 0, 0)).unwrap();
            for (i, b) in flips {
                let i = i.index(text.len());
                text[i] = b;
            }
            text.truncate(cut.index(text.len() + 1));
            let _ = parse(&text);
        }
    }
}
