use super::Global;
use crate::container::{self, CreateOptions, Mode};
use std::path::PathBuf;

/// The flags `create` and `run` share.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container's id
    pub id: String,
    /// The bundle directory (holding config.json)
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write init's pid to this file
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket to send the pty master to, when process.terminal is true
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Use chroot (after moving the rootfs onto /) instead of pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not give the container a session keyring of its own
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N more fds (3, 4, ...) to the container's process
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
}

impl Args {
    pub fn options(self, g: &Global) -> CreateOptions {
        CreateOptions {
            root: g.root.clone(),
            id: self.id,
            bundle: self.bundle,
            pid_file: self.pid_file,
            console_socket: self.console_socket,
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
        }
    }
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<i32> {
    crate::security::sealed::reexec();
    container::create(&args.options(g), Mode::Create)?;
    Ok(0)
}
