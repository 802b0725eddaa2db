//! The container's cgroup: where it lives in every mounted hierarchy (v1,
//! hybrid or unified), creating and removing it, placing init in it, and
//! listing and signalling its processes.

pub mod apply;
mod devices;
mod freezer;
mod limits;
pub mod resources;
mod stats;

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One mounted cgroup hierarchy and the container's directory in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    /// Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory.
    pub mountpoint: PathBuf,
    /// The v1 controllers as mount(2) data ("cpu,cpuacct", "name=systemd");
    /// empty for cgroup2.
    pub controllers: String,
    /// The container's directory in this hierarchy.
    pub dir: PathBuf,
}

impl Hierarchy {
    pub fn is_v2(&self) -> bool {
        self.controllers.is_empty()
    }
}

/// The container's cgroup across hierarchies, and the directories berth
/// made for it (removed, deepest first, on delete).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cgroup {
    pub hierarchies: Vec<Hierarchy>,
    #[serde(default)]
    pub created: Vec<PathBuf>,
}

/// How /sys/fs/cgroup is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Legacy,
    Hybrid,
    Unified,
}

/// A hierarchy as mounted, before any container path is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mounted {
    mountpoint: PathBuf,
    root: String,
    controllers: String,
}

/// Parses /proc/self/mountinfo text for cgroup and cgroup2 mounts.
use crate::sys::unescape_mountinfo as unescape;

fn mounted(mountinfo: &str) -> Vec<Mounted> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 {
            continue;
        }
        let controllers = match r[0] {
            "cgroup2" => String::new(),
            "cgroup" => r[2]
                .split(',')
                .filter(|o| {
                    !matches!(
                        *o,
                        "rw" | "ro"
                            | "clone_children"
                            | "noprefix"
                            | "xattr"
                            | "cpuset_v2_mode"
                            | "favordynmods"
                    )
                })
                .filter(|o| !o.starts_with("release_agent="))
                .collect::<Vec<_>>()
                .join(","),
            _ => continue,
        };
        let mp = unescape(l[4]);
        if out
            .iter()
            .any(|m: &Mounted| m.controllers == controllers && r[0] == "cgroup")
        {
            continue; // the same v1 hierarchy mounted twice
        }
        out.push(Mounted {
            mountpoint: PathBuf::from(mp),
            root: unescape(l[3]),
            controllers,
        });
    }
    out
}

