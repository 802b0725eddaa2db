//! `run`: create, start and, in the foreground, wait for the container,
//! forwarding signals to it and relaying its terminal, then delete it and
//! return its exit status (128+N when killed by signal N).

use crate::container::{self, CreateOptions, Created, Mode};
use crate::process::channel::Msg;
use crate::sys;
use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

pub struct RunOptions {
    pub create: CreateOptions,
    pub detach: bool,
    pub keep: bool,
}

/// Every signal berth can catch but the synchronous faults, real-time ones
/// included: all are forwarded to the container but SIGCHLD (ours) and
/// SIGWINCH (resizes the terminal).
fn all_signals() -> SigSet {
    // SAFETY: sigemptyset/sigaddset initialise and fill a sigset_t we own;
    // numbers libc reserves for itself are refused and left out.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in 1..=64 {
            if ![
                libc::SIGKILL,
                libc::SIGSTOP,
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGILL,
                libc::SIGFPE,
                libc::SIGTRAP,
            ]
            .contains(&sig)
            {
                libc::sigaddset(&mut set, sig);
            }
        }
        SigSet::from_sigset_t_unchecked(set)
    }
}

/// Blocks every signal berth forwards and returns a signalfd for them:
/// blocked before the clone, a signal or a fast exit between then and the
/// wait loop stays pending instead of being lost.
pub fn block_signals() -> Result<SignalFd> {
    let set = all_signals();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
        .context("block signals")?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC).context("signalfd")
}

pub fn run(opts: &RunOptions) -> Result<i32> {
    let attach = !opts.detach && opts.create.console_socket.is_none();
    // Blocked before the clone: a signal or a fast exit between now and
    // the wait loop stays pending instead of being lost.
    let signals = if opts.detach {
        None
    } else {
        Some(block_signals()?)
    };
    let c = container::create(&opts.create, Mode::Run { attach })?;
    // The container's terminal takes the caller's size and the caller's
    // terminal goes raw before the user's process can look at either.
    let _raw = c.console.as_ref().and_then(|m| {
        copy_winsize(std::io::stdin().as_fd(), m.as_fd());
        RawTerminal::new()
    });
    if let Err(e) = start(&c) {
        let _ = waitpid(c.pid, None);
        let _ = container::destroy(c.dir, &c.state);
        return Err(e);
    }
    let Some(signals) = signals else { return Ok(0) };
    let status = wait(c.pid, &c.pidfd, c.console.as_ref(), &signals);
    if !opts.keep {
        container::destroy(c.dir, &c.state)
            .with_context(|| format!("delete container {}", c.state.id))?;
    }
    status
}

/// Tells init to exec and waits until it has: the init socket is
/// close-on-exec, so end of file means the exec went through.
fn start(c: &Created) -> Result<()> {
    c.chan.send(&Msg::Start)?;
    match c.chan.recv()? {
        None => {
            let st = crate::hooks::state(&c.state, "running", c.pid.as_raw());
            crate::hooks::run_warn("poststart", &c.state.hooks.poststart, &st);
            Ok(())
        }
        Some((Msg::Error(text), _)) => Err(anyhow::anyhow!(text)),
        Some((m, _)) => bail!("init sent {m:?} instead of exec'ing"),
    }
}

/// The terminal of the caller, set raw while the container owns it.
pub struct RawTerminal {
    fd: BorrowedFd<'static>,
    saved: termios::Termios,
}

impl RawTerminal {
    pub fn new() -> Option<RawTerminal> {
        let fd = std::io::stdin();
        // SAFETY: stdin lives as long as the process.
        let fd: BorrowedFd<'static> = unsafe { BorrowedFd::borrow_raw(fd.as_raw_fd()) };
        let saved = termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, termios::SetArg::TCSANOW, &raw).ok()?;
        Some(RawTerminal { fd, saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, termios::SetArg::TCSANOW, &self.saved);
    }
}

pub fn copy_winsize(from: BorrowedFd, to: BorrowedFd) {
    let mut ws: libc::winsize = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills a winsize we own; TIOCSWINSZ reads it.
    unsafe {
        if libc::ioctl(from.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Copies what one read gives from `from` to `to`; false at end of input.
fn pump(from: BorrowedFd, to: BorrowedFd) -> bool {
    let mut buf = [0u8; 8192];
    match nix::unistd::read(from, &mut buf) {
        Ok(0) | Err(nix::errno::Errno::EIO) => false,
        Ok(n) => {
            let mut out = &buf[..n];
            while !out.is_empty() {
                match nix::unistd::write(to, out) {
                    Ok(w) => out = &out[w..],
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(_) => return false,
                }
            }
            true
        }
        Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => true,
        Err(_) => false,
    }
}

/// Waits for `pid` (init, or an exec'd process) to exit, forwarding
/// signals and relaying the terminal; its status, 128+N for signal N.
pub fn wait(
    pid: nix::unistd::Pid,
    pidfd: &OwnedFd,
    master: Option<&OwnedFd>,
    signals: &SignalFd,
) -> Result<i32> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    loop {
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        if let (Some(m), true) = (master, master_open) {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
        }
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => r.context("poll")?,
        };
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        let mut i = 1;
        if let (Some(m), true) = (master, master_open) {
            if ready[i] {
                master_open = pump(m.as_fd(), stdout.as_fd());
            }
            i += 1;
        }
        if stdin_open && ready[i] {
            if let Some(m) = master {
                stdin_open = pump(stdin.as_fd(), m.as_fd());
            }
        }
        if !ready[0] {
            continue;
        }
        while let Some(info) = signals.read_signal().context("read signalfd")? {
            let sig = info.ssi_signo as i32;
            match sig {
                libc::SIGCHLD => {
                    if let Some(code) = reap(pid)? {
                        if let (Some(m), true) = (master, master_open) {
                            drain(m.as_fd(), stdout.as_fd());
                        }
                        return Ok(code);
                    }
                }
                libc::SIGWINCH => {
                    if let Some(m) = master {
                        copy_winsize(stdin.as_fd(), m.as_fd());
                    }
                }
                _ => {
                    let _ = sys::pidfd_send_signal(pidfd, sig);
                }
            }
        }
    }
}

/// Copies what the container wrote before it exited. The pty hands data
/// to the master side asynchronously, so "nothing to read now" is not the
/// end: that is EIO, once the last terminal fd is closed. A process that
/// keeps the terminal open is given a moment, not forever.
fn drain(master: BorrowedFd, out: BorrowedFd) {
    loop {
        let mut probe = [PollFd::new(master, PollFlags::POLLIN)];
        match poll(&mut probe, PollTimeout::from(500u16)) {
            Ok(n) if n > 0 => {
                if !pump(master, out) {
                    return;
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            _ => return,
        }
    }
}

/// The container's exit status once init has exited.
fn reap(pid: nix::unistd::Pid) -> Result<Option<i32>> {
    match waitpid(pid, Some(WaitPidFlag::WNOHANG)).context("wait for the process")? {
        WaitStatus::Exited(_, code) => Ok(Some(code)),
        WaitStatus::Signaled(_, sig, _) => Ok(Some(128 + sig as i32)),
        _ => Ok(None),
    }
}
