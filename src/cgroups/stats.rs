//! The container's resource usage, read from cgroupfs, in the shape of
//! runc's `events --stats` (its types.Stats JSON names), and OOM kill
//! counts for `events`.

use super::Cgroup;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

fn read(p: impl AsRef<Path>) -> Option<String> {
    crate::sys::read_file(p).ok()
}

fn num(p: impl AsRef<Path>) -> u64 {
    read(p).and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

/// A limit file: "max" or a huge v1 value means none (reported as u64::MAX,
/// as runc does).
fn limit(p: impl AsRef<Path>) -> u64 {
    match read(p) {
        Some(s) if s.trim() == "max" => u64::MAX,
        Some(s) => s.trim().parse().unwrap_or(u64::MAX),
        None => 0,
    }
}

/// "key value" lines (memory.stat, cpu.stat, memory.events...).
fn flat_keyed(p: impl AsRef<Path>) -> Map<String, Value> {
    let mut m = Map::new();
    for l in read(p).unwrap_or_default().lines() {
        if let Some((k, v)) = l.split_once(' ') {
            if let Ok(n) = v.trim().parse::<u64>() {
                m.insert(k.to_string(), json!(n));
            }
        }
    }
    m
}

impl Cgroup {
    /// The directory of the hierarchy holding `controller` and whether it is v2.
    fn dir_of(&self, controller: &str) -> Option<(PathBuf, bool)> {
        if let Some(h) = self
            .hierarchies
            .iter()
            .find(|h| !h.is_v2() && h.controllers.split(',').any(|c| c == controller))
        {
            return Some((h.dir.clone(), false));
        }
        let h = self.hierarchies.iter().find(|h| h.is_v2())?;
        let ctrls = read(h.dir.join("cgroup.controllers")).unwrap_or_default();
        (ctrls.split_whitespace().any(|c| c == controller)
            || controller == "cpu" && h.dir.join("cpu.stat").exists())
        .then(|| (h.dir.clone(), true))
    }

    /// runc's stats: cpu, memory, pids, blkio, hugetlb.
    pub fn stats(&self) -> Value {
        json!({
            "cpu": self.cpu_stats(),
            "memory": self.memory_stats(),
            "pids": self.pids_stats(),
            "blkio": self.blkio_stats(),
            "hugetlb": self.hugetlb_stats(),
        })
    }

    fn cpu_stats(&self) -> Value {
        let mut usage = json!({});
        let mut throttling = json!({});
        if let Some((d, v2)) = self.dir_of("cpuacct").or_else(|| self.dir_of("cpu")) {
            if v2 {
                let s = flat_keyed(d.join("cpu.stat"));
                let us = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0) * 1000;
                usage = json!({"total": us("usage_usec"), "kernel": us("system_usec"), "user": us("user_usec")});
                throttling = json!({"periods": s.get("nr_periods"), "throttledPeriods": s.get("nr_throttled"), "throttledTime": us("throttled_usec")});
            } else {
                let percpu: Vec<u64> = read(d.join("cpuacct.usage_percpu"))
                    .unwrap_or_default()
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                let st = flat_keyed(d.join("cpuacct.stat"));
                // cpuacct.stat counts USER_HZ ticks (100 a second).
                let ticks = |k: &str| st.get(k).and_then(Value::as_u64).unwrap_or(0) * 10_000_000;
                usage = json!({"total": num(d.join("cpuacct.usage")), "percpu": percpu, "kernel": ticks("system"), "user": ticks("user")});
            }
        }
        if let Some((d, false)) = self.dir_of("cpu") {
            let s = flat_keyed(d.join("cpu.stat"));
            throttling = json!({"periods": s.get("nr_periods"), "throttledPeriods": s.get("nr_throttled"), "throttledTime": s.get("throttled_time")});
        }
        json!({"usage": usage, "throttling": throttling})
    }

    fn memory_stats(&self) -> Value {
        let Some((d, v2)) = self.dir_of("memory") else {
            return json!({});
        };
        if v2 {
            let stat = flat_keyed(d.join("memory.stat"));
            json!({
                "cache": stat.get("file"),
                "usage": {"usage": num(d.join("memory.current")), "limit": limit(d.join("memory.max")), "max": num(d.join("memory.peak")),
                          "failcnt": flat_keyed(d.join("memory.events")).get("max")},
                "swap": {"usage": num(d.join("memory.swap.current")), "limit": limit(d.join("memory.swap.max"))},
                "raw": stat,
            })
        } else {
            let entry = |prefix: &str| {
                json!({"usage": num(d.join(format!("{prefix}.usage_in_bytes"))), "max": num(d.join(format!("{prefix}.max_usage_in_bytes"))),
                       "failcnt": num(d.join(format!("{prefix}.failcnt"))), "limit": limit(d.join(format!("{prefix}.limit_in_bytes")))})
            };
            let stat = flat_keyed(d.join("memory.stat"));
            json!({
                "cache": stat.get("cache"),
                "usage": entry("memory"),
                "swap": entry("memory.memsw"),
                "kernel": entry("memory.kmem"),
                "kernelTCP": entry("memory.kmem.tcp"),
                "raw": stat,
            })
        }
    }

    fn pids_stats(&self) -> Value {
        let Some((d, _)) = self.dir_of("pids") else {
            return json!({});
        };
        let l = limit(d.join("pids.max"));
        json!({"current": num(d.join("pids.current")), "limit": if l == u64::MAX { 0 } else { l }})
    }

    fn blkio_stats(&self) -> Value {
        let Some((d, v2)) = self.dir_of(if self.dir_of("blkio").is_some() {
            "blkio"
        } else {
            "io"
        }) else {
            return json!({});
        };
        let mut bytes = Vec::new();
        let mut ios = Vec::new();
        if v2 {
            // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..."
            for l in read(d.join("io.stat")).unwrap_or_default().lines() {
                let mut f = l.split_whitespace();
                let Some((maj, min)) = f.next().and_then(|d| d.split_once(':')) else {
                    continue;
                };
                for kv in f {
                    let Some((k, v)) = kv.split_once('=') else {
                        continue;
                    };
                    let (list, op) = match k {
                        "rbytes" => (&mut bytes, "Read"),
                        "wbytes" => (&mut bytes, "Write"),
                        "rios" => (&mut ios, "Read"),
                        "wios" => (&mut ios, "Write"),
                        _ => continue,
                    };
                    list.push(json!({"major": maj.parse::<u64>().unwrap_or(0), "minor": min.parse::<u64>().unwrap_or(0), "op": op, "value": v.parse::<u64>().unwrap_or(0)}));
                }
            }
        } else {
            for (file, list) in [
                ("blkio.throttle.io_service_bytes_recursive", &mut bytes),
                ("blkio.throttle.io_serviced_recursive", &mut ios),
            ] {
                for l in read(d.join(file)).unwrap_or_default().lines() {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    if let [dev, op, v] = f.as_slice() {
                        if let Some((maj, min)) = dev.split_once(':') {
                            list.push(json!({"major": maj.parse::<u64>().unwrap_or(0), "minor": min.parse::<u64>().unwrap_or(0), "op": op, "value": v.parse::<u64>().unwrap_or(0)}));
                        }
                    }
                }
            }
        }
        json!({"ioServiceBytesRecursive": bytes, "ioServicedRecursive": ios})
    }

    fn hugetlb_stats(&self) -> Value {
        let Some((d, v2)) = self.dir_of("hugetlb") else {
            return json!({});
        };
        let mut out = Map::new();
        let Ok(entries) = std::fs::read_dir(&d) else {
            return json!({});
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let size = if v2 {
                name.strip_prefix("hugetlb.")
                    .and_then(|n| n.strip_suffix(".current"))
            } else {
                name.strip_prefix("hugetlb.")
                    .and_then(|n| n.strip_suffix(".usage_in_bytes"))
            };
            // "2MB.rsvd" files count reservations, not a page size.
            let Some(size) = size.filter(|s| !s.contains('.')) else {
                continue;
            };
            let v = if v2 {
                json!({"usage": num(d.join(format!("hugetlb.{size}.current"))), "failcnt": flat_keyed(d.join(format!("hugetlb.{size}.events"))).get("max")})
            } else {
                json!({"usage": num(d.join(format!("hugetlb.{size}.usage_in_bytes"))), "max": num(d.join(format!("hugetlb.{size}.max_usage_in_bytes"))),
                       "failcnt": num(d.join(format!("hugetlb.{size}.failcnt")))})
            };
            out.insert(size.to_string(), v);
        }
        Value::Object(out)
    }

    /// Memory in use by the container, in bytes.
    pub fn memory_usage(&self) -> u64 {
        match self.dir_of("memory") {
            Some((d, true)) => num(d.join("memory.current")),
            Some((d, false)) => num(d.join("memory.usage_in_bytes")),
            None => 0,
        }
    }

    /// How many processes the OOM killer has killed in the container's cgroup.
    pub fn oom_kills(&self) -> u64 {
        match self.dir_of("memory") {
            Some((d, true)) => flat_keyed(d.join("memory.events"))
                .get("oom_kill")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            Some((d, false)) => flat_keyed(d.join("memory.oom_control"))
                .get("oom_kill")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            None => 0,
        }
    }
}
