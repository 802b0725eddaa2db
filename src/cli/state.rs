use super::Global;
use crate::container;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container's id
    pub id: String,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<i32> {
    let report = container::state(&g.root, &args.id)?;
    use std::io::Write;
    writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string_pretty(&report)?
    )?;
    Ok(0)
}
