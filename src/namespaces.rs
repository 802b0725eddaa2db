//! linux.namespaces: which namespaces are new (clone flags) and which are
//! joined by path (setns), and the id maps of a new user namespace.

use crate::spec::{IdMapping, Linux};
use crate::sys;
use anyhow::{bail, Context, Result};
use nix::fcntl::{open, OFlag};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use std::os::fd::OwnedFd;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pid,
    Network,
    Mount,
    Ipc,
    Uts,
    User,
    Cgroup,
    Time,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Cgroup,
        Kind::Ipc,
        Kind::Mount,
        Kind::Network,
        Kind::Pid,
        Kind::Time,
        Kind::User,
        Kind::Uts,
    ];

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "pid" => Kind::Pid,
            "network" => Kind::Network,
            "mount" => Kind::Mount,
            "ipc" => Kind::Ipc,
            "uts" => Kind::Uts,
            "user" => Kind::User,
            "cgroup" => Kind::Cgroup,
            "time" => Kind::Time,
            _ => return None,
        })
    }

    /// The spec's name for the kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pid => "pid",
            Kind::Network => "network",
            Kind::Mount => "mount",
            Kind::Ipc => "ipc",
            Kind::Uts => "uts",
            Kind::User => "user",
            Kind::Cgroup => "cgroup",
            Kind::Time => "time",
        }
    }

    pub fn flag(self) -> u64 {
        match self {
            Kind::Pid => libc::CLONE_NEWPID as u64,
            Kind::Network => libc::CLONE_NEWNET as u64,
            Kind::Mount => libc::CLONE_NEWNS as u64,
            Kind::Ipc => libc::CLONE_NEWIPC as u64,
            Kind::Uts => libc::CLONE_NEWUTS as u64,
            Kind::User => libc::CLONE_NEWUSER as u64,
            Kind::Cgroup => libc::CLONE_NEWCGROUP as u64,
            Kind::Time => sys::CLONE_NEWTIME,
        }
    }
}

/// A namespace to join: its kind, the path given and the open file.
#[derive(Debug)]
pub struct Join {
    pub kind: Kind,
    pub path: String,
    pub fd: OwnedFd,
}

#[derive(Debug, Default)]
pub struct Plan {
    /// Kinds to create, in config order.
    pub new: Vec<Kind>,
    /// Namespaces to join, opened and type-checked before any process exists.
    pub join: Vec<Join>,
    pub uid_map: Vec<IdMapping>,
    pub gid_map: Vec<IdMapping>,
}

impl Plan {
    pub fn from_spec(linux: Option<&Linux>) -> Result<Plan> {
        let mut plan = Plan::default();
        let Some(linux) = linux else { return Ok(plan) };
        let mut seen = Vec::new();
        for (i, ns) in linux.namespaces.iter().enumerate() {
            let field = format!("linux.namespaces[{i}]");
            let Some(kind) = Kind::parse(&ns.kind) else {
                bail!("invalid config: {field}.type: unknown namespace type {:?} (known: pid, network, mount, ipc, uts, user, cgroup, time)", ns.kind);
            };
            if seen.contains(&kind) {
                bail!(
                    "invalid config: {field}: namespace type {:?} is given twice",
                    ns.kind
                );
            }
            seen.push(kind);
            match ns.path.as_deref() {
                None | Some("") => plan.new.push(kind),
                Some(path) => {
                    let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                        .with_context(|| {
                            format!(
                                "{field}.path: open {kind} namespace {path}",
                                kind = kind.name()
                            )
                        })?;
                    match sys::ns_type(&fd) {
                        Ok(t) if t as u64 == kind.flag() => {}
                        Ok(_) | Err(_) => {
                            bail!("{field}.path: {path} is not a {} namespace", kind.name())
                        }
                    }
                    plan.join.push(Join {
                        kind,
                        path: path.to_string(),
                        fd,
                    });
                }
            }
        }
        plan.uid_map = linux.uid_mappings.clone();
        plan.gid_map = linux.gid_mappings.clone();
        let user_new = plan.is_new(Kind::User);
        let user_any = user_new || plan.joins(Kind::User);
        if user_new && (plan.uid_map.is_empty() || plan.gid_map.is_empty()) {
            bail!("invalid config: linux.uidMappings/gidMappings: a new user namespace needs both");
        }
        if !user_any && (!plan.uid_map.is_empty() || !plan.gid_map.is_empty()) {
            bail!("invalid config: linux.uidMappings/gidMappings: given, but there is no user namespace in linux.namespaces");
        }
        for (name, map) in [
            ("uidMappings", &plan.uid_map),
            ("gidMappings", &plan.gid_map),
        ] {
            for (i, m) in map.iter().enumerate() {
                if m.size == 0 {
                    bail!("invalid config: linux.{name}[{i}].size: 0");
                }
            }
        }
        Ok(plan)
    }

    pub fn is_new(&self, kind: Kind) -> bool {
        self.new.contains(&kind)
    }

    pub fn joins(&self, kind: Kind) -> bool {
        self.join.iter().any(|j| j.kind == kind)
    }

    /// Whether the container's processes share a PID namespace with someone
    /// else, so that the death of init does not kill them all.
    pub fn shares_pid_ns(&self) -> bool {
        !self.is_new(Kind::Pid)
    }

