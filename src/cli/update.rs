use super::Global;
use crate::cgroups::resources::{self, BlockIo, Cpu, Memory, Pids, Resources};
use crate::container;
use anyhow::{bail, Context, Result};
use std::io::Read;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container's id
    pub id: String,
    /// linux.resources as JSON, from a file or "-" for stdin (as Docker sends it)
    #[arg(short, long, value_name = "FILE|-")]
    pub resources: Option<String>,
    /// Block IO weight (10 to 1000)
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period (microseconds)
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota (microseconds, -1 for none)
    #[arg(long = "cpu-quota", allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS burst (microseconds)
    #[arg(long = "cpu-burst")]
    pub cpu_burst: Option<u64>,
    /// CPU shares (relative weight)
    #[arg(long = "cpu-share", alias = "cpu-shares")]
    pub cpu_share: Option<u64>,
    /// Real-time period (microseconds)
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    /// Real-time runtime (microseconds)
    #[arg(long = "cpu-rt-runtime", allow_negative_numbers = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs allowed (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes allowed (0-3, 0,1)
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit (bytes, or with a k/m/g suffix; -1 for none)
    #[arg(long, allow_negative_numbers = true)]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", allow_negative_numbers = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1 for no swap limit)
    #[arg(long = "memory-swap", allow_negative_numbers = true)]
    pub memory_swap: Option<String>,
    /// Kernel memory limit (deprecated; refused by the kernel)
    #[arg(long = "kernel-memory", allow_negative_numbers = true, hide = true)]
    pub kernel_memory: Option<String>,
    /// Kernel TCP buffer memory limit
    #[arg(long = "kernel-memory-tcp", allow_negative_numbers = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Maximum number of processes (-1 for none)
    #[arg(long = "pids-limit", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
}

/// A size as runc's --memory takes it: bytes, or a number with a
/// b/k/m/g/t suffix (powers of 1024), or -1.
pub fn parse_size(flag: &str, s: &str) -> Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t
        .strip_suffix('b')
        .filter(|r| !r.is_empty() && r.chars().last().is_some_and(|c| c.is_ascii_alphabetic()))
        .unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        Some('b') => (&t[..t.len() - 1], 1),
        _ => (t, 1),
    };
    match num.parse::<f64>() {
        Ok(n) if n >= 0.0 => Ok((n * mult as f64) as i64),
        _ => bail!("--{flag}: {s:?} is not a size (bytes, or a number with k, m, g or t)"),
    }
}

fn from_flags(a: &Args) -> Result<Resources> {
    let mut r = Resources::default();
    let size =
        |flag: &str, v: &Option<String>| v.as_deref().map(|s| parse_size(flag, s)).transpose();
    let memory = Memory {
        limit: size("memory", &a.memory)?,
        reservation: size("memory-reservation", &a.memory_reservation)?,
        swap: size("memory-swap", &a.memory_swap)?,
        kernel: size("kernel-memory", &a.kernel_memory)?,
        kernel_tcp: size("kernel-memory-tcp", &a.kernel_memory_tcp)?,
        ..Default::default()
    };
    if memory != Memory::default() {
        r.memory = Some(memory);
    }
    let cpu = Cpu {
        shares: a.cpu_share,
        quota: a.cpu_quota,
        burst: a.cpu_burst,
        period: a.cpu_period,
        realtime_runtime: a.cpu_rt_runtime,
        realtime_period: a.cpu_rt_period,
        cpus: a.cpuset_cpus.clone(),
        mems: a.cpuset_mems.clone(),
        ..Default::default()
    };
    if cpu != Cpu::default() {
        r.cpu = Some(cpu);
    }
    if let Some(l) = a.pids_limit {
        r.pids = Some(Pids { limit: l });
    }
    if let Some(w) = a.blkio_weight {
        r.block_io = Some(BlockIo {
            weight: Some(w),
            ..Default::default()
        });
    }
    r.check("update")?;
    Ok(r)
}

pub fn run(args: Args, g: &Global) -> Result<i32> {
    let r = match &args.resources {
        Some(src) => {
            let mut text = String::new();
            if src == "-" {
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("read --resources from stdin")?;
            } else {
                text = std::fs::read_to_string(src)
                    .with_context(|| format!("read --resources {src}"))?;
            }
            let v: serde_json::Value =
                serde_json::from_str(&text).context("--resources: not JSON")?;
            resources::parse(&v, "--resources")?
        }
        None => from_flags(&args)?,
    };
    container::update(&g.root, &args.id, &r)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("memory", "1024").unwrap(), 1024);
        assert_eq!(parse_size("memory", "64m").unwrap(), 64 << 20);
        assert_eq!(parse_size("memory", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("memory", "2kb").unwrap(), 2048);
        assert_eq!(parse_size("memory", "-1").unwrap(), -1);
        assert!(parse_size("memory", "lots").is_err());
        assert!(parse_size("memory", "-5").is_err());
    }
}
