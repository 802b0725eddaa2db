//! Freezing and thawing the container's cgroup: the v1 freezer
//! (freezer.state) or cgroup2's cgroup.freeze, waiting until the kernel
//! reports every task frozen.

use super::Cgroup;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::{Duration, Instant};

enum Freezer {
    V1(PathBuf),
    V2(PathBuf),
}

impl Cgroup {
    fn freezer(&self) -> Option<Freezer> {
        if let Some(h) = self
            .hierarchies
            .iter()
            .find(|h| !h.is_v2() && h.controllers.split(',').any(|c| c == "freezer"))
        {
            return Some(Freezer::V1(h.dir.clone()));
        }
        self.hierarchies
            .iter()
            .find(|h| h.is_v2())
            .map(|h| Freezer::V2(h.dir.clone()))
    }

    /// Whether the cgroup is frozen (or freezing).
    pub fn is_frozen(&self) -> bool {
        match self.freezer() {
            Some(Freezer::V1(d)) => {
                crate::sys::read_file(d.join("freezer.state")).is_ok_and(|s| s.trim() != "THAWED")
            }
            Some(Freezer::V2(d)) => {
                crate::sys::read_file(d.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
            }
            None => false,
        }
    }

    /// Freezes every process of the container and waits until all are.
    pub fn freeze(&self) -> Result<()> {
        self.set_frozen(true)
    }

    /// Thaws the container.
    pub fn thaw(&self) -> Result<()> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let Some(f) = self.freezer() else {
            bail!("no freezer: neither the v1 freezer controller nor cgroup2 is mounted")
        };
        let (file, value, done): (PathBuf, &str, Box<dyn Fn() -> bool>) = match f {
            Freezer::V1(d) => {
                let state = d.join("freezer.state");
                let want = if frozen { "FROZEN" } else { "THAWED" };
                let s2 = state.clone();
                (
                    state,
                    want,
                    Box::new(move || crate::sys::read_file(&s2).is_ok_and(|s| s.trim() == want)),
                )
            }
            Freezer::V2(d) => {
                let events = d.join("cgroup.events");
                let want = if frozen { "frozen 1" } else { "frozen 0" };
                (
                    d.join("cgroup.freeze"),
                    if frozen { "1" } else { "0" },
                    Box::new(move || {
                        crate::sys::read_file(&events).is_ok_and(|s| s.lines().any(|l| l == want))
                    }),
                )
            }
        };
        // A task in the middle of a system call can take a while; v1 may
        // also stay FREEZING until the write is repeated.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut pause = Duration::from_micros(100);
        loop {
            std::fs::write(&file, value)
                .with_context(|| format!("write {value} to {}", file.display()))?;
            if done() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{} did not reach {value} within 10 s", file.display());
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }
}
