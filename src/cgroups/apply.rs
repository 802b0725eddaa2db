//! linux.resources turned into cgroupfs writes, for a v1 controller or the
//! cgroup2 interface, and the writing itself. The translation is pure (unit
//! tested); where each controller lives is decided by the caller.

use super::resources::{DeviceRule, Resources};
use anyhow::{bail, Result};

/// One file write in a controller's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The config field it comes from, for error messages.
    pub field: String,
    pub controller: &'static str,
    pub file: String,
    pub value: String,
}

fn w(
    field: impl Into<String>,
    controller: &'static str,
    file: impl Into<String>,
    value: impl ToString,
) -> Write {
    Write {
        field: field.into(),
        controller,
        file: file.into(),
        value: value.to_string(),
    }
}

/// A limit in cgroupfs: -1 is no limit.
fn limit_v1(n: i64) -> String {
    n.to_string()
}

fn limit_v2(n: i64) -> String {
    if n == -1 {
        "max".into()
    } else {
        n.to_string()
    }
}

/// Set when given and not 0 (0 means "leave it", as Docker sends it).
fn set<T: PartialEq + Default + Copy>(v: Option<T>) -> Option<T> {
    v.filter(|x| *x != T::default())
}

/// The device rules every container gets after its own, as runc adds
/// them: the default devices of the spec, the terminals, and mknod of any
/// node (opening one is still governed by the rules). A default device the
/// config supplies itself in linux.devices (`supplied` paths) is left to
/// the config's rules, as runc leaves it.
pub fn default_device_rules(supplied: &[String]) -> Vec<DeviceRule> {
    let r = |kind: &str, major: i64, minor: i64, access: &str| DeviceRule {
        allow: true,
        kind: Some(kind.into()),
        major: Some(major),
        minor: Some(minor),
        access: Some(access.into()),
    };
    let defaults = [
        (None, r("c", -1, -1, "m")),
        (None, r("b", -1, -1, "m")),
        (Some("/dev/null"), r("c", 1, 3, "rwm")),
        (Some("/dev/random"), r("c", 1, 8, "rwm")),
        (Some("/dev/full"), r("c", 1, 7, "rwm")),
        (Some("/dev/tty"), r("c", 5, 0, "rwm")),
        (Some("/dev/zero"), r("c", 1, 5, "rwm")),
        (Some("/dev/urandom"), r("c", 1, 9, "rwm")),
        (Some("/dev/console"), r("c", 5, 1, "rwm")),
        (None, r("c", 136, -1, "rwm")), // /dev/pts/*
        (None, r("c", 5, 2, "rwm")),    // /dev/ptmx
    ];
    defaults
        .into_iter()
        .filter(|(path, _)| path.is_none_or(|p| !supplied.iter().any(|s| s == p)))
        .map(|(_, rule)| rule)
        .collect()
}

/// The rules a container's cgroup gets: the config's, then the defaults.
pub fn device_rules(rules: &[DeviceRule], supplied: &[String]) -> Vec<DeviceRule> {
    rules
        .iter()
        .cloned()
        .chain(default_device_rules(supplied))
        .collect()
}

/// The v1 devices controller's writes for `rules` (see [`device_rules`]),
/// in order, from the parent's list a new cgroup starts with.
pub fn v1_devices(rules: &[DeviceRule], config_rules: usize) -> Vec<Write> {
    rules
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let file = if d.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            let field = if i < config_rules {
                format!("devices[{i}]")
            } else {
                "devices (berth's defaults)".into()
            };
            w(field, "devices", file, v1_device_rule(d))
        })
        .collect()
}

/// A device rule as the v1 devices controller takes it: "c 1:3 rwm".
pub fn v1_device_rule(d: &DeviceRule) -> String {
    let num = |n: Option<i64>| match n {
        None | Some(-1) => "*".to_string(),
        Some(n) => n.to_string(),
    };
    let kind = d.kind.as_deref().unwrap_or("a");
    if kind == "a" {
        return "a".into();
    }
    format!(
        "{kind} {}:{} {}",
        num(d.major),
        num(d.minor),
        d.access.as_deref().unwrap_or("rwm")
    )
}

