//! process.apparmorProfile and process.selinuxLabel: checked against what
//! the host's kernel has before any process exists, and set for the exec
//! of the user's process through /proc/self/attr, opened before pivot_root
//! (the host's procfs: the container's could redirect the write,
//! CVE-2025-52881).

use anyhow::{bail, Context, Result};
use std::os::fd::OwnedFd;
use std::path::Path;

fn apparmor_enabled() -> bool {
    crate::sys::read_file("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim_start().starts_with('Y'))
}

pub fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// Checks an AppArmor profile: AppArmor on, the profile loaded.
pub fn check_apparmor(profile: &str) -> Result<()> {
    if !apparmor_enabled() {
        bail!("process.apparmorProfile: {profile:?}: AppArmor is not enabled on this host");
    }
    if profile == "unconfined" {
        return Ok(());
    }
    if let Ok(list) = crate::sys::read_file("/sys/kernel/security/apparmor/profiles") {
        let loaded = list
            .lines()
            .any(|l| l.rsplit_once(" (").is_some_and(|(name, _)| name == profile));
        if !loaded {
            bail!("process.apparmorProfile: profile {profile:?} is not loaded (see /sys/kernel/security/apparmor/profiles)");
        }
    }
    Ok(())
}

/// Checks that an SELinux label (of `field`) can be set: SELinux on.
pub fn check_selinux(field: &str, label: &str) -> Result<()> {
    if !selinux_enabled() {
        bail!("{field}: {label:?}: SELinux is not enabled on this host");
    }
    Ok(())
}

/// The calling process's exec attribute file for an LSM, opened for
/// writing; `apparmor` picks AppArmor's own file where the kernel has it.
pub fn open_exec_attr(apparmor: bool) -> Result<OwnedFd> {
    let paths: &[&str] = if apparmor {
        &["/proc/self/attr/apparmor/exec", "/proc/self/attr/exec"]
    } else {
        &["/proc/self/attr/exec"]
    };
    let mut last = None;
    for p in paths {
        match crate::sys::open_raw(Path::new(p), libc::O_WRONLY | libc::O_CLOEXEC) {
            Ok(fd) => return Ok(fd),
            Err(e) => last = Some((p, e)),
        }
    }
    match last {
        Some((p, e)) => Err(e).with_context(|| format!("open {p}")),
        None => bail!("no exec attribute file"),
    }
}

/// Writes the exec attribute: the profile or label the next execve takes.
pub fn set_exec(fd: &OwnedFd, value: &str) -> Result<()> {
    let n = nix::unistd::write(fd, value.as_bytes()).context("write the exec attribute")?;
    if n != value.len() {
        bail!("short write of the exec attribute");
    }
    Ok(())
}
