//! Writing linux.resources into the container's cgroup: each controller
//! goes to the hierarchy that has it (v1 by name; cgroup2 when it lists
//! the controller), in that hierarchy's format. On cgroup2 the controllers
//! are enabled in every ancestor's cgroup.subtree_control first, and the
//! device rules become an eBPF program.

use super::apply::{self, Write};
use super::resources::Resources;
use super::{devices, Cgroup, Hierarchy};
use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use std::path::Path;

impl Cgroup {
    fn v1_with(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .filter(|h| !h.is_v2())
            .find(|h| h.controllers.split(',').any(|c| c == controller))
    }

    fn v2(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.is_v2())
    }

    /// The controllers the cgroup2 hierarchy offers at its root.
    fn v2_controllers(&self) -> Vec<String> {
        self.v2()
            .and_then(|h| crate::sys::read_file(h.mountpoint.join("cgroup.controllers")).ok())
            .map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_default()
    }

    /// Writes `r` into the container's cgroup. Nothing is written when a
    /// value is refused before any write (the checks of resources.rs and
    /// the translation); a write the kernel refuses stops there and names
    /// the field, the value and the file.
    pub fn apply(&self, r: &Resources) -> Result<()> {
        let has_v1 = self.hierarchies.iter().any(|h| !h.is_v2());
        let v2_ctrls = self.v2_controllers();
        let writes = if !has_v1 {
            apply::v2(r)?
        } else {
            // v1, or hybrid: v1 formats for the v1 controllers; hugetlb and
            // unified keys go to cgroup2 when only it has the controller.
            let mut r1 = r.clone();
            let unified = std::mem::take(&mut r1.unified);
            let mut ws = apply::v1(&r1)?;
            for w in ws.iter_mut() {
                if w.controller == "hugetlb"
                    && self.v1_with("hugetlb").is_none()
                    && v2_ctrls.iter().any(|c| c == "hugetlb")
                {
                    w.file = w.file.replace(".limit_in_bytes", ".max");
                }
            }
            if !unified.is_empty() {
                let only = Resources {
                    unified,
                    ..Default::default()
                };
                for w in apply::v2(&only)? {
                    if self.v1_with(w.controller).is_some() || self.v2().is_none() {
                        bail!("linux.resources.{}: the {} controller is a cgroup v1 one on this host; unified keys need cgroup v2", w.field, w.controller);
                    }
                    ws.push(w);
                }
            }
            ws
        };
        self.check_cpuset(r)?;
        // Where each write goes, all decided before the first is made.
        let mut plan: Vec<(&Write, &Path, bool)> = Vec::new();
        for w in &writes {
            match self.v1_with(w.controller) {
                Some(h) => plan.push((w, &h.dir, false)),
                None => {
                    let Some(h) = self.v2() else {
                        bail!(
                            "linux.resources.{}: the {} controller is not mounted on this host",
                            w.field,
                            w.controller
                        );
                    };
                    if !w.controller.is_empty() && !v2_ctrls.iter().any(|c| c == w.controller) {
                        bail!(
                            "linux.resources.{}: the {} controller is not available on this host",
                            w.field,
                            w.controller
                        );
                    }
                    plan.push((w, &h.dir, !w.controller.is_empty()));
                }
            }
        }
        let mut enabled: Vec<&str> = Vec::new();
        let mut done: Vec<(std::path::PathBuf, String)> = Vec::new();
        for (w, dir, v2) in plan {
            if v2 && !enabled.contains(&w.controller) {
                if let Some(h) = self.v2() {
                    enable_controller(h, w.controller)
                        .with_context(|| format!("linux.resources.{}", w.field))?;
                }
                enabled.push(w.controller);
            }
            if let Err(e) = write(dir, w, &mut done) {
                // Put back what this call changed, as runc does: a refused
                // update leaves the container's limits as they were.
                for (path, old) in done.iter().rev() {
                    let _ = write_existing(path, old);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Writes the device rules: the config's `rules`, then the defaults
    /// (but those of the `supplied` devices). Done once init has made the
    /// device nodes, since a rule may forbid making them.
    pub fn apply_devices(
        &self,
        rules: &[super::resources::DeviceRule],
        supplied: &[String],
    ) -> Result<()> {
        if rules.is_empty() {
            return Ok(());
        }
        let all = apply::device_rules(rules, supplied);
        if let Some(h) = self.v1_with("devices") {
            let mut done = Vec::new();
            for w in apply::v1_devices(&all, rules.len()) {
                write(&h.dir, &w, &mut done)?;
            }
            return Ok(());
        }
        let Some(h) = self.v2() else {
            bail!("linux.resources.devices: no devices controller and no cgroup2 on this host")
        };
        devices::attach(&h.dir, &all).context("linux.resources.devices")
    }

    /// A cpuset must lie inside the host's (the root cgroup's) CPUs and nodes.
    fn check_cpuset(&self, r: &Resources) -> Result<()> {
        let Some(c) = &r.cpu else { return Ok(()) };
        let root = match self.v1_with("cpuset") {
            Some(h) => h.mountpoint.clone(),
            None => match self.v2() {
                Some(h) => h.mountpoint.clone(),
                None => return Ok(()),
            },
        };
        for (field, want, file) in [
            ("cpu.cpus", &c.cpus, "cpuset.cpus.effective"),
            ("cpu.mems", &c.mems, "cpuset.mems.effective"),
        ] {
            let Some(want) = want.as_deref().filter(|s| !s.is_empty()) else {
                continue;
            };
            let host = crate::sys::read_file(root.join(file))
                .or_else(|_| crate::sys::read_file(root.join(file.trim_end_matches(".effective"))))
                .unwrap_or_default();
            let have = super::resources::cpuset_members(&host);
            if let Some(bad) = super::resources::cpuset_members(want)
                .into_iter()
                .find(|n| !have.contains(n))
            {
                bail!(
                    "linux.resources.{field}: {want:?} names {bad}, outside this host's {:?}",
                    host.trim()
                );
            }
        }
        Ok(())
    }
}

/// The ancestors of the container's cgroup2 directory inside the
/// hierarchy, from its root down.
fn ancestors(h: &Hierarchy) -> Vec<&Path> {
    let mut dirs: Vec<&Path> = h
        .dir
        .ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(&h.mountpoint))
        .collect();
    dirs.reverse();
    dirs
}

/// Enables, as runc does, every controller each ancestor of the container's
/// cgroup2 directory offers in its cgroup.subtree_control, so the
/// container's cgroup has them all (for stats, and limits set later). A
/// controller an ancestor refuses is left off.
pub(super) fn enable_all_controllers(h: &Hierarchy) {
    for d in ancestors(h) {
        let avail = crate::sys::read_file(d.join("cgroup.controllers")).unwrap_or_default();
        let on = crate::sys::read_file(d.join("cgroup.subtree_control")).unwrap_or_default();
        let missing: Vec<&str> = avail
            .split_whitespace()
            .filter(|c| !on.split_whitespace().any(|o| o == *c))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let file = d.join("cgroup.subtree_control");
        let all = missing
            .iter()
            .map(|c| format!("+{c}"))
            .collect::<Vec<_>>()
            .join(" ");
        if std::fs::write(&file, all).is_err() {
            for c in missing {
                let _ = std::fs::write(&file, format!("+{c}"));
            }
        }
    }
}

/// Enables `controller` in cgroup.subtree_control of every ancestor of the
/// container's cgroup2 directory, from the hierarchy's root down.
fn enable_controller(h: &Hierarchy, controller: &str) -> Result<()> {
    for d in ancestors(h) {
        let file = d.join("cgroup.subtree_control");
        let current = crate::sys::read_file(&file).unwrap_or_default();
        if current.split_whitespace().any(|c| c == controller) {
            continue;
        }
        std::fs::write(&file, format!("+{controller}"))
            .with_context(|| format!("enable the {controller} controller in {}", file.display()))?;
    }
    Ok(())
}

/// Files that moved: the weights of the BFQ scheduler, where the kernel
/// has no CFQ any more.
fn alternative(file: &str) -> Option<&'static str> {
    Some(match file {
        "blkio.weight" => "blkio.bfq.weight",
        "blkio.weight_device" => "blkio.bfq.weight_device",
        "io.weight" => "io.bfq.weight",
        _ => return None,
    })
}

/// Writes into an existing interface file (never creating one: cgroupfs
/// says EACCES to a create, which would hide a missing file).
fn write_existing(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)?;
    f.write_all(value.as_bytes())
}

