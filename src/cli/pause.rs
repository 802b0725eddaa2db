use super::Global;
use crate::container;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container's id
    pub id: String,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<i32> {
    container::pause(&g.root, &args.id)?;
    Ok(0)
}

pub fn resume(args: Args, g: &Global) -> anyhow::Result<i32> {
    container::resume(&g.root, &args.id)?;
    Ok(0)
}
