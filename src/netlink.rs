//! A minimal rtnetlink client: one request at a time on a NETLINK_ROUTE
//! socket, the reply read until its ACK or DONE. Enough to look up, move,
//! rename and address a network device; messages are built by hand, as the
//! kernel's uapi headers lay them out.

use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol};
use std::os::fd::{AsRawFd, OwnedFd};

pub const RTM_NEWLINK: u16 = 16;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_GETADDR: u16 = 22;

pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_NET_NS_FD: u16 = 28;

pub const IFA_ADDRESS: u16 = 1;
pub const IFA_LOCAL: u16 = 2;
pub const IFA_BROADCAST: u16 = 4;
pub const IFA_FLAGS: u16 = 8;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLM_F_DUMP: u16 = 0x300;
const HDR: usize = 16;

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// One request: the netlink header, a fixed family header, attributes.
pub struct Message {
    buf: Vec<u8>,
}

impl Message {
    /// `family` is the fixed header after nlmsghdr (ifinfomsg, ifaddrmsg).
    pub fn new(kind: u16, flags: u16, family: &[u8]) -> Message {
        let mut buf = vec![0u8; HDR];
        buf[4..6].copy_from_slice(&kind.to_ne_bytes());
        buf[6..8].copy_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(family);
        buf.resize(align(buf.len()), 0);
        Message { buf }
    }

    pub fn attr(mut self, kind: u16, data: &[u8]) -> Message {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align(self.buf.len()), 0);
        self
    }

    pub fn attr_str(self, kind: u16, s: &str) -> Message {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.attr(kind, &data)
    }

    pub fn attr_u32(self, kind: u16, v: u32) -> Message {
        self.attr(kind, &v.to_ne_bytes())
    }
}

/// An ifinfomsg: family, type, index, flags, change mask.
pub fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// The attributes that follow a fixed header of `skip` bytes.
pub fn attrs(payload: &[u8], skip: usize) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = payload.get(align(skip)..).unwrap_or(&[]);
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < 4 || len > rest.len() {
            return None;
        }
        let data = &rest[4..len];
        rest = rest.get(align(len)..).unwrap_or(&[]);
        Some((kind, data))
    })
}

pub struct Socket {
    fd: OwnedFd,
    seq: u32,
}

impl Socket {
    /// A socket in the caller's network namespace.
    pub fn open() -> nix::Result<Socket> {
        let fd = socket::socket(
            AddressFamily::Netlink,
            socket::SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        socket::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        Ok(Socket { fd, seq: 0 })
    }

    /// Sends `m` and returns the payloads of the replies (for a dump, every
    /// message before DONE), or the kernel's error.
    pub fn request(&mut self, mut m: Message) -> nix::Result<Vec<Vec<u8>>> {
        self.seq += 1;
        let len = m.buf.len() as u32;
        m.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        m.buf[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        socket::send(self.fd.as_raw_fd(), &m.buf, MsgFlags::empty())?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = socket::recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
            let mut rest = &buf[..n];
            while rest.len() >= HDR {
                let mlen = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                let seq = u32::from_ne_bytes(rest[8..12].try_into().unwrap());
                if mlen < HDR || mlen > rest.len() {
                    return Err(Errno::EBADMSG);
                }
                let payload = &rest[HDR..mlen];
                rest = rest.get(align(mlen)..).unwrap_or(&[]);
                if seq != self.seq {
                    continue;
                }
                match kind {
                    NLMSG_ERROR => {
                        let code = payload
                            .get(0..4)
                            .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
                            .ok_or(Errno::EBADMSG)?;
                        return if code == 0 {
                            Ok(out)
                        } else {
                            Err(Errno::from_raw(-code))
                        };
                    }
                    NLMSG_DONE => return Ok(out),
                    _ => out.push(payload.to_vec()),
                }
            }
        }
    }
}
