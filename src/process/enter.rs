//! `exec`: the child that enters a running container and becomes the
//! user's process there. The parent has joined the container's PID and
//! time namespaces (they apply to children) and cloned this process into
//! the container's cgroup on cgroup2; from there it follows init's last
//! steps, sharing them (`init::last_steps`).

use super::channel::{Channel, Msg};
use super::{exec, init, ProcessPlan};
use crate::cgroups::Cgroup;
use crate::security::rlimits;
use crate::sys;
use anyhow::{bail, Context, Result};
use std::convert::Infallible;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

/// What the exec'd process needs, checked by the parent.
pub struct ExecPlan {
    pub process: ProcessPlan,
    /// A pidfd of the container's init, verified to be it.
    pub init: OwnedFd,
    /// The namespaces to join through `init` in one setns: those of the
    /// container that differ from berth's (user, mount, network, IPC, UTS,
    /// cgroup; PID and time are the parent's to join).
    pub join: nix::sched::CloneFlags,
    /// The container has no mount namespace of its own: its root, to
    /// chroot into.
    pub chroot: Option<PathBuf>,
    /// The container has a user namespace of its own.
    pub userns: bool,
    pub cgroup: Cgroup,
    pub preserve_fds: u32,
    pub self_exe: (u64, u64),
}

/// The exec child's name until it execs.
const COMM: &std::ffi::CStr = c"berth:[exec]";

/// Runs in the cloned child and never returns: it execs the user's process
/// or sends its error to the parent and exits 1.
pub fn run(plan: &ExecPlan, chan: Channel, console_socket: Option<OwnedFd>) -> ! {
    let err = match setup(plan, &chan, console_socket) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = chan.send(&Msg::Error(format!("{err:#}")));
    // SAFETY: _exit ends this process without running the parent's atexit
    // handlers or flushing buffers copied from it.
    unsafe { libc::_exit(1) }
}

fn setup(plan: &ExecPlan, chan: &Channel, console_socket: Option<OwnedFd>) -> Result<Infallible> {
    let _ = nix::sys::prctl::set_name(COMM);
    // Nothing of the caller's but stdio and --preserve-fds (CVE-2024-21626).
    let mut keep = vec![chan.raw_fd(), plan.init.as_raw_fd()];
    if let Some(s) = &console_socket {
        keep.push(s.as_raw_fd());
    }
    sys::close_except(3 + plan.preserve_fds, &keep).context("close inherited fds")?;
    let p = &plan.process;
    // Into the container's cgroups (v1; cgroup2 placed us at the clone),
    // while the host's cgroupfs is still where it was.
    plan.cgroup.join_self()?;
    // What goes through /proc is done on the host's procfs, before the
    // container's mount namespace (CVE-2025-52881).
    let labels = init::host_proc_steps(p)?;
    // One setns through init's pidfd joins every namespace at once, the
    // kernel taking the user namespace first; the root and cwd become the
    // container's.
    if !plan.join.is_empty() {
        nix::sched::setns(plan.init.as_fd(), plan.join)
            .context("join the container's namespaces")?;
    }
    if let Some(root) = &plan.chroot {
        nix::unistd::chroot(root).with_context(|| format!("chroot {}", root.display()))?;
    }
    nix::unistd::chdir("/").context("chdir /")?;
    rlimits::apply(&p.rlimits)?;
    let console = if p.terminal {
        let root = nix::fcntl::open(
            "/",
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .context("open /")?;
        let (master, tty) = crate::rootfs::open_container_pty(&root)?;
        match &console_socket {
            Some(sock) => sys::send_fd(sock, b"/dev/ptmx", master.as_raw_fd())
                .context("send the pty master to --console-socket")?,
            None => chan.send_with_fd(&Msg::Console, Some(master.as_raw_fd()))?,
        }
        Some(tty)
    } else {
        None
    };
    drop(console_socket);
    if let Some(tty) = &console {
        nix::unistd::setsid().context("setsid")?;
        init::become_terminal(tty, p.console_size)?;
    }
    drop(console);
    let env = init::environment(p)?;
    labels.apply(p)?;
    let exe = init::last_steps(p, plan.userns, plan.preserve_fds, plan.self_exe, chan)?;
    let err = exec::exec(&exe, &p.args, &env);
    bail!("exec {:?}: {}", p.args[0], err.desc())
}
