//! The state directory: one directory per container under `--root`, holding
//! state.json (written atomically), the exec FIFO while the container is
//! created, and the lock (flock on the directory itself). A container's live
//! status is derived from its init's pid and start time, never trusted from
//! the file, so a recycled pid reads as stopped.

use crate::cgroups::Cgroup;
use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const STATE_FILE: &str = "state.json";
pub const FIFO: &str = "exec.fifo";
/// The bundle's config.json as `create` read it: what `exec` takes the
/// process defaults and the seccomp profile from, whatever becomes of the
/// bundle.
pub const CONFIG_FILE: &str = "config.json";

/// The container's status, as the runtime spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `create` is still running (it holds the lock).
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What berth keeps about a container between invocations.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    /// The init's pid in berth's pid namespace; 0 until it exists.
    pub pid: i32,
    /// The init's start time (clock ticks since boot, /proc/PID/stat field 22).
    pub start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds, UTC.
    pub created: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub cgroup: Cgroup,
    /// The container has no PID namespace of its own: when init dies the
    /// rest of its processes live on and must be killed through the cgroup.
    #[serde(default)]
    pub shares_pid_ns: bool,
    /// The config's ociVersion.
    pub oci_version: String,
    /// The config's hooks: `start` runs poststart, `delete` poststop.
    #[serde(default)]
    pub hooks: crate::spec::Hooks,
    /// Host network devices moved into the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub net_devices: Vec<crate::netdev::Moved>,
    /// The network namespace the container joined by path, if any: where
    /// `delete` finds the devices to move back once init is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns_path: Option<String>,
    /// The container has no mount namespace of its own: the mounts berth
    /// made for it in the host's, which `delete` takes away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_root: Option<crate::rootfs::HostRoot>,
}

/// A container's directory, locked for as long as this value lives.
pub struct Dir {
    pub path: PathBuf,
    lock: Flock<File>,
}

/// Checks a container id as runc does: letters, digits, and `_ + - .`,
/// neither "." nor "..", at most 1024 bytes.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if !ok {
        bail!("invalid container id {id:?}: use letters, digits and _ + - . only");
    }
    Ok(())
}

fn lock(path: &Path, arg: FlockArg) -> Result<Flock<File>> {
    let f = File::open(path).with_context(|| format!("open {}", path.display()))?;
    Flock::lock(f, arg)
        .map_err(|(_, e)| e)
        .with_context(|| format!("lock {}", path.display()))
}

impl Dir {
    /// Makes a new container directory, locked; a second container with
    /// the same id is refused.
    pub fn create(root: &Path, id: &str) -> Result<Dir> {
        check_id(id)?;
        // Its parents too, as runc does: containerd's shim names a root
        // under a directory nobody made yet.
        match std::fs::create_dir(root) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::os::unix::fs::DirBuilderExt::mode(
                    std::fs::DirBuilder::new().recursive(true),
                    0o711,
                )
                .create(root)
                .with_context(|| format!("create state root {}", root.display()))?
            }
            Err(e) => {
                return Err(e).with_context(|| format!("create state root {}", root.display()))
            }
        }
        let path = root.join(id);
        match nix::unistd::mkdir(&path, Mode::from_bits_truncate(0o711)) {
            Ok(()) => {}
            Err(Errno::EEXIST) => bail!("container with id {id} already exists"),
            Err(e) => {
                return Err(e).with_context(|| format!("create state directory {}", path.display()))
            }
        }
        match lock(&path, FlockArg::LockExclusiveNonblock) {
            Ok(l) => Ok(Dir { path, lock: l }),
            Err(e) => {
                let _ = std::fs::remove_dir(&path);
                Err(e)
            }
        }
    }

    /// Opens and locks an existing container's directory.
    pub fn open(root: &Path, id: &str) -> Result<Dir> {
        check_id(id)?;
        let path = root.join(id);
        let l = match lock(&path, FlockArg::LockExclusive) {
            Ok(l) => l,
            Err(_) if !path.exists() => bail!("container {id} does not exist"),
            Err(e) => return Err(e),
        };
        // A delete that held the lock before us may have removed it.
        if !path.exists() {
            bail!("container {id} does not exist");
        }
        Ok(Dir { path, lock: l })
    }

    /// The fd holding the lock, which a forked child must close.
    pub fn lock_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.lock.as_raw_fd()
    }

    pub fn read(&self) -> Result<State> {
        read_state(&self.path)
    }

    /// Writes state.json through a temporary file and a rename, so readers
    /// see the old or the new state, never half of one.
    pub fn write(&self, state: &State) -> Result<()> {
        write_atomic(&self.path.join(STATE_FILE), &serde_json::to_vec(state)?)
    }

    pub fn write_config(&self, raw: &[u8]) -> Result<()> {
        let p = self.path.join(CONFIG_FILE);
        std::fs::write(&p, raw).with_context(|| format!("write {}", p.display()))
    }

    pub fn fifo(&self) -> PathBuf {
        self.path.join(FIFO)
    }

    /// Removes the directory and everything in it.
    pub fn remove(self) -> Result<()> {
        std::fs::remove_dir_all(&self.path)
            .with_context(|| format!("remove {}", self.path.display()))
    }
}