    /// The flags the container's init is cloned with. Two kinds are left
    /// out: a time namespace, whose clock offsets can only be written before
    /// any process is in it (the parent unshares it, and the child is born
    /// inside), and a cgroup namespace, whose root is the cgroup its creator
    /// is in: init unshares it once the parent has moved it into the
    /// container's v1 cgroups.
    pub fn clone_flags(&self) -> u64 {
        self.new
            .iter()
            .filter(|k| !matches!(k, Kind::Time | Kind::Cgroup))
            .fold(0, |acc, k| acc | k.flag())
    }
}

/// Writes the id maps of the new user namespace of `pid` (as root, the
/// kernel takes any map a privileged writer gives).
pub fn write_id_maps(pid: Pid, uid_map: &[IdMapping], gid_map: &[IdMapping]) -> Result<()> {
    let fmt = |map: &[IdMapping]| {
        map.iter()
            .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
            .collect::<String>()
    };
    std::fs::write(format!("/proc/{pid}/uid_map"), fmt(uid_map))
        .with_context(|| format!("write uid_map of pid {pid} ({uid_map:?})"))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), fmt(gid_map))
        .with_context(|| format!("write gid_map of pid {pid} ({gid_map:?})"))?;
    Ok(())
}

/// A user namespace with the given maps, held by an fd (for idmapped
/// mounts): a short-lived child unshares it, berth writes its maps and
/// keeps the namespace open, and the child exits.
pub fn user_namespace_with(uid_map: &[IdMapping], gid_map: &[IdMapping]) -> Result<OwnedFd> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    match sys::clone3(libc::CLONE_NEWUSER as u64, None).context("clone a user namespace")? {
        sys::Forked::Child => {
            drop(w);
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(&r, &mut b);
            // SAFETY: _exit ends the helper without running the parent's
            // atexit handlers or flushing buffers copied from it.
            unsafe { libc::_exit(0) }
        }
        sys::Forked::Parent { pid, pidfd: _pidfd } => {
            drop(r);
            let fd = write_id_maps(pid, uid_map, gid_map).and_then(|()| {
                open(
                    format!("/proc/{pid}/ns/user").as_str(),
                    OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .context("open the helper's user namespace")
            });
            drop(w);
            let _ = nix::sys::wait::waitpid(pid, None);
            fd
        }
    }
}

/// setns(2) into an opened namespace.
pub fn enter(join: &Join) -> Result<()> {
    nix::sched::setns(
        &join.fd,
        CloneFlags::from_bits_retain(join.kind.flag() as i32),
    )
    .with_context(|| format!("join {} namespace {}", join.kind.name(), join.path))
}

/// Checks that a sysctl belongs to a namespace the container has of its
/// own, so writing it cannot change the host (runc's rule).
pub fn check_sysctl(key: &str, plan: &Plan) -> Result<()> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let owner = if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Kind::Ipc
    } else if key.starts_with("net.") {
        Kind::Network
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Kind::Uts
    } else {
        bail!("invalid config: linux.sysctl: {key:?} is not namespaced: setting it would change the host");
    };
    if !plan.is_new(owner) && !plan.joins(owner) {
        bail!(
            "invalid config: linux.sysctl: {key:?} needs a {} namespace of the container's own",
            owner.name()
        );
    }
    if key.contains("..") || key.contains('/') {
        bail!("invalid config: linux.sysctl: bad key {key:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Namespace;

    fn linux(kinds: &[&str]) -> Linux {
        Linux {
            namespaces: kinds
                .iter()
                .map(|k| Namespace {
                    kind: k.to_string(),
                    path: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn flags_cover_new_namespaces() {
        let p = Plan::from_spec(Some(&linux(&["pid", "mount", "network"]))).unwrap();
        let f = p.clone_flags();
        assert_eq!(
            f,
            (libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWNET) as u64
        );
        assert!(!p.shares_pid_ns());
    }

    #[test]
    fn unknown_and_duplicate_kinds_are_refused() {
        let e = Plan::from_spec(Some(&linux(&["mount", "bogus"]))).unwrap_err();
        assert!(format!("{e:#}").contains("namespaces[1].type"));
        let e = Plan::from_spec(Some(&linux(&["mount", "pid", "pid"]))).unwrap_err();
        assert!(format!("{e:#}").contains("twice"));
    }

    #[test]
    fn user_namespace_needs_maps() {
        let e = Plan::from_spec(Some(&linux(&["mount", "user"]))).unwrap_err();
        assert!(format!("{e:#}").contains("uidMappings"));
    }

    #[test]
    fn without_a_mount_namespace_the_hosts_is_kept() {
        let p = Plan::from_spec(Some(&linux(&["pid"]))).unwrap();
        assert!(!p.is_new(Kind::Mount) && !p.joins(Kind::Mount));
        assert_eq!(p.clone_flags() & libc::CLONE_NEWNS as u64, 0);
    }

    #[test]
    fn sysctls_must_be_namespaced() {
        let p = Plan::from_spec(Some(&linux(&["mount", "network", "ipc"]))).unwrap();
        assert!(check_sysctl("net.ipv4.ip_forward", &p).is_ok());
        assert!(check_sysctl("kernel.shmmax", &p).is_ok());
        assert!(check_sysctl("kernel.hostname", &p).is_err());
        assert!(check_sysctl("vm.swappiness", &p).is_err());
    }
}
