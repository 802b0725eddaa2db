//! The six kinds of hooks (config.md, "POSIX-platform Hooks"): each runs
//! with the container's state as JSON on its stdin, its own args and env,
//! and, when given, a timeout after which it is killed.
//!
//! Where each runs, as runc runs them:
//! - prestart and createRuntime: in `create`, in the runtime's namespaces,
//!   once the container's namespaces exist and before pivot_root;
//! - createContainer: by init, in the container's namespaces, before
//!   pivot_root (the path is the host's);
//! - startContainer: by init, in the container, after `start` and before
//!   the user's process execs (the path is the container's);
//! - poststart: in `start` (or `run`), once the process runs;
//! - poststop: in `delete`, once the container is gone.
//!
//! A failing hook of the first four kinds fails the operation; a failing
//! poststart or poststop hook is a warning, as runc, the clients and the
//! conformance suite expect (runtime-spec 1.3 makes a failing poststart an
//! error; berth follows runc here).

use crate::spec::Hook;
use crate::sys;
use anyhow::{bail, Context, Result};
use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// The six kinds: name, the config's list, and whether the executable is
/// looked up in the runtime's mount namespace.
pub fn kinds(h: &crate::spec::Hooks) -> [(&'static str, &Vec<Hook>, bool); 6] {
    [
        ("prestart", &h.prestart, true),
        ("createRuntime", &h.create_runtime, true),
        ("createContainer", &h.create_container, true),
        ("startContainer", &h.start_container, false),
        ("poststart", &h.poststart, true),
        ("poststop", &h.poststop, true),
    ]
}

/// Checks hooks before any process exists: absolute paths, positive
/// timeouts, and, for those found in the runtime's namespace, that the
/// executable is there.
pub fn check(h: &crate::spec::Hooks) -> Result<()> {
    for (kind, list, on_host) in kinds(h) {
        for (i, hook) in list.iter().enumerate() {
            let field = format!("hooks.{kind}[{i}]");
            if !hook.path.starts_with('/') {
                bail!(
                    "invalid config: {field}.path: {:?} is not an absolute path",
                    hook.path
                );
            }
            if let Some(t) = hook.timeout {
                if t <= 0 {
                    bail!("invalid config: {field}.timeout: {t} (seconds, more than zero)");
                }
            }
            if on_host {
                let ok = nix::unistd::access(hook.path.as_str(), nix::unistd::AccessFlags::X_OK);
                if let Err(e) = ok {
                    bail!("invalid config: {field}.path: {}: {}", hook.path, e.desc());
                }
            }
        }
    }
    Ok(())
}

/// Runs `hooks` of `kind` in order with `state` on their stdin; the first
/// failure is the error.
pub fn run(kind: &str, hooks: &[Hook], state: &serde_json::Value) -> Result<()> {
    if hooks.is_empty() {
        return Ok(());
    }
    let input = serde_json::to_vec(state)?;
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, &input).with_context(|| format!("hooks.{kind}[{i}] ({})", h.path))?;
    }
    Ok(())
}

/// Runs hooks whose failure is only worth a warning: each one fails alone,
/// the rest still run.
pub fn run_warn(kind: &str, hooks: &[Hook], state: &serde_json::Value) {
    let input = match serde_json::to_vec(state) {
        Ok(i) => i,
        Err(e) => return crate::log::warn(&format!("hooks.{kind}: {e}")),
    };
    for (i, h) in hooks.iter().enumerate() {
        if let Err(e) = run_one(h, &input) {
            crate::log::warn(&format!("hooks.{kind}[{i}] ({}): {e:#}", h.path));
        }
    }
}

/// An anonymous file for a hook's stdin or output.
fn memfile(name: &std::ffi::CStr) -> Result<std::fs::File> {
    let fd = nix::sys::memfd::memfd_create(name, nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .context("memfd_create")?;
    Ok(std::fs::File::from(fd))
}

fn run_one(h: &Hook, input: &[u8]) -> Result<()> {
    // stdin and the output are files, not pipes: nothing to pump while
    // waiting, and a hook that writes much cannot block on a full pipe.
    let mut stdin = memfile(c"hook-stdin")?;
    stdin.write_all(input)?;
    stdin.rewind()?;
    let mut out = memfile(c"hook-output")?;
    let mut cmd = Command::new(&h.path);
    if let Some((arg0, rest)) = h.args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear();
    for kv in &h.env {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::from(stdin))
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out.try_clone()?));
    let mut child = cmd.spawn().with_context(|| format!("run {}", h.path))?;
    let status = match h.timeout {
        None => child.wait()?,
        Some(secs) => {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let pidfd: OwnedFd = sys::pidfd_open(pid).context("pidfd_open")?;
            let ms = (secs as u64).saturating_mul(1000).min(i32::MAX as u64) as i32;
            let mut fds = [nix::poll::PollFd::new(
                pidfd.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            let ready = loop {
                match nix::poll::poll(
                    &mut fds,
                    nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::MAX),
                ) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    r => break r.context("poll")?,
                }
            };
            if ready == 0 {
                let _ = child.kill();
                let _ = child.wait();
                bail!("did not finish within {secs} s (killed)");
            }
            child.wait()?
        }
    };
    if !status.success() {
        let mut text = String::new();
        out.rewind()?;
        let _ = out.take(4096).read_to_string(&mut text);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        let how = match status.code() {
            Some(c) => format!("exited with status {c}"),
            None => format!("was killed ({status})"),
        };
        if last.is_empty() {
            bail!("{how}");
        }
        bail!("{how}: {last}");
    }
    Ok(())
}

/// The state the spec gives hooks on stdin.
pub fn state(st: &crate::state::State, status: &str, pid: i32) -> serde_json::Value {
    serde_json::json!({
        "ociVersion": if st.oci_version.is_empty() { crate::spec::OCI_VERSION } else { st.oci_version.as_str() },
        "id": st.id,
        "status": status,
        "pid": pid,
        "bundle": st.bundle,
        "annotations": st.annotations,
    })
}
