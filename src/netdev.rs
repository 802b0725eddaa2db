//! `linux.netDevices`: host network devices moved into the container's
//! network namespace at create, renamed as asked, with their up state and
//! permanent addresses kept (the kernel drops both on a move); moved back
//! under their host names at delete when the namespace still exists. When a
//! namespace of the container's own dies with it, the kernel returns its
//! physical devices to the host and destroys virtual ones: nothing is left
//! for delete to do.

use crate::netlink::{self, Message, Socket};
use crate::spec::NetDevice;
use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

const IFF_UP: u32 = 0x1;
const IFA_F_PERMANENT: u32 = 0x80;
const IFNAMSIZ: usize = 16;

/// A device the container has: its name on the host and inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub host: String,
    pub name: String,
}

fn check_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty()
        || name.len() >= IFNAMSIZ
        || name == "."
        || name == ".."
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
    {
        bail!("linux.netDevices: {what} {name:?} is not a valid network device name");
    }
    Ok(())
}

/// Checks the config's devices and names, before anything is made.
pub fn plan(devs: &BTreeMap<String, NetDevice>, has_netns: bool) -> Result<Vec<Moved>> {
    if devs.is_empty() {
        return Ok(Vec::new());
    }
    if !has_netns {
        bail!("linux.netDevices needs a network namespace: without one the devices would stay the host's");
    }
    let mut out: Vec<Moved> = Vec::new();
    for (host, d) in devs {
        check_name(host, "device")?;
        let name = match d.name.as_deref() {
            Some(n) if !n.is_empty() => n,
            _ => host,
        };
        check_name(name, "name")?;
        if let Some(o) = out.iter().find(|o| o.name == name) {
            bail!(
                "linux.netDevices: {} and {host} would both be named {name} in the container",
                o.host
            );
        }
        out.push(Moved {
            host: host.clone(),
            name: name.to_string(),
        });
    }
    Ok(out)
}

/// A netlink socket in the network namespace `ns`: the calling thread
/// enters it for the socket() call and comes back.
fn socket_in(ns: BorrowedFd) -> Result<Socket> {
    let home: OwnedFd = std::fs::File::open("/proc/thread-self/ns/net")
        .context("open the runtime's network namespace")?
        .into();
    nix::sched::setns(ns, CloneFlags::CLONE_NEWNET).context("enter a network namespace")?;
    let sock = Socket::open();
    nix::sched::setns(home.as_fd(), CloneFlags::CLONE_NEWNET)
        .context("return to the runtime's network namespace")?;
    sock.context("open a netlink socket")
}

/// A link: its index and flags.
fn link(sock: &mut Socket, name: &str) -> nix::Result<(i32, u32)> {
    let m = Message::new(netlink::RTM_GETLINK, 0, &netlink::ifinfomsg(0, 0, 0))
        .attr_str(netlink::IFLA_IFNAME, name);
    let reply = sock.request(m)?;
    let p = reply
        .first()
        .filter(|p| p.len() >= 16)
        .ok_or(Errno::EBADMSG)?;
    let index = i32::from_ne_bytes(p[4..8].try_into().unwrap());
    let flags = u32::from_ne_bytes(p[8..12].try_into().unwrap());
    Ok((index, flags))
}

/// An address to put back: the ifaddrmsg with the index cleared, and the
/// attributes that make it.
struct Addr {
    head: [u8; 8],
    attrs: Vec<(u16, Vec<u8>)>,
}

fn permanent_addresses(sock: &mut Socket, index: i32) -> nix::Result<Vec<Addr>> {
    let reply = sock.request(Message::new(
        netlink::RTM_GETADDR,
        netlink::NLM_F_DUMP,
        &[0u8; 8],
    ))?;
    let mut out = Vec::new();
    for p in reply.iter().filter(|p| p.len() >= 8) {
        if i32::from_ne_bytes(p[4..8].try_into().unwrap()) != index {
            continue;
        }
        let mut flags = p[2] as u32;
        let mut attrs = Vec::new();
        for (kind, data) in netlink::attrs(p, 8) {
            match kind {
                netlink::IFA_FLAGS if data.len() == 4 => {
                    flags = u32::from_ne_bytes(data.try_into().unwrap());
                }
                netlink::IFA_ADDRESS | netlink::IFA_LOCAL | netlink::IFA_BROADCAST => {
                    attrs.push((kind, data.to_vec()));
                }
                _ => {}
            }
        }
        if flags & IFA_F_PERMANENT == 0 {
            continue;
        }
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&p[..4]);
        head[2] = 0;
        out.push(Addr { head, attrs });
    }
    Ok(out)
}

