//! The lifecycle: create, start, kill, delete, and what `state` and `list`
//! report. `run` is create + start + wait + delete, in `runner.rs`.

use crate::cgroups::Cgroup;
use crate::namespaces::{self, Kind};
use crate::netdev;
use crate::process::channel::{self, Channel, Msg};
use crate::process::{self, Ends, Gate, ProcessPlan};
use crate::rootfs;
use crate::security::{caps, rlimits};
use crate::spec::{self, Spec};
use crate::state::{self, Dir, State, Status};
use crate::{log, sys};
use anyhow::{bail, Context, Result};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// What `create` and `run` are asked for.
pub struct CreateOptions {
    pub root: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
}

/// Whether init waits for `start` (through the exec FIFO) or for the
/// parent that stays to run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    /// `run`; `attach` when the caller's terminal is to be relayed.
    Run {
        attach: bool,
    },
}

/// A container whose init is set up and waiting to exec.
pub struct Created {
    pub pid: Pid,
    pub pidfd: OwnedFd,
    pub chan: Channel,
    /// The pty master, when `run` relays the terminal.
    pub console: Option<OwnedFd>,
    pub dir: Dir,
    pub state: State,
}

/// Undoes a half-made container on any error: the init, the cgroup, the
/// state directory, in reverse order of making.
#[derive(Default)]
struct Undo {
    dir: Option<Dir>,
    cgroup: Option<Cgroup>,
    child: Option<(Pid, OwnedFd)>,
    /// Devices moved into the container, and its network namespace.
    netdevs: Option<(OwnedFd, Vec<netdev::Moved>)>,
    /// The root built in the host's mount namespace.
    host_root: Option<(PathBuf, rootfs::HostRoot)>,
}

impl Undo {
    fn disarm(&mut self) -> Dir {
        self.netdevs = None;
        self.host_root = None;
        self.cgroup = None;
        self.child = None;
        self.dir.take().expect("state dir is set before disarm")
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some((ns, devs)) = self.netdevs.take() {
            if let Err(e) = netdev::move_out(&devs, ns.as_fd()) {
                log::warn(&format!("cleanup: {e:#}"));
            }
        }
        if let Some((pid, pidfd)) = self.child.take() {
            let _ = sys::pidfd_send_signal(&pidfd, libc::SIGKILL);
            let _ = waitpid(pid, None);
        }
        if let Some((rootfs, h)) = self.host_root.take() {
            if let Err(e) = h.release(&rootfs) {
                log::warn(&format!("cleanup: {e:#}"));
            }
        }
        if let Some(cg) = self.cgroup.take() {
            let cleanup = cg.signal_all(libc::SIGKILL).and_then(|_| cg.remove());
            if let Err(e) = cleanup {
                log::warn(&format!("cleanup: {e:#}"));
            }
        }
        if let Some(dir) = self.dir.take() {
            if let Err(e) = dir.remove() {
                log::warn(&format!("cleanup: {e:#}"));
            }
        }
    }
}