/// The calling process's cgroup per hierarchy, from /proc/self/cgroup text:
/// (controllers, path); cgroup2 has empty controllers.
fn own_paths(proc_cgroup: &str) -> Vec<(String, String)> {
    proc_cgroup
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let _id = f.next()?;
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

/// Checks a cgroupsPath: no "..", nothing that is not a plain path.
fn check_path(p: &str) -> Result<()> {
    if p.split('/').any(|c| c == "..") {
        bail!("invalid config: linux.cgroupsPath: {p:?} contains \"..\" (it must stay inside the cgroup hierarchy)");
    }
    if p.contains('\0') || p.contains(':') && !p.starts_with('/') {
        bail!("invalid config: linux.cgroupsPath: {p:?} is a systemd slice path; berth's cgroupfs driver takes a file system path");
    }
    Ok(())
}

impl Cgroup {
    /// Where the container's cgroup goes, from the hierarchies mounted on
    /// this host. An absolute cgroupsPath is taken from each hierarchy's
    /// root, a relative one (or the container id, when none is given) from
    /// berth's own cgroup, as runc does.
    pub fn plan(cgroups_path: Option<&str>, id: &str) -> Result<Cgroup> {
        let mountinfo =
            crate::sys::read_file("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
        let own = crate::sys::read_file("/proc/self/cgroup").context("read /proc/self/cgroup")?;
        Self::plan_from(cgroups_path, id, &mountinfo, &own)
    }

    fn plan_from(
        cgroups_path: Option<&str>,
        id: &str,
        mountinfo: &str,
        own: &str,
    ) -> Result<Cgroup> {
        let path = match cgroups_path {
            Some(p) if !p.is_empty() => p,
            _ => id,
        };
        check_path(path)?;
        let own = own_paths(own);
        let mut all = mounted(mountinfo);
        let layout = layout_of(&all);
        if layout == Layout::Hybrid {
            // The unified hierarchy of a hybrid host carries (almost) no
            // controllers; join it for completeness, after the v1 ones.
            all.sort_by_key(|m| m.controllers.is_empty());
        }
        let mut hierarchies = Vec::new();
        for m in all {
            let rel = path.trim_start_matches('/');
            let base = if path.starts_with('/') {
                m.mountpoint.clone()
            } else {
                let mine = own
                    .iter()
                    .find(|(c, _)| *c == m.controllers)
                    .map(|(_, p)| p.as_str())
                    .unwrap_or("/");
                let mine = mine.strip_prefix(m.root.as_str()).unwrap_or(mine);
                m.mountpoint.join(mine.trim_start_matches('/'))
            };
            let dir = if rel.is_empty() { base } else { base.join(rel) };
            hierarchies.push(Hierarchy {
                mountpoint: m.mountpoint,
                controllers: m.controllers,
                dir,
            });
        }
        if hierarchies.is_empty() {
            bail!("no cgroup hierarchy is mounted (looked for cgroup and cgroup2 in /proc/self/mountinfo)");
        }
        Ok(Cgroup {
            hierarchies,
            created: Vec::new(),
        })
    }

    /// The directories that do not exist yet, parents first: what
    /// [`Cgroup::create`] will make and delete will remove.
    pub fn missing(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for h in &self.hierarchies {
            let mut chain = Vec::new();
            let mut d = h.dir.as_path();
            while d != h.mountpoint && d.starts_with(&h.mountpoint) && !d.exists() {
                chain.push(d.to_path_buf());
                d = match d.parent() {
                    Some(p) => p,
                    None => break,
                };
            }
            out.extend(chain.into_iter().rev());
        }
        out
    }

    /// Makes the directories in `self.created` (see [`Cgroup::missing`]).
    pub fn create(&self) -> Result<()> {
        for dir in &self.created {
            match std::fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("create cgroup {}", dir.display()))
                }
            }
            let cpuset = self.hierarchies.iter().any(|h| {
                dir.starts_with(&h.mountpoint) && h.controllers.split(',').any(|c| c == "cpuset")
            });
            if cpuset {
                inherit_cpuset(dir)?;
            }
        }
        if let Some(h) = self.hierarchies.iter().find(|h| h.is_v2()) {
            limits::enable_all_controllers(h);
        }
        Ok(())
    }

    /// The cgroup2 directory, for CLONE_INTO_CGROUP.
    pub fn v2_dir(&self) -> Option<&Path> {
        self.hierarchies
            .iter()
            .find(|h| h.is_v2())
            .map(|h| h.dir.as_path())
    }

    /// An O_PATH fd of the cgroup2 directory, for CLONE_INTO_CGROUP.
    pub fn open_v2_dir(&self) -> Result<Option<std::os::fd::OwnedFd>> {
        let Some(d) = self.v2_dir() else {
            return Ok(None);
        };
        let fd = nix::fcntl::open(
            d,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .with_context(|| format!("open cgroup {}", d.display()))?;
        Ok(Some(fd))
    }

    /// Moves the calling process into the container's directory of every v1
    /// hierarchy; the cgroup2 one is entered at clone time (CLONE_INTO_CGROUP).
    ///
    /// The process moves itself, a single thread, by writing "0" to `tasks`:
    /// the kernel then skips the threadgroup lock that a write to
    /// cgroup.procs takes, whose RCU grace period made each container start
    /// wait up to 15 ms on this host.
    pub fn join_self(&self) -> Result<()> {
        for h in self.hierarchies.iter().filter(|h| !h.is_v2()) {
            let tasks = h.dir.join("tasks");
            std::fs::write(&tasks, "0")
                .with_context(|| format!("join cgroup {}", h.dir.display()))?;
        }
        Ok(())
    }

    /// The directory whose cgroup.procs lists every process of the container.
    fn primary(&self) -> Option<&Path> {
        self.v2_dir()
            .or_else(|| {
                self.hierarchies
                    .iter()
                    .find(|h| h.controllers == "pids")
                    .map(|h| h.dir.as_path())
            })
            .or_else(|| self.hierarchies.first().map(|h| h.dir.as_path()))
    }

    /// The pids in the container's cgroup (empty when it is gone).
    pub fn pids(&self) -> Result<Vec<Pid>> {
        let Some(dir) = self.primary() else {
            return Ok(Vec::new());
        };
        let path = dir.join("cgroup.procs");
        let text = match crate::sys::read_file(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
        };
        Ok(text
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .map(Pid::from_raw)
            .collect())
    }

    /// Sends `sig` to every process in the cgroup. For SIGKILL it repeats
    /// until the cgroup is empty, so processes forked meanwhile die too.
    pub fn signal_all(&self, sig: i32) -> Result<()> {
        for round in 0.. {
            let pids = self.pids()?;
            if pids.is_empty() {
                return Ok(());
            }
            for pid in &pids {
                // SAFETY: kill(2) with a pid read from cgroup.procs and a signal number.
                let r = unsafe { libc::kill(pid.as_raw(), sig) };
                if r != 0 && Errno::last() != Errno::ESRCH {
                    return Err(Errno::last())
                        .with_context(|| format!("signal {sig} to pid {pid}"));
                }
            }
            if sig != libc::SIGKILL {
                return Ok(());
            }
            // Frozen tasks die only once thawed (v1 freezer).
            if round == 0 && self.is_frozen() {
                self.thaw()?;
            }
            self.wait_empty(round)?;
        }
        Ok(())
    }

    /// Waits, with a growing pause, for killed processes to leave the cgroup.
    fn wait_empty(&self, round: u32) -> Result<()> {
        let mut pause = std::time::Duration::from_micros(100);
        for _ in 0..200 {
            if self.pids()?.is_empty() {
                return Ok(());
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_millis(20));
        }
        if round > 10 {
            bail!(
                "processes of cgroup {} did not exit after SIGKILL",
                self.primary().unwrap_or(Path::new("?")).display()
            );
        }
        Ok(())
    }

    /// Removes the directories berth made, deepest first. Directories that
    /// are gone already are fine; a busy one is retried while its last
    /// processes exit.
    pub fn remove(&self) -> Result<()> {
        let mut dirs: Vec<&PathBuf> = self.created.iter().collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for dir in dirs {
            let mut pause = std::time::Duration::from_micros(100);
            let mut tries = 0;
            loop {
                match std::fs::remove_dir(dir)
                    .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))
                {
                    Ok(()) | Err(Errno::ENOENT) => break,
                    // A parent berth made that another container still
                    // uses stays (cgroupfs says EBUSY for child cgroups).
                    Err(Errno::EBUSY | Errno::ENOTEMPTY) if !self.is_leaf(dir) => break,
                    Err(Errno::EBUSY) if tries < 100 => {
                        tries += 1;
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(std::time::Duration::from_millis(20));
                    }
                    Err(e) => {
                        return Err(e).with_context(|| format!("remove cgroup {}", dir.display()))
                    }
                }
            }
        }
        Ok(())
    }

    fn is_leaf(&self, dir: &Path) -> bool {
        self.hierarchies.iter().any(|h| h.dir == dir)
    }
}

