//! The handshake between berth and the container's init, over a
//! SOCK_SEQPACKET socket pair (one datagram per message):
//!
//! ```text
//!   berth (parent)                       init (child)
//!   clone3(namespaces) ───────────────▶  born inside the new namespaces,
//!                                        joins its v1 cgroups itself
//!   write id maps (new user namespace)
//!   Go ───────────────────────────────▶  rootfs, mounts,
//!                       ◀───────────────  Hooks     (when there are any:)
//!   prestart, createRuntime hooks
//!   HooksDone ────────────────────────▶  createContainer hooks, pivot_root,
//!                       ◀───────────────  Console(fd)   (run with a terminal)
//!                                        rlimits, user, capabilities...
//!                       ◀───────────────  Seccomp(fd)   (a notify listener)
//!                       ◀───────────────  Ready | Error(text)
//!   write state.json
//!   create: exit; `start` writes a byte to the exec FIFO that init reads.
//!   run:    Start ────────────────────▶  execve
//!                       ◀───────────────  EOF (exec'd: the socket is
//!                                        close-on-exec) | Error(text)
//! ```
//! Init's error is the text berth prints as its own last line, so the
//! user (and containerd or Podman, who show only that line) sees why.

use anyhow::{bail, Context, Result};
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

#[derive(Debug, PartialEq, Eq)]
pub enum Msg {
    Go,
    Ready,
    Start,
    Error(String),
    /// Carries a pty master (SCM_RIGHTS).
    Console,
    /// Carries a seccomp notify listener (SCM_RIGHTS).
    Seccomp,
    /// init: mounts done, the runtime's prestart/createRuntime hooks may run.
    Hooks,
    /// parent: those hooks ran.
    HooksDone,
}

impl Msg {
    fn tag(&self) -> u8 {
        match self {
            Msg::Go => b'G',
            Msg::Ready => b'R',
            Msg::Start => b'S',
            Msg::Error(_) => b'E',
            Msg::Console => b'C',
            Msg::Seccomp => b'F',
            Msg::Hooks => b'H',
            Msg::HooksDone => b'D',
        }
    }
}

pub struct Channel(OwnedFd);

/// A connected pair: (parent's end, child's end).
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("create the init socket pair")?;
    Ok((Channel(a), Channel(b)))
}

const MAX: usize = 64 * 1024;

impl Channel {
    pub fn send(&self, msg: &Msg) -> Result<()> {
        self.send_with_fd(msg, None)
    }

    pub fn send_with_fd(&self, msg: &Msg, fd: Option<RawFd>) -> Result<()> {
        let mut buf = vec![msg.tag()];
        if let Msg::Error(text) = msg {
            buf.extend_from_slice(&text.as_bytes()[..text.len().min(MAX - 1)]);
        }
        let iov = [IoSlice::new(&buf)];
        let fds;
        let cmsgs: Vec<ControlMessage> = match fd {
            Some(fd) => {
                fds = [fd];
                vec![ControlMessage::ScmRights(&fds)]
            }
            None => Vec::new(),
        };
        sendmsg::<()>(
            self.0.as_raw_fd(),
            &iov,
            &cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .context("send to init socket")?;
        Ok(())
    }

    /// Receives one message; None at end of file (the peer exited or exec'd).
    pub fn recv(&self) -> Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; MAX];
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
        let (n, fd) = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let r = loop {
                match recvmsg::<()>(
                    self.0.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::MSG_CMSG_CLOEXEC,
                ) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    other => break other.context("receive from init socket")?,
                }
            };
            let mut fd = None;
            for c in r.cmsgs().context("read control message")? {
                if let ControlMessageOwned::ScmRights(fds) = c {
                    for f in fds {
                        // SAFETY: SCM_RIGHTS gave us a new fd that nothing else owns.
                        let owned = unsafe { OwnedFd::from_raw_fd(f) };
                        fd.get_or_insert(owned);
                    }
                }
            }
            (r.bytes, fd)
        };
        if n == 0 {
            return Ok(None);
        }
        let msg = match buf[0] {
            b'G' => Msg::Go,
            b'R' => Msg::Ready,
            b'S' => Msg::Start,
            b'C' => Msg::Console,
            b'F' => Msg::Seccomp,
            b'H' => Msg::Hooks,
            b'D' => Msg::HooksDone,
            b'E' => Msg::Error(String::from_utf8_lossy(&buf[1..n]).into_owned()),
            t => bail!("unexpected message {t:#x} on the init socket"),
        };
        Ok(Some((msg, fd)))
    }

    pub fn raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Waits for `want`; the peer's Error becomes this side's error.
    pub fn expect(&self, want: Msg) -> Result<Option<OwnedFd>> {
        match self.recv()? {
            Some((Msg::Error(text), _)) => Err(anyhow::anyhow!(text)),
            Some((m, fd)) if m == want => Ok(fd),
            Some((m, _)) => bail!("init socket: expected {want:?}, got {m:?}"),
            None => bail!("init socket closed before {want:?}"),
        }
    }
}