/// Loads the bundle's config and turns it into init's plan, checking
/// everything that can be checked before a process exists.
fn plan(opts: &CreateOptions, bundle: &Path, spec: &Spec, cgroup: Cgroup) -> Result<process::Plan> {
    let linux = spec.linux.as_ref();
    let ns = namespaces::Plan::from_spec(linux)?;
    let p = spec
        .process
        .as_ref()
        .context("invalid config: process: missing")?;
    if spec.hostname.as_deref().is_some_and(|h| !h.is_empty())
        && !ns.is_new(Kind::Uts)
        && !ns.joins(Kind::Uts)
    {
        bail!("invalid config: hostname: setting it needs a uts namespace of the container's own");
    }
    if spec.domainname.as_deref().is_some_and(|h| !h.is_empty())
        && !ns.is_new(Kind::Uts)
        && !ns.joins(Kind::Uts)
    {
        bail!(
            "invalid config: domainname: setting it needs a uts namespace of the container's own"
        );
    }
    let mut sysctl = Vec::new();
    for (k, v) in linux.map(|l| &l.sysctl).into_iter().flatten() {
        namespaces::check_sysctl(k, &ns)?;
        sysctl.push((k.clone(), v.clone()));
    }
    let process = process_plan(p, linux)?;
    if let Some(l) = linux
        .and_then(|l| l.mount_label.as_deref())
        .filter(|l| !l.is_empty() && !crate::security::lsm::selinux_enabled())
    {
        // Unlike a process label, a mount label without SELinux takes no
        // confinement away: nothing reads it. runc and crun drop it too.
        log::warn(&format!(
            "linux.mountLabel: {l:?} ignored: SELinux is not enabled on this host"
        ));
    }
    let hooks = spec.hooks.clone().unwrap_or_default();
    crate::hooks::check(&hooks)?;
    let rootfs = rootfs::Plan::from_spec(spec, bundle, opts.no_pivot, cgroup, &ns)?;
    let self_exe = nix::sys::stat::stat("/proc/self/exe").context("stat /proc/self/exe")?;
    Ok(process::Plan {
        id: opts.id.clone(),
        hostname: spec.hostname.clone().filter(|h| !h.is_empty()),
        domainname: spec.domainname.clone().filter(|h| !h.is_empty()),
        sysctl,
        process,
        ns,
        rootfs,
        new_keyring: !opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        self_exe: (self_exe.st_dev, self_exe.st_ino),
        hooks,
        attrs: process::attrs::parse(spec)?,
        hook_state: State {
            id: opts.id.clone(),
            bundle: bundle.to_path_buf(),
            annotations: spec.annotations.clone(),
            oci_version: spec.oci_version.clone(),
            ..Default::default()
        },
    })
}

/// The user's process as init and `exec` run it: capabilities, rlimits,
/// the seccomp filter compiled, the LSM labels checked.
pub fn process_plan(p: &spec::Process, linux: Option<&spec::Linux>) -> Result<ProcessPlan> {
    let last_cap = caps::last_cap();
    let (caps, missing) = caps::parse(p.capabilities.as_ref(), last_cap)?;
    if !missing.is_empty() {
        log::warn(&format!(
            "ignoring capabilities this kernel does not know: {}",
            missing.join(", ")
        ));
    }
    let args = p
        .args
        .iter()
        .map(|a| CString::new(a.as_str()))
        .collect::<Result<Vec<_>, _>>()
        .context("invalid config: process.args: an argument holds a NUL byte")?;
    let seccomp = match linux.and_then(|l| l.seccomp.as_ref()) {
        Some(v) => compile_seccomp(v)?,
        None => None,
    };
    let apparmor = p.apparmor_profile.clone().filter(|s| !s.is_empty());
    if let Some(a) = &apparmor {
        crate::security::lsm::check_apparmor(a)?;
    }
    let selinux = p.selinux_label.clone().filter(|s| !s.is_empty());
    if let Some(l) = &selinux {
        crate::security::lsm::check_selinux("process.selinuxLabel", l)?;
    }
    Ok(ProcessPlan {
        args,
        env: p.env.clone(),
        cwd: p.cwd.clone(),
        uid: p.user.uid,
        gid: p.user.gid,
        additional_gids: p.user.additional_gids.clone(),
        umask: p.user.umask.unwrap_or(0o022),
        caps,
        last_cap,
        rlimits: rlimits::parse(&p.rlimits)?,
        no_new_privileges: p.no_new_privileges,
        seccomp,
        apparmor,
        selinux,
        oom_score_adj: p.oom_score_adj,
        terminal: p.terminal,
        console_size: p.console_size,
    })
}

/// Compiles linux.seccomp, warning about what it skips, as runc does.
fn compile_seccomp(v: &serde_json::Value) -> Result<Option<crate::security::seccomp::Compiled>> {
    let Some(c) = crate::security::seccomp::compile(v)? else {
        return Ok(None);
    };
    if !c.skipped.is_empty() {
        // A debug record, as runc has it: Docker's and Podman's profiles
        // name calls of other architectures on every run.
        log::debug(|| {
            format!(
                "linux.seccomp: syscalls this build does not know are skipped: {}",
                c.skipped.join(", ")
            )
        });
    }
    for field in &c.unknown {
        log::warn(&format!("config.json: unknown property {field} ignored"));
    }
    Ok(Some(c))
}

