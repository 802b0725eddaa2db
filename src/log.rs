//! Logging: warnings and debug lines on stderr, and, with `--log FILE`,
//! records in that file as text or as JSON lines ({"level","msg","time"}),
//! the form containerd's shim reads the last error from.

use std::io::Write;
use std::sync::OnceLock;
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

struct Config {
    file: Option<std::path::PathBuf>,
    format: Format,
    debug: bool,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

/// Sets up logging once, from the global flags.
pub fn init(file: Option<std::path::PathBuf>, format: Format, debug: bool) {
    let _ = CONFIG.set(Config {
        file,
        format,
        debug,
    });
}

fn config() -> Option<&'static Config> {
    CONFIG.get()
}

/// Appends one record to the --log file, if any.
fn record(level: &str, msg: &str) {
    let Some(c) = config() else { return };
    let Some(path) = &c.file else { return };
    let time = rfc3339(SystemTime::now());
    let line = match c.format {
        Format::Json => {
            let v = serde_json::json!({ "level": level, "msg": msg, "time": time });
            format!("{v}\n")
        }
        Format::Text => format!("time={time:?} level={level} msg={msg:?}\n"),
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// The one place an error reaches the user: stderr and the log file.
pub fn error(msg: &str) {
    let _ = writeln!(std::io::stderr(), "berth: {msg}");
    record("error", msg);
}

pub fn warn(msg: &str) {
    let _ = writeln!(std::io::stderr(), "berth: warning: {msg}");
    record("warning", msg);
}

pub fn debug(msg: impl FnOnce() -> String) {
    if let Some(c) = config() {
        if c.debug {
            let m = msg();
            let _ = writeln!(std::io::stderr(), "berth: debug: {m}");
            record("debug", &m);
        }
    }
}

/// RFC 3339 time in UTC with nanoseconds, trailing zeros trimmed, as Go's
/// time.RFC3339Nano prints it (runc's `created`).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let nanos = d.subsec_nanos();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, day) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_like_go_rfc3339nano() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_795_000_000, 120_000_000);
        assert_eq!(rfc3339(t), "2026-11-18T11:06:40.12Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
