//! The container's root filesystem, set up by init inside its new mount
//! namespace: mounts, /dev, pivot_root, then masked and read-only paths.

mod copyup;
pub mod devices;
pub mod mounts;
pub mod path;

use crate::cgroups::Cgroup;
use crate::spec::Spec;
use crate::sys;
use anyhow::{bail, Context, Result};
use mounts::{Entry, Kind};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use path::Leaf;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Everything init needs to build the root, checked before it exists.
#[derive(Debug)]
pub struct Plan {
    pub rootfs: PathBuf,
    pub readonly: bool,
    pub mounts: Vec<Entry>,
    /// Make /dev nodes and symlinks (not when /dev is bind-mounted from outside).
    pub setup_dev: bool,
    pub devices: Vec<devices::Node>,
    pub masked: Vec<String>,
    pub readonly_paths: Vec<String>,
    /// rootfsPropagation, applied to "/" after pivot_root.
    pub propagation: Option<MsFlags>,
    pub no_pivot: bool,
    /// The container has no mount namespace of its own (none new, none
    /// joined): the root is built in the runtime's, on a private bind of
    /// the rootfs that `delete` detaches whole, and entered by chroot.
    pub host_mount_ns: bool,
    /// The container's cgroup, for mounts of type cgroup.
    pub cgroup: Cgroup,
    pub cgroupns: bool,
    pub userns: bool,
    /// linux.mountLabel (SELinux), given as the context of the mounts that
    /// take one.
    pub mount_label: Option<String>,
    /// Idmapped bind mounts made by the runtime, by mount index.
    pub idmapped: Vec<(usize, OwnedFd)>,
}

impl Plan {
    pub fn from_spec(
        spec: &Spec,
        bundle: &Path,
        no_pivot: bool,
        cgroup: Cgroup,
        ns: &crate::namespaces::Plan,
    ) -> Result<Plan> {
        use crate::namespaces::Kind as Ns;
        let has = |k: Ns| ns.is_new(k) || ns.joins(k);
        let root = spec
            .root
            .as_ref()
            .context("invalid config: root: missing")?;
        let rootfs = bundle.join(&root.path);
        let rootfs = std::fs::canonicalize(&rootfs)
            .with_context(|| format!("root.path: rootfs {}", rootfs.display()))?;
        if !rootfs.is_dir() {
            bail!("root.path: rootfs {} is not a directory", rootfs.display());
        }
        let mut mounts = spec
            .mounts
            .iter()
            .enumerate()
            .map(|(i, m)| mounts::parse(i, m, bundle))
            .collect::<Result<Vec<_>>>()?;
        let linux = spec.linux.clone().unwrap_or_default();
        // "idmap" without maps of its own: the container's.
        for m in mounts.iter_mut() {
            if let Some(i) = m.idmap.as_mut().filter(|i| i.uid.is_empty()) {
                if linux.uid_mappings.is_empty() || linux.gid_mappings.is_empty() {
                    bail!("invalid config: mounts[{}]: idmap needs uidMappings and gidMappings, on the mount or for a user namespace", m.index);
                }
                i.uid = linux.uid_mappings.clone();
                i.gid = linux.gid_mappings.clone();
            }
        }
        let setup_dev = !mounts
            .iter()
            .any(|m| m.dest == "/dev" && matches!(m.kind, Kind::Bind { .. }));
        let propagation = match linux.rootfs_propagation.as_deref() {
            None | Some("") => None,
            Some(p) => Some(mounts::propagation(p).with_context(|| {
                format!("invalid config: linux.rootfsPropagation: unknown propagation {p:?} (shared, slave, private, unbindable, with or without r)")
            })?),
        };
        for (name, list) in [
            ("maskedPaths", &linux.masked_paths),
            ("readonlyPaths", &linux.readonly_paths),
        ] {
            for (i, p) in list.iter().enumerate() {
                if !p.starts_with('/') {
                    bail!("invalid config: linux.{name}[{i}]: {p:?} is not an absolute path");
                }
            }
        }
        Ok(Plan {
            rootfs,
            readonly: root.readonly,
            mounts,
            setup_dev,
            devices: devices::plan(&linux.devices)?,
            masked: linux.masked_paths.clone(),
            readonly_paths: linux.readonly_paths.clone(),
            propagation,
            no_pivot,
            host_mount_ns: !has(Ns::Mount),
            cgroup,
            cgroupns: has(Ns::Cgroup),
            userns: has(Ns::User),
            mount_label: linux
                .mount_label
                .clone()
                .filter(|l| !l.is_empty() && crate::security::lsm::selinux_enabled()),
            idmapped: Vec::new(),
        })
    }

