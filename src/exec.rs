//! `exec`: a new process in a running container. The process comes from
//! `--process FILE` (a runtime-spec process, as clients send it) or from
//! the container's own config.json with the command line's changes, as
//! runc builds it. berth joins the container's PID and time namespaces
//! (they apply to children), clones a child into its cgroup, and the child
//! joins the rest through a pidfd of init, then takes init's last steps
//! (process/enter.rs). In the foreground berth forwards signals, relays a
//! terminal and returns the process's exit status; with --detach it
//! returns once the process is running.

use crate::container;
use crate::process::channel::{self, Msg};
use crate::process::enter::{self, ExecPlan};
use crate::runner;
use crate::spec::{self, Spec};
use crate::state::{self, Status};
use crate::{log, sys};
use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;
use nix::sys::wait::waitpid;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct ExecOptions {
    pub root: PathBuf,
    pub id: String,
    /// --process FILE ("-" for stdin).
    pub process: Option<PathBuf>,
    /// The command and its arguments, without --process.
    pub args: Vec<String>,
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
    pub cwd: Option<String>,
    pub env: Vec<String>,
    /// UID[:GID]
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
}

/// nix has no name for it.
const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

/// The namespaces of a container and the flags that name them in setns.
const KINDS: [(&str, CloneFlags); 8] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("mnt", CloneFlags::CLONE_NEWNS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("time", CLONE_NEWTIME),
];

