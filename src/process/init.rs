//! The recipe init follows inside the container's namespaces, from the
//! parent's Go to execve. Each step says why it sits where it does.

use super::channel::Msg;
use super::exec;
use super::{Ends, Gate, Plan};
use crate::namespaces::Kind;
use crate::rootfs;
use crate::security::{caps, lsm, rlimits, seccomp, user};
use crate::sys;
use anyhow::{bail, Context, Result};
use nix::unistd::{Gid, Uid};
use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// Init's name (/proc/PID/comm) until it execs the user's process: a
/// zombie keeps it, so `start` can tell an init that died before exec.
pub const INIT_COMM: &std::ffi::CStr = c"berth:[init]";

/// Runs in the cloned child and never returns: it execs the user's process
/// or exits 1 after sending its error to the parent.
pub fn run(plan: &Plan, ends: Ends) -> ! {
    let err = match setup(plan, &ends) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let text = format!("{err:#}");
    if ends.chan.send(&Msg::Error(text.clone())).is_err() {
        // After `create` returned nobody listens on the socket: the
        // container's stderr is the only place left to say it.
        let line = format!("berth: {text}\n");
        let _ = nix::unistd::write(std::io::stderr(), line.as_bytes());
    }
    // SAFETY: _exit ends this process without running the parent's atexit
    // handlers or flushing buffers copied from it.
    unsafe { libc::_exit(1) }
}

fn setup(plan: &Plan, ends: &Ends) -> Result<Infallible> {
    let _ = nix::sys::prctl::set_name(INIT_COMM);
    // Nothing of the caller's but stdio and --preserve-fds: an fd to a host
    // directory would be a way out through /proc/self/fd (CVE-2024-21626).
    close_inherited(plan, ends)?;
    // First into the container's cgroups, so everything after is charged
    // to them; then wait for the parent to write our id maps: until then we
    // have no identity in a new user namespace.
    plan.rootfs.cgroup.join_self()?;
    match ends.chan.recv()? {
        Some((Msg::Go, _)) => {}
        Some((m, _)) => bail!("init socket: expected Go, got {m:?}"),
        // The parent gave up before Go and reports why itself.
        // SAFETY: _exit ends this process without running atexit handlers.
        None => unsafe { libc::_exit(1) },
    }
    let p = &plan.process;
    if plan.ns.is_new(Kind::User) {
        // The maps exist now: become the namespace's root for the setup.
        set_ids(0, 0).context("become root of the new user namespace")?;
    }
    join_namespaces(plan)?;
    if plan.ns.is_new(Kind::Cgroup) {
        // Now that init is in its cgroups, they are the namespace's root.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .context("create the cgroup namespace")?;
    }
    // The umask of setup is 0 so modes given in the config are exact.
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    if let Some(h) = &plan.hostname {
        nix::unistd::sethostname(h).with_context(|| format!("hostname: set {h:?}"))?;
    }
    if let Some(d) = &plan.domainname {
        set_domainname(d)?;
    }
    // Sysctls and oom_score_adj go through the host's procfs, still /proc
    // before pivot_root: the container's /proc and what its config mounts
    // over it could send the writes elsewhere (CVE-2025-52881). A sysctl
    // belongs to the writer's namespaces, which are the container's now.
    for (key, value) in &plan.sysctl {
        write_sysctl(key, value)?;
    }
    // The LSM exec attributes, opened on the host's procfs too.
    let labels = host_proc_steps(p)?;
    // The pty comes from the container's devpts, so it is made between the
    // mounts and pivot_root; the terminal is also bound at /dev/console.
    // This process's pid as the runtime sees it, for the hooks' state: the
    // host's procfs is still /proc.
    let host_pid: i32 = std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0);
    let runtime_hooks = !plan.hooks.prestart.is_empty() || !plan.hooks.create_runtime.is_empty();
    let mut before_pivot = || -> Result<()> {
        if runtime_hooks {
            ends.chan.send(&Msg::Hooks)?;
            ends.chan.expect(Msg::HooksDone)?;
        }
        // The spec's lifecycle runs these hooks after the environment is
        // made: the state they get says "created" (runc says "creating").
        let st = crate::hooks::state(&plan.hook_state, "created", host_pid);
        crate::hooks::run("createContainer", &plan.hooks.create_container, &st)
    };
    let console = rootfs::prepare(&plan.rootfs, p.terminal, &mut before_pivot)?;
    if let Some((master, _)) = &console {
        send_console(ends, master)?;
    }
    rootfs::finish(&plan.rootfs, &p.cwd)?;
    if plan.new_keyring {
        new_session_keyring(&plan.id)?;
    }
    rlimits::apply(&p.rlimits)?;
    super::attrs::apply_privileged(&plan.attrs)?;
    // A new session, and with a terminal, that terminal as the controlling
    // one and as stdio.
    nix::unistd::setsid().context("setsid")?;
    if let Some((_, tty)) = &console {
        become_terminal(tty, p.console_size)?;
    }
    drop(console);
    let env = environment(p)?;
    // The profile and label the user's process execs into, set while init
    // is still root.
    labels.apply(p)?;
    super::attrs::apply_personality(&plan.attrs)?;
    let userns = plan.ns.is_new(Kind::User);
    let exe = last_steps(p, userns, plan.preserve_fds, plan.self_exe, &ends.chan)?;
    ends.chan.send(&Msg::Ready)?;
    wait_for_start(ends)?;
    let st = crate::hooks::state(&plan.hook_state, "created", host_pid);
    crate::hooks::run("startContainer", &plan.hooks.start_container, &st)?;
    let err = exec::exec(&exe, &p.args, &env);
    bail!("exec {:?}: {}", p.args[0], err.desc())
}

