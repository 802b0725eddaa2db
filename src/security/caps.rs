//! process.capabilities: the five sets, parsed against berth's table and
//! applied in the order the kernel allows (capabilities(7)).

use anyhow::{bail, Context, Result};

/// Capability names and numbers, linux/capability.h.
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A set of capabilities as the kernel's 64-bit mask.
pub type Mask = u64;

/// The capability sets of a process. `None` for a set means "not given":
/// the spec leaves it empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sets {
    pub bounding: Mask,
    pub effective: Mask,
    pub inheritable: Mask,
    pub permitted: Mask,
    pub ambient: Mask,
}

/// Parses the capability lists. Names berth does not know are an error
/// naming the field; names this kernel lacks (above cap_last_cap) are left
/// out and returned, so the caller can warn as runc does.
pub fn parse(
    caps: Option<&crate::spec::Capabilities>,
    last_cap: u32,
) -> Result<(Sets, Vec<String>)> {
    let mut sets = Sets::default();
    let mut missing = Vec::new();
    let Some(caps) = caps else {
        return Ok((sets, missing));
    };
    let lists = [
        ("bounding", &caps.bounding, &mut sets.bounding),
        ("effective", &caps.effective, &mut sets.effective),
        ("inheritable", &caps.inheritable, &mut sets.inheritable),
        ("permitted", &caps.permitted, &mut sets.permitted),
        ("ambient", &caps.ambient, &mut sets.ambient),
    ];
    for (field, list, mask) in lists {
        for name in list.iter().flatten() {
            let Some(n) = number(name) else {
                bail!("invalid config: process.capabilities.{field}: unknown capability {name:?}");
            };
            if n > last_cap {
                if !missing.contains(name) {
                    missing.push(name.clone());
                }
                continue;
            }
            *mask |= 1 << n;
        }
    }
    Ok((sets, missing))
}

/// The number of a capability name, with or without the CAP_ prefix.
pub fn number(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    NAMES.iter().position(|n| *n == full).map(|i| i as u32)
}

/// The highest capability this kernel knows.
pub fn last_cap() -> u32 {
    crate::sys::read_file("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(NAMES.len() as u32 - 1)
}

/// Drops every capability outside `bounding` from the bounding set. Needs
/// CAP_SETPCAP, so it runs before the user switch.
pub fn drop_bounding(bounding: Mask, last_cap: u32) -> Result<()> {
    for n in 0..=last_cap.min(63) {
        if bounding & (1 << n) == 0 {
            // SAFETY: prctl(PR_CAPBSET_DROP, n) takes plain integers.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, n as libc::c_ulong, 0, 0, 0) };
            if r != 0 {
                let e = nix::errno::Errno::last();
                if e != nix::errno::Errno::EINVAL {
                    return Err(e).with_context(|| {
                        format!("drop {} from the bounding set", NAMES[n as usize])
                    });
                }
            }
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Sets the effective, permitted and inheritable sets (capset(2), v3), then
/// raises the ambient set, which must be a subset of permitted and inheritable.
pub fn apply(sets: &Sets, last_cap: u32) -> Result<()> {
    const VERSION_3: u32 = 0x2008_0522;
    let mut hdr = CapHeader {
        version: VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: sets.effective as u32,
            permitted: sets.permitted as u32,
            inheritable: sets.inheritable as u32,
        },
        CapData {
            effective: (sets.effective >> 32) as u32,
            permitted: (sets.permitted >> 32) as u32,
            inheritable: (sets.inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and two data structs of the v3 layout, valid for the call.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    nix::errno::Errno::result(r).context("set capabilities (capset)")?;
    for n in 0..=last_cap.min(63) {
        if sets.ambient & (1 << n) != 0 {
            // SAFETY: prctl(PR_CAP_AMBIENT, RAISE, n) takes plain integers.
            let r = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    n as libc::c_ulong,
                    0,
                    0,
                )
            };
            if r != 0 {
                // runc ignores an ambient capability that is not also
                // permitted and inheritable; so does berth.
                let e = nix::errno::Errno::last();
                if e != nix::errno::Errno::EPERM {
                    return Err(e).with_context(|| format!("raise ambient {}", NAMES[n as usize]));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Capabilities;

    #[test]
    fn names_parse_with_and_without_prefix() {
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("net_admin"), Some(12));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(number("CAP_BOGUS"), None);
    }

    #[test]
    fn sets_become_masks() {
        let c = Capabilities {
            bounding: Some(vec!["CAP_KILL".into(), "CAP_NET_BIND_SERVICE".into()]),
            effective: Some(vec!["CAP_KILL".into()]),
            ..Default::default()
        };
        let (s, missing) = parse(Some(&c), 40).unwrap();
        assert_eq!(s.bounding, (1 << 5) | (1 << 10));
        assert_eq!(s.effective, 1 << 5);
        assert_eq!(s.permitted, 0);
        assert!(missing.is_empty());
    }

    #[test]
    fn unknown_name_is_an_error_and_missing_one_a_warning() {
        let c = Capabilities {
            bounding: Some(vec!["CAP_NOPE".into()]),
            ..Default::default()
        };
        assert!(format!("{:#}", parse(Some(&c), 40).unwrap_err()).contains("bounding"));
        let c = Capabilities {
            bounding: Some(vec!["CAP_BPF".into()]),
            ..Default::default()
        };
        let (s, missing) = parse(Some(&c), 37).unwrap();
        assert_eq!(s.bounding, 0);
        assert_eq!(missing, ["CAP_BPF"]);
    }
}