/// cpu.idle and the cpuset, alike on v1 and v2.
fn idle_and_cpuset(c: &super::resources::Cpu, out: &mut Vec<Write>) {
    if let Some(i) = c.idle {
        out.push(w("cpu.idle", "cpu", "cpu.idle", i));
    }
    if let Some(s) = c.cpus.as_deref().filter(|s| !s.is_empty()) {
        out.push(w("cpu.cpus", "cpuset", "cpuset.cpus", s));
    }
    if let Some(s) = c.mems.as_deref().filter(|s| !s.is_empty()) {
        out.push(w("cpu.mems", "cpuset", "cpuset.mems", s));
    }
}

/// pids.max, alike on v1 and v2.
fn pids(r: &Resources, out: &mut Vec<Write>) {
    if let Some(p) = r.pids.as_ref().filter(|p| p.limit != 0) {
        out.push(w("pids.limit", "pids", "pids.max", limit_v2(p.limit)));
    }
}

/// The writes for v1 controllers, device rules aside (see [`v1_devices`]).
pub fn v1(r: &Resources) -> Result<Vec<Write>> {
    let mut out = Vec::new();
    if let Some(m) = &r.memory {
        // memsw must stay >= limit at every step: lift it first.
        let swap = set(m.swap);
        if swap.is_some() && set(m.limit).is_some() {
            out.push(w(
                "memory.swap",
                "memory",
                "memory.memsw.limit_in_bytes",
                "-1",
            ));
        }
        if let Some(l) = set(m.limit) {
            out.push(w(
                "memory.limit",
                "memory",
                "memory.limit_in_bytes",
                limit_v1(l),
            ));
        }
        if let Some(s) = swap {
            out.push(w(
                "memory.swap",
                "memory",
                "memory.memsw.limit_in_bytes",
                limit_v1(s),
            ));
        }
        if let Some(r) = set(m.reservation) {
            out.push(w(
                "memory.reservation",
                "memory",
                "memory.soft_limit_in_bytes",
                limit_v1(r),
            ));
        }
        if let Some(s) = m.swappiness {
            out.push(w("memory.swappiness", "memory", "memory.swappiness", s));
        }
        if m.disable_oom_killer == Some(true) {
            out.push(w(
                "memory.disableOOMKiller",
                "memory",
                "memory.oom_control",
                1,
            ));
        }
        if let Some(h) = m.use_hierarchy {
            out.push(w(
                "memory.useHierarchy",
                "memory",
                "memory.use_hierarchy",
                u8::from(h),
            ));
        }
        if let Some(k) = set(m.kernel_tcp) {
            out.push(w(
                "memory.kernelTCP",
                "memory",
                "memory.kmem.tcp.limit_in_bytes",
                limit_v1(k),
            ));
        }
    }
    if let Some(c) = &r.cpu {
        if let Some(s) = set(c.shares) {
            out.push(w("cpu.shares", "cpu", "cpu.shares", s));
        }
        if let Some(p) = set(c.period) {
            out.push(w("cpu.period", "cpu", "cpu.cfs_period_us", p));
        }
        if let Some(q) = set(c.quota) {
            out.push(w("cpu.quota", "cpu", "cpu.cfs_quota_us", q));
        }
        if let Some(b) = c.burst {
            out.push(w("cpu.burst", "cpu", "cpu.cfs_burst_us", b));
        }
        if let Some(p) = set(c.realtime_period) {
            out.push(w("cpu.realtimePeriod", "cpu", "cpu.rt_period_us", p));
        }
        if let Some(r) = set(c.realtime_runtime) {
            out.push(w("cpu.realtimeRuntime", "cpu", "cpu.rt_runtime_us", r));
        }
        idle_and_cpuset(c, &mut out);
    }
    pids(r, &mut out);
    if let Some(b) = &r.block_io {
        if let Some(x) = set(b.weight) {
            out.push(w("blockIO.weight", "blkio", "blkio.weight", x));
        }
        if let Some(x) = set(b.leaf_weight) {
            out.push(w("blockIO.leafWeight", "blkio", "blkio.leaf_weight", x));
        }
        for (i, d) in b.weight_device.iter().enumerate() {
            if let Some(x) = d.weight {
                out.push(w(
                    format!("blockIO.weightDevice[{i}]"),
                    "blkio",
                    "blkio.weight_device",
                    format!("{}:{} {x}", d.major, d.minor),
                ));
            }
            if let Some(x) = d.leaf_weight {
                out.push(w(
                    format!("blockIO.weightDevice[{i}]"),
                    "blkio",
                    "blkio.leaf_weight_device",
                    format!("{}:{} {x}", d.major, d.minor),
                ));
            }
        }
        for ((name, list), file) in b.throttles().into_iter().zip([
            "blkio.throttle.read_bps_device",
            "blkio.throttle.write_bps_device",
            "blkio.throttle.read_iops_device",
            "blkio.throttle.write_iops_device",
        ]) {
            for (i, d) in list.iter().enumerate() {
                out.push(w(
                    format!("blockIO.{name}[{i}]"),
                    "blkio",
                    file,
                    format!("{}:{} {}", d.major, d.minor, d.rate),
                ));
            }
        }
    }
    for (i, h) in r.hugepage_limits.iter().enumerate() {
        out.push(w(
            format!("hugepageLimits[{i}]"),
            "hugetlb",
            format!("hugetlb.{}.limit_in_bytes", h.page_size),
            h.limit,
        ));
    }
    if let Some(n) = &r.network {
        if let Some(c) = n.class_id {
            out.push(w("network.classID", "net_cls", "net_cls.classid", c));
        }
        for (i, p) in n.priorities.iter().enumerate() {
            out.push(w(
                format!("network.priorities[{i}]"),
                "net_prio",
                "net_prio.ifpriomap",
                format!("{} {}", p.name, p.priority),
            ));
        }
    }
    for (dev, l) in &r.rdma {
        out.push(w(
            format!("rdma.{dev}"),
            "rdma",
            "rdma.max",
            rdma_limit(dev, l),
        ));
    }
    if !r.unified.is_empty() {
        bail!("linux.resources.unified: {:?}: unified keys need cgroup v2, and this host's controllers are v1", r.unified.keys().collect::<Vec<_>>());
    }
    Ok(out)
}

