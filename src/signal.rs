//! Signal names and numbers, as `kill` takes them: "KILL", "SIGKILL",
//! "kill" and "9" are the same signal.

use anyhow::{bail, Result};

const NAMES: [(&str, i32); 31] = [
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The kernel's first and last real-time signals (glibc reserves two more
/// at the bottom for itself, but the kernel's numbering is what kill takes).
const RTMIN: i32 = 34;
const RTMAX: i32 = 64;

/// Parses a signal as a name (any case, with or without SIG, RTMIN+n and
/// RTMAX-n too) or a number from 1 to 64.
pub fn parse(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=RTMAX).contains(&n) {
            return Ok(n);
        }
        bail!("invalid signal {s:?}: numbers go from 1 to {RTMAX}");
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, n)) = NAMES.iter().find(|(n, _)| *n == name) {
        return Ok(*n);
    }
    let rt = |rest: &str, base: i32, sign: i32| -> Option<i32> {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.parse().ok()?
        };
        let n = base + sign * off;
        (RTMIN..=RTMAX).contains(&n).then_some(n)
    };
    let found = if let Some(r) = name.strip_prefix("RTMIN") {
        rt(r.trim_start_matches('+'), RTMIN, 1)
    } else if let Some(r) = name.strip_prefix("RTMAX") {
        rt(r.trim_start_matches('-'), RTMAX, -1)
    } else {
        None
    };
    match found {
        Some(n) => Ok(n),
        None => bail!("invalid signal {s:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        for s in ["KILL", "SIGKILL", "kill", "9"] {
            assert_eq!(parse(s).unwrap(), 9, "{s}");
        }
        assert_eq!(parse("TERM").unwrap(), 15);
        assert_eq!(parse("RTMIN").unwrap(), 34);
        assert_eq!(parse("RTMIN+2").unwrap(), 36);
        assert_eq!(parse("SIGRTMAX-1").unwrap(), 63);
    }

    #[test]
    fn bad_signals() {
        for s in ["", "0", "65", "-1", "BOGUS", "SIG", "RTMIN+40"] {
            assert!(parse(s).is_err(), "{s}");
        }
    }
}