/// The LSM exec attribute files, opened on the host's procfs, for the
/// profile and label the user's process execs into.
pub(super) struct Labels {
    apparmor: Option<OwnedFd>,
    selinux: Option<OwnedFd>,
}

impl Labels {
    /// Sets them, while the caller is still root.
    pub(super) fn apply(&self, p: &super::ProcessPlan) -> Result<()> {
        if let (Some(fd), Some(profile)) = (&self.apparmor, &p.apparmor) {
            lsm::set_exec(fd, &format!("exec {profile}"))
                .with_context(|| format!("process.apparmorProfile: {profile}"))?;
        }
        if let (Some(fd), Some(label)) = (&self.selinux, &p.selinux) {
            lsm::set_exec(fd, label).with_context(|| format!("process.selinuxLabel: {label}"))?;
        }
        Ok(())
    }
}

/// What goes through /proc while it is still the host's, for init and for
/// `exec` alike (the container's /proc, or what its config mounts there,
/// could redirect the writes: CVE-2025-52881): the LSM attribute files
/// opened, and oom_score_adj written.
pub(super) fn host_proc_steps(p: &super::ProcessPlan) -> Result<Labels> {
    let apparmor = match &p.apparmor {
        Some(_) => Some(lsm::open_exec_attr(true).context("process.apparmorProfile")?),
        None => None,
    };
    let selinux = match &p.selinux {
        Some(_) => Some(lsm::open_exec_attr(false).context("process.selinuxLabel")?),
        None => None,
    };
    if let Some(adj) = p.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string()).with_context(|| {
            format!("process.oomScoreAdj: set {adj} (lowering it needs CAP_SYS_RESOURCE)")
        })?;
    }
    Ok(Labels { apparmor, selinux })
}

/// What comes last before execve, for init and for `exec` alike: seccomp,
/// the user and its capabilities, no_new_privs, the cwd, the executable
/// found, fds marked close-on-exec, the umask and default signals. A
/// seccomp notify listener goes to the parent over `chan`.
pub(super) fn last_steps(
    p: &super::ProcessPlan,
    userns: bool,
    preserve_fds: u32,
    self_exe: (u64, u64),
    chan: &super::channel::Channel,
) -> Result<exec::Executable> {
    let arg0 = p.args[0].to_str().unwrap_or_default();
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: it goes
    // in while init is still root (runc's order), so what needs system
    // calls a profile may deny (getcwd, openat2, close_range) is done first.
    let mut early = None;
    if let (Some(filter), false) = (&p.seccomp, p.no_new_privileges) {
        let cwd_checked = nix::unistd::chdir(p.cwd.as_str()).is_ok();
        if cwd_checked {
            check_cwd()?;
        }
        let exe = exec::resolve(arg0, &p.env, self_exe)?;
        close_fds(preserve_fds)?;
        load_seccomp(filter, chan)?;
        early = Some((exe, cwd_checked));
    }
    switch_user(p, userns)?;
    if p.no_new_privileges {
        nix::sys::prctl::set_no_new_privs().context("process.noNewPrivileges: set")?;
    }
    nix::unistd::chdir(p.cwd.as_str())
        .with_context(|| format!("process.cwd: chdir to {}", p.cwd))?;
    let exe = match early {
        Some((exe, cwd_checked)) => {
            if !cwd_checked {
                check_cwd()?;
            }
            exe
        }
        None => {
            check_cwd()?;
            let exe = exec::resolve(arg0, &p.env, self_exe)?;
            close_fds(preserve_fds)?;
            exe
        }
    };
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(p.umask));
    reset_signals();
    if let (Some(filter), true) = (&p.seccomp, p.no_new_privileges) {
        // As late as the parent is still there to take a notify listener
        // (runc's order): what follows under the filter is only the ready
        // message, the wait for start (init) and execve.
        load_seccomp(filter, chan)?;
    }
    Ok(exe)
}