/// `create` (and the first half of `run`): everything up to an init that
/// waits to exec, recorded in the state directory.
pub fn create(opts: &CreateOptions, mode: Mode) -> Result<Created> {
    state::check_id(&opts.id)?;
    let bundle = std::fs::canonicalize(&opts.bundle)
        .with_context(|| format!("bundle {}", opts.bundle.display()))?;
    let loaded = spec::load(&bundle.join("config.json"))?;
    for field in &loaded.unknown {
        log::warn(&format!("config.json: unknown property {field} ignored"));
    }
    let spec = &loaded.spec;
    let unsupported = spec::not_applied(spec);
    if !unsupported.is_empty() {
        log::warn(&format!(
            "config.json: not applied by this version of berth: {}",
            unsupported.join(", ")
        ));
    }
    let terminal = spec.process.as_ref().is_some_and(|p| p.terminal);
    if terminal && opts.console_socket.is_none() && mode != (Mode::Run { attach: true }) {
        bail!("process.terminal is true: --console-socket is needed when berth does not attach the terminal itself");
    }
    if !terminal && opts.console_socket.is_some() {
        bail!("--console-socket given, but process.terminal is false in config.json");
    }
    let cgroups_path = spec.linux.as_ref().and_then(|l| l.cgroups_path.as_deref());
    let cgroup = Cgroup::plan(cgroups_path, &opts.id)?;
    let resources = match spec.linux.as_ref().and_then(|l| l.resources.as_ref()) {
        Some(v) => Some(crate::cgroups::resources::parse(v, "linux.resources")?),
        None => None,
    };
    let mut plan = plan(opts, &bundle, spec, cgroup.clone())?;
    let netns_join = plan.ns.join.iter().find(|j| j.kind == Kind::Network);
    let net_devices = match spec.linux.as_ref() {
        Some(l) => netdev::plan(
            &l.net_devices,
            plan.ns.is_new(Kind::Network) || netns_join.is_some(),
        )?,
        None => Vec::new(),
    };
    let netns_path = match netns_join {
        Some(j) if !net_devices.is_empty() => {
            if sys::same_file(j.fd.as_fd(), netdev::host_ns()?.as_fd())? {
                bail!("linux.netDevices: the network namespace {} is the runtime's own: the devices would stay the host's", j.path);
            }
            Some(j.path.clone())
        }
        _ => None,
    };
    plan.rootfs.prepare_idmapped()?;
    let console_socket = match &opts.console_socket {
        Some(p) => Some(sys::connect_console_socket(p)?),
        None => None,
    };

    let mut undo = Undo::default();
    let host_root = match plan.rootfs.host_mount_ns {
        true => Some(rootfs::HostRoot::before(&plan.rootfs.rootfs)?),
        false => None,
    };
    let dir = undo.dir.insert(Dir::create(&opts.root, &opts.id)?);
    dir.write_config(&loaded.raw)?;
    let mut state = State {
        id: opts.id.clone(),
        bundle: bundle.clone(),
        rootfs: plan.rootfs.rootfs.clone(),
        created: log::rfc3339(std::time::SystemTime::now()),
        annotations: spec.annotations.clone(),
        cgroup: cgroup.clone(),
        shares_pid_ns: plan.ns.shares_pid_ns(),
        oci_version: spec.oci_version.clone(),
        hooks: plan.hooks.clone(),
        net_devices: net_devices.clone(),
        netns_path,
        host_root,
        ..Default::default()
    };
    state.cgroup.created = state.cgroup.missing();
    // Recorded before anything is made, so `delete --force` can clean up
    // after a create that dies at any later point.
    dir.write(&state)?;
    undo.host_root = state.host_root.clone().map(|h| (state.rootfs.clone(), h));
    let cg = state.cgroup.clone();
    undo.cgroup = Some(cg.clone());
    cg.create()?;
    if let Some(r) = &resources {
        cg.apply(r)?;
    }

    let gate = match mode {
        Mode::Create => {
            let fifo = undo.dir.as_ref().map(|d| d.fifo()).unwrap_or_default();
            nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
                .with_context(|| format!("create {}", fifo.display()))?;
            // Opened read-write, init is the FIFO's reader without blocking;
            // `start` is a writer that finds it there, or ENXIO if it died.
            let fd = nix::fcntl::open(
                &fifo,
                nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .with_context(|| format!("open {}", fifo.display()))?;
            Gate::Fifo(fd)
        }
        Mode::Run { .. } => Gate::Channel,
    };
    let (parent_end, child_end) = channel::pair()?;
    let cgroup_fd = cg.open_v2_dir()?;
    enter_for_children(&plan.ns, spec)?;
    // Non-dumpable before the clone, so init is too from its first
    // instruction: nothing in the container can open our /proc files (CVE-2019-5736).
    nix::sys::prctl::set_dumpable(false).context("set non-dumpable")?;
    let lock_fd = undo.dir.as_ref().map(|d| d.lock_fd());
    let forked = sys::clone3(
        plan.ns.clone_flags(),
        cgroup_fd.as_ref().map(|f| f.as_raw_fd()),
    )
    .context("clone the container's init")?;
    let (pid, pidfd) = match forked {
        sys::Forked::Child => {
            // Init keeps only the fds it needs: the state dir's lock must not
            // outlive `create`, and a host directory fd must never be there
            // for a cwd of /proc/self/fd/N to escape through (CVE-2024-21626).
            if let Some(fd) = lock_fd {
                let _ = nix::unistd::close(fd);
            }
            drop(cgroup_fd);
            drop(parent_end);
            let ends = Ends {
                chan: child_end,
                gate,
                console_socket,
            };
            process::run(&plan, ends)
        }
        sys::Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(child_end);
    drop(gate);
    drop(console_socket);
    undo.child = Some((pid, pidfd));
    log::debug(|| format!("init cloned as pid {pid}"));

    if plan.ns.is_new(Kind::User) {
        namespaces::write_id_maps(pid, &plan.ns.uid_map, &plan.ns.gid_map)?;
    }
    if !net_devices.is_empty() {
        // The namespace exists now: made by the clone, or joined by path.
        let ns: OwnedFd = match plan.ns.join.iter().find(|j| j.kind == Kind::Network) {
            Some(j) => j.fd.try_clone().context("dup the network namespace fd")?,
            None => std::fs::File::open(format!("/proc/{pid}/ns/net"))
                .context("open the container's network namespace")?
                .into(),
        };
        netdev::move_in(&net_devices, ns.as_fd())?;
        undo.netdevs = Some((ns, net_devices));
    }
    parent_end.send(&Msg::Go)?;
    let mut console = None;
    loop {
        match parent_end.recv()? {
            Some((Msg::Ready, _)) => break,
            Some((Msg::Console, fd)) => console = fd,
            Some((Msg::Seccomp, Some(fd))) => {
                send_seccomp_listener(fd, plan.process.seccomp.as_ref(), &state, pid, "creating")?
            }
            Some((Msg::Hooks, _)) => {
                // The container's namespaces exist, its root is not pivoted yet.
                let st = crate::hooks::state(&state, "created", pid.as_raw());
                crate::hooks::run("prestart", &plan.hooks.prestart, &st)?;
                crate::hooks::run("createRuntime", &plan.hooks.create_runtime, &st)?;
                parent_end.send(&Msg::HooksDone)?;
            }
            Some((Msg::Error(text), _)) => return Err(anyhow::anyhow!(text)),
            Some((m, _)) => bail!("init sent {m:?} before it was ready"),
            None => bail!("init exited during setup"),
        }
    }
    if let Some(r) = &resources {
        // Init has made its device nodes: a rule may forbid making them.
        let supplied: Vec<String> = spec
            .linux
            .as_ref()
            .map(|l| l.devices.iter().map(|d| d.path.clone()).collect())
            .unwrap_or_default();
        cg.apply_devices(&r.devices, &supplied)?;
    }
    let Some((start_time, _)) = state::proc_start_time(pid.as_raw()) else {
        bail!("init (pid {pid}) exited during setup");
    };
    if let Some(h) = state.host_root.as_mut() {
        h.made(&state.rootfs)?;
    }
    state.pid = pid.as_raw();
    state.start_time = start_time;
    state.cgroup = cg;
    let dir = undo.dir.as_ref().context("state dir")?;
    dir.write(&state)?;
    if let Some(f) = &opts.pid_file {
        state::write_atomic(f, pid.to_string().as_bytes())
            .with_context(|| format!("--pid-file {}", f.display()))?;
    }
    let (pid, pidfd) = undo.child.take().context("init")?;
    let dir = undo.disarm();
    Ok(Created {
        pid,
        pidfd,
        chan: parent_end,
        console,
        dir,
        state,
    })
}

/// Passes init's seccomp notify listener to linux.seccomp.listenerPath, as
/// the runtime spec says: the container process state as JSON, the fd
/// with SCM_RIGHTS (the "seccompFd" of its `fds`).
pub fn send_seccomp_listener(
    fd: OwnedFd,
    filter: Option<&crate::security::seccomp::Compiled>,
    st: &State,
    pid: Pid,
    status: &str,
) -> Result<()> {
    let Some(filter) = filter else {
        bail!("a seccomp listener came that was not asked for")
    };
    let Some(path) = &filter.listener_path else {
        bail!("linux.seccomp.listenerPath: missing")
    };
    let msg = serde_json::json!({
        "ociVersion": spec::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid.as_raw(),
        "metadata": filter.listener_metadata.clone().unwrap_or_default(),
        "state": {
            "ociVersion": st.oci_version,
            "id": st.id,
            "status": status,
            "pid": pid.as_raw(),
            "bundle": st.bundle,
            "annotations": st.annotations,
        },
    });
    let sock = std::os::unix::net::UnixStream::connect(path)
        .with_context(|| format!("linux.seccomp.listenerPath: connect to {path}"))?;
    let body = serde_json::to_vec(&msg)?;
    sys::send_fd(&sock, &body, fd.as_raw_fd())
        .with_context(|| format!("linux.seccomp.listenerPath: send the listener to {path}"))?;
    Ok(())
}

/// Namespaces that apply to the children of the caller: a PID namespace
/// joined by path, and a new time namespace with its offsets, which can
/// only be written before a process is inside.
fn enter_for_children(ns: &namespaces::Plan, spec: &Spec) -> Result<()> {
    for j in ns.join.iter().filter(|j| j.kind == Kind::Pid) {
        namespaces::enter(j)?;
    }
    if ns.is_new(Kind::Time) {
        nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(
            sys::CLONE_NEWTIME as i32,
        ))
        .context("create a time namespace")?;
        let offsets = spec.linux.as_ref().map(|l| &l.time_offsets);
        let mut text = String::new();
        for (clock, v) in offsets.into_iter().flatten() {
            let secs = v.get("secs").and_then(|s| s.as_i64()).unwrap_or(0);
            let nanos = v.get("nanosecs").and_then(|s| s.as_u64()).unwrap_or(0);
            text.push_str(&format!("{clock} {secs} {nanos}\n"));
        }
        if !text.is_empty() {
            std::fs::write("/proc/self/timens_offsets", text)
                .context("linux.timeOffsets: write")?;
        }
    }
    Ok(())
}

/// `start`: lets a created container's init exec.
pub fn start(root: &Path, id: &str) -> Result<State> {
    let dir = Dir::open(root, id)?;
    let st = dir.read()?;
    match state::status(&dir.path, &st, true) {
        Status::Created => {}
        Status::Stopped => bail!("cannot start container {id}: it has stopped"),
        s => bail!("cannot start container {id}: it is {s}, not created"),
    }
    let fifo = dir.fifo();
    let fd = match state::open_fifo_for_start(&fifo) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENXIO) | Err(nix::errno::Errno::ENOENT) => {
            bail!("cannot start container {id}: it is not running")
        }
        Err(e) => return Err(e).with_context(|| format!("open {}", fifo.display())),
    };
    // Init's end is close-on-exec and the FIFO's last writer once ours is
    // closed: this reader sees POLLHUP when init has exec'd the process
    // (or died), so poststart hooks run after the process is there.
    let watch = nix::fcntl::open(
        &fifo,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("open {}", fifo.display()))?;
    nix::unistd::write(&fd, b"0")
        .with_context(|| format!("cannot start container {id}: write {}", fifo.display()))?;
    drop(fd);
    std::fs::remove_file(&fifo).with_context(|| format!("remove {}", fifo.display()))?;
    wait_hangup(&watch).with_context(|| format!("wait for container {id} to exec"))?;
    if state::comm(st.pid).as_deref() == Some(process::INIT_COMM.to_bytes()) {
        bail!("cannot start container {id}: init exited before it executed the process (a startContainer hook failed, or exec did; its error is on the container's stderr)");
    }
    crate::hooks::run_warn(
        "poststart",
        &st.hooks.poststart,
        &crate::hooks::state(&st, "running", st.pid),
    );
    Ok(st)
}

