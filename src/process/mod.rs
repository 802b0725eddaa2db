//! The container's init: what it is told (the plan, built and checked by
//! the parent before the clone, and inherited by the child as memory), and
//! the recipe it follows inside the new namespaces up to execve.

pub mod attrs;
pub mod channel;
pub mod enter;
mod exec;
mod init;

pub use init::{run, INIT_COMM};

use crate::namespaces;
use crate::rootfs;
use crate::security::rlimits::Rlimit;
use crate::security::{caps, seccomp};
use crate::spec::ConsoleSize;
use std::ffi::CString;
use std::os::fd::OwnedFd;

/// The user's process, in the form execve and the kernel take.
#[derive(Debug)]
pub struct ProcessPlan {
    pub args: Vec<CString>,
    /// KEY=VALUE entries; HOME is added inside the container when missing.
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: u32,
    pub caps: caps::Sets,
    pub last_cap: u32,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    /// linux.seccomp, compiled before the clone.
    pub seccomp: Option<seccomp::Compiled>,
    pub oom_score_adj: Option<i32>,
    /// process.apparmorProfile, checked.
    pub apparmor: Option<String>,
    /// process.selinuxLabel, checked.
    pub selinux: Option<String>,
    pub terminal: bool,
    pub console_size: Option<ConsoleSize>,
}

/// Everything init needs.
#[derive(Debug)]
pub struct Plan {
    pub id: String,
    pub ns: namespaces::Plan,
    pub rootfs: rootfs::Plan,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub sysctl: Vec<(String, String)>,
    pub process: ProcessPlan,
    /// Join a fresh session keyring (not with --no-new-keyring).
    pub new_keyring: bool,
    pub preserve_fds: u32,
    /// Device and inode of berth's own binary, which init refuses to exec.
    pub self_exe: (u64, u64),
    pub hooks: crate::spec::Hooks,
    /// Personality, I/O priority, scheduler, memory policy.
    pub attrs: attrs::Attrs,
    /// The state hooks are given (ociVersion, id, bundle, annotations).
    pub hook_state: crate::state::State,
}

/// How init learns that it may exec.
pub enum Gate {
    /// `create`: a byte read from the exec FIFO, written by `start`.
    Fifo(OwnedFd),
    /// `run`: a Start message from the parent on the init socket.
    Channel,
}

/// The fds init inherits.
pub struct Ends {
    pub chan: channel::Channel,
    pub gate: Gate,
    /// --console-socket, connected by the parent.
    pub console_socket: Option<OwnedFd>,
}