    /// Makes the idmapped bind mounts, detached, in the runtime (host root
    /// has the right to idmap a mount; init may not): init attaches them.
    pub fn prepare_idmapped(&mut self) -> Result<()> {
        for m in &self.mounts {
            let (Some(idmap), Kind::Bind { source, recursive }) = (&m.idmap, &m.kind) else {
                continue;
            };
            let field = format!("mounts[{}]", m.index);
            let userns = crate::namespaces::user_namespace_with(&idmap.uid, &idmap.gid)
                .with_context(|| field.clone())?;
            let tree = sys::open_tree_clone(source, *recursive)
                .with_context(|| format!("{field}: clone the mount of {}", source.display()))?;
            sys::mount_setattr_idmap(&tree, idmap.recursive, &userns).map_err(|e| {
                let why = if e == Errno::EINVAL {
                    " (the filesystem cannot be idmapped)"
                } else {
                    ""
                };
                anyhow::anyhow!(
                    "{field}: idmap the mount of {}: {}{why}",
                    source.display(),
                    e.desc()
                )
            })?;
            self.idmapped.push((m.index, tree));
        }
        Ok(())
    }
}

/// A container without a mount namespace of its own builds its root in
/// the runtime's, on a bind of the rootfs: the mounts to take away when it
/// goes. `below` is what was on top at the rootfs before (a mount id, from
/// mountinfo), `ours` the bind once init has made it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HostRoot {
    pub below: Option<u64>,
    pub ours: Option<u64>,
}

impl HostRoot {
    pub fn before(rootfs: &Path) -> Result<HostRoot> {
        Ok(HostRoot {
            below: sys::top_mount_id(rootfs)?,
            ours: None,
        })
    }

    /// Records the bind init made, once it is ready.
    pub fn made(&mut self, rootfs: &Path) -> Result<()> {
        let top = sys::top_mount_id(rootfs)?;
        self.ours = top.filter(|t| Some(*t) != self.below);
        Ok(())
    }

    /// Detaches the bind and every mount below it, if it is still there.
    pub fn release(&self, rootfs: &Path) -> Result<()> {
        let top = sys::top_mount_id(rootfs)?;
        let ours = match self.ours {
            Some(id) => top == Some(id),
            // Init died before `create` saw its bind: whatever is on top
            // now and was not before is its.
            None => top.is_some() && top != self.below,
        };
        if ours {
            umount2(rootfs, MntFlags::MNT_DETACH)
                .with_context(|| format!("unmount the container's root at {}", rootfs.display()))?;
        }
        Ok(())
    }
}