fn rdma_limit(dev: &str, l: &super::resources::Rdma) -> String {
    let mut s = dev.to_string();
    if let Some(h) = l.hca_handles {
        s.push_str(&format!(" hca_handle={h}"));
    }
    if let Some(o) = l.hca_objects {
        s.push_str(&format!(" hca_object={o}"));
    }
    s
}

/// cpu.shares (2..262144) to cpu.weight (1..10000), the conversion of the
/// runtime spec's cgroup v2 notes (crun's).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.saturating_sub(2) * 9999) / 262_142
}

/// blkio.weight (10..1000) to io.weight (1..10000).
pub fn blkio_weight_to_io(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10) * 9999) / 990
}

/// The writes for the cgroup2 interface. Device rules become an eBPF
/// program (devices.rs), not writes.
pub fn v2(r: &Resources) -> Result<Vec<Write>> {
    let mut out = Vec::new();
    if let Some(m) = &r.memory {
        if let Some(l) = set(m.limit) {
            out.push(w("memory.limit", "memory", "memory.max", limit_v2(l)));
        }
        if let Some(s) = set(m.swap) {
            // v2 counts swap alone; the spec's swap is memory plus swap.
            let v = match (s, set(m.limit)) {
                (-1, _) => "max".to_string(),
                (s, Some(l)) if l > 0 => (s - l).to_string(),
                (_, Some(-1)) => bail!("linux.resources.memory.swap: {s} with an unlimited memory.limit has no cgroup v2 value"),
                _ => bail!("linux.resources.memory.swap: {s} needs memory.limit on cgroup v2"),
            };
            out.push(w("memory.swap", "memory", "memory.swap.max", v));
        }
        if let Some(r) = set(m.reservation) {
            out.push(w("memory.reservation", "memory", "memory.low", limit_v2(r)));
        }
        if m.swappiness.is_some_and(|s| s != 0) {
            bail!("linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness");
        }
        if m.disable_oom_killer == Some(true) {
            bail!(
                "linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer"
            );
        }
        if set(m.kernel_tcp).is_some() {
            bail!("linux.resources.memory.kernelTCP: cgroup v2 has no separate kernel TCP limit");
        }
    }
    if let Some(c) = &r.cpu {
        if let Some(s) = set(c.shares) {
            out.push(w("cpu.shares", "cpu", "cpu.weight", shares_to_weight(s)));
        }
        let quota = set(c.quota);
        let period = set(c.period);
        if quota.is_some() || period.is_some() {
            let q = match quota {
                Some(q) if q > 0 => q.to_string(),
                _ => "max".into(),
            };
            out.push(w(
                "cpu.quota",
                "cpu",
                "cpu.max",
                format!("{q} {}", period.unwrap_or(100_000)),
            ));
        }
        if let Some(b) = c.burst {
            out.push(w("cpu.burst", "cpu", "cpu.max.burst", b));
        }
        if set(c.realtime_period).is_some() || set(c.realtime_runtime).is_some() {
            bail!("linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no real-time group scheduling");
        }
        idle_and_cpuset(c, &mut out);
    }
    pids(r, &mut out);
    if let Some(b) = &r.block_io {
        if let Some(x) = set(b.weight) {
            out.push(w(
                "blockIO.weight",
                "io",
                "io.weight",
                blkio_weight_to_io(x),
            ));
        }
        if set(b.leaf_weight).is_some() {
            bail!("linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weight");
        }
        for (i, d) in b.weight_device.iter().enumerate() {
            if let Some(x) = d.weight {
                out.push(w(
                    format!("blockIO.weightDevice[{i}]"),
                    "io",
                    "io.weight",
                    format!("{}:{} {}", d.major, d.minor, blkio_weight_to_io(x)),
                ));
            }
        }
        for ((name, list), key) in b
            .throttles()
            .into_iter()
            .zip(["rbps", "wbps", "riops", "wiops"])
        {
            for (i, d) in list.iter().enumerate() {
                let rate = if d.rate == 0 {
                    "max".to_string()
                } else {
                    d.rate.to_string()
                };
                out.push(w(
                    format!("blockIO.{name}[{i}]"),
                    "io",
                    "io.max",
                    format!("{}:{} {key}={rate}", d.major, d.minor),
                ));
            }
        }
    }
    for (i, h) in r.hugepage_limits.iter().enumerate() {
        out.push(w(
            format!("hugepageLimits[{i}]"),
            "hugetlb",
            format!("hugetlb.{}.max", h.page_size),
            h.limit,
        ));
    }
    if let Some(n) = &r.network {
        if n.class_id.is_some() || !n.priorities.is_empty() {
            bail!("linux.resources.network: net_cls and net_prio are cgroup v1 controllers; cgroup v2 has neither");
        }
    }
    for (dev, l) in &r.rdma {
        out.push(w(
            format!("rdma.{dev}"),
            "rdma",
            "rdma.max",
            rdma_limit(dev, l),
        ));
    }
    for (k, v) in &r.unified {
        let controller = controller_of(k);
        out.push(Write {
            field: format!("unified.{k}"),
            controller,
            file: k.clone(),
            value: v.clone(),
        });
    }
    Ok(out)
}

