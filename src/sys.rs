//! Raw system calls that nix does not wrap, each as a small safe function
//! returning `nix::Result`. Every `unsafe` in berth outside this module is an
//! exception that carries its own `// SAFETY:` note.

use nix::errno::Errno;
use nix::unistd::Pid;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `struct clone_args` of clone3(2), as the kernel's uapi defines it.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What [`clone3`] returned in the calling process.
pub enum Forked {
    /// In the parent: the child's pid and a pidfd for it.
    Parent { pid: Pid, pidfd: OwnedFd },
    /// In the child.
    Child,
}

/// clone3(2) without a new stack: fork semantics plus namespace flags,
/// `CLONE_PIDFD` and, when `cgroup` is given, `CLONE_INTO_CGROUP`.
///
/// The child shares no memory with the parent, but libc does not know it was
/// forked: it must not use libc state tied to the thread id (raise, abort,
/// pthread or stdio locks). berth's init uses plain system calls only, and the
/// caller must be single-threaded.
pub fn clone3(flags: u64, cgroup: Option<RawFd>) -> nix::Result<Forked> {
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: flags | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    // SAFETY: `args` is a valid clone_args of the size passed; with no stack
    // given the child continues on a copy of this stack, like fork(2).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match Errno::result(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: Pid::from_raw(pid as i32),
            // SAFETY: the kernel stored a new, owned pidfd in `pidfd`.
            pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
        }),
    }
}

pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
pub const CLONE_NEWTIME: u64 = 0x80;

/// close_range(2) with CLOSE_RANGE_CLOEXEC: every fd from `first` on is
/// marked close-on-exec, so it stays usable until execve closes it.
pub fn cloexec_from(first: u32) -> nix::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range takes plain integers and touches only the fd table.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    Errno::result(ret).map(drop)
}

/// pidfd_open(2).
pub fn pidfd_open(pid: Pid) -> nix::Result<OwnedFd> {
    // SAFETY: plain integer arguments; a non-negative result is a new fd we own.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = Errno::result(ret)? as RawFd;
    // SAFETY: the kernel returned a new, owned fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// pidfd_send_signal(2): signals exactly the process the pidfd refers to,
/// never a later process that reused its pid.
pub fn pidfd_send_signal(pidfd: impl AsFd, sig: i32) -> nix::Result<()> {
    // SAFETY: a valid fd, a signal number, a null siginfo and zero flags.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_fd().as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    Errno::result(ret).map(drop)
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new session keyring, so the
/// container cannot see the keys of the session that started it.
pub fn join_session_keyring(name: &std::ffi::CStr) -> nix::Result<i64> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_int = 1;
    // SAFETY: `name` is a valid NUL-terminated string for the call's duration.
    let ret =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    Errno::result(ret)
}

/// keyctl(KEYCTL_SETPERM): runc's permissions for the session keyring
/// (possessor all, user view/read/write/search/link/setattr).
pub fn set_keyring_perm(key: i64, perm: u32) -> nix::Result<()> {
    const KEYCTL_SETPERM: libc::c_int = 5;
    // SAFETY: plain integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, key, perm) };
    Errno::result(ret).map(drop)
}

/// ioctl(NS_GET_NSTYPE): the CLONE_NEW* flag of the namespace a file refers to.
pub fn ns_type(fd: impl AsFd) -> nix::Result<i32> {
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703; // _IO(0xb7, 0x3)
                                                 // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd.
    let ret = unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), NS_GET_NSTYPE as _) };
    Errno::result(ret)
}

/// pivot_root(2) with both arguments ".": the old root ends up stacked under
/// the new one, where a lazy unmount of "." removes it (no put_old directory).
pub fn pivot_root_dot() -> nix::Result<()> {
    nix::unistd::pivot_root(".", ".")
}

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) on the mount an O_PATH fd refers to, the whole tree
/// below it too when `recursive`.
pub fn mount_setattr(fd: impl AsFd, recursive: bool, set: u64, clr: u64) -> nix::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    let mut attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: a valid fd, an empty NUL-terminated path, and a mount_attr of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_fd().as_raw_fd(),
            c"".as_ptr(),
            flags,
            &mut attr as *mut MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(ret).map(drop)
}