pub fn exec(opts: &ExecOptions) -> Result<i32> {
    state::check_id(&opts.id)?;
    let dir = opts.root.join(&opts.id);
    let st = state::read_state(&dir)?;
    let id = &opts.id;
    match state::status(&dir, &st, false) {
        Status::Running | Status::Created => {}
        Status::Paused => bail!("cannot exec in container {id}: it is paused (resume it first)"),
        s => bail!("cannot exec in container {id}: it is {s}"),
    }
    let config = read_config(&dir)?;
    let process = build_process(opts, &config)?;
    let plan_process = container::process_plan(&process, config.linux.as_ref())?;
    if process.terminal && opts.console_socket.is_none() && opts.detach {
        bail!("process.terminal is true: --console-socket is needed with --detach");
    }
    if !process.terminal && opts.console_socket.is_some() {
        bail!("--console-socket given, but the process has no terminal (--tty)");
    }
    let console_socket = match &opts.console_socket {
        Some(p) => Some(sys::connect_console_socket(p)?),
        None => None,
    };

    // A pidfd names init for good; the start time checked after opening
    // it shows the pid was not reused before.
    let init = sys::pidfd_open(nix::unistd::Pid::from_raw(st.pid))
        .with_context(|| format!("container {id}: open its init (pid {})", st.pid))?;
    if !state::init_alive(&st) {
        bail!("cannot exec in container {id}: it has stopped");
    }
    let mut join = CloneFlags::empty();
    for (name, flag) in KINDS {
        let theirs = std::fs::metadata(format!("/proc/{}/ns/{name}", st.pid));
        let ours = std::fs::metadata(format!("/proc/self/ns/{name}"));
        if let (Ok(t), Ok(o)) = (theirs, ours) {
            if (t.dev(), t.ino()) != (o.dev(), o.ino()) {
                join |= flag;
            }
        }
    }
    // PID and time namespaces apply to the children of who joins them.
    let for_children = join & (CloneFlags::CLONE_NEWPID | CLONE_NEWTIME);
    if !for_children.is_empty() {
        nix::sched::setns(init.as_fd(), for_children)
            .context("join the container's PID and time namespaces")?;
    }
    let self_exe = nix::sys::stat::stat("/proc/self/exe").context("stat /proc/self/exe")?;
    let plan = ExecPlan {
        userns: join.contains(CloneFlags::CLONE_NEWUSER),
        join: join - for_children,
        chroot: st.host_root.as_ref().map(|_| st.rootfs.clone()),
        init,
        process: plan_process,
        cgroup: st.cgroup.clone(),
        preserve_fds: opts.preserve_fds,
        self_exe: (self_exe.st_dev, self_exe.st_ino),
    };
    let signals = if opts.detach {
        None
    } else {
        Some(runner::block_signals()?)
    };
    let cgroup_fd = st.cgroup.open_v2_dir()?;
    let (parent_end, child_end) = channel::pair()?;
    // Non-dumpable before the clone, as for init (CVE-2019-5736).
    nix::sys::prctl::set_dumpable(false).context("set non-dumpable")?;
    let forked = sys::clone3(0, cgroup_fd.as_ref().map(|f| f.as_raw_fd()))
        .with_context(|| format!("clone a process into container {id}"))?;
    let (pid, pidfd) = match forked {
        sys::Forked::Child => {
            drop(parent_end);
            drop(cgroup_fd);
            enter::run(&plan, child_end, console_socket)
        }
        sys::Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(child_end);
    drop(console_socket);
    log::debug(|| format!("exec: process cloned as pid {pid}"));
    // The child's end is close-on-exec: end of file means it exec'd.
    let mut console = None;
    loop {
        match parent_end.recv() {
            Ok(None) => break,
            Ok(Some((Msg::Console, fd))) => console = fd,
            Ok(Some((Msg::Seccomp, Some(fd)))) => {
                let sent = container::send_seccomp_listener(
                    fd,
                    plan.process.seccomp.as_ref(),
                    &st,
                    pid,
                    "running",
                );
                if let Err(e) = sent {
                    let _ = sys::pidfd_send_signal(&pidfd, libc::SIGKILL);
                    let _ = waitpid(pid, None);
                    return Err(e);
                }
            }
            Ok(Some((Msg::Error(text), _))) => {
                let _ = waitpid(pid, None);
                bail!("exec in container {id}: {text}");
            }
            Ok(Some((m, _))) => {
                let _ = sys::pidfd_send_signal(&pidfd, libc::SIGKILL);
                let _ = waitpid(pid, None);
                bail!("exec in container {id}: the child sent {m:?}");
            }
            Err(e) => {
                let _ = sys::pidfd_send_signal(&pidfd, libc::SIGKILL);
                let _ = waitpid(pid, None);
                return Err(e);
            }
        }
    }
    if let Some(f) = &opts.pid_file {
        state::write_atomic(f, pid.to_string().as_bytes())
            .with_context(|| format!("--pid-file {}", f.display()))?;
    }
    let Some(signals) = signals else {
        return Ok(0);
    };
    let _raw = console.as_ref().and_then(|m: &OwnedFd| {
        runner::copy_winsize(std::io::stdin().as_fd(), m.as_fd());
        runner::RawTerminal::new()
    });
    runner::wait(pid, &pidfd, console.as_ref(), &signals)
}

/// The container's config as `create` read it.
fn read_config(dir: &Path) -> Result<Spec> {
    let p = dir.join(state::CONFIG_FILE);
    let bytes = std::fs::read(&p).with_context(|| format!("read {}", p.display()))?;
    Ok(spec::parse(&bytes)
        .with_context(|| format!("{}", p.display()))?
        .spec)
}

/// The process to run: the --process file as it is (the other process
/// flags do not apply to it, as in runc), or the config's process with the
/// command line's changes (runc's rules).
fn build_process(opts: &ExecOptions, config: &Spec) -> Result<spec::Process> {
    if let Some(path) = &opts.process {
        if !opts.args.is_empty() {
            bail!("--process: a command line was given too ({:?})", opts.args);
        }
        let p = read_process(path)?;
        check_process(&p, &format!("--process {}: ", path.display()))?;
        return Ok(p);
    }
    let mut p = config
        .process
        .clone()
        .context("the container's config has no process")?;
    if opts.args.is_empty() {
        bail!("exec: no command given (and no --process)");
    }
    p.args = opts.args.clone();
    p.terminal = opts.tty;
    p.console_size = None;
    if let Some(c) = &opts.cwd {
        p.cwd = c.clone();
    }
    for e in &opts.env {
        if !e.contains('=') {
            bail!("--env {e:?}: not KEY=VALUE");
        }
        let key = e.split('=').next().unwrap_or_default();
        p.env.retain(|x| x.split('=').next() != Some(key));
        p.env.push(e.clone());
    }
    if let Some(u) = &opts.user {
        let (uid, gid) = match u.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (u.as_str(), None),
        };
        p.user.uid = uid
            .parse()
            .with_context(|| format!("--user {u:?}: the uid must be a number"))?;
        if let Some(g) = gid {
            p.user.gid = g
                .parse()
                .with_context(|| format!("--user {u:?}: the gid must be a number"))?;
        }
    }
    if !opts.additional_gids.is_empty() {
        p.user.additional_gids = opts.additional_gids.clone();
    }
    if !opts.caps.is_empty() {
        let c = p.capabilities.get_or_insert_with(Default::default);
        for set in [&mut c.bounding, &mut c.effective, &mut c.permitted] {
            set.get_or_insert_with(Vec::new)
                .extend(opts.caps.iter().cloned());
        }
        // Ambient needs inheritable: only where the process has some.
        if c.inheritable.as_ref().is_some_and(|i| !i.is_empty()) {
            c.ambient
                .get_or_insert_with(Vec::new)
                .extend(opts.caps.iter().cloned());
        }
    }
    if opts.no_new_privs {
        p.no_new_privileges = true;
    }
    if let Some(a) = &opts.apparmor {
        p.apparmor_profile = Some(a.clone());
    }
    if let Some(l) = &opts.process_label {
        p.selinux_label = Some(l.clone());
    }
    check_process(&p, "")?;
    Ok(p)
}

fn check_process(p: &spec::Process, what: &str) -> Result<()> {
    if p.args.is_empty() || p.args[0].is_empty() {
        bail!("{what}process.args: empty");
    }
    if !p.cwd.starts_with('/') {
        bail!("{what}process.cwd: {:?} is not an absolute path", p.cwd);
    }
    Ok(())
}

/// A runtime-spec process JSON; errors name the file and the field.
fn read_process(path: &Path) -> Result<spec::Process> {
    let bytes = if path == Path::new("-") {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .context("--process -: read stdin")?;
        b
    } else {
        std::fs::read(path).with_context(|| format!("--process: read {}", path.display()))?
    };
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let p: spec::Process = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        if field == "." || field.is_empty() {
            anyhow::anyhow!("--process {}: invalid process: {inner}", path.display())
        } else {
            anyhow::anyhow!(
                "--process {}: invalid process: {field}: {inner}",
                path.display()
            )
        }
    })?;
    Ok(p)
}
