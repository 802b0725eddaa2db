//! Process attributes of the spec applied by init: linux.personality,
//! process.ioPriority, process.scheduler and linux.memoryPolicy. Parsed
//! and checked before the clone; applied while init is still privileged
//! (personality just before exec).

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Clone)]
pub struct Attrs {
    pub personality: Option<libc::c_ulong>,
    /// The ioprio value: class << 13 | priority.
    pub io_priority: Option<i32>,
    pub scheduler: Option<SchedAttr>,
    /// mode | flags, and the node mask.
    pub memory_policy: Option<(i32, Vec<libc::c_ulong>)>,
}

/// `struct sched_attr` of sched_setattr(2).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

fn typed<'a, T: Deserialize<'a>>(v: &'a Value, field: &str) -> Result<T> {
    T::deserialize(v).map_err(|e| anyhow::anyhow!("invalid config: {field}: {e}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Personality {
    domain: String,
    #[serde(default)]
    flags: Vec<String>,
}

#[derive(Deserialize)]
struct IoPriority {
    class: String,
    #[serde(default)]
    priority: i32,
}

#[derive(Deserialize)]
struct Scheduler {
    policy: String,
    #[serde(default)]
    nice: i32,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    runtime: u64,
    #[serde(default)]
    deadline: u64,
    #[serde(default)]
    period: u64,
}

#[derive(Deserialize)]
struct MemoryPolicy {
    mode: String,
    #[serde(default)]
    nodes: String,
    #[serde(default)]
    flags: Vec<String>,
}

fn personality(v: &Value) -> Result<libc::c_ulong> {
    let p: Personality = typed(v, "linux.personality")?;
    let mut n: libc::c_ulong = match p.domain.as_str() {
        "LINUX" => 0x0000,
        "LINUX32" => 0x0008,
        d => bail!("invalid config: linux.personality.domain: {d:?} (LINUX or LINUX32)"),
    };
    for f in &p.flags {
        n |= match f.as_str() {
            "UNAME26" => 0x0020000,
            "ADDR_NO_RANDOMIZE" => 0x0040000,
            "FDPIC_FUNCPTRS" => 0x0080000,
            "MMAP_PAGE_ZERO" => 0x0100000,
            "ADDR_COMPAT_LAYOUT" => 0x0200000,
            "READ_IMPLIES_EXEC" => 0x0400000,
            "ADDR_LIMIT_32BIT" => 0x0800000,
            "SHORT_INODE" => 0x1000000,
            "WHOLE_SECONDS" => 0x2000000,
            "STICKY_TIMEOUTS" => 0x4000000,
            "ADDR_LIMIT_3GB" => 0x8000000,
            f => bail!("invalid config: linux.personality.flags: unknown flag {f:?}"),
        };
    }
    Ok(n)
}

fn io_priority(v: &Value) -> Result<i32> {
    let p: IoPriority = typed(v, "process.ioPriority")?;
    let class = match p.class.as_str() {
        "IOPRIO_CLASS_RT" => 1,
        "IOPRIO_CLASS_BE" => 2,
        "IOPRIO_CLASS_IDLE" => 3,
        c => {
            bail!("invalid config: process.ioPriority.class: {c:?} (IOPRIO_CLASS_RT, _BE or _IDLE)")
        }
    };
    if !(0..=7).contains(&p.priority) {
        bail!(
            "invalid config: process.ioPriority.priority: {} (0 to 7)",
            p.priority
        );
    }
    Ok(class << 13 | p.priority)
}

fn scheduler(v: &Value) -> Result<SchedAttr> {
    let s: Scheduler = typed(v, "process.scheduler")?;
    let policy = match s.policy.as_str() {
        "SCHED_OTHER" => 0,
        "SCHED_FIFO" => 1,
        "SCHED_RR" => 2,
        "SCHED_BATCH" => 3,
        "SCHED_ISO" => 4,
        "SCHED_IDLE" => 5,
        "SCHED_DEADLINE" => 6,
        p => bail!("invalid config: process.scheduler.policy: unknown policy {p:?}"),
    };
    let mut flags = 0u64;
    for f in &s.flags {
        flags |= match f.as_str() {
            "SCHED_FLAG_RESET_ON_FORK" => 0x01,
            "SCHED_FLAG_RECLAIM" => 0x02,
            "SCHED_FLAG_DL_OVERRUN" => 0x04,
            "SCHED_FLAG_KEEP_POLICY" => 0x08,
            "SCHED_FLAG_KEEP_PARAMS" => 0x10,
            "SCHED_FLAG_UTIL_CLAMP_MIN" => 0x20,
            "SCHED_FLAG_UTIL_CLAMP_MAX" => 0x40,
            f => bail!("invalid config: process.scheduler.flags: unknown flag {f:?}"),
        };
    }
    if !(-20..=19).contains(&s.nice) {
        bail!(
            "invalid config: process.scheduler.nice: {} (-20 to 19)",
            s.nice
        );
    }
    let realtime = policy == 1 || policy == 2;
    if realtime && !(1..=99).contains(&s.priority) || !realtime && s.priority != 0 {
        bail!(
            "invalid config: process.scheduler.priority: {} ({})",
            s.priority,
            if realtime {
                "1 to 99 for SCHED_FIFO and SCHED_RR"
            } else {
                "0 but for SCHED_FIFO and SCHED_RR"
            }
        );
    }
    if policy == 6 && (s.runtime == 0 || s.deadline == 0) {
        bail!("invalid config: process.scheduler: SCHED_DEADLINE needs runtime and deadline");
    }
    Ok(SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice: s.nice,
        priority: s.priority as u32,
        runtime: s.runtime,
        deadline: s.deadline,
        period: s.period,
    })
}

fn memory_policy(v: &Value) -> Result<(i32, Vec<libc::c_ulong>)> {
    let m: MemoryPolicy = typed(v, "linux.memoryPolicy")?;
    let mut mode = match m.mode.as_str() {
        "MPOL_DEFAULT" => 0,
        "MPOL_PREFERRED" => 1,
        "MPOL_BIND" => 2,
        "MPOL_INTERLEAVE" => 3,
        "MPOL_LOCAL" => 4,
        "MPOL_PREFERRED_MANY" => 5,
        "MPOL_WEIGHTED_INTERLEAVE" => 6,
        x => bail!("invalid config: linux.memoryPolicy.mode: unknown mode {x:?}"),
    };
    for f in &m.flags {
        mode |= match f.as_str() {
            "MPOL_F_NUMA_BALANCING" => 1 << 13,
            "MPOL_F_RELATIVE_NODES" => 1 << 14,
            "MPOL_F_STATIC_NODES" => 1 << 15,
            f => bail!("invalid config: linux.memoryPolicy.flags: unknown flag {f:?}"),
        };
    }
    let nodes = crate::cgroups::resources::cpuset_members(&m.nodes);
    let online =
        crate::sys::read_file("/sys/devices/system/node/online").unwrap_or_else(|_| "0".into());
    let online = crate::cgroups::resources::cpuset_members(&online);
    if let Some(n) = nodes.iter().find(|n| !online.contains(n)) {
        bail!(
            "linux.memoryPolicy.nodes: node {n} of {:?} is not online on this host",
            m.nodes
        );
    }
    let bits = libc::c_ulong::BITS;
    let mut mask =
        vec![0 as libc::c_ulong; (nodes.iter().max().copied().unwrap_or(0) / bits + 1) as usize];
    for n in nodes {
        mask[(n / bits) as usize] |= 1 << (n % bits);
    }
    Ok((mode, mask))
}

/// Parses the attributes of a config, checking every value.
pub fn parse(spec: &crate::spec::Spec) -> Result<Attrs> {
    let p = spec.process.as_ref();
    let l = spec.linux.as_ref();
    if let Some(rdt) = l.and_then(|l| l.intel_rdt.as_ref()) {
        let mounted =
            crate::sys::read_file("/proc/self/mountinfo").is_ok_and(|m| m.contains(" - resctrl "));
        if !mounted && !rdt.is_null() {
            bail!("linux.intelRdt: this host has no resctrl filesystem (Intel RDT off, or /sys/fs/resctrl not mounted)");
        }
        if !rdt.is_null() {
            bail!("linux.intelRdt: not supported by this version of berth");
        }
    }
    Ok(Attrs {
        personality: l
            .and_then(|l| l.personality.as_ref())
            .map(personality)
            .transpose()?,
        io_priority: p
            .and_then(|p| p.io_priority.as_ref())
            .map(io_priority)
            .transpose()?,
        scheduler: p
            .and_then(|p| p.scheduler.as_ref())
            .map(scheduler)
            .transpose()?,
        memory_policy: l
            .and_then(|l| l.memory_policy.as_ref())
            .map(memory_policy)
            .transpose()?,
    })
}

/// Applies what init sets while privileged: I/O priority, scheduler,
/// memory policy.
pub fn apply_privileged(a: &Attrs) -> Result<()> {
    if let Some(prio) = a.io_priority {
        const IOPRIO_WHO_PROCESS: libc::c_int = 1;
        // SAFETY: ioprio_set takes plain integers.
        let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) };
        nix::errno::Errno::result(r).context("process.ioPriority: ioprio_set")?;
    }
    if let Some(mut attr) = a.scheduler {
        // SAFETY: a sched_attr of the size it says, for the calling thread.
        let r =
            unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &mut attr as *mut SchedAttr, 0) };
        nix::errno::Errno::result(r).context("process.scheduler: sched_setattr")?;
    }
    if let Some((mode, mask)) = &a.memory_policy {
        let maxnode = mask.len() as u64 * u64::from(libc::c_ulong::BITS) + 1;
        let ptr = if mode & 0xff == 0 || mode & 0xff == 4 {
            std::ptr::null()
        } else {
            mask.as_ptr()
        };
        // SAFETY: a node mask of `maxnode` bits (or null for modes without nodes).
        let r = unsafe {
            libc::syscall(
                libc::SYS_set_mempolicy,
                *mode,
                ptr,
                if ptr.is_null() { 0 } else { maxnode },
            )
        };
        nix::errno::Errno::result(r).context("linux.memoryPolicy: set_mempolicy")?;
    }
    Ok(())
}