/// Waits until `fd` (a FIFO's read end) has no writer left. Only POLLHUP is
/// asked for: a byte init has not read yet does not wake it.
fn wait_hangup(fd: &OwnedFd) -> Result<()> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::empty())];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("poll"),
            Ok(_) => return Ok(()),
        }
    }
}

/// `kill`: signals init, or with `all` every process of the container.
pub fn kill(root: &Path, id: &str, sig: i32, all: bool) -> Result<()> {
    state::check_id(id)?;
    let dir = root.join(id);
    let st = state::read_state(&dir)?;
    let status = state::status(&dir, &st, false);
    if all {
        if status == Status::Stopped && !st.shares_pid_ns {
            bail!("container {id} is not running");
        }
        return st.cgroup.signal_all(sig);
    }
    if matches!(status, Status::Stopped | Status::Creating) {
        bail!("container {id} is not running");
    }
    signal_init(&st, sig).with_context(|| format!("kill container {id}"))?;
    if status == Status::Paused && sig == libc::SIGKILL {
        // A frozen process dies only once thawed.
        st.cgroup.thaw()?;
    }
    Ok(())
}

/// A container that exists and has not stopped: its state and status.
fn alive(root: &Path, id: &str) -> Result<(State, Status)> {
    state::check_id(id)?;
    let dir = root.join(id);
    let st = state::read_state(&dir)?;
    match state::status(&dir, &st, false) {
        Status::Stopped | Status::Creating => bail!("container {id} is not running"),
        s => Ok((st, s)),
    }
}

