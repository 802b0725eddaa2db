//! Running from a copy of berth's own binary that nobody can write
//! (CVE-2019-5736).
//!
//! Until it execs, the container's init *is* berth: its /proc/PID/exe is
//! berth's binary. Non-dumpable keeps other processes from opening it, but
//! not one with CAP_SYS_PTRACE in a shared PID namespace, and a container
//! that gets berth to run inside it (a `#!` chain, a file swapped after the
//! check) holds the same link. Whoever opens it could, once no berth runs,
//! write the host's binary. So `create` and `run` first re-exec themselves
//! from a read-only view of the binary, as runc 1.2 does: in a mount
//! namespace of their own, the binary is bind-mounted read-only over
//! itself, and every link then leads to a mount that refuses writes. Where
//! that cannot be done, a sealed in-memory copy (memfd) serves, as in runc
//! 1.1. This is the one re-exec berth makes, before any container exists.

use crate::sys;
use anyhow::{bail, Context, Result};
use nix::fcntl::{fcntl, FcntlArg, OFlag, SealFlag};
use nix::mount::MsFlags;
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::stat::Mode;
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

const SEALS: SealFlag = SealFlag::F_SEAL_SEAL
    .union(SealFlag::F_SEAL_SHRINK)
    .union(SealFlag::F_SEAL_GROW)
    .union(SealFlag::F_SEAL_WRITE);

/// Whether /proc/self/exe is out of anyone's reach for writing: on a
/// read-only mount, or a sealed memfd.
fn protected() -> bool {
    let Ok(exe) = nix::fcntl::open(
        "/proc/self/exe",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    if nix::sys::statvfs::fstatvfs(&exe)
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
    {
        return true;
    }
    matches!(fcntl(&exe, FcntlArg::F_GET_SEALS), Ok(s) if SealFlag::from_bits_truncate(s).contains(SEALS))
}

/// Re-execs berth from a protected view of itself, with the same arguments
/// and environment; returns when it already runs from one, or when none
/// can be made (a warning says so, and berth goes on unprotected).
/// The variable naming the fd of the caller's mount namespace, kept open
/// across the re-exec from the read-only view.
const HOST_NS: &str = "BERTH_HOST_MNT_NS";

pub fn reexec() {
    if protected() {
        let _ = nix::sys::prctl::set_name(c"berth");
        return_to_host_namespace();
        return;
    }
    let args = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>();
    let env = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv)
        })
        .collect::<Result<Vec<_>, _>>();
    let (Ok(args), Ok(env)) = (args, env) else {
        return;
    };
    let e1 = match read_only_view(&args, &env) {
        Err(e) => e,
        Ok(never) => match never {},
    };
    let e2 = match sealed_copy(&args, &env) {
        Err(e) => e,
        Ok(never) => match never {},
    };
    crate::log::warn(&format!(
        "cannot run from a read-only view ({e1:#}) nor a sealed copy ({e2:#}) of berth: its binary is exposed to CVE-2019-5736-style attacks"
    ));
}

/// Back in the caller's mount namespace after the re-exec from the
/// read-only view: hooks, mounts and children belong there, not in the
/// private namespace the view was made in. The binary stays mapped from
/// the read-only mount, which lives on, detached, as long as it is used.
fn return_to_host_namespace() {
    let Some(fd) = std::env::var(HOST_NS)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    std::env::remove_var(HOST_NS);
    // SAFETY: the fd was left open for us across the exec, and is ours now.
    let ns = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    // setns(CLONE_NEWNS) moves cwd to the namespace's root: come back to it.
    let cwd = nix::unistd::getcwd();
    let back = nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(anyhow::Error::from)
        .and_then(|()| Ok(nix::unistd::chdir(cwd?.as_path())?));
    if let Err(e) = back {
        crate::log::warn(&format!("return to the caller's mount namespace: {e:#}"));
    }
}

/// The binary bind-mounted read-only over itself in a private mount
/// namespace, and exec'd from there; the caller's namespace goes along as
/// an open fd, to return to.
fn read_only_view(args: &[CString], env: &[CString]) -> Result<std::convert::Infallible> {
    let path = std::fs::read_link("/proc/self/exe").context("read /proc/self/exe")?;
    if path.to_string_lossy().ends_with(" (deleted)") {
        bail!("the binary was deleted");
    }
    let host = nix::fcntl::open("/proc/self/ns/mnt", OFlag::O_RDONLY, Mode::empty())
        .context("open the mount namespace")?;
    let mut env = env.to_vec();
    env.push(CString::new(format!(
        "{HOST_NS}={}",
        std::os::fd::AsRawFd::as_raw_fd(&host)
    ))?);
    std::mem::forget(host);
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .context("unshare the mount namespace")?;
    // Nothing below may propagate to the host.
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("make / a slave")?;
    let tree = sys::open_tree_clone(&path, false).context("clone the binary's mount")?;
    sys::mount_setattr(&tree, false, crate::rootfs::mounts::MOUNT_ATTR_RDONLY, 0)
        .context("make it read-only")?;
    let target = nix::fcntl::open(&path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .context("open the binary")?;
    sys::move_mount_to(&tree, &target).context("mount it over the binary")?;
    let c = CString::new(path.as_os_str().as_bytes())?;
    let Err(e) = nix::unistd::execve(&c, args, &env);
    Err(e).context("exec the read-only view")
}

/// A sealed memfd copy of the binary, exec'd.
fn sealed_copy(args: &[CString], env: &[CString]) -> Result<std::convert::Infallible> {
    let mut exe = std::fs::File::open("/proc/self/exe").context("open /proc/self/exe")?;
    // MFD_EXEC (kernel 6.3+) where vm.memfd_noexec asks for it.
    let flags = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    let fd = memfd_create(c"berth", flags | MFdFlags::from_bits_retain(0x10))
        .or_else(|_| memfd_create(c"berth", flags))
        .context("memfd_create")?;
    let mut copy = std::fs::File::from(fd);
    std::io::copy(&mut exe, &mut copy).context("copy the binary")?;
    fcntl(&copy, FcntlArg::F_ADD_SEALS(SEALS)).context("seal the copy")?;
    let Err(e) = nix::unistd::execveat(&copy, c"", args, env, nix::fcntl::AtFlags::AT_EMPTY_PATH);
    Err(e).context("exec the sealed copy")
}
