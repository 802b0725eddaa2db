//! Device nodes of the container's /dev: the spec's default set plus
//! linux.devices, and the /dev symlinks every Linux program expects.

use super::path::{self, Leaf};
use crate::spec::Device;
use crate::sys;
use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, Gid, Uid};
use std::os::fd::AsFd;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub path: String,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// config-linux.md "Default Devices".
const DEFAULTS: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// The default devices, then linux.devices (which may replace a default).
pub fn plan(devices: &[Device]) -> Result<Vec<Node>> {
    let mut nodes: Vec<Node> = DEFAULTS
        .iter()
        .map(|(p, major, minor)| Node {
            path: p.to_string(),
            kind: SFlag::S_IFCHR,
            major: *major,
            minor: *minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect();
    for (i, d) in devices.iter().enumerate() {
        let field = format!("linux.devices[{i}]");
        let kind = match d.kind.as_str() {
            "c" | "u" => SFlag::S_IFCHR,
            "b" => SFlag::S_IFBLK,
            "p" => SFlag::S_IFIFO,
            other => {
                bail!("invalid config: {field}.type: {other:?} is not a device type (c, u, b or p)")
            }
        };
        if !d.path.starts_with('/') || d.path.split('/').any(|c| c == "..") {
            bail!(
                "invalid config: {field}.path: {:?} is not an absolute path inside the container",
                d.path
            );
        }
        if kind != SFlag::S_IFIFO && (d.major < 0 || d.minor < 0) {
            bail!(
                "invalid config: {field}: major {} and minor {} must not be negative",
                d.major,
                d.minor
            );
        }
        let node = Node {
            path: d.path.clone(),
            kind,
            major: d.major.max(0) as u64,
            minor: d.minor.max(0) as u64,
            mode: d.file_mode.unwrap_or(0o666) & 0o7777,
            uid: d.uid.unwrap_or(0),
            gid: d.gid.unwrap_or(0),
        };
        match nodes.iter_mut().find(|n| n.path == node.path) {
            Some(n) => *n = node,
            None => nodes.push(node),
        }
    }
    Ok(nodes)
}

/// Makes the nodes inside `root`. In a user namespace mknod is not
/// allowed: the host's node is bind-mounted over an empty file instead.
pub fn create(root: impl AsFd, nodes: &[Node], in_userns: bool) -> Result<()> {
    let root = root.as_fd();
    for n in nodes {
        if in_userns {
            bind_host_node(root, n)?;
            continue;
        }
        let (dir, name) = n.path.rsplit_once('/').unwrap_or(("", &n.path));
        let parent = path::create(root, dir, Leaf::Dir)
            .with_context(|| format!("create {dir} for device {}", n.path))?;
        let parent = nix::fcntl::openat(
            &parent,
            ".",
            OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("open {dir}"))?;
        let dev = makedev(n.major, n.minor);
        match mknodat(&parent, name, n.kind, Mode::from_bits_truncate(n.mode), dev) {
            Ok(()) => {}
            Err(Errno::EEXIST) => {
                // An existing node (from the image, or a default replaced by
                // linux.devices) is replaced so its numbers are the config's.
                nix::unistd::unlinkat(&parent, name, nix::unistd::UnlinkatFlags::NoRemoveDir)
                    .with_context(|| format!("replace {}", n.path))?;
                mknodat(&parent, name, n.kind, Mode::from_bits_truncate(n.mode), dev)
                    .with_context(|| format!("create device {}", n.path))?;
            }
            Err(e) => return Err(e).with_context(|| format!("create device {}", n.path)),
        }
        nix::sys::stat::fchmodat(
            &parent,
            name,
            Mode::from_bits_truncate(n.mode),
            nix::sys::stat::FchmodatFlags::NoFollowSymlink,
        )
        .or_else(|e| {
            if e == Errno::EOPNOTSUPP {
                Ok(())
            } else {
                Err(e)
            }
        })
        .with_context(|| format!("chmod {}", n.path))?;
        fchownat(
            &parent,
            name,
            Some(Uid::from_raw(n.uid)),
            Some(Gid::from_raw(n.gid)),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .with_context(|| format!("chown {}", n.path))?;
    }
    Ok(())
}

fn bind_host_node(root: std::os::fd::BorrowedFd, n: &Node) -> Result<()> {
    let target =
        path::create(root, &n.path, Leaf::File).with_context(|| format!("create {}", n.path))?;
    let source = nix::fcntl::open(
        n.path.as_str(),
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open host device {} to bind it", n.path))?;
    nix::mount::mount(
        Some(sys::fd_path(&source).as_str()),
        sys::fd_path(&target).as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .with_context(|| format!("bind host device {}", n.path))?;
    Ok(())
}

/// /dev/fd, /dev/std{in,out,err}, /dev/ptmx and, when the host has it,
/// /dev/core, as runc makes them.
pub fn symlinks(root: impl AsFd) -> Result<()> {
    let root = root.as_fd();
    let dev = path::open(root, "/dev", OFlag::O_DIRECTORY).context("open /dev")?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ];
    if std::path::Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        if name == "ptmx" {
            // A ptmx node from the image would bypass the container's devpts.
            let _ = nix::unistd::unlinkat(&dev, name, nix::unistd::UnlinkatFlags::NoRemoveDir);
        }
        match nix::unistd::symlinkat(target, &dev, name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e).with_context(|| format!("symlink /dev/{name} -> {target}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_config_devices() {
        let d = Device {
            kind: "c".into(),
            path: "/dev/null".into(),
            major: 1,
            minor: 3,
            file_mode: Some(0o600),
            ..Default::default()
        };
        let extra = Device {
            kind: "b".into(),
            path: "/dev/sda".into(),
            major: 8,
            minor: 0,
            ..Default::default()
        };
        let nodes = plan(&[d, extra]).unwrap();
        assert_eq!(nodes.len(), 7);
        assert_eq!(nodes[0].mode, 0o600);
        assert_eq!(nodes[6].kind, SFlag::S_IFBLK);
    }

    #[test]
    fn bad_devices_are_named() {
        let d = Device {
            kind: "x".into(),
            path: "/dev/x".into(),
            ..Default::default()
        };
        assert!(format!("{:#}", plan(&[d]).unwrap_err()).contains("linux.devices[0].type"));
        let d = Device {
            kind: "c".into(),
            path: "dev/x".into(),
            ..Default::default()
        };
        assert!(format!("{:#}", plan(&[d]).unwrap_err()).contains("linux.devices[0].path"));
    }
}