/// `pause`: freezes every process of a running or created container.
pub fn pause(root: &Path, id: &str) -> Result<()> {
    let (st, status) = alive(root, id)?;
    if status == Status::Paused {
        bail!("container {id} is already paused");
    }
    st.cgroup
        .freeze()
        .with_context(|| format!("pause container {id}"))
}

/// `resume`: thaws a paused container.
pub fn resume(root: &Path, id: &str) -> Result<()> {
    let (st, status) = alive(root, id)?;
    if status != Status::Paused {
        bail!("container {id} is not paused");
    }
    st.cgroup
        .thaw()
        .with_context(|| format!("resume container {id}"))
}

/// `update`: writes new resource limits into a live container's cgroup.
pub fn update(root: &Path, id: &str, r: &crate::cgroups::resources::Resources) -> Result<()> {
    let (st, _) = alive(root, id)?;
    if let Some(m) = &r.memory {
        if let (Some(true), Some(limit)) = (m.check_before_update, m.limit.filter(|l| *l > 0)) {
            let usage = st.cgroup.memory_usage();
            if usage > limit as u64 {
                bail!("linux.resources.memory.limit: {limit} is below the container's current usage {usage} (checkBeforeUpdate)");
            }
        }
    }
    st.cgroup
        .apply(r)
        .with_context(|| format!("update container {id}"))?;
    st.cgroup
        .apply_devices(&r.devices, &[])
        .with_context(|| format!("update container {id}"))
}

