use super::Global;
use crate::exec::{self, ExecOptions};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container's id
    pub id: String,
    /// The command and its arguments (without --process)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// A runtime-spec process JSON file ("-" for stdin); the other process
    /// flags do not apply to it
    #[arg(short, long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Give the process a terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Unix socket to send the pty master to
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// The process's working directory
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,
    /// Set an environment variable (repeatable)
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// The user to run as
    #[arg(short, long, value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// An additional group id (repeatable)
    #[arg(short = 'g', long = "additional-gids", value_name = "GID")]
    pub additional_gids: Vec<u32>,
    /// Add a capability (repeatable)
    #[arg(short, long, value_name = "CAP")]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// The AppArmor profile to run the process under
    #[arg(long, value_name = "PROFILE")]
    pub apparmor: Option<String>,
    /// The SELinux label to run the process with
    #[arg(long = "process-label", value_name = "LABEL")]
    pub process_label: Option<String>,
    /// Return once the process runs
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's pid to this file
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Pass N more fds (3, 4, ...) to the process
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
}

pub fn run(a: Args, g: &Global) -> anyhow::Result<i32> {
    crate::security::sealed::reexec();
    exec::exec(&ExecOptions {
        root: g.root.clone(),
        id: a.id,
        process: a.process,
        args: a.command,
        tty: a.tty,
        console_socket: a.console_socket,
        cwd: a.cwd,
        env: a.env,
        user: a.user,
        additional_gids: a.additional_gids,
        caps: a.cap,
        no_new_privs: a.no_new_privs,
        apparmor: a.apparmor,
        process_label: a.process_label,
        detach: a.detach,
        pid_file: a.pid_file,
        preserve_fds: a.preserve_fds,
    })
}
