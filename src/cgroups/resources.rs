//! linux.resources: the runtime spec's types, parsed from the config (or
//! from `update --resources`), and checked before anything is written.
//!
//! As runc reads them: an absent field, and for most numbers a zero, means
//! "leave as it is" (Docker and Podman send zeros); -1 means "no limit".

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<Pids>,
    #[serde(default, rename = "blockIO", skip_serializing_if = "Option::is_none")]
    pub block_io: Option<BlockIo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hugepage_limits: Vec<HugepageLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rdma: BTreeMap<String, Rdma>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unified: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct DeviceRule {
    pub allow: bool,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<i64>,
    #[serde(default, rename = "kernelTCP", skip_serializing_if = "Option::is_none")]
    pub kernel_tcp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swappiness: Option<u64>,
    #[serde(
        default,
        rename = "disableOOMKiller",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_oom_killer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_hierarchy: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_before_update: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime_runtime: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime_period: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mems: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Pids {
    pub limit: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockIo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_weight: Option<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weight_device: Vec<WeightDevice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle_read_bps_device: Vec<ThrottleDevice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle_write_bps_device: Vec<ThrottleDevice>,
    #[serde(
        default,
        rename = "throttleReadIOPSDevice",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub throttle_read_iops_device: Vec<ThrottleDevice>,
    #[serde(
        default,
        rename = "throttleWriteIOPSDevice",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub throttle_write_iops_device: Vec<ThrottleDevice>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightDevice {
    pub major: i64,
    pub minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_weight: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ThrottleDevice {
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HugepageLimit {
    pub page_size: String,
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Network {
    #[serde(default, rename = "classID", skip_serializing_if = "Option::is_none")]
    pub class_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<Priority>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Priority {
    pub name: String,
    pub priority: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rdma {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hca_handles: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hca_objects: Option<u32>,
}

/// Parses linux.resources (a JSON value in config.json, or the body of
/// `update --resources`), naming the field of any error.
pub fn parse(v: &serde_json::Value, what: &str) -> Result<Resources> {
    let r: Resources = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        anyhow::anyhow!("invalid {what}: {path}: {}", e.into_inner())
    })?;
    r.check(what)?;
    Ok(r)
}

/// A limit value: -1 is "no limit", other negatives are nonsense.
fn check_limit(what: &str, field: &str, v: Option<i64>) -> Result<()> {
    match v {
        Some(n) if n < -1 => {
            bail!("invalid {what}: {field}: {n} (a limit is -1 for none, or positive)")
        }
        _ => Ok(()),
    }
}

impl Resources {
    /// Checks the values that are wrong whatever the host.
    pub fn check(&self, what: &str) -> Result<()> {
        if let Some(m) = &self.memory {
            check_limit(what, "memory.limit", m.limit)?;
            check_limit(what, "memory.reservation", m.reservation)?;
            check_limit(what, "memory.swap", m.swap)?;
            if let Some(s) = m.swappiness {
                if s > 100 {
                    bail!("invalid {what}: memory.swappiness: {s} (0 to 100)");
                }
            }
            if let (Some(l), Some(s)) = (m.limit, m.swap) {
                if l > 0 && s > 0 && s < l {
                    bail!("invalid {what}: memory.swap: {s} is below memory.limit {l} (swap is memory plus swap)");
                }
            }
        }
        if let Some(c) = &self.cpu {
            check_limit(what, "cpu.quota", c.quota)?;
            if let Some(p) = c.period {
                if p != 0 && !(1000..=1_000_000).contains(&p) {
                    bail!("invalid {what}: cpu.period: {p} (1000 to 1000000 microseconds)");
                }
            }
            if let Some(q) = c.quota {
                if q > 0 && q < 1000 {
                    bail!("invalid {what}: cpu.quota: {q} (at least 1000 microseconds, or -1)");
                }
            }
            if let Some(s) = c.shares {
                if s != 0 && !(2..=262_144).contains(&s) {
                    bail!("invalid {what}: cpu.shares: {s} (2 to 262144)");
                }
            }
            for (field, set) in [("cpu.cpus", &c.cpus), ("cpu.mems", &c.mems)] {
                if let Some(s) = set {
                    check_cpuset(what, field, s)?;
                }
            }
            if let Some(i) = c.idle {
                if !(0..=1).contains(&i) {
                    bail!("invalid {what}: cpu.idle: {i} (0 or 1)");
                }
            }
        }
        if let Some(p) = &self.pids {
            check_limit(what, "pids.limit", Some(p.limit))?;
        }
        if let Some(b) = &self.block_io {
            for (field, w) in [
                ("blockIO.weight", b.weight),
                ("blockIO.leafWeight", b.leaf_weight),
            ] {
                if let Some(w) = w {
                    if w != 0 && !(10..=1000).contains(&w) {
                        bail!("invalid {what}: {field}: {w} (10 to 1000)");
                    }
                }
            }
            for (i, d) in b.weight_device.iter().enumerate() {
                check_dev(
                    what,
                    &format!("blockIO.weightDevice[{i}]"),
                    d.major,
                    d.minor,
                )?;
                for w in [d.weight, d.leaf_weight].into_iter().flatten() {
                    if !(10..=1000).contains(&w) {
                        bail!("invalid {what}: blockIO.weightDevice[{i}].weight: {w} (10 to 1000)");
                    }
                }
            }
            for (name, list) in b.throttles() {
                for (i, d) in list.iter().enumerate() {
                    check_dev(what, &format!("blockIO.{name}[{i}]"), d.major, d.minor)?;
                }
            }
        }
        for (i, h) in self.hugepage_limits.iter().enumerate() {
            if parse_page_size(&h.page_size).is_none() {
                bail!(
                    "invalid {what}: hugepageLimits[{i}].pageSize: {:?} (like \"2MB\" or \"1GB\")",
                    h.page_size
                );
            }
        }
        for (i, d) in self.devices.iter().enumerate() {
            check_device_rule(what, i, d)?;
        }
        for k in self.unified.keys() {
            if k.contains('/') || k.starts_with('.') || !k.contains('.') {
                bail!("invalid {what}: unified: {k:?} is not a cgroup2 interface file name");
            }
        }
        Ok(())
    }
}

impl BlockIo {
    /// The four throttle lists with their spec names.
    pub fn throttles(&self) -> [(&'static str, &Vec<ThrottleDevice>); 4] {
        [
            ("throttleReadBpsDevice", &self.throttle_read_bps_device),
            ("throttleWriteBpsDevice", &self.throttle_write_bps_device),
            ("throttleReadIOPSDevice", &self.throttle_read_iops_device),
            ("throttleWriteIOPSDevice", &self.throttle_write_iops_device),
        ]
    }
}

fn check_dev(what: &str, field: &str, major: i64, minor: i64) -> Result<()> {
    if major < 0 || minor < 0 {
        bail!("invalid {what}: {field}: device {major}:{minor} (major and minor are not negative)");
    }
    Ok(())
}

/// A cpuset list: "0-3,8,10-11".
fn check_cpuset(what: &str, field: &str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Ok(());
    }
    for part in s.split(',') {
        let ok = match part.split_once('-') {
            Some((a, b)) => {
                matches!((a.trim().parse::<u32>(), b.trim().parse::<u32>()), (Ok(a), Ok(b)) if a <= b)
            }
            None => part.trim().parse::<u32>().is_ok(),
        };
        if !ok {
            bail!("invalid {what}: {field}: {s:?} is not a list like \"0-3,8\"");
        }
    }
    Ok(())
}

/// The CPUs (or nodes) of a cpuset list.
pub fn cpuset_members(s: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.trim().parse::<u32>().ok()),
        }
    }
    out
}

fn check_device_rule(what: &str, i: usize, d: &DeviceRule) -> Result<()> {
    let field = format!("devices[{i}]");
    match d.kind.as_deref() {
        None | Some("a" | "b" | "c") => {}
        Some(k) => bail!("invalid {what}: {field}.type: {k:?} (a, b or c)"),
    }
    for (name, v) in [("major", d.major), ("minor", d.minor)] {
        if let Some(n) = v {
            if n < -1 {
                bail!("invalid {what}: {field}.{name}: {n} (-1 or absent for any)");
            }
        }
    }
    if let Some(a) = &d.access {
        if a.is_empty() || !a.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
            bail!("invalid {what}: {field}.access: {a:?} (letters of \"rwm\")");
        }
    }
    Ok(())
}

/// "2MB" → 2 MiB, "1GB" → 1 GiB, "64KB" → 64 KiB (the kernel's hugetlb names).
pub fn parse_page_size(s: &str) -> Option<u64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    let mult = match unit {
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        _ => return None,
    };
    Some(n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn docker_style_zeros_parse() {
        let r = parse(
            &json!({"memory": {"limit": 0, "swap": 0}, "cpu": {"shares": 0, "quota": 0, "period": 0}, "pids": {"limit": 0},
                    "blockIO": {"weight": 0}, "devices": [{"allow": false, "access": "rwm"}]}),
            "linux.resources",
        )
        .unwrap();
        assert_eq!(r.memory.unwrap().limit, Some(0));
        assert_eq!(r.devices.len(), 1);
    }

    #[test]
    fn impossible_values_are_named() {
        for (v, field) in [
            (json!({"memory": {"limit": -5}}), "memory.limit"),
            (json!({"memory": {"swappiness": 101}}), "memory.swappiness"),
            (
                json!({"memory": {"limit": 100000000, "swap": 1000}}),
                "memory.swap",
            ),
            (json!({"cpu": {"shares": 1}}), "cpu.shares"),
            (json!({"cpu": {"cpus": "0-x"}}), "cpu.cpus"),
            (json!({"cpu": {"period": 10}}), "cpu.period"),
            (json!({"pids": {"limit": -7}}), "pids.limit"),
            (json!({"blockIO": {"weight": 5}}), "blockIO.weight"),
            (
                json!({"devices": [{"allow": true, "type": "x"}]}),
                "devices[0].type",
            ),
            (
                json!({"devices": [{"allow": true, "access": "rwx"}]}),
                "devices[0].access",
            ),
            (
                json!({"hugepageLimits": [{"pageSize": "2XB", "limit": 1}]}),
                "hugepageLimits[0].pageSize",
            ),
            (json!({"unified": {"../x": "1"}}), "unified"),
            (json!({"memory": {"limit": "lots"}}), "memory.limit"),
        ] {
            let e = format!("{:#}", parse(&v, "linux.resources").unwrap_err());
            assert!(e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn cpusets_and_page_sizes() {
        assert_eq!(cpuset_members("0-2,5"), [0, 1, 2, 5]);
        assert_eq!(parse_page_size("2MB"), Some(2 << 20));
        assert_eq!(parse_page_size("1GB"), Some(1 << 30));
        assert_eq!(parse_page_size("2mb"), None);
    }
}
