//! `seccomp-stats FILE` (hidden, for `make bench`): how berth's compiler
//! does on a profile: compile time, instructions, the deepest path.

use super::Global;
use crate::security::seccomp;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A config.json (its linux.seccomp is taken) or a bare OCI seccomp object
    pub file: std::path::PathBuf,
    /// Compilations to time
    #[arg(long, default_value_t = 200)]
    pub rounds: u32,
}

pub fn run(args: Args, _g: &Global) -> Result<i32> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("read {}", args.file.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).context("not JSON")?;
    let profile = v.pointer("/linux/seccomp").cloned().unwrap_or(v);
    let t = Instant::now();
    let Some(first) = seccomp::compile(&profile)? else {
        bail!("the profile has no filter")
    };
    let first_us = t.elapsed().as_secs_f64() * 1e6;
    let t = Instant::now();
    for _ in 0..args.rounds.max(1) {
        std::hint::black_box(seccomp::compile(&profile)?);
    }
    let mean_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(args.rounds.max(1));
    let report = serde_json::json!({
        "instructions": first.program.len(),
        "max_depth": seccomp::max_depth(&first.program),
        "first_compile_us": first_us,
        "compile_us": mean_us,
        "skipped": first.skipped,
    });
    writeln!(std::io::stdout(), "{report}")?;
    Ok(0)
}