/// Loads the seccomp filter; a notify listener goes to the parent, which
/// passes it on to linux.seccomp.listenerPath.
fn load_seccomp(filter: &seccomp::Compiled, chan: &super::channel::Channel) -> Result<()> {
    if let Some(listener) = seccomp::install(filter)? {
        chan.send_with_fd(&Msg::Seccomp, Some(listener.as_raw_fd()))?;
    }
    Ok(())
}

/// setresgid then setresuid, so the gid change is still allowed.
fn set_ids(uid: u32, gid: u32) -> Result<()> {
    let g = Gid::from_raw(gid);
    let u = Uid::from_raw(uid);
    nix::unistd::setresgid(g, g, g).with_context(|| format!("setresgid {gid}"))?;
    nix::unistd::setresuid(u, u, u).with_context(|| format!("setresuid {uid}"))?;
    Ok(())
}

/// Joins the namespaces given by path: the user namespace first, since it
/// grants the rights over the others it owns.
fn join_namespaces(plan: &Plan) -> Result<()> {
    let (user, rest): (Vec<_>, Vec<_>) = plan.ns.join.iter().partition(|j| j.kind == Kind::User);
    for j in user.into_iter().chain(rest) {
        // The PID namespace was joined by the parent (it applies to children).
        if j.kind != Kind::Pid {
            crate::namespaces::enter(j)?;
        }
    }
    Ok(())
}

fn set_domainname(d: &str) -> Result<()> {
    // SAFETY: a valid pointer and length for the duration of the call.
    let r = unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) };
    nix::errno::Errno::result(r).with_context(|| format!("domainname: set {d:?}"))?;
    Ok(())
}

fn send_console(ends: &Ends, master: &OwnedFd) -> Result<()> {
    match &ends.console_socket {
        Some(sock) => {
            // runc's protocol: one message naming the pty, with its master fd.
            sys::send_fd(sock, b"/dev/ptmx", master.as_raw_fd())
                .context("send the pty master to --console-socket")?;
            Ok(())
        }
        None => ends
            .chan
            .send_with_fd(&Msg::Console, Some(master.as_raw_fd())),
    }
}

fn write_sysctl(key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    std::fs::write(&path, value).with_context(|| format!("linux.sysctl: set {key} = {value:?}"))
}

/// Makes the terminal our controlling terminal and stdio, at its size.
pub(super) fn become_terminal(tty: &OwnedFd, size: Option<crate::spec::ConsoleSize>) -> Result<()> {
    if let Some(s) = size {
        let ws = libc::winsize {
            ws_row: s.height,
            ws_col: s.width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize we own.
        let r = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        nix::errno::Errno::result(r).context("process.consoleSize: set")?;
    }
    // SAFETY: TIOCSCTTY with argument 0 on a terminal fd.
    let r = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0) };
    nix::errno::Errno::result(r).context("make the terminal the controlling terminal")?;
    nix::unistd::dup2_stdin(tty).context("terminal as stdin")?;
    nix::unistd::dup2_stdout(tty).context("terminal as stdout")?;
    nix::unistd::dup2_stderr(tty).context("terminal as stderr")?;
    Ok(())
}

fn new_session_keyring(id: &str) -> Result<()> {
    let name = CString::new(format!("_ses.{id}"))?;
    match sys::join_session_keyring(&name) {
        Ok(key) => {
            // The kernel's default (possessor all, user view and read) plus
            // user search, as runc sets it.
            sys::set_keyring_perm(key, 0x3f0b_0000).context("set session keyring permissions")
        }
        // Keyrings are off in this kernel or refused in a user namespace.
        Err(nix::errno::Errno::ENOSYS | nix::errno::Errno::EDQUOT) => Ok(()),
        Err(e) => Err(e).context("join a new session keyring (--no-new-keyring skips it)"),
    }
}