/// ioctl(TIOCGPTPEER): opens the terminal side of a pty master without a
/// path lookup, so it is the peer of this master and no other.
pub fn open_pty_peer(master: impl AsFd, flags: libc::c_int) -> nix::Result<OwnedFd> {
    const TIOCGPTPEER: libc::c_ulong = 0x5441;
    // SAFETY: TIOCGPTPEER takes the open flags as its argument and returns a new fd.
    let ret = unsafe { libc::ioctl(master.as_fd().as_raw_fd(), TIOCGPTPEER as _, flags) };
    let fd = Errno::result(ret)?;
    // SAFETY: the kernel returned a new, owned fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The /proc/self/fd path of an fd, for calls that take a path only.
pub fn fd_path(fd: impl AsFd) -> String {
    format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd())
}

/// Reads a whole file, in as few system calls as its size allows: one
/// open, reads into a page-sized buffer until end of file, one close (no
/// fstat, and /proc files, which report size 0, are not read in 32-byte
/// steps as std's read_to_string would).
pub fn read_file(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    let fd = open_raw(path.as_ref(), libc::O_RDONLY | libc::O_CLOEXEC)?;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity());
        }
        let len = buf.len();
        let spare = buf.capacity() - len;
        // SAFETY: the kernel writes at most `spare` bytes into the vector's
        // spare capacity, and the length is raised by what it wrote only.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().add(len).cast(), spare) };
        match n {
            0 => break,
            n if n > 0 => {
                // SAFETY: the kernel initialised these n bytes.
                unsafe { buf.set_len(len + n as usize) };
            }
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// openat(AT_FDCWD, path, flags) as the system call: musl's open() follows
/// an O_CLOEXEC open with an fcntl(F_SETFD) for kernels older than 2.6.23.
pub fn open_raw(path: &std::path::Path, flags: libc::c_int) -> std::io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: a valid NUL-terminated path for the call's duration; a
    // non-negative result is a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_openat, libc::AT_FDCWD, c.as_ptr(), flags, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new, owned fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// open_tree(2) with OPEN_TREE_CLONE: a detached copy of the mount (tree,
/// with `recursive`) at `path`, to set up before it is attached anywhere.
pub fn open_tree_clone(path: &std::path::Path, recursive: bool) -> nix::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: a valid NUL-terminated path; a non-negative result is a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    let fd = Errno::result(fd)? as RawFd;
    // SAFETY: the kernel returned a new, owned fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// move_mount(2) of a detached tree onto the file or directory `target`
/// (an O_PATH fd): the mount appears there, where the fd points.
pub fn move_mount_to(tree: impl AsFd, target: impl AsFd) -> nix::Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    // SAFETY: two valid fds and empty NUL-terminated paths.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_fd().as_raw_fd(),
            c"".as_ptr(),
            target.as_fd().as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    Errno::result(ret).map(drop)
}

/// Closes every fd from `first` on but those in `keep`, with close_range(2).
pub fn close_except(first: u32, keep: &[RawFd]) -> nix::Result<()> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|fd| **fd >= 0)
        .map(|fd| *fd as u32)
        .filter(|fd| *fd >= first)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut from = first;
    for k in keep.into_iter().chain(std::iter::once(u32::MAX)) {
        if k > from {
            let to = if k == u32::MAX { u32::MAX } else { k - 1 };
            // SAFETY: close_range takes plain integers and touches only the fd table.
            let ret = unsafe { libc::syscall(libc::SYS_close_range, from, to, 0) };
            Errno::result(ret)?;
        }
        from = k.saturating_add(1);
    }
    Ok(())
}

