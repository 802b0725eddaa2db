use super::Global;
use crate::container;
use anyhow::{bail, Result};
use serde_json::json;
use std::io::Write;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container's id
    pub id: String,
    /// Print the resource usage once and exit
    #[arg(long)]
    pub stats: bool,
    /// How often to print the usage (like 5s, 500ms, 1m)
    #[arg(long, default_value = "5s")]
    pub interval: String,
}

/// A Go-style duration: a number and ns, us, ms, s, m or h.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("--interval: {s:?} is not a duration like 5s"))?;
    let secs = match unit {
        "ns" => n / 1e9,
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => bail!("--interval: {s:?} is not a duration like 5s"),
    };
    if secs <= 0.0 {
        bail!("--interval: {s:?} must be more than zero");
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `events`: with --stats one stats event; else a stats event every
/// interval and an oom event whenever the OOM killer strikes, until the
/// container stops.
pub fn run(args: Args, g: &Global) -> Result<i32> {
    let id = &args.id;
    if args.stats {
        let data = container::stats(&g.root, id)?;
        writeln!(
            std::io::stdout(),
            "{}",
            json!({"type": "stats", "id": id, "data": data})
        )?;
        return Ok(0);
    }
    let interval = parse_duration(&args.interval)?;
    let cg = container::watch(&g.root, id)?;
    let mut ooms = cg.oom_kills();
    let mut next = Instant::now();
    let mut out = std::io::stdout();
    // OOM kills are noticed within a tick; stats go out every interval.
    let tick = interval.min(Duration::from_millis(100));
    while container::is_alive(&g.root, id) {
        let n = cg.oom_kills();
        if n > ooms {
            writeln!(out, "{}", json!({"type": "oom", "id": id}))?;
            ooms = n;
        }
        if Instant::now() >= next {
            writeln!(
                out,
                "{}",
                json!({"type": "stats", "id": id, "data": cg.stats()})
            )?;
            out.flush()?;
            next += interval;
        }
        std::thread::sleep(tick);
    }
    // A last look: an OOM kill that ended the container.
    if cg.oom_kills() > ooms {
        writeln!(out, "{}", json!({"type": "oom", "id": id}))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
