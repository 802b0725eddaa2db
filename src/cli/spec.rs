use super::Global;
use crate::spec;
use anyhow::{bail, Context};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory to write config.json in
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for an unprivileged user (a user namespace mapping root to the caller)
    #[arg(long)]
    pub rootless: bool,
}

pub fn run(args: Args, _g: &Global) -> anyhow::Result<i32> {
    let path = args.bundle.join("config.json");
    if path.exists() {
        bail!("{}: exists already; remove it first", path.display());
    }
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let text = spec::to_json(&spec::example(args.rootless, uid, gid))?;
    std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    Ok(0)
}