/// The process's environment; HOME from the container's /etc/passwd when
/// the config sets none, as runc does.
pub(super) fn environment(p: &super::ProcessPlan) -> Result<Vec<CString>> {
    let mut env = p.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let passwd = crate::sys::read_file("/etc/passwd").unwrap_or_default();
        env.push(format!("HOME={}", user::home_of(&passwd, p.uid)));
    }
    env.into_iter()
        .map(|e| CString::new(e).context("process.env: an entry holds a NUL byte"))
        .collect()
}

/// Drops the bounding set, switches to the user with its groups while
/// keeping capabilities, then sets the configured sets.
fn switch_user(p: &super::ProcessPlan, userns: bool) -> Result<()> {
    caps::drop_bounding(p.caps.bounding, p.last_cap)?;
    nix::sys::prctl::set_keepcaps(true).context("keep capabilities across setuid")?;
    let groups: Vec<Gid> = p
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    if let Err(e) = nix::unistd::setgroups(&groups) {
        // A user namespace whose setgroups is denied keeps its groups.
        if !(e == nix::errno::Errno::EPERM && userns && groups.is_empty()) {
            return Err(e).with_context(|| {
                format!(
                    "process.user.additionalGids: setgroups {:?}",
                    p.additional_gids
                )
            });
        }
    }
    set_ids(p.uid, p.gid)
        .with_context(|| format!("process.user: switch to uid {} gid {}", p.uid, p.gid))?;
    nix::sys::prctl::set_keepcaps(false).context("clear keepcaps")?;
    caps::apply(&p.caps, p.last_cap)
}

/// The cwd must be inside the container's root: a path that is not is
/// reported by the kernel as "(unreachable)" (CVE-2024-21626).
fn check_cwd() -> Result<()> {
    match nix::unistd::getcwd() {
        Ok(c) if c.starts_with("/") => Ok(()),
        Ok(c) => bail!("process.cwd: {} is outside the container", c.display()),
        Err(e) => Err(e).context("process.cwd: getcwd"),
    }
}

/// Marks every fd above stdio and --preserve-fds close-on-exec, and the
/// preserved ones inheritable.
fn close_fds(preserve: u32) -> Result<()> {
    for fd in 3..3 + preserve as i32 {
        // SAFETY: fcntl(F_SETFD) on an fd number; a closed one gives EBADF.
        let r = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        if r != 0 && nix::errno::Errno::last() != nix::errno::Errno::EBADF {
            return Err(nix::errno::Errno::last())
                .with_context(|| format!("--preserve-fds: keep fd {fd}"));
        }
    }
    sys::cloexec_from(3 + preserve).context("mark fds close-on-exec")
}

/// Closes every fd init inherited from the caller but stdio, the preserved
/// ones and the few it needs itself.
fn close_inherited(plan: &Plan, ends: &Ends) -> Result<()> {
    let mut keep = vec![ends.chan.raw_fd()];
    if let Gate::Fifo(fd) = &ends.gate {
        keep.push(fd.as_raw_fd());
    }
    if let Some(s) = &ends.console_socket {
        keep.push(s.as_raw_fd());
    }
    keep.extend(plan.ns.join.iter().map(|j| j.fd.as_raw_fd()));
    keep.extend(plan.rootfs.idmapped.iter().map(|(_, t)| t.as_raw_fd()));
    sys::close_except(3 + plan.preserve_fds, &keep).context("close inherited fds")
}

fn wait_for_start(ends: &Ends) -> Result<()> {
    match &ends.gate {
        Gate::Channel => ends.chan.expect(Msg::Start).map(drop),
        Gate::Fifo(fd) => {
            let mut b = [0u8; 1];
            loop {
                match nix::unistd::read(fd.as_fd(), &mut b) {
                    Ok(1) => return Ok(()),
                    Ok(_) => bail!("exec FIFO closed before start"),
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(e).context("wait on the exec FIFO"),
                }
            }
        }
    }
}

/// Default dispositions and an empty signal mask: the user's process must
/// not inherit what berth ignores (SIGPIPE) or blocks (everything, in run).
fn reset_signals() {
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: setting SIG_DFL installs no handler; errors (a reserved
        // signal number) are harmless.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
}