/// Sets the personality, just before exec.
pub fn apply_personality(a: &Attrs) -> Result<()> {
    if let Some(p) = a.personality {
        // SAFETY: personality(2) takes a plain integer.
        let r = unsafe { libc::personality(p) };
        if r == -1 {
            return Err(nix::errno::Errno::last()).context("linux.personality: personality");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_parse_and_bad_ones_are_named() {
        assert_eq!(personality(&json!({"domain": "LINUX32"})).unwrap(), 8);
        assert_eq!(
            personality(&json!({"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]})).unwrap(),
            0x40000
        );
        assert!(format!(
            "{:#}",
            personality(&json!({"domain": "PER_X"})).unwrap_err()
        )
        .contains("linux.personality.domain"));
        assert_eq!(
            io_priority(&json!({"class": "IOPRIO_CLASS_BE", "priority": 5})).unwrap(),
            2 << 13 | 5
        );
        assert!(format!(
            "{:#}",
            io_priority(&json!({"class": "IOPRIO_CLASS_BE", "priority": 9})).unwrap_err()
        )
        .contains("priority"));
        let s = scheduler(&json!({"policy": "SCHED_BATCH", "nice": 5})).unwrap();
        assert_eq!((s.policy, s.nice), (3, 5));
        assert!(scheduler(&json!({"policy": "SCHED_FIFO"})).is_err());
        assert!(scheduler(&json!({"policy": "SCHED_NOPE"})).is_err());
        let (mode, mask) = memory_policy(&json!({"mode": "MPOL_BIND", "nodes": "0"})).unwrap();
        assert_eq!((mode, mask), (2, vec![1]));
        assert!(memory_policy(&json!({"mode": "MPOL_BIND", "nodes": "63"})).is_err());
    }
}
