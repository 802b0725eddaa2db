use super::Global;

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_: Args, _: &Global) -> anyhow::Result<i32> {
    println!(
        "{}",
        serde_json::to_string_pretty(&crate::features::report())?
    );
    Ok(0)
}