/// Builds the root up to and including pivot_root: after it, "/" is the
/// container's root. With `terminal`, a pty is made from the container's
/// devpts, its terminal bound at /dev/console; (master, terminal) returned.
/// `before_pivot` runs once the mounts are made, before pivot_root.
pub fn prepare(
    plan: &Plan,
    terminal: bool,
    before_pivot: &mut dyn FnMut() -> Result<()>,
) -> Result<Option<(OwnedFd, OwnedFd)>> {
    if !plan.host_mount_ns {
        // No mount made below may propagate back to the host.
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        )
        .context("make / a slave mount")?;
    }
    // pivot_root needs the new root to be a mount point; in the host's
    // mount namespace the bind holds every mount berth makes.
    mount(
        Some(&plan.rootfs),
        &plan.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("bind rootfs {}", plan.rootfs.display()))?;
    if plan.host_mount_ns {
        // The host's own mounts are left as they are: only the bind and
        // what is below it are made private, so nothing mounted there
        // propagates anywhere.
        mount(
            None::<&str>,
            &plan.rootfs,
            None::<&str>,
            MsFlags::MS_PRIVATE | MsFlags::MS_REC,
            None::<&str>,
        )
        .context("make the rootfs bind private")?;
    }
    let root = nix::fcntl::open(
        &plan.rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open rootfs {}", plan.rootfs.display()))?;
    for m in &plan.mounts {
        mount_entry(&root, m, plan)
            .with_context(|| format!("mounts[{}]: mount {}", m.index, m.dest))?;
    }
    if plan.setup_dev {
        devices::create(&root, &plan.devices, plan.userns)?;
        devices::symlinks(&root)?;
    }
    let console = if terminal {
        Some(open_container_pty(&root)?)
    } else {
        None
    };
    if let (Some((_, tty)), true) = (&console, plan.setup_dev) {
        let target =
            path::create(&root, "/dev/console", Leaf::File).context("create /dev/console")?;
        bind(&sys::fd_path(tty), &target, false).context("bind the terminal at /dev/console")?;
    }
    // The hooks that run in the container's namespaces before pivot_root.
    before_pivot()?;
    nix::unistd::fchdir(&root).context("chdir to rootfs")?;
    if plan.host_mount_ns {
        // pivot_root or a move over "/" would change the host's root.
        nix::unistd::chroot(".").context("chroot")?;
        nix::unistd::chdir("/").context("chdir /")?;
    } else if plan.no_pivot {
        move_root(&plan.rootfs)?;
    } else {
        pivot()?;
    }
    if let Some(p) = plan.propagation {
        mount(None::<&str>, "/", None::<&str>, p, None::<&str>)
            .context("linux.rootfsPropagation: set propagation of /")?;
    }
    Ok(console)
}

/// What comes after pivot_root: the process's cwd made if it is missing
/// (as runc does, while the root is writable), masking, read-only paths and
/// a read-only root. Every mount here is made on an fd with the new mount
/// API, never through a /proc/self/fd path: /proc is the container's now,
/// and what its config mounts there could redirect a path (CVE-2025-52881).
pub fn finish(plan: &Plan, cwd: &str) -> Result<()> {
    let root = nix::fcntl::open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("open /")?;
    path::create(&root, cwd, Leaf::Dir).with_context(|| format!("process.cwd: create {cwd}"))?;
    let mut null = None;
    for p in &plan.masked {
        mask(&root, p, &mut null).with_context(|| format!("linux.maskedPaths: mask {p}"))?;
    }
    for p in &plan.readonly_paths {
        readonly(&root, p).with_context(|| format!("linux.readonlyPaths: make {p} read-only"))?;
    }
    if plan.readonly {
        sys::mount_setattr(&root, false, mounts::MOUNT_ATTR_RDONLY, 0)
            .context("root.readonly: make / read-only")?;
    }
    Ok(())
}

/// The container's /dev/null, checked to be the null device: a file or a
/// symlink put there would otherwise be bound over the masked paths
/// (CVE-2025-31133).
fn null_device(root: &OwnedFd) -> Result<OwnedFd> {
    let fd = path::open(root, "/dev/null", OFlag::O_PATH | OFlag::O_NOFOLLOW)
        .context("open /dev/null")?;
    let st = nix::sys::stat::fstat(&fd)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != nix::sys::stat::makedev(1, 3) {
        bail!("/dev/null in the container is not the null device (1:3); refusing to mask with it");
    }
    Ok(fd)
}