fn layout_of(all: &[Mounted]) -> Layout {
    let v2 = all.iter().any(|m| m.controllers.is_empty());
    let v1 = all.iter().any(|m| !m.controllers.is_empty());
    match (v1, v2) {
        (true, true) => Layout::Hybrid,
        (true, false) => Layout::Legacy,
        _ => Layout::Unified,
    }
}

/// A new v1 cpuset cgroup starts with no cpus and no mems, and refuses
/// tasks until it has some: copy the parent's.
fn inherit_cpuset(dir: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let mine = dir.join(file);
        let current = crate::sys::read_file(&mine).unwrap_or_default();
        if current.trim().is_empty() {
            let value = crate::sys::read_file(parent.join(file))
                .with_context(|| format!("read {}", parent.join(file).display()))?;
            std::fs::write(&mine, value.trim())
                .with_context(|| format!("write {}", mine.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
24 1 0:21 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
25 24 0:22 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
26 24 0:23 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
27 24 0:24 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
28 24 0:25 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
29 24 0:26 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
";
    const OWN: &str = "5:cpu:/\n4:memory:/user\n3:name=systemd:/\n0::/\n2:cpuset:/\n";

    #[test]
    fn hybrid_hierarchies_are_all_joined_v2_last() {
        let cg = Cgroup::plan_from(Some("/a/b"), "id", HYBRID, OWN).unwrap();
        let names: Vec<_> = cg
            .hierarchies
            .iter()
            .map(|h| h.controllers.as_str())
            .collect();
        assert_eq!(names, ["cpu", "memory", "name=systemd", "cpuset", ""]);
        assert_eq!(
            cg.hierarchies[1].dir,
            PathBuf::from("/sys/fs/cgroup/memory/a/b")
        );
        assert_eq!(cg.v2_dir(), Some(Path::new("/sys/fs/cgroup/unified/a/b")));
    }

    #[test]
    fn relative_paths_start_at_our_own_cgroup() {
        let cg = Cgroup::plan_from(Some("x"), "id", HYBRID, OWN).unwrap();
        assert_eq!(
            cg.hierarchies[1].dir,
            PathBuf::from("/sys/fs/cgroup/memory/user/x")
        );
        let cg = Cgroup::plan_from(None, "myid", HYBRID, OWN).unwrap();
        assert_eq!(
            cg.hierarchies[0].dir,
            PathBuf::from("/sys/fs/cgroup/cpu/myid")
        );
    }

    #[test]
    fn escaping_paths_are_refused() {
        let e = Cgroup::plan_from(Some("/a/../../etc"), "id", HYBRID, OWN).unwrap_err();
        assert!(format!("{e:#}").contains("cgroupsPath"));
    }

    #[test]
    fn unified_layout() {
        let mi = "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let cg = Cgroup::plan_from(Some("/c"), "id", mi, "0::/\n").unwrap();
        assert_eq!(cg.hierarchies.len(), 1);
        assert_eq!(cg.v2_dir(), Some(Path::new("/sys/fs/cgroup/c")));
    }

    #[test]
    fn mountinfo_octal_escapes() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
