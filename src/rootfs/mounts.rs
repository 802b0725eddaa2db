//! Mount entries of config.json turned into what mount(2) and
//! mount_setattr(2) take: flags, propagation, recursive attributes and the
//! filesystem-specific data string.

use crate::spec::Mount;
use anyhow::{bail, Result};
use nix::mount::MsFlags;
use std::path::{Path, PathBuf};

/// What kind of mount an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A bind mount of a host path (absolute, or relative to the bundle).
    Bind { source: PathBuf, recursive: bool },
    /// The container's cgroups, laid out by the cgroup driver.
    Cgroup,
    /// Any other filesystem: mount(source, dest, fstype, flags, data).
    Fs { fstype: String, source: String },
}

/// mount_setattr(2) attributes applied to a whole mount tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecAttr {
    pub set: u64,
    pub clr: u64,
}

impl RecAttr {
    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clr == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The index in config.json's mounts, for error messages.
    pub index: usize,
    pub dest: String,
    pub kind: Kind,
    /// Flags for mount(2), without MS_BIND/MS_REC (they live in `kind`).
    pub flags: MsFlags,
    /// Flags an option turned off explicitly ("rw", "suid", "exec"...).
    pub cleared: MsFlags,
    /// A propagation change made after the mount (MS_SHARED... maybe | MS_REC).
    pub propagation: Option<MsFlags>,
    pub rec_attr: RecAttr,
    /// Unknown options, passed to the filesystem as its data string.
    pub data: String,
    /// An idmapped bind mount: the mapping, and whether the whole tree is
    /// mapped ("ridmap"). Empty maps mean the container's own.
    pub idmap: Option<Idmap>,
    /// tmpcopyup: the files under the mount point copied into the tmpfs.
    pub copy_up: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idmap {
    pub recursive: bool,
    pub uid: Vec<crate::spec::IdMapping>,
    pub gid: Vec<crate::spec::IdMapping>,
}

impl Entry {
    /// The per-mount attributes a bind mount's options set and clear, for
    /// mount_setattr(2) on the new mount: what the options name changes,
    /// the rest stays as the source had it.
    pub fn bind_attrs(&self) -> RecAttr {
        let mut a = RecAttr::default();
        for (flag, attr) in [
            (MsFlags::MS_RDONLY, MOUNT_ATTR_RDONLY),
            (MsFlags::MS_NOSUID, MOUNT_ATTR_NOSUID),
            (MsFlags::MS_NODEV, MOUNT_ATTR_NODEV),
            (MsFlags::MS_NOEXEC, MOUNT_ATTR_NOEXEC),
            (MsFlags::MS_NODIRATIME, MOUNT_ATTR_NODIRATIME),
            (MsFlags::from_bits_retain(256), MOUNT_ATTR_NOSYMFOLLOW),
        ] {
            if self.flags.contains(flag) {
                a.set |= attr;
            } else if self.cleared.contains(flag) {
                a.clr |= attr;
            }
        }
        let atime = if self.flags.contains(MsFlags::MS_NOATIME) {
            Some(MOUNT_ATTR_NOATIME)
        } else if self.flags.contains(MsFlags::MS_STRICTATIME) {
            Some(MOUNT_ATTR_STRICTATIME)
        } else if self.flags.contains(MsFlags::MS_RELATIME)
            || self
                .cleared
                .intersects(MsFlags::MS_NOATIME | MsFlags::MS_STRICTATIME | MsFlags::MS_RELATIME)
        {
            Some(MOUNT_ATTR_RELATIME)
        } else {
            None
        };
        if let Some(v) = atime {
            a.clr |= MOUNT_ATTR_ATIME;
            a.set |= v;
        }
        a
    }
}

// mount_setattr attribute bits, linux/mount.h.
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR_ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

/// Options that set (true) or clear (false) a mount flag.
const FLAGS: &[(&str, bool, MsFlags)] = &[
    ("async", false, MsFlags::MS_SYNCHRONOUS),
    ("atime", false, MsFlags::MS_NOATIME),
    ("defaults", true, MsFlags::empty()),
    ("dev", false, MsFlags::MS_NODEV),
    ("diratime", false, MsFlags::MS_NODIRATIME),
    ("dirsync", true, MsFlags::MS_DIRSYNC),
    ("exec", false, MsFlags::MS_NOEXEC),
    ("iversion", true, MsFlags::MS_I_VERSION),
    ("lazytime", true, MsFlags::MS_LAZYTIME),
    ("loud", false, MsFlags::MS_SILENT),
    ("mand", true, MsFlags::MS_MANDLOCK),
    ("noatime", true, MsFlags::MS_NOATIME),
    ("nodev", true, MsFlags::MS_NODEV),
    ("nodiratime", true, MsFlags::MS_NODIRATIME),
    ("noexec", true, MsFlags::MS_NOEXEC),
    ("noiversion", false, MsFlags::MS_I_VERSION),
    ("nolazytime", false, MsFlags::MS_LAZYTIME),
    ("nomand", false, MsFlags::MS_MANDLOCK),
    ("norelatime", false, MsFlags::MS_RELATIME),
    ("nostrictatime", false, MsFlags::MS_STRICTATIME),
    ("nosuid", true, MsFlags::MS_NOSUID),
    ("nosymfollow", true, MsFlags::from_bits_retain(256)), // MS_NOSYMFOLLOW, 5.10
    ("relatime", true, MsFlags::MS_RELATIME),
    ("remount", true, MsFlags::MS_REMOUNT),
    ("ro", true, MsFlags::MS_RDONLY),
    ("rw", false, MsFlags::MS_RDONLY),
    ("silent", true, MsFlags::MS_SILENT),
    ("strictatime", true, MsFlags::MS_STRICTATIME),
    ("suid", false, MsFlags::MS_NOSUID),
    ("sync", true, MsFlags::MS_SYNCHRONOUS),
];

const PROPAGATION: &[(&str, MsFlags)] = &[
    ("private", MsFlags::MS_PRIVATE),
    ("rprivate", MsFlags::MS_PRIVATE.union(MsFlags::MS_REC)),
    ("shared", MsFlags::MS_SHARED),
    ("rshared", MsFlags::MS_SHARED.union(MsFlags::MS_REC)),
    ("slave", MsFlags::MS_SLAVE),
    ("rslave", MsFlags::MS_SLAVE.union(MsFlags::MS_REC)),
    ("unbindable", MsFlags::MS_UNBINDABLE),
    ("runbindable", MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
];

/// Recursive attributes (runtime-spec 1.1 "r" options): (name, set?, attr).
const REC_ATTRS: &[(&str, bool, u64)] = &[
    ("rro", true, MOUNT_ATTR_RDONLY),
    ("rrw", false, MOUNT_ATTR_RDONLY),
    ("rnosuid", true, MOUNT_ATTR_NOSUID),
    ("rsuid", false, MOUNT_ATTR_NOSUID),
    ("rnodev", true, MOUNT_ATTR_NODEV),
    ("rdev", false, MOUNT_ATTR_NODEV),
    ("rnoexec", true, MOUNT_ATTR_NOEXEC),
    ("rexec", false, MOUNT_ATTR_NOEXEC),
    ("rnodiratime", true, MOUNT_ATTR_NODIRATIME),
    ("rdiratime", false, MOUNT_ATTR_NODIRATIME),
    ("rnosymfollow", true, MOUNT_ATTR_NOSYMFOLLOW),
    ("rsymfollow", false, MOUNT_ATTR_NOSYMFOLLOW),
];

/// Parses the propagation option names used by rootfsPropagation too.
pub fn propagation(name: &str) -> Option<MsFlags> {
    PROPAGATION
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// Turns one config.json mount into an entry. `bundle` anchors relative
/// bind sources.
pub fn parse(index: usize, m: &Mount, bundle: &Path) -> Result<Entry> {
    let field = format!("mounts[{index}]");
    if m.destination.split('/').any(|c| c == "..") {
        bail!(
            "invalid config: {field}.destination: {:?} contains \"..\"",
            m.destination
        );
    }
    check_proc_destination(&field, &m.destination)?;
    let mut flags = MsFlags::empty();
    let mut cleared = MsFlags::empty();
    let mut bind = None;
    let mut propagation_flags = None;
    let mut rec_attr = RecAttr::default();
    let mut data = Vec::new();
    let mut idmap_opt = None;
    let mut copy_up = false;
    for opt in &m.options {
        let o = opt.as_str();
        if o == "bind" || o == "rbind" {
            bind = Some(o == "rbind");
        } else if let Some((_, set, f)) = FLAGS.iter().find(|(n, _, _)| *n == o) {
            if *set {
                flags |= *f;
                cleared &= !*f;
            } else {
                flags &= !*f;
                cleared |= *f;
            }
        } else if let Some((_, f)) = PROPAGATION.iter().find(|(n, _)| *n == o) {
            propagation_flags = Some(*f);
        } else if let Some((_, set, a)) = REC_ATTRS.iter().find(|(n, _, _)| *n == o) {
            if *set {
                rec_attr.set |= a;
                rec_attr.clr &= !a;
            } else {
                rec_attr.clr |= a;
                rec_attr.set &= !a;
            }
        } else if let Some(a) = rec_atime(o) {
            rec_attr.clr |= MOUNT_ATTR_ATIME;
            rec_attr.set = (rec_attr.set & !MOUNT_ATTR_ATIME) | a;
        } else if o == "idmap" || o == "ridmap" {
            idmap_opt = Some(o == "ridmap");
        } else if o == "tmpcopyup" {
            copy_up = true;
        } else {
            data.push(o);
        }
    }
    let fstype = m.kind.clone().unwrap_or_default();
    if copy_up && (fstype != "tmpfs" || bind.is_some()) {
        bail!("invalid config: {field}.options: tmpcopyup needs a tmpfs mount (type {fstype:?})");
    }
    let kind = if bind.is_some() || fstype == "bind" {
        let src = m.source.as_deref().unwrap_or_default();
        if src.is_empty() {
            bail!("invalid config: {field}.source: a bind mount needs a source");
        }
        let source = bundle.join(src);
        if let Err(e) = std::fs::metadata(&source) {
            bail!("invalid config: {field}.source: {}: {e}", source.display());
        }
        Kind::Bind {
            source,
            recursive: bind.unwrap_or(false),
        }
    } else if fstype == "cgroup" || fstype == "cgroup2" {
        Kind::Cgroup
    } else {
        if fstype.is_empty() || fstype == "none" {
            bail!("invalid config: {field}.type: missing (and the options ask for no bind mount)");
        }
        Kind::Fs {
            fstype,
            source: m.source.clone().unwrap_or_else(|| "none".into()),
        }
    };
    let mapped = !m.uid_mappings.is_empty() || !m.gid_mappings.is_empty();
    let idmap = if mapped || idmap_opt.is_some() {
        if !matches!(kind, Kind::Bind { .. }) {
            bail!("invalid config: {field}: only bind mounts can be idmapped");
        }
        if mapped && (m.uid_mappings.is_empty() || m.gid_mappings.is_empty()) {
            bail!(
                "invalid config: {field}: an idmapped mount needs both uidMappings and gidMappings"
            );
        }
        Some(Idmap {
            recursive: idmap_opt.unwrap_or(false),
            uid: m.uid_mappings.clone(),
            gid: m.gid_mappings.clone(),
        })
    } else {
        None
    };
    Ok(Entry {
        index,
        dest: m.destination.clone(),
        kind,
        flags,
        cleared,
        propagation: propagation_flags,
        rec_attr,
        data: data.join(","),
        idmap,
        copy_up,
    })
}

/// The files under /proc a mount may cover (runc's list, for lxcfs and
/// the like). Anything else there could take over what the kernel exposes
/// (/proc/self, /proc/sys...) and redirect the runtime (CVE-2025-52881).
const PROC_FILES: [&str; 10] = [
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

fn check_proc_destination(field: &str, dest: &str) -> Result<()> {
    let d = dest.trim_end_matches('/');
    if d.starts_with("/proc/") && !PROC_FILES.contains(&d) {
        bail!("invalid config: {field}.destination: {dest:?} is inside /proc, where only {} may be mounted over", PROC_FILES.join(", "));
    }
    Ok(())
}

/// The recursive atime options and the atime mode each sets ("ratime"
/// only lifts noatime, leaving the kernel's default, relatime).
const REC_ATIME: [(&str, u64); 6] = [
    ("ratime", MOUNT_ATTR_RELATIME),
    ("rrelatime", MOUNT_ATTR_RELATIME),
    ("rnostrictatime", MOUNT_ATTR_RELATIME),
    ("rnoatime", MOUNT_ATTR_NOATIME),
    ("rstrictatime", MOUNT_ATTR_STRICTATIME),
    ("rnorelatime", MOUNT_ATTR_STRICTATIME),
];

fn rec_atime(o: &str) -> Option<u64> {
    REC_ATIME.iter().find(|(n, _)| *n == o).map(|(_, a)| *a)
}

/// Every mount option berth acts on itself (others go to the filesystem
/// as data), for `berth features`: from the tables `parse` uses.
pub fn option_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = ["bind", "rbind", "idmap", "ridmap", "tmpcopyup"].to_vec();
    v.extend(FLAGS.iter().map(|(n, _, _)| *n));
    v.extend(PROPAGATION.iter().map(|(n, _)| *n));
    v.extend(REC_ATTRS.iter().map(|(n, _, _)| *n));
    v.extend(REC_ATIME.iter().map(|(n, _)| *n));
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(dest: &str, kind: &str, src: &str, opts: &[&str]) -> Mount {
        Mount {
            destination: dest.into(),
            kind: Some(kind.into()),
            source: Some(src.into()),
            options: opts.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn flags_and_data_split() {
        let e = parse(
            0,
            &m(
                "/dev",
                "tmpfs",
                "tmpfs",
                &["nosuid", "strictatime", "mode=755", "size=65536k"],
            ),
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(e.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(e.data, "mode=755,size=65536k");
        assert_eq!(
            e.kind,
            Kind::Fs {
                fstype: "tmpfs".into(),
                source: "tmpfs".into()
            }
        );
    }

    #[test]
    fn later_options_win() {
        let e = parse(
            0,
            &m("/x", "tmpfs", "tmpfs", &["ro", "rw", "nosuid", "suid"]),
            Path::new("/"),
        )
        .unwrap();
        assert!(e.flags.is_empty());
    }

    #[test]
    fn bind_mounts_resolve_against_the_bundle() {
        let e = parse(
            0,
            &m("/x", "none", "tmp", &["rbind", "ro", "rprivate"]),
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(
            e.kind,
            Kind::Bind {
                source: "/tmp".into(),
                recursive: true
            }
        );
        assert_eq!(e.propagation, Some(MsFlags::MS_PRIVATE | MsFlags::MS_REC));
        assert_eq!(
            e.bind_attrs(),
            RecAttr {
                set: MOUNT_ATTR_RDONLY,
                clr: 0
            }
        );
    }

    #[test]
    fn bind_attrs_set_what_is_named_and_clear_what_is_turned_off() {
        let e = parse(
            0,
            &m(
                "/x",
                "bind",
                "/",
                &["bind", "nosuid", "rw", "exec", "noatime"],
            ),
            Path::new("/"),
        )
        .unwrap();
        let a = e.bind_attrs();
        assert_eq!(a.set, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
        assert_eq!(
            a.clr,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_ATIME
        );
        let e = parse(0, &m("/x", "bind", "/", &["bind"]), Path::new("/")).unwrap();
        assert!(e.bind_attrs().is_empty());
    }

    #[test]
    fn bad_mounts_are_named() {
        let e = parse(
            3,
            &m("/x", "none", "/does/not/exist", &["bind"]),
            Path::new("/"),
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("mounts[3].source"), "{e:#}");
        let e = parse(1, &m("/../etc", "tmpfs", "tmpfs", &[]), Path::new("/")).unwrap_err();
        assert!(format!("{e:#}").contains("mounts[1].destination"));
    }

    #[test]
    fn only_lxcfs_files_may_cover_proc() {
        assert!(parse(
            0,
            &m("/proc/meminfo", "bind", "/", &["bind"]),
            Path::new("/")
        )
        .is_ok());
        for d in [
            "/proc/self",
            "/proc/sys/net",
            "/proc/1/fd",
            "/proc/sysrq-trigger",
        ] {
            let e = parse(0, &m(d, "bind", "/", &["bind"]), Path::new("/")).unwrap_err();
            assert!(format!("{e:#}").contains("inside /proc"), "{d}");
        }
    }

    #[test]
    fn recursive_attributes() {
        let e = parse(
            0,
            &m("/x", "bind", "/", &["rbind", "rro", "rnosuid", "rnoatime"]),
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(
            e.rec_attr.set,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME
        );
        assert_eq!(e.rec_attr.clr, MOUNT_ATTR_ATIME);
    }
}