/// pivot_root(".", ".") stacks the old root on the new one; from the old
/// root (opened before), it is made a slave, so its unmount cannot reach the
/// host, and lazily unmounted. The kernel does not promise where "." is
/// after pivot_root, hence the explicit fchdir, as runc does.
fn pivot() -> Result<()> {
    let old_root = nix::fcntl::open(
        "/",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("open the old root")?;
    sys::pivot_root_dot().context("pivot_root")?;
    nix::unistd::fchdir(&old_root).context("chdir to the old root")?;
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("make the old root a slave")?;
    umount2(".", MntFlags::MNT_DETACH).context("unmount the old root")?;
    nix::unistd::chdir("/").context("chdir /")?;
    Ok(())
}

/// --no-pivot: move the rootfs mount over "/" and chroot into it.
fn move_root(rootfs: &Path) -> Result<()> {
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .context("move rootfs to /")?;
    nix::unistd::chroot(".").context("chroot")?;
    nix::unistd::chdir("/").context("chdir /")?;
    Ok(())
}

fn mount_entry(root: &OwnedFd, m: &Entry, plan: &Plan) -> Result<()> {
    match &m.kind {
        Kind::Bind { source, recursive } => {
            // A detached copy of the source, given its attributes before it
            // is attached: one mount event, and the target is the fd
            // resolved inside the root, whatever happens to the path.
            let made;
            let tree = match plan.idmapped.iter().find(|(i, _)| *i == m.index) {
                Some((_, t)) => t,
                None => {
                    made = sys::open_tree_clone(source, *recursive)
                        .with_context(|| format!("clone the mount of {}", source.display()))?;
                    &made
                }
            };
            let leaf = if nix::sys::stat::fstat(tree)?.st_mode & libc::S_IFMT == libc::S_IFDIR {
                Leaf::Dir
            } else {
                Leaf::File
            };
            let attrs = m.bind_attrs();
            if !attrs.is_empty() {
                sys::mount_setattr(tree, false, attrs.set, attrs.clr)
                    .context("set mount attributes")?;
            }
            if !m.rec_attr.is_empty() {
                sys::mount_setattr(tree, true, m.rec_attr.set, m.rec_attr.clr)
                    .context("set recursive mount attributes")?;
            }
            let target = path::create(root, &m.dest, leaf)?;
            sys::move_mount_to(tree, &target).context("attach the bind mount")?;
        }
        Kind::Fs { fstype, source } => {
            let target = if fstype == "proc" || fstype == "sysfs" {
                // A symlink here would put the kernel's files elsewhere in
                // the container (CVE-2019-16884, CVE-2023-27561): one
                // lookup, the last component a real directory.
                path::ordinary_dir(root, &m.dest).map_err(|e| match e {
                    Errno::ELOOP | Errno::ENOTDIR => {
                        anyhow::anyhow!(
                            "{fstype} must be mounted on an ordinary directory, and {} is not one",
                            m.dest
                        )
                    }
                    e => anyhow::Error::from(e),
                })?
            } else {
                path::create(root, &m.dest, Leaf::Dir)?
            };
            let mut data = m.data.clone();
            if let (Some(label), "tmpfs" | "devpts" | "mqueue") =
                (&plan.mount_label, fstype.as_str())
            {
                if !data.is_empty() {
                    data.push(',');
                }
                data.push_str(&format!("context=\"{label}\""));
            }
            let data = (!data.is_empty()).then_some(data.as_str());
            // What is under the mount point, for tmpcopyup, opened first.
            let under = match m.copy_up {
                true => Some(path::open(
                    root,
                    &m.dest,
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY,
                )?),
                false => None,
            };
            mount(
                Some(source.as_str()),
                sys::fd_path(&target).as_str(),
                Some(fstype.as_str()),
                m.flags,
                data,
            )
            .with_context(|| format!("mount {fstype}"))?;
            if let Some(under) = under {
                let top = path::open(root, &m.dest, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
                copyup::copy_tree(&under, &top)?;
            }
        }
        Kind::Cgroup => mount_cgroups(root, m, plan)?,
    }
    // A bind mount got its recursive attributes before it was attached.
    let rec_attr = !m.rec_attr.is_empty() && !matches!(m.kind, Kind::Bind { .. });
    if m.propagation.is_some() || rec_attr {
        let target = path::open(root, &m.dest, OFlag::O_PATH)?;
        if let Some(p) = m.propagation {
            mount(
                None::<&str>,
                sys::fd_path(&target).as_str(),
                None::<&str>,
                p,
                None::<&str>,
            )
            .context("set propagation")?;
        }
        if rec_attr {
            sys::mount_setattr(&target, true, m.rec_attr.set, m.rec_attr.clr)
                .context("set recursive mount attributes")?;
        }
    }
    Ok(())
}

fn bind(source: &str, target: &OwnedFd, recursive: bool) -> Result<()> {
    let mut flags = MsFlags::MS_BIND;
    if recursive {
        flags |= MsFlags::MS_REC;
    }
    mount(
        Some(source),
        sys::fd_path(target).as_str(),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .context("bind mount")?;
    Ok(())
}

/// Remounts the mount at `target` (an O_PATH fd on its root) with `flags`.
/// In a user namespace flags the mount was made with are locked; on EPERM
/// the remount is retried keeping them, as runc does.
fn remount(target: &OwnedFd, flags: MsFlags) -> Result<()> {
    let path = sys::fd_path(target);
    let base = MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    match mount(
        None::<&str>,
        path.as_str(),
        None::<&str>,
        base | flags,
        None::<&str>,
    ) {
        Err(Errno::EPERM) => {
            let locked = locked_flags(target)?;
            mount(
                None::<&str>,
                path.as_str(),
                None::<&str>,
                base | flags | locked,
                None::<&str>,
            )
            .context("remount")
        }
        r => r.context("remount"),
    }
}

/// The per-mount flags a mount has now (statfs f_flags).
fn locked_flags(fd: &OwnedFd) -> Result<MsFlags> {
    let st = nix::sys::statvfs::fstatvfs(fd).context("statvfs")?;
    use nix::sys::statvfs::FsFlags;
    let f = st.flags();
    let mut out = MsFlags::empty();
    // ST_RELATIME (4096) is missing from musl's statvfs flags.
    if f.bits() & 4096 != 0 {
        out |= MsFlags::MS_RELATIME;
    }
    for (s, m) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
    ] {
        if f.contains(s) {
            out |= m;
        }
    }
    Ok(out)
}

/// Hides a path: a file under /dev/null, a directory under an empty
/// read-only tmpfs. A path that does not exist needs no masking.
fn mask(root: &OwnedFd, p: &str, null: &mut Option<OwnedFd>) -> Result<()> {
    let target = match path::open(root, p, OFlag::O_PATH) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let is_dir = nix::sys::stat::fstat(&target)?.st_mode & libc::S_IFMT == libc::S_IFDIR;
    let tree = if is_dir {
        sys::empty_readonly_tmpfs().context("make an empty read-only tmpfs")?
    } else {
        if null.is_none() {
            *null = Some(null_device(root)?);
        }
        let Some(n) = null.as_ref() else {
            bail!("no /dev/null")
        };
        sys::open_tree_clone_fd(n, false).context("clone /dev/null")?
    };
    sys::move_mount_to(&tree, &target).context("mount over it")?;
    Ok(())
}

/// Bind-mounts a path onto itself, the whole tree made read-only before it
/// is attached.
fn readonly(root: &OwnedFd, p: &str) -> Result<()> {
    let target = match path::open(root, p, OFlag::O_PATH) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let tree = sys::open_tree_clone_fd(&target, true).context("clone the mount")?;
    sys::mount_setattr(&tree, true, mounts::MOUNT_ATTR_RDONLY, 0).context("set read-only")?;
    sys::move_mount_to(&tree, &target).context("mount it over itself")?;
    Ok(())
}

/// A mount of type cgroup: cgroup2 itself on a unified host, or on v1 a
/// tmpfs holding one directory per hierarchy. With a cgroup namespace the
/// hierarchies are mounted fresh (their root is the container's cgroup);
/// without one the container's directories are bind-mounted.
fn mount_cgroups(root: &OwnedFd, m: &Entry, plan: &Plan) -> Result<()> {
    let target = path::create(root, &m.dest, Leaf::Dir)?;
    let v1: Vec<_> = plan
        .cgroup
        .hierarchies
        .iter()
        .filter(|h| !h.is_v2())
        .collect();
    if v1.is_empty() {
        let Some(h) = plan.cgroup.hierarchies.first() else {
            bail!("no cgroup hierarchy to mount")
        };
        if plan.cgroupns {
            mount(
                Some("cgroup"),
                sys::fd_path(&target).as_str(),
                Some("cgroup2"),
                m.flags,
                None::<&str>,
            )
            .context("mount cgroup2")?;
        } else {
            bind(h.dir.to_string_lossy().as_ref(), &target, false)?;
            remount(&path::open(root, &m.dest, OFlag::O_PATH)?, m.flags)?;
        }
        return Ok(());
    }
    let fs_flags = m.flags & !MsFlags::MS_RDONLY;
    mount(
        Some("tmpfs"),
        sys::fd_path(&target).as_str(),
        Some("tmpfs"),
        fs_flags,
        Some("mode=755"),
    )
    .context("mount tmpfs for cgroup hierarchies")?;
    let dir = path::open(root, &m.dest, OFlag::O_DIRECTORY)?;
    for h in v1 {
        let name = h
            .mountpoint
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sub = format!("{}/{}", m.dest, name);
        let sub_fd = path::create(root, &sub, Leaf::Dir)?;
        if plan.cgroupns {
            mount(
                Some("cgroup"),
                sys::fd_path(&sub_fd).as_str(),
                Some("cgroup"),
                m.flags,
                Some(h.controllers.as_str()),
            )
            .with_context(|| format!("mount cgroup {}", h.controllers))?;
        } else {
            bind(h.dir.to_string_lossy().as_ref(), &sub_fd, false)?;
            remount(&path::open(root, &sub, OFlag::O_PATH)?, m.flags)?;
        }
        // Co-mounted controllers ("cpu,cpuacct") get a symlink per name.
        if name.contains(',') {
            for part in name.split(',') {
                match nix::unistd::symlinkat(name.as_str(), &dir, part) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e).with_context(|| format!("symlink {part} -> {name}")),
                }
            }
        }
    }
    if m.flags.contains(MsFlags::MS_RDONLY) {
        remount(&path::open(root, &m.dest, OFlag::O_PATH)?, m.flags)?;
    }
    Ok(())
}