/// Writes `data` to `path` atomically (temp file in the same dir + rename).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    let mut f = File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
    f.write_all(data)
        .with_context(|| format!("write {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("rename {} to {}", tmp.display(), path.display()))
}

/// Reads a container's state.json without taking its lock.
pub fn read_state(dir: &Path) -> Result<State> {
    let path = dir.join(STATE_FILE);
    let bytes = match crate::sys::read_file(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if dir.exists() {
                // create died before writing anything: an empty shell.
                return Ok(State {
                    id,
                    ..Default::default()
                });
            }
            bail!("container {id} does not exist");
        }
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    serde_json::from_str(&bytes).with_context(|| format!("parse {}", path.display()))
}

/// The start time of `pid` from /proc/PID/stat, and whether it is a zombie.
/// None when there is no such process.
pub fn proc_start_time(pid: i32) -> Option<(u64, bool)> {
    let stat = crate::sys::read_file(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let state = fields.first()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((start, *state == "Z" || *state == "X"))
}

/// Whether the init recorded in `state` is still alive (and the same process).
pub fn init_alive(state: &State) -> bool {
    state.pid > 0
        && matches!(proc_start_time(state.pid), Some((start, zombie)) if start == state.start_time && !zombie)
}

/// Derives the live status of the container in directory `dir`; `locked`
/// when the caller holds the directory's lock.
pub fn status(dir: &Path, state: &State, locked: bool) -> Status {
    if state.pid == 0 {
        // No init yet: either create is running (and holds the lock) or it
        // died, leaving a shell that delete removes.
        if locked {
            return Status::Stopped;
        }
        return match File::open(dir)
            .ok()
            .map(|f| Flock::lock(f, FlockArg::LockSharedNonblock))
        {
            Some(Err(_)) => Status::Creating,
            _ => Status::Stopped,
        };
    }
    if !init_alive(state) {
        return Status::Stopped;
    }
    if state.cgroup.is_frozen() {
        return Status::Paused;
    }
    if dir.join(FIFO).exists() {
        Status::Created
    } else {
        Status::Running
    }
}

/// The owner of a container directory, by name from the host's /etc/passwd.
pub fn owner(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(dir) {
        Ok(m) => crate::security::user::host_user_name(m.uid()),
        Err(_) => String::new(),
    }
}

/// A process's name (/proc/PID/comm, without the newline); a zombie's too.
pub fn comm(pid: i32) -> Option<Vec<u8>> {
    let mut b = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
    if b.last() == Some(&b'\n') {
        b.pop();
    }
    Some(b)
}

/// Opens the exec FIFO of a created container for writing, without
/// blocking: ENXIO means no init is waiting on the other end.
pub fn open_fifo_for_start(fifo: &Path) -> nix::Result<std::os::fd::OwnedFd> {
    nix::fcntl::open(
        fifo,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_runc_rules() {
        for ok in ["a", "abc-1.2_3+4", "A9"] {
            assert!(check_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "../x", "é"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        assert!(check_id(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn own_process_start_time_is_read() {
        let (start, zombie) = proc_start_time(std::process::id() as i32).unwrap();
        assert!(start > 0);
        assert!(!zombie);
        assert!(proc_start_time(i32::MAX).is_none());
    }
}