/// The controller an interface file belongs to ("memory.high" → memory);
/// "" for the core cgroup files.
fn controller_of(file: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "cpu", "cpuset", "io", "memory", "hugetlb", "pids", "rdma", "misc", "cgroup",
    ];
    let prefix = file.split('.').next().unwrap_or_default();
    KNOWN
        .iter()
        .find(|k| **k == prefix)
        .map(|k| if *k == "cgroup" { "" } else { *k })
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::resources::parse;
    use serde_json::json;

    fn r(v: serde_json::Value) -> Resources {
        parse(&v, "linux.resources").unwrap()
    }

    fn files(ws: &[Write]) -> Vec<(String, String)> {
        ws.iter()
            .map(|w| (w.file.clone(), w.value.clone()))
            .collect()
    }

    #[test]
    fn zeros_write_nothing() {
        let res = r(
            json!({"memory": {"limit": 0, "swap": 0, "reservation": 0}, "cpu": {"shares": 0, "quota": 0, "period": 0},
                           "pids": {"limit": 0}, "blockIO": {"weight": 0}}),
        );
        assert!(v1(&res).unwrap().is_empty());
        assert!(v2(&res).unwrap().is_empty());
    }

    #[test]
    fn memory_v1_keeps_memsw_above_limit() {
        let res = r(json!({"memory": {"limit": 1048576, "swap": 2097152, "swappiness": 10}}));
        assert_eq!(
            files(&v1(&res).unwrap()),
            [
                ("memory.memsw.limit_in_bytes".into(), "-1".into()),
                ("memory.limit_in_bytes".into(), "1048576".into()),
                ("memory.memsw.limit_in_bytes".into(), "2097152".into()),
                ("memory.swappiness".into(), "10".into())
            ]
        );
    }

    #[test]
    fn memory_v2_swap_is_swap_alone() {
        let res = r(json!({"memory": {"limit": 1048576, "swap": 3145728, "reservation": 524288}}));
        assert_eq!(
            files(&v2(&res).unwrap()),
            [
                ("memory.max".into(), "1048576".into()),
                ("memory.swap.max".into(), "2097152".into()),
                ("memory.low".into(), "524288".into())
            ]
        );
        assert!(v2(&r(json!({"memory": {"swap": 100}}))).is_err());
        assert_eq!(
            files(&v2(&r(json!({"memory": {"limit": -1}}))).unwrap()),
            [("memory.max".into(), "max".into())]
        );
    }

    #[test]
    fn cpu_v2_conversions() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10000);
        let res = r(
            json!({"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "idle": 1}}),
        );
        assert_eq!(
            files(&v2(&res).unwrap()),
            [
                ("cpu.weight".into(), "39".into()),
                ("cpu.max".into(), "50000 100000".into()),
                ("cpu.idle".into(), "1".into()),
                ("cpuset.cpus".into(), "0".into())
            ]
        );
        assert_eq!(
            files(&v2(&r(json!({"cpu": {"quota": -1}}))).unwrap()),
            [("cpu.max".into(), "max 100000".into())]
        );
    }

    #[test]
    fn block_io() {
        assert_eq!(blkio_weight_to_io(10), 1);
        assert_eq!(blkio_weight_to_io(1000), 10000);
        let res = r(
            json!({"blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]}}),
        );
        assert_eq!(
            files(&v1(&res).unwrap()),
            [
                ("blkio.weight".into(), "500".into()),
                (
                    "blkio.throttle.read_bps_device".into(),
                    "8:0 1048576".into()
                )
            ]
        );
        assert_eq!(
            files(&v2(&res).unwrap()),
            [
                ("io.weight".into(), "4950".into()),
                ("io.max".into(), "8:0 rbps=1048576".into())
            ]
        );
    }

    #[test]
    fn v1_devices_follow_the_rules_then_the_defaults() {
        let res = r(
            json!({"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"}]}),
        );
        let ws = v1_devices(&device_rules(&res.devices, &[]), res.devices.len());
        assert_eq!(ws[0].file, "devices.deny");
        assert_eq!(ws[0].value, "a");
        assert_eq!(
            (ws[1].file.as_str(), ws[1].value.as_str()),
            ("devices.allow", "c 10:200 rw")
        );
        assert!(ws.iter().any(|w| w.value == "c 1:3 rwm"));
        assert!(ws.iter().any(|w| w.value == "c 136:* rwm"));
        assert!(ws.iter().any(|w| w.value == "c 1:7 rwm"));
        // A default device the config supplies is governed by its rules only.
        let ws = v1_devices(
            &device_rules(&res.devices, &["/dev/full".into()]),
            res.devices.len(),
        );
        assert!(!ws.iter().any(|w| w.value == "c 1:7 rwm"));
    }

    #[test]
    fn v1_refuses_unified_and_v2_refuses_v1_only_fields() {
        assert!(v1(&r(json!({"unified": {"memory.high": "100000"}}))).is_err());
        assert!(v2(&r(json!({"network": {"classID": 1}}))).is_err());
        assert!(v2(&r(json!({"memory": {"swappiness": 10}}))).is_err());
        let u = v2(&r(
            json!({"unified": {"memory.high": "100000", "cgroup.max.depth": "3"}}),
        ))
        .unwrap();
        assert_eq!(u[0].controller, "");
        assert_eq!(u[1].controller, "memory");
    }
}
