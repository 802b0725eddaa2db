//! The `tmpcopyup` mount option (Podman's --read-only with tmpfs): the
//! files under a tmpfs's mount point, copied into the new tmpfs, so the
//! directory keeps its content and becomes writable. Every step is
//! relative to a directory fd and never follows a symlink, so nothing in
//! the container can send the copy elsewhere.

use anyhow::{Context, Result};
use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fchmod, fchmodat, fstatat, mknodat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchown, fchownat, Gid, Uid};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Copies the tree under `from` (a directory fd) into `to`.
pub fn copy_tree(from: &OwnedFd, to: &OwnedFd) -> Result<()> {
    let st = nix::sys::stat::fstat(from)?;
    fchown(
        to,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )?;
    fchmod(to, Mode::from_bits_truncate(st.st_mode & 0o7777))?;
    copy_dir(from.as_fd(), to.as_fd(), 0)
}

fn copy_dir(from: BorrowedFd, to: BorrowedFd, depth: u32) -> Result<()> {
    if depth > 128 {
        anyhow::bail!("tmpcopyup: the tree is deeper than 128 levels");
    }
    let mut dir = Dir::openat(
        from,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let names: Vec<std::ffi::CString> = dir
        .iter()
        .filter_map(|e| e.ok())
        .filter(|e| ![&b"."[..], &b".."[..]].contains(&e.file_name().to_bytes()))
        .map(|e| e.file_name().to_owned())
        .collect();
    for name in names {
        let shown = name.to_string_lossy().into_owned();
        copy_one(from, to, &name, depth).with_context(|| format!("tmpcopyup: copy {shown}"))?;
    }
    Ok(())
}

fn copy_one(from: BorrowedFd, to: BorrowedFd, name: &std::ffi::CStr, depth: u32) -> Result<()> {
    let st = fstatat(from, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
    let (uid, gid) = (Uid::from_raw(st.st_uid), Gid::from_raw(st.st_gid));
    let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
    match kind {
        SFlag::S_IFDIR => {
            nix::sys::stat::mkdirat(to, name, Mode::from_bits_truncate(0o700))?;
            let open = |d: BorrowedFd| -> Result<OwnedFd> {
                Ok(nix::fcntl::openat(
                    d,
                    name,
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?)
            };
            let (src, dst) = (open(from)?, open(to)?);
            copy_dir(src.as_fd(), dst.as_fd(), depth + 1)?;
            fchown(&dst, Some(uid), Some(gid))?;
            fchmod(&dst, mode)?;
        }
        SFlag::S_IFREG => {
            let src = nix::fcntl::openat(
                from,
                name,
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let dst = nix::fcntl::openat(
                to,
                name,
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )?;
            let (mut r, mut w) = (std::fs::File::from(src), std::fs::File::from(dst));
            std::io::copy(&mut r, &mut w)?;
            fchown(&w, Some(uid), Some(gid))?;
            fchmod(&w, mode)?;
        }
        SFlag::S_IFLNK => {
            let target = nix::fcntl::readlinkat(from, name)?;
            nix::unistd::symlinkat(target.as_os_str(), to, name)?;
            fchownat(to, name, Some(uid), Some(gid), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        }
        _ => {
            mknodat(to, name, kind, mode, st.st_rdev)?;
            fchownat(to, name, Some(uid), Some(gid), AtFlags::AT_SYMLINK_NOFOLLOW)?;
            fchmodat(to, name, mode, FchmodatFlags::NoFollowSymlink).or_else(|e| {
                // Nodes other than symlinks take a mode; the call may not.
                if e == nix::errno::Errno::EOPNOTSUPP {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
        }
    }
    Ok(())
}