/// Files whose read-back is not what they take (lists, per-device lines):
/// not restored after a refused update.
fn restorable(file: &str) -> bool {
    !(file.starts_with("devices.")
        || file.contains("_device")
        || matches!(
            file,
            "io.max" | "io.weight" | "rdma.max" | "net_prio.ifpriomap"
        ))
}

/// Writes one file, recording its previous value in `done` when it can be
/// put back.
fn write(dir: &Path, w: &Write, done: &mut Vec<(std::path::PathBuf, String)>) -> Result<()> {
    let mut path = dir.join(&w.file);
    if !path.exists() {
        if let Some(alt) = alternative(&w.file) {
            path = dir.join(alt);
        }
    }
    let old = if restorable(&w.file) {
        crate::sys::read_file(&path).ok()
    } else {
        None
    };
    match write_existing(&path, &w.value) {
        Ok(()) => {
            if let Some(old) = old {
                done.push((path, old.trim().to_string()));
            }
            Ok(())
        }
        Err(e) => {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(0));
            let hint = match (errno, w.controller) {
                (Errno::ENOENT, _) => " (this kernel has no such file)",
                (Errno::EBUSY, "memory") => " (the usage is above the new limit)",
                (Errno::EOPNOTSUPP, _) if w.file.contains("weight_device") => {
                    " (the device's I/O scheduler is not BFQ)"
                }
                (Errno::EINVAL, _) => " (the kernel refuses the value)",
                _ => "",
            };
            bail!(
                "linux.resources.{}: write {:?} to {}: {}{hint}",
                w.field,
                w.value,
                path.display(),
                errno.desc()
            )
        }
    }
}
