use super::Global;
use crate::{container, signal};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container's id
    pub id: String,
    /// The signal, by name (KILL, SIGKILL) or number (9)
    #[arg(default_value = "TERM", allow_negative_numbers = true)]
    pub signal: String,
    /// Signal every process of the container, not only its init
    #[arg(short, long)]
    pub all: bool,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<i32> {
    let sig = signal::parse(&args.signal)?;
    container::kill(&g.root, &args.id, sig, args.all)?;
    Ok(0)
}
