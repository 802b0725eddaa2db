//! The process's security context: capabilities, rlimits, users and groups.

pub mod caps;
pub mod lsm;
pub mod rlimits;
pub mod sealed;
pub mod seccomp;
pub mod user;