/// The terminal of a new pty from the container's devpts (or the host's,
/// when the container mounts none): returns (master, peer).
fn open_pty() -> Result<(OwnedFd, OwnedFd)> {
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .context("open /dev/ptmx")?;
    nix::pty::grantpt(&master).context("grantpt")?;
    nix::pty::unlockpt(&master).context("unlockpt")?;
    let peer = sys::open_pty_peer(&master, libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC)
        .context("open the pty's terminal")?;
    // SAFETY: posix_openpt returned an owned fd; we take it over.
    let master: OwnedFd =
        unsafe { std::os::fd::FromRawFd::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(master)) };
    Ok((master, peer))
}

/// Opens the ptmx of the container's own devpts inside `root`, if it
/// mounts one, so the pty belongs to the container.
pub fn open_container_pty(root: &OwnedFd) -> Result<(OwnedFd, OwnedFd)> {
    match path::open(root, "/dev/pts/ptmx", OFlag::O_RDWR | OFlag::O_NOCTTY) {
        Ok(master) => {
            // SAFETY: unlockpt on a fresh master fd; no memory is passed.
            let r = unsafe { libc::unlockpt(std::os::fd::AsRawFd::as_raw_fd(&master)) };
            Errno::result(r).context("unlockpt")?;
            let peer = sys::open_pty_peer(
                master.as_fd(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            )
            .context("open the pty's terminal")?;
            Ok((master, peer))
        }
        Err(_) => open_pty(),
    }
}