/// `events --stats`: the container's resource usage.
pub fn stats(root: &Path, id: &str) -> Result<serde_json::Value> {
    let (st, _) = alive(root, id)?;
    Ok(st.cgroup.stats())
}

/// What `events` watches: the container's cgroup while it lives.
pub fn watch(root: &Path, id: &str) -> Result<Cgroup> {
    Ok(alive(root, id)?.0.cgroup)
}

/// Whether the container `id` still runs (for `events`).
pub fn is_alive(root: &Path, id: &str) -> bool {
    alive(root, id).is_ok()
}

/// `ps`: the host pids of the container's processes.
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>> {
    let (st, _) = alive(root, id)?;
    Ok(st.cgroup.pids()?.into_iter().map(|p| p.as_raw()).collect())
}

/// Signals init through a pidfd opened, then checked against the recorded
/// start time: a recycled pid is never signalled.
fn signal_init(st: &State, sig: i32) -> Result<()> {
    let pid = Pid::from_raw(st.pid);
    let pidfd = match sys::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ESRCH) => bail!("container {} is not running", st.id),
        Err(e) => return Err(e).context("pidfd_open"),
    };
    if !state::init_alive(st) {
        bail!("container {} is not running", st.id);
    }
    match sys::pidfd_send_signal(&pidfd, sig) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::ESRCH) => bail!("container {} is not running", st.id),
        Err(e) => Err(e).with_context(|| format!("send signal {sig}")),
    }
}

