use super::Global;
use crate::runner::{self, RunOptions};

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: super::create::Args,
    /// Start the container and return at once
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the stopped container instead of deleting it
    #[arg(long)]
    pub keep: bool,
    /// runc's --no-subreaper, accepted for compatibility
    #[arg(long = "no-subreaper", hide = true)]
    pub no_subreaper: bool,
}

pub fn run(args: RunArgs, g: &Global) -> anyhow::Result<i32> {
    crate::security::sealed::reexec();
    let opts = RunOptions {
        create: args.create.options(g),
        detach: args.detach,
        keep: args.keep,
    };
    runner::run(&opts)
}
