//! The command line, with runc's subcommands and flags. Each subcommand's
//! file holds its arguments and a thin `run` that calls the library and
//! formats the output.

pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod seccomp_stats;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

const VERSION: &str = concat!("version ", env!("CARGO_PKG_VERSION"), "\nspec: ", "1.2.0");

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    version = VERSION,
    about = "An OCI container runtime: runs containers from OCI bundles, called the way runc is called"
)]
pub struct Cli {
    /// Directory for the containers' state
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Write log records to FILE as well as errors to stderr
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Format of the log file records
    #[arg(long = "log-format", global = true, value_name = "text|json", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Log debug records too
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use the systemd cgroup driver (not supported yet)
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// runc's rootless switch (auto|true|false), accepted for compatibility
    #[arg(long, value_name = "auto|true|false", hide = true)]
    pub rootless: Option<String>,
    /// runc's path to criu, accepted for compatibility
    #[arg(long, value_name = "PATH", hide = true)]
    pub criu: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container from a bundle; it waits for `start`
    Create(create::Args),
    /// Delete a stopped container (--force kills a running one first)
    Delete(delete::Args),
    /// Print a container's resource usage (--stats) or stream it with OOM events
    Events(events::Args),
    /// Run a new process in a running container
    Exec(Box<exec::Args>),
    /// Print what this build supports (runtime-spec features.md JSON)
    Features(features::Args),
    /// Send a signal to a container's init (or with --all, to all its processes)
    Kill(kill::Args),
    /// List containers
    List(list::Args),
    /// Freeze every process of a container
    Pause(pause::Args),
    /// List the processes of a container
    Ps(ps::Args),
    /// Thaw a paused container
    Resume(pause::Args),
    /// Create and start a container, and in the foreground wait for it
    Run(run::RunArgs),
    /// How berth's seccomp compiler does on a profile (for make bench)
    #[command(name = "seccomp-stats", hide = true)]
    SeccompStats(seccomp_stats::Args),
    /// Write a default config.json
    Spec(spec::Args),
    /// Start a created container
    Start(start::Args),
    /// Print a container's state as JSON
    State(state::Args),
    /// Change a container's resource limits
    Update(Box<update::Args>),
}

/// The global flags, as the subcommands need them.
pub struct Global {
    pub root: PathBuf,
}

impl Cli {
    pub fn global(&self) -> Global {
        let root = self.root.clone().unwrap_or_else(default_root);
        Global { root }
    }
}

/// /run/berth, or $XDG_RUNTIME_DIR/berth for an unprivileged user.
fn default_root() -> PathBuf {
    if !nix::unistd::geteuid().is_root() {
        if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
            return PathBuf::from(dir).join("berth");
        }
    }
    PathBuf::from("/run/berth")
}

/// Runs the subcommand; the result is the exit status.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    if cli.systemd_cgroup {
        anyhow::bail!("--systemd-cgroup: the systemd cgroup driver is not supported yet; berth manages cgroupfs directly");
    }
    let g = cli.global();
    match cli.command {
        Command::Create(a) => create::run(a, &g),
        Command::Delete(a) => delete::run(a, &g),
        Command::Events(a) => events::run(a, &g),
        Command::Exec(a) => exec::run(*a, &g),
        Command::Features(a) => features::run(a, &g),
        Command::Pause(a) => pause::run(a, &g),
        Command::Ps(a) => ps::run(a, &g),
        Command::Resume(a) => pause::resume(a, &g),
        Command::Update(a) => update::run(*a, &g),
        Command::Kill(a) => kill::run(a, &g),
        Command::List(a) => list::run(a, &g),
        Command::Run(a) => run::run(a, &g),
        Command::SeccompStats(a) => seccomp_stats::run(a, &g),
        Command::Spec(a) => spec::run(a, &g),
        Command::Start(a) => start::run(a, &g),
        Command::State(a) => state::run(a, &g),
    }
}