/// `delete`: removes a stopped (or created) container; `force` kills a
/// running one first. Deleting a missing container with `force` succeeds.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    state::check_id(id)?;
    if force && !root.join(id).exists() {
        return Ok(());
    }
    let dir = Dir::open(root, id)?;
    let st = dir.read()?;
    let status = state::status(&dir.path, &st, true);
    match status {
        Status::Stopped | Status::Created => {}
        _ if force => {}
        s => bail!("cannot delete container {id} that is not stopped: {s}"),
    }
    destroy(dir, &st)
}

/// Kills whatever is left of the container and removes its cgroup and
/// state directory.
pub fn destroy(dir: Dir, st: &State) -> Result<()> {
    if !st.net_devices.is_empty() {
        give_back_net_devices(st);
    }
    if state::init_alive(st) {
        let _ = signal_init(st, libc::SIGKILL);
    }
    st.cgroup.signal_all(libc::SIGKILL)?;
    st.cgroup.remove()?;
    if let Some(h) = &st.host_root {
        h.release(&st.rootfs)?;
    }
    crate::hooks::run_warn(
        "poststop",
        &st.hooks.poststop,
        &crate::hooks::state(st, "stopped", 0),
    );
    dir.remove()
}

/// Moves the container's network devices back to the host, from its
/// namespace while init lives or from the one it joined by path. A device
/// that cannot be moved is a warning: the container must still go.
fn give_back_net_devices(st: &State) {
    let ns = if state::init_alive(st) {
        std::fs::File::open(format!("/proc/{}/ns/net", st.pid))
    } else if let Some(p) = &st.netns_path {
        std::fs::File::open(p)
    } else {
        // The namespace died with init: the kernel has returned physical
        // devices to the host and destroyed virtual ones.
        return;
    };
    let res = ns
        .context("open the container's network namespace")
        .and_then(|f| netdev::move_out(&st.net_devices, f.as_fd()));
    if let Err(e) = res {
        log::warn(&format!("{e:#}"));
    }
}

/// What `state` and `list` print, in runc's shape.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
    pub owner: String,
}

fn report(dir: &Path, st: State) -> Report {
    let status = state::status(dir, &st, false);
    Report {
        oci_version: if st.oci_version.is_empty() {
            spec::OCI_VERSION.into()
        } else {
            st.oci_version
        },
        id: st.id,
        pid: if status == Status::Stopped { 0 } else { st.pid },
        status: status.to_string(),
        bundle: st.bundle,
        rootfs: st.rootfs,
        created: st.created,
        annotations: st.annotations,
        owner: state::owner(dir),
    }
}

/// `state`.
pub fn state(root: &Path, id: &str) -> Result<Report> {
    state::check_id(id)?;
    let dir = root.join(id);
    let st = state::read_state(&dir)?;
    Ok(report(&dir, st))
}

/// `list`: every container under `root`, by id.
pub fn list(root: &Path) -> Result<Vec<Report>> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("read {}", root.display())),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("read {}", root.display()))?;
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = e.path();
        match state::read_state(&path) {
            Ok(st) => out.push(report(&path, st)),
            Err(err) => log::warn(&format!("list: {}: {err:#}", path.display())),
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
