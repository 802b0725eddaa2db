//! process.rlimits: names to resources, checked before any process exists.

use anyhow::{bail, Context, Result};

const TABLE: [(&str, libc::c_int); 16] = [
    ("RLIMIT_CPU", libc::RLIMIT_CPU as libc::c_int),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE as libc::c_int),
    ("RLIMIT_DATA", libc::RLIMIT_DATA as libc::c_int),
    ("RLIMIT_STACK", libc::RLIMIT_STACK as libc::c_int),
    ("RLIMIT_CORE", libc::RLIMIT_CORE as libc::c_int),
    ("RLIMIT_RSS", libc::RLIMIT_RSS as libc::c_int),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC as libc::c_int),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE as libc::c_int),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as libc::c_int),
    ("RLIMIT_AS", libc::RLIMIT_AS as libc::c_int),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS as libc::c_int),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING as libc::c_int),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE as libc::c_int),
    ("RLIMIT_NICE", libc::RLIMIT_NICE as libc::c_int),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO as libc::c_int),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME as libc::c_int),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: libc::c_int,
    pub soft: u64,
    pub hard: u64,
}

pub fn parse(list: &[crate::spec::Rlimit]) -> Result<Vec<Rlimit>> {
    let mut out: Vec<Rlimit> = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let Some(&(_, resource)) = TABLE.iter().find(|(n, _)| *n == r.kind) else {
            bail!(
                "invalid config: process.rlimits[{i}].type: unknown rlimit {:?}",
                r.kind
            );
        };
        if out.iter().any(|o| o.resource == resource) {
            bail!(
                "invalid config: process.rlimits[{i}].type: {:?} is given twice",
                r.kind
            );
        }
        if r.soft > r.hard {
            bail!(
                "invalid config: process.rlimits[{i}]: soft limit {} of {} is above the hard limit {}",
                r.soft,
                r.kind,
                r.hard
            );
        }
        out.push(Rlimit {
            resource,
            soft: r.soft,
            hard: r.hard,
        });
    }
    Ok(out)
}

/// The name of a resource, for error messages.
fn name(resource: libc::c_int) -> &'static str {
    TABLE
        .iter()
        .find(|(_, r)| *r == resource)
        .map(|(n, _)| *n)
        .unwrap_or("RLIMIT_?")
}

/// setrlimit(2) for each limit, in the calling process.
pub fn apply(limits: &[Rlimit]) -> Result<()> {
    for l in limits {
        let lim = libc::rlimit {
            rlim_cur: l.soft,
            rlim_max: l.hard,
        };
        // SAFETY: a valid resource number and a pointer to a live rlimit.
        let r = unsafe { libc::setrlimit(l.resource as _, &lim) };
        nix::errno::Errno::result(r).with_context(|| {
            format!(
                "set {} to soft {} hard {} (raising a hard limit needs CAP_SYS_RESOURCE)",
                name(l.resource),
                l.soft,
                l.hard
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Rlimit as SpecRlimit;

    fn r(kind: &str, soft: u64, hard: u64) -> SpecRlimit {
        SpecRlimit {
            kind: kind.into(),
            soft,
            hard,
        }
    }

    #[test]
    fn known_names_parse() {
        let l = parse(&[r("RLIMIT_NOFILE", 10, 20)]).unwrap();
        assert_eq!(l[0].resource, libc::RLIMIT_NOFILE as libc::c_int);
    }

    #[test]
    fn bad_rlimits_are_named() {
        assert!(
            format!("{:#}", parse(&[r("RLIMIT_BOGUS", 1, 1)]).unwrap_err())
                .contains("rlimits[0].type")
        );
        assert!(
            format!("{:#}", parse(&[r("RLIMIT_CORE", 2, 1)]).unwrap_err())
                .contains("above the hard")
        );
        assert!(parse(&[r("RLIMIT_CORE", 1, 1), r("RLIMIT_CORE", 1, 1)]).is_err());
    }
}