/// Moves device `from` of namespace `src` into namespace `dst` as `to`,
/// up again if it was and with its permanent addresses.
fn move_link(src: BorrowedFd, dst: BorrowedFd, from: &str, to: &str) -> Result<()> {
    let mut s = socket_in(src)?;
    let (index, flags) = match link(&mut s, from) {
        Ok(l) => l,
        Err(Errno::ENODEV) => bail!("no such network device"),
        Err(e) => return Err(e).context("look it up"),
    };
    let addrs = permanent_addresses(&mut s, index).context("read its addresses")?;
    let mut d = socket_in(dst)?;
    if link(&mut d, to).is_ok() {
        bail!("a network device named {to} is already there");
    }
    let m = Message::new(netlink::RTM_NEWLINK, 0, &netlink::ifinfomsg(index, 0, 0))
        .attr_u32(netlink::IFLA_NET_NS_FD, dst.as_raw_fd() as u32)
        .attr_str(netlink::IFLA_IFNAME, to);
    if let Err(e) = s.request(m) {
        // The kernel moves first and renames after: a failed rename leaves
        // the device there under its old name. Bring it home.
        if from != to {
            if let Ok((i, _)) = link(&mut d, from) {
                let back = Message::new(netlink::RTM_NEWLINK, 0, &netlink::ifinfomsg(i, 0, 0))
                    .attr_u32(netlink::IFLA_NET_NS_FD, src.as_raw_fd() as u32);
                let _ = d.request(back);
            }
        }
        match e {
            Errno::EEXIST | Errno::ENFILE => bail!("a network device named {to} is already there"),
            Errno::EINVAL => {
                bail!("the kernel cannot move it (a device local to its namespace, such as lo?)")
            }
            e => return Err(e).context("move it"),
        }
    }
    let (index, _) = link(&mut d, to).context("find it after the move")?;
    for a in &addrs {
        let mut head = a.head;
        head[4..8].copy_from_slice(&index.to_ne_bytes());
        let mut m = Message::new(
            netlink::RTM_NEWADDR,
            netlink::NLM_F_CREATE | netlink::NLM_F_EXCL,
            &head,
        );
        for (kind, data) in &a.attrs {
            m = m.attr(*kind, data);
        }
        match d.request(m) {
            Ok(_) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e).context("restore its addresses"),
        }
    }
    if flags & IFF_UP != 0 {
        let m = Message::new(
            netlink::RTM_NEWLINK,
            0,
            &netlink::ifinfomsg(index, IFF_UP, IFF_UP),
        );
        d.request(m).context("set it up")?;
    }
    Ok(())
}

/// The runtime's own network namespace.
pub fn host_ns() -> Result<OwnedFd> {
    Ok(std::fs::File::open("/proc/self/ns/net")
        .context("open the runtime's network namespace")?
        .into())
}

/// Moves `devs` from the host into `container`; on an error the ones
/// already moved go back.
pub fn move_in(devs: &[Moved], container: BorrowedFd) -> Result<()> {
    let host = host_ns()?;
    for (i, d) in devs.iter().enumerate() {
        if let Err(e) = move_link(host.as_fd(), container, &d.host, &d.name) {
            let _ = move_out(&devs[..i], container);
            return Err(e.context(format!(
                "linux.netDevices: move {} into the container",
                d.host
            )));
        }
    }
    Ok(())
}

/// Moves `devs` from `container` back to the host under their host names;
/// every device is tried, the first error returned.
pub fn move_out(devs: &[Moved], container: BorrowedFd) -> Result<()> {
    let host = host_ns()?;
    let mut first = None;
    for d in devs.iter().rev() {
        if let Err(e) = move_link(container, host.as_fd(), &d.name, &d.host) {
            first.get_or_insert(e.context(format!(
                "linux.netDevices: move {} back to the host as {}",
                d.name, d.host
            )));
        }
    }
    first.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devs(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, NetDevice> {
        pairs
            .iter()
            .map(|(h, n)| {
                (
                    h.to_string(),
                    NetDevice {
                        name: n.map(str::to_string),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn names_default_to_the_host_name() {
        let m = plan(&devs(&[("eth1", None), ("eth2", Some("net0"))]), true).unwrap();
        assert_eq!(
            m,
            vec![
                Moved {
                    host: "eth1".into(),
                    name: "eth1".into()
                },
                Moved {
                    host: "eth2".into(),
                    name: "net0".into()
                }
            ]
        );
    }

    #[test]
    fn bad_names_and_no_netns_are_refused() {
        assert!(plan(&devs(&[("eth1", None)]), false).is_err());
        assert!(plan(&devs(&[("a/b", None)]), true).is_err());
        assert!(plan(&devs(&[("eth1", Some("waytoolongname16"))]), true).is_err());
        assert!(plan(&devs(&[("eth1", Some("x")), ("eth2", Some("x"))]), true).is_err());
        assert!(plan(&devs(&[]), false).unwrap().is_empty());
    }
}
