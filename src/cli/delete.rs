use super::Global;
use crate::container;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container's id
    pub id: String,
    /// Kill the container first if it runs; succeed if it does not exist
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<i32> {
    container::delete(&g.root, &args.id, args.force)?;
    Ok(0)
}
