use super::Global;
use crate::container;
use anyhow::{bail, Context};
use std::io::Write;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container's id
    pub id: String,
    /// Output format: a ps(1) table, or a JSON array of pids
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Options for ps(1) (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<i32> {
    let pids = container::pids(&g.root, &args.id)?;
    let mut out = std::io::stdout().lock();
    if args.format == "json" {
        writeln!(out, "{}", serde_json::to_string(&pids)?)?;
        return Ok(0);
    }
    let ps_args = if args.ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        args.ps_args
    };
    let res = std::process::Command::new("ps")
        .args(&ps_args)
        .output()
        .context("run ps")?;
    if !res.status.success() {
        bail!(
            "ps {}: {}",
            ps_args.join(" "),
            String::from_utf8_lossy(&res.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&res.stdout);
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Ok(0);
    };
    let Some(col) = header.split_whitespace().position(|c| c == "PID") else {
        bail!("ps {}: no PID column in its output", ps_args.join(" "));
    };
    writeln!(out, "{header}")?;
    for l in lines {
        if l.split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok())
            .is_some_and(|p| pids.contains(&p))
        {
            writeln!(out, "{l}")?;
        }
    }
    Ok(0)
}