/// open_tree(2) with OPEN_TREE_CLONE on an fd (AT_EMPTY_PATH): a detached
/// bind mount of exactly that file or directory.
pub fn open_tree_clone_fd(fd: impl AsFd, recursive: bool) -> nix::Result<OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let mut flags =
        OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: a valid fd and an empty NUL-terminated path; a non-negative
    // result is a new fd.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            fd.as_fd().as_raw_fd(),
            c"".as_ptr(),
            flags,
        )
    };
    let fd = Errno::result(ret)? as RawFd;
    // SAFETY: the kernel returned a new, owned fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A new, detached, read-only and empty tmpfs (fsopen, fsconfig, fsmount).
pub fn empty_readonly_tmpfs() -> nix::Result<OwnedFd> {
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    // SAFETY: a NUL-terminated filesystem name; a non-negative result is a new fd.
    let fs = unsafe { libc::syscall(libc::SYS_fsopen, c"tmpfs".as_ptr(), FSOPEN_CLOEXEC) };
    // SAFETY: the kernel returned a new, owned fd.
    let fs = unsafe { OwnedFd::from_raw_fd(Errno::result(fs)? as RawFd) };
    // SAFETY: FSCONFIG_CMD_CREATE takes no key or value.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    Errno::result(ret)?;
    // SAFETY: a valid filesystem context fd and plain flags.
    let m = unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fs.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            0x1, /* MOUNT_ATTR_RDONLY */
        )
    };
    // SAFETY: the kernel returned a new, owned fd.
    Ok(unsafe { OwnedFd::from_raw_fd(Errno::result(m)? as RawFd) })
}

/// Sends `data` and one fd (SCM_RIGHTS) on a unix socket, without SIGPIPE.
pub fn send_fd(sock: impl AsFd, data: &[u8], fd: RawFd) -> nix::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let iov = [std::io::IoSlice::new(data)];
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(
        sock.as_fd().as_raw_fd(),
        &iov,
        &cmsg,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map(drop)
}

/// mount_setattr(2) with MOUNT_ATTR_IDMAP: the detached mount `tree`
/// (the whole tree with `recursive`) maps ownership through `userns`.
pub fn mount_setattr_idmap(tree: impl AsFd, recursive: bool, userns: impl AsFd) -> nix::Result<()> {
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    let mut attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_fd().as_raw_fd() as u64,
    };
    // SAFETY: valid fds, an empty NUL-terminated path, a mount_attr of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_fd().as_raw_fd(),
            c"".as_ptr(),
            flags,
            &mut attr as *mut MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(ret).map(drop)
}

/// Whether two fds name the same file (namespaces included: nsfs inodes).
pub fn same_file(a: BorrowedFd, b: BorrowedFd) -> nix::Result<bool> {
    let sa = nix::sys::stat::fstat(a)?;
    let sb = nix::sys::stat::fstat(b)?;
    Ok(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
}

/// mountinfo escapes space, tab, newline and backslash as octal.
pub fn unescape_mountinfo(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The id of the mount on top at `path` (the last of /proc/self/mountinfo's
/// lines for that mount point), or None when nothing is mounted there.
pub fn top_mount_id(path: &std::path::Path) -> anyhow::Result<Option<u64>> {
    use anyhow::Context;
    let text = read_file("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
    let want = path.to_string_lossy();
    Ok(text.lines().rev().find_map(|l| {
        let mut f = l.split(' ');
        let id = f.next()?.parse::<u64>().ok()?;
        let mp = f.nth(3)?;
        (unescape_mountinfo(mp) == want).then_some(id)
    }))
}

/// Connects to a --console-socket, naming a path that is not a socket.
pub fn connect_console_socket(p: &std::path::Path) -> anyhow::Result<OwnedFd> {
    use anyhow::Context;
    use std::os::unix::fs::FileTypeExt;
    if std::fs::metadata(p).is_ok_and(|m| !m.file_type().is_socket()) {
        anyhow::bail!("--console-socket: {} is not a socket", p.display());
    }
    let s = std::os::unix::net::UnixStream::connect(p)
        .with_context(|| format!("--console-socket: connect to {}", p.display()))?;
    Ok(OwnedFd::from(s))
}
