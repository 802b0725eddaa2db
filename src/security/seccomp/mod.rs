//! linux.seccomp: the runtime-spec's seccomp object, checked and compiled
//! into a classic BPF program by berth itself (no libseccomp), and loaded
//! with seccomp(2).
//!
//! berth runs on x86_64: the filters are for x86_64 hosts (with the i386 and
//! x32 ABIs), from the tables `scripts/gen-syscalls.sh` writes.
//!
//! Semantics follow runc with libseccomp:
//! - x86_64 is always in the filter; SCMP_ARCH_X86 and SCMP_ARCH_X32 add
//!   the i386 and x32 ABIs. Other known architectures are accepted and
//!   ignored: their syscalls cannot reach an x86_64 kernel's filter (their
//!   AUDIT_ARCH never appears), so nothing is lost. A syscall from an
//!   architecture not in the filter (an `int 0x80` i386 call when
//!   SCMP_ARCH_X86 is not listed, an x32 number when SCMP_ARCH_X32 is not)
//!   kills the process: SECCOMP_RET_KILL_PROCESS. libseccomp's default
//!   "bad arch" action kills the thread only; the whole process is the
//!   safer choice.
//! - A syscall's rules are tried in the order given, the first whose
//!   conditions all hold wins; no match is the default action.
//! - As runc does: a rule whose action is the default action is dropped;
//!   a rule naming the same argument twice becomes one rule per condition
//!   (ORed); unknown syscall names are skipped and returned for a warning;
//!   `flags` absent means SECCOMP_FILTER_FLAG_SPEC_ALLOW, `flags: []` none;
//!   SCMP_ACT_NOTIFY may not be the default action nor apply to `write`,
//!   and needs `listenerPath` (where the listener fd goes).
//! - Errors name the field: `linux.seccomp.syscalls[3].action: unknown
//!   action "SCMP_ACT_FOO"`.

#[cfg(test)]
mod bpf;
mod compile;
#[cfg(test)]
mod proptests;
mod syscalls;

use std::os::fd::{FromRawFd, OwnedFd};

use anyhow::{anyhow, bail, Result};
use nix::errno::Errno;
use serde::{Deserialize, Deserializer};

pub use compile::{max_depth, Insn};
use compile::{Cond, Filter, Nrs, Op, Rule};

/// A compiled `linux.seccomp`, ready for [`install`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The BPF program, laid out as `struct sock_filter`.
    pub program: Vec<Insn>,
    /// SECCOMP_FILTER_FLAG_* for seccomp(2), NEW_LISTENER included when
    /// `listener` is set.
    pub flags: libc::c_ulong,
    /// An action is SCMP_ACT_NOTIFY: [`install`] returns the listener fd,
    /// which goes to `listener_path`.
    pub listener: bool,
    pub listener_path: Option<String>,
    pub listener_metadata: Option<String>,
    /// Syscall names berth does not know, skipped (as runc does): warn.
    pub skipped: Vec<String>,
    /// Properties of the seccomp object berth does not know, as JSON paths
    /// (`linux.seccomp.syscalls[2].comment`): warn.
    pub unknown: Vec<String>,
}

/// Checks and compiles a config's `linux.seccomp`. `None` when it asks for
/// nothing (no defaultAction and no syscalls: runc then applies no filter).
pub fn compile(seccomp: &serde_json::Value) -> Result<Option<Compiled>> {
    if cfg!(not(target_arch = "x86_64")) {
        bail!("linux.seccomp: berth compiles seccomp filters for x86_64 hosts only");
    }
    let (spec, unknown) = parse(seccomp)?;
    let default_name = match spec.default_action {
        Some(a) if !a.is_empty() => a,
        _ if spec.syscalls.is_empty() => return Ok(None),
        _ => bail!("invalid config: linux.seccomp.defaultAction: missing"),
    };
    let Some(default_kind) = action_kind(default_name) else {
        bail!("invalid config: linux.seccomp.defaultAction: unknown action {default_name:?}");
    };
    if default_kind == Action::Notify {
        bail!("invalid config: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
    }
    let default_action = ret_value(default_kind, default_name, spec.default_errno_ret, || {
        "linux.seccomp.defaultErrnoRet"
    })?;

    let (mut x86, mut x32) = (false, false);
    for (i, a) in spec.architectures.iter().enumerate() {
        match a.as_str() {
            "SCMP_ARCH_X86_64" => {}
            "SCMP_ARCH_X86" => x86 = true,
            "SCMP_ARCH_X32" => x32 = true,
            // (NATIVE_ARCHES lists these three for `berth features`.)
            a if FOREIGN_ARCHES.contains(&a) => {}
            _ => bail!(
                "invalid config: linux.seccomp.architectures[{i}]: unknown architecture {a:?}"
            ),
        }
    }

    let mut flags: libc::c_ulong = 0;
    let mut wait_killable = false;
    match &spec.flags {
        None => flags = libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
        Some(list) => {
            for (i, f) in list.iter().enumerate() {
                let Some((name, bits)) = FLAGS.iter().find(|(n, _)| *n == f.as_str()) else {
                    bail!("invalid config: linux.seccomp.flags[{i}]: unknown flag {f:?}")
                };
                wait_killable |= *name == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";
                flags |= bits;
            }
        }
    }

    let mut rules: Vec<Rule> = Vec::with_capacity(spec.syscalls.len());
    let mut calls: Vec<(Nrs, usize)> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut listener = false;
    for (i, s) in spec.syscalls.iter().enumerate() {
        let Some(kind) = action_kind(s.action) else {
            bail!(
                "invalid config: linux.seccomp.syscalls[{i}].action: unknown action {:?}",
                s.action
            );
        };
        let errno_field = || format!("linux.seccomp.syscalls[{i}].errnoRet");
        let action = ret_value(kind, s.action, s.errno_ret, errno_field)?;
        if s.names.is_empty() {
            bail!("invalid config: linux.seccomp.syscalls[{i}].names: empty");
        }
        for (j, name) in s.names.iter().enumerate() {
            if name.is_empty() {
                bail!("invalid config: linux.seccomp.syscalls[{i}].names[{j}]: empty");
            }
            if kind == Action::Notify && *name == "write" {
                bail!("invalid config: linux.seccomp.syscalls[{i}].names[{j}]: SCMP_ACT_NOTIFY cannot be used for write");
            }
        }
        let mut conds = Vec::with_capacity(s.args.len());
        let mut seen = [false; 6];
        let mut repeated = false;
        for (j, a) in s.args.iter().enumerate() {
            let index = match u8::try_from(a.index) {
                Ok(x) if x < 6 => x,
                _ => bail!(
                    "invalid config: linux.seccomp.syscalls[{i}].args[{j}].index: {} is out of range (a syscall has arguments 0 to 5)",
                    a.index
                ),
            };
            let Some(op) = op(a.op) else {
                bail!(
                    "invalid config: linux.seccomp.syscalls[{i}].args[{j}].op: unknown operator {:?}",
                    a.op
                );
            };
            repeated |= std::mem::replace(&mut seen[usize::from(index)], true);
            conds.push(Cond {
                index,
                op,
                value: a.value,
                value_two: a.value_two,
            });
        }
        listener |= kind == Action::Notify;
        // runc: a rule with the default action is dropped (the default
        // applies anyway); an argument named twice means one rule per
        // condition.
        let first = rules.len();
        if action != default_action {
            if repeated {
                rules.extend(conds.iter().map(|c| Rule {
                    conds: vec![*c],
                    action,
                }));
            } else {
                rules.push(Rule { conds, action });
            }
        }
        for name in &s.names {
            let nrs = compile::resolve(name);
            if !nrs.known() {
                if !skipped.iter().any(|k| k == name) {
                    skipped.push((*name).to_owned());
                }
                continue;
            }
            calls.extend((first..rules.len()).map(|r| (nrs, r)));
        }
    }

    let listener_path = spec.listener_path.clone().filter(|p| !p.is_empty());
    if listener {
        if listener_path.is_none() {
            bail!("invalid config: linux.seccomp.listenerPath: missing (an action is SCMP_ACT_NOTIFY; the listener fd goes there)");
        }
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        if wait_killable {
            flags |= libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        }
        if flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            // TSYNC and NEW_LISTENER both return a value: the kernel takes
            // them together only with TSYNC_ESRCH (as libseccomp sets).
            flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    }

    let program = compile::generate(&Filter {
        default_action,
        bad_arch_action: libc::SECCOMP_RET_KILL_PROCESS,
        x86,
        x32,
        rules,
        calls,
    })
    .map_err(|e| anyhow!("invalid config: linux.seccomp: {e}"))?;

    Ok(Some(Compiled {
        program,
        flags,
        listener,
        listener_path,
        listener_metadata: spec.listener_metadata.clone(),
        skipped,
        unknown,
    }))
}

/// Loads `c` into the calling thread (all threads with TSYNC) with
/// seccomp(SECCOMP_SET_MODE_FILTER): from here on every syscall goes
/// through it, including those of the process that execs next. Returns the
/// notify listener when `c.listener` is set.
///
/// The caller needs no_new_privs set (prctl(PR_SET_NO_NEW_PRIVS)) or
/// CAP_SYS_ADMIN in its user namespace, else the kernel says EACCES.
/// Allocates nothing on success, so it may run in a child after fork.
pub fn install(c: &Compiled) -> Result<Option<OwnedFd>> {
    let Ok(len) = u16::try_from(c.program.len()) else {
        bail!(
            "seccomp: a filter of {} instructions is too long",
            c.program.len()
        );
    };
    match seccomp_set_mode_filter(c.flags, &c.program, len) {
        Ok(ret) if c.flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 => {
            let Ok(fd) = i32::try_from(ret) else {
                bail!("seccomp: the kernel returned {ret} for the listener fd");
            };
            // SAFETY: with NEW_LISTENER, seccomp(2) returns a new fd that
            // nothing else owns.
            Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
        }
        Ok(_) => Ok(None),
        Err(Errno::EACCES) => bail!(
            "seccomp: loading the filter: {} (needs no_new_privs or CAP_SYS_ADMIN)",
            Errno::EACCES.desc()
        ),
        Err(e) => bail!(
            "seccomp: loading the filter with flags {:#x}: {}",
            c.flags,
            e.desc()
        ),
    }
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog): the raw syscall (glibc
/// and musl have no wrapper).
fn seccomp_set_mode_filter(
    flags: libc::c_ulong,
    program: &[Insn],
    len: u16,
) -> nix::Result<libc::c_long> {
    let prog = libc::sock_fprog {
        len,
        // The kernel only reads the program; the cast is between
        // layout-identical repr(C) types (asserted in compile.rs).
        filter: program.as_ptr().cast_mut().cast::<libc::sock_filter>(),
    };
    // SAFETY: `prog` points to `len` live instructions laid out as
    // `struct sock_filter`, both alive for the call; the kernel copies the
    // program before returning and writes nothing through the pointers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    Errno::result(ret)
}

/// Architectures the runtime-spec (and runc) know besides x86_64, i386 and
/// x32: accepted, and without effect on x86_64.
const FOREIGN_ARCHES: [&str; 17] = [
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    KillThread,
    KillProcess,
    Trap,
    Errno,
    Trace,
    Allow,
    Log,
    Notify,
}

/// Every action name berth takes, and what it does.
const ACTIONS: [(&str, Action); 9] = [
    ("SCMP_ACT_KILL", Action::KillThread),
    ("SCMP_ACT_KILL_THREAD", Action::KillThread),
    ("SCMP_ACT_KILL_PROCESS", Action::KillProcess),
    ("SCMP_ACT_TRAP", Action::Trap),
    ("SCMP_ACT_ERRNO", Action::Errno),
    ("SCMP_ACT_TRACE", Action::Trace),
    ("SCMP_ACT_ALLOW", Action::Allow),
    ("SCMP_ACT_LOG", Action::Log),
    ("SCMP_ACT_NOTIFY", Action::Notify),
];

fn action_kind(name: &str) -> Option<Action> {
    ACTIONS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// The SECCOMP_RET_* value of an action. ERRNO and TRACE carry `errno`
/// (default EPERM, as runc); the others refuse one, as the spec requires.
fn ret_value<F: ToString>(
    kind: Action,
    name: &str,
    errno: Option<u32>,
    field: impl FnOnce() -> F,
) -> Result<u32> {
    let data = match (kind, errno) {
        (Action::Errno | Action::Trace, None) => libc::EPERM as u32,
        (Action::Errno | Action::Trace, Some(e)) if e <= libc::SECCOMP_RET_DATA => e,
        (Action::Errno | Action::Trace, Some(e)) => {
            bail!(
                "invalid config: {}: {e} does not fit the 16 bits seccomp returns",
                field().to_string()
            )
        }
        (_, Some(e)) => bail!(
            "invalid config: {}: {name} takes no errno (got {e})",
            field().to_string()
        ),
        (_, None) => 0,
    };
    Ok(match kind {
        Action::KillThread => libc::SECCOMP_RET_KILL_THREAD,
        Action::KillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        Action::Trap => libc::SECCOMP_RET_TRAP,
        Action::Errno => libc::SECCOMP_RET_ERRNO | data,
        Action::Trace => libc::SECCOMP_RET_TRACE | data,
        Action::Allow => libc::SECCOMP_RET_ALLOW,
        Action::Log => libc::SECCOMP_RET_LOG,
        Action::Notify => libc::SECCOMP_RET_USER_NOTIF,
    })
}

/// Every argument operator berth takes.
const OPERATORS: [(&str, Op); 7] = [
    ("SCMP_CMP_NE", Op::Ne),
    ("SCMP_CMP_LT", Op::Lt),
    ("SCMP_CMP_LE", Op::Le),
    ("SCMP_CMP_EQ", Op::Eq),
    ("SCMP_CMP_GE", Op::Ge),
    ("SCMP_CMP_GT", Op::Gt),
    ("SCMP_CMP_MASKED_EQ", Op::MaskedEq),
];

fn op(name: &str) -> Option<Op> {
    OPERATORS.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
}

/// The architectures a filter handles itself on this host.
const NATIVE_ARCHES: [&str; 3] = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

/// The filter flags berth takes (WAIT_KILLABLE_RECV goes with a listener).
const FLAGS: [(&str, libc::c_ulong); 4] = [
    ("SECCOMP_FILTER_FLAG_TSYNC", libc::SECCOMP_FILTER_FLAG_TSYNC),
    ("SECCOMP_FILTER_FLAG_LOG", libc::SECCOMP_FILTER_FLAG_LOG),
    (
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    ),
    ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 0),
];

/// The names `berth features` reports: (actions, operators, architectures,
/// flags), each from the table the compiler itself uses.
pub fn names() -> [Vec<&'static str>; 4] {
    [
        ACTIONS.iter().map(|(n, _)| *n).collect(),
        OPERATORS.iter().map(|(n, _)| *n).collect(),
        NATIVE_ARCHES
            .iter()
            .chain(FOREIGN_ARCHES.iter())
            .copied()
            .collect(),
        FLAGS.iter().map(|(n, _)| *n).collect(),
    ]
}

/// The seccomp object, runtime-spec 1.2 (config-linux.md, "Seccomp").
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    #[serde(default, borrow)]
    default_action: Option<&'a str>,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "null_default")]
    architectures: Vec<String>,
    #[serde(default)]
    flags: Option<Vec<String>>,
    #[serde(default)]
    listener_path: Option<String>,
    #[serde(default)]
    listener_metadata: Option<String>,
    #[serde(default, borrow, deserialize_with = "null_default")]
    syscalls: Vec<Syscall<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Syscall<'a> {
    #[serde(borrow, deserialize_with = "null_default")]
    names: Vec<&'a str>,
    action: &'a str,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default, borrow, deserialize_with = "null_default")]
    args: Vec<Arg<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Arg<'a> {
    index: u32,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: &'a str,
}

/// `null` as the empty value, as Go's encoding/json reads it.
fn null_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The typed object and the JSON paths of the properties it does not have.
fn parse(v: &serde_json::Value) -> Result<(Spec<'_>, Vec<String>)> {
    let mut unknown = Vec::new();
    let mut note =
        |p: serde_ignored::Path| unknown.push(format!("linux.seccomp{}", field_path(&p)));
    let ignored = serde_ignored::Deserializer::new(v, &mut note);
    let spec: Spec = serde_path_to_error::deserialize(ignored).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            anyhow!("invalid config: linux.seccomp: {inner}")
        } else {
            anyhow!("invalid config: linux.seccomp.{path}: {inner}")
        }
    })?;
    Ok((spec, unknown))
}

/// `.syscalls[2].comment`, the suffix of a JSON path below linux.seccomp.
fn field_path(p: &serde_ignored::Path) -> String {
    use serde_ignored::Path;
    match p {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => format!("{}.{key}", field_path(parent)),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::bpf::{self, Data};
    use super::compile::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
    use super::syscalls::X32_SYSCALL_BIT;
    use super::*;
    use serde_json::{json, Value};

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
    const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;
    const fn errno(e: u32) -> u32 {
        libc::SECCOMP_RET_ERRNO | e
    }

    fn compiled(v: Value) -> Compiled {
        compile(&v).unwrap().unwrap()
    }

    fn err(v: Value) -> String {
        format!("{:#}", compile(&v).unwrap_err())
    }

    fn run_on(c: &Compiled, arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
        let d = Data {
            nr,
            arch,
            instruction_pointer: 0x7fff_0000_1234,
            args,
        };
        bpf::run(&c.program, &d).unwrap_or_else(|e| panic!("{e}\n{}", bpf::disassemble(&c.program)))
    }

    fn run(c: &Compiled, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        run_on(c, arch, nr, args).0
    }

    fn nr64(name: &str) -> u32 {
        compile::lookup(&syscalls::X86_64, name).unwrap()
    }
    fn nr32(name: &str) -> u32 {
        compile::lookup(&syscalls::X86, name).unwrap()
    }
    fn nrx32(name: &str) -> u32 {
        compile::lookup(&syscalls::X32, name).unwrap()
    }

    #[test]
    fn tables_are_sorted_and_numbers_unique() {
        for (table, lo, hi) in [
            (&syscalls::X86_64[..], 0, X32_SYSCALL_BIT),
            (&syscalls::X86[..], 0, X32_SYSCALL_BIT),
            (&syscalls::X32[..], X32_SYSCALL_BIT, X32_SYSCALL_BIT + 1024),
        ] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
            let mut nrs: Vec<u32> = table.iter().map(|e| e.1).collect();
            nrs.sort_unstable();
            let n = nrs.len();
            nrs.dedup();
            assert_eq!(nrs.len(), n, "a number with two names");
            assert!(nrs.iter().all(|&nr| (lo..hi).contains(&nr)));
        }
        assert_eq!(nr64("read"), 0);
        assert_eq!(nr64("getppid"), 110);
        assert_eq!(nr64("clone3"), 435);
        assert_eq!(nr64("mseal"), 462);
        assert_eq!(nr32("read"), 3);
        assert_eq!(nr32("socketcall"), 102);
        assert_eq!(nr32("listns"), 470);
        assert_eq!(nrx32("read"), X32_SYSCALL_BIT);
        assert_eq!(nrx32("rt_sigaction"), X32_SYSCALL_BIT + 512);
        assert_eq!(nrx32("file_setattr"), X32_SYSCALL_BIT + 469);
        assert!(compile::lookup(&syscalls::X32, "uretprobe").is_some());
        assert!(compile::lookup(&syscalls::X86, "uretprobe").is_none());
    }

    #[test]
    fn allow_list_with_default_errno() {
        let c = compiled(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {"names": ["read", "write", "getppid"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 77},
                {"names": ["kill"], "action": "SCMP_ACT_TRAP"},
                {"names": ["tkill"], "action": "SCMP_ACT_LOG"},
                {"names": ["tgkill"], "action": "SCMP_ACT_KILL"},
            ]
        }));
        let x = AUDIT_ARCH_X86_64;
        assert_eq!(c.flags, libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW);
        assert!(!c.listener);
        assert_eq!(run(&c, x, nr64("read"), [0; 6]), ALLOW);
        assert_eq!(run(&c, x, nr64("write"), [0; 6]), ALLOW);
        assert_eq!(run(&c, x, nr64("getppid"), [0; 6]), ALLOW);
        assert_eq!(run(&c, x, nr64("open"), [0; 6]), errno(1));
        assert_eq!(run(&c, x, nr64("mount"), [0; 6]), errno(13));
        assert_eq!(run(&c, x, nr64("reboot"), [0; 6]), KILL);
        assert_eq!(
            run(&c, x, nr64("ptrace"), [0; 6]),
            libc::SECCOMP_RET_TRACE | 77
        );
        assert_eq!(run(&c, x, nr64("kill"), [0; 6]), libc::SECCOMP_RET_TRAP);
        assert_eq!(run(&c, x, nr64("tkill"), [0; 6]), libc::SECCOMP_RET_LOG);
        assert_eq!(
            run(&c, x, nr64("tgkill"), [0; 6]),
            libc::SECCOMP_RET_KILL_THREAD
        );
        assert_eq!(run(&c, x, 100_000, [0; 6]), errno(1));
        assert_eq!(
            run(&c, x, u32::MAX, [0; 6]),
            errno(1),
            "nr -1 gets the default"
        );
        // Not listed: i386 and x32 calls, and any other architecture.
        assert_eq!(run(&c, AUDIT_ARCH_I386, nr32("read"), [0; 6]), KILL);
        assert_eq!(run(&c, x, nrx32("read"), [0; 6]), KILL);
        assert_eq!(run(&c, AUDIT_ARCH_AARCH64, 63, [0; 6]), KILL);
    }

    #[test]
    fn x86_and_x32_use_their_own_numbers() {
        let c = compiled(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": ["read", "rt_sigaction", "_llseek", "socketcall"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            ]
        }));
        let x = AUDIT_ARCH_X86_64;
        let i = AUDIT_ARCH_I386;
        assert_eq!(run(&c, x, 0, [0; 6]), ALLOW);
        assert_eq!(run(&c, x, 13, [0; 6]), ALLOW); // rt_sigaction
        assert_eq!(run(&c, x, X32_SYSCALL_BIT, [0; 6]), ALLOW); // x32 read
        assert_eq!(run(&c, x, X32_SYSCALL_BIT + 512, [0; 6]), ALLOW); // x32 rt_sigaction
        assert_eq!(run(&c, x, X32_SYSCALL_BIT + 13, [0; 6]), errno(38)); // not an x32 syscall
        assert_eq!(run(&c, x, 3, [0; 6]), errno(38)); // close on x86_64
        assert_eq!(run(&c, i, 3, [0; 6]), ALLOW); // read on i386
        assert_eq!(run(&c, i, 0, [0; 6]), errno(38)); // restart_syscall on i386
        assert_eq!(run(&c, i, 140, [0; 6]), ALLOW); // _llseek
        assert_eq!(run(&c, i, 102, [0; 6]), ALLOW); // socketcall
        assert_eq!(run(&c, i, 174, [0; 6]), ALLOW); // rt_sigaction on i386
        assert_eq!(run(&c, i, u32::MAX, [0; 6]), errno(38));
        assert_eq!(run(&c, x, u32::MAX, [0; 6]), errno(38));
        assert_eq!(run(&c, AUDIT_ARCH_AARCH64, 0, [0; 6]), KILL);
        // personality(8): 64-bit on x86_64, the low word on i386 and x32.
        let high = 0x1_0000_0008;
        assert_eq!(run(&c, x, 135, [8, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&c, x, 135, [high, 0, 0, 0, 0, 0]), errno(38));
        assert_eq!(
            run(&c, x, X32_SYSCALL_BIT + 135, [high, 0, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(run(&c, i, 136, [high, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&c, i, 136, [9, 0, 0, 0, 0, 0]), errno(38));
    }

    #[test]
    fn clone_flags_and_argument_rules() {
        // Docker's clone rule: no namespace flags (mask 0x7E020000).
        let c = compiled(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["mmap"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 2, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_LT"},
                          {"index": 3, "value": 0x0000_0000_ffff_ffffu64, "op": "SCMP_CMP_GE"}]},
            ]
        }));
        let x = AUDIT_ARCH_X86_64;
        let clone = nr64("clone");
        let fork_flags =
            (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD) as u64;
        assert_eq!(run(&c, x, clone, [fork_flags, 0, 0, 0, 0, 0]), ALLOW);
        for ns in [
            libc::CLONE_NEWNS,
            libc::CLONE_NEWUSER,
            libc::CLONE_NEWPID,
            libc::CLONE_NEWNET,
            libc::CLONE_NEWUTS,
            libc::CLONE_NEWIPC,
            libc::CLONE_NEWCGROUP,
        ] {
            assert_eq!(
                run(&c, x, clone, [fork_flags | ns as u64, 0, 0, 0, 0, 0]),
                errno(1)
            );
        }
        // High bits are outside the mask: still allowed.
        assert_eq!(
            run(
                &c,
                x,
                clone,
                [fork_flags | 0xffff_0000_0000_0000, 0, 0, 0, 0, 0]
            ),
            ALLOW
        );
        assert_eq!(run(&c, x, nr64("clone3"), [0; 6]), errno(38));
        let mmap = nr64("mmap");
        assert_eq!(
            run(&c, x, mmap, [0, 0, 0xffff_ffff, 0xffff_ffff, 0, 0]),
            ALLOW
        );
        assert_eq!(
            run(&c, x, mmap, [0, 0, 0x1_0000_0000, 0xffff_ffff, 0, 0]),
            errno(1)
        );
        assert_eq!(run(&c, x, mmap, [0, 0, 7, 0xffff_fffe, 0, 0]), errno(1));
        assert_eq!(run(&c, x, mmap, [0, 0, 7, 0x1_0000_0000, 0, 0]), ALLOW);
    }

    #[test]
    fn runc_rule_semantics() {
        let c = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                // The default action: dropped, so the next rule applies.
                {"names": ["dup"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_EQ"}]},
                {"names": ["dup"], "action": "SCMP_ACT_ERRNO"},
                // The same argument twice: either condition.
                {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
                 "args": [{"index": 2, "value": 3, "op": "SCMP_CMP_EQ"},
                          {"index": 2, "value": 4, "op": "SCMP_CMP_EQ"}]},
                {"names": ["no_such_syscall", "dup2", "another_one"], "action": "SCMP_ACT_ERRNO"},
            ]
        }));
        let x = AUDIT_ARCH_X86_64;
        assert_eq!(run(&c, x, nr64("dup"), [3, 0, 0, 0, 0, 0]), errno(1));
        assert_eq!(run(&c, x, nr64("lseek"), [0, 0, 3, 0, 0, 0]), errno(22));
        assert_eq!(run(&c, x, nr64("lseek"), [0, 0, 4, 0, 0, 0]), errno(22));
        assert_eq!(run(&c, x, nr64("lseek"), [0, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&c, x, nr64("dup2"), [0; 6]), errno(1));
        assert_eq!(c.skipped, ["no_such_syscall", "another_one"]);
    }

    #[test]
    fn flags_and_listener() {
        let base = |extra: Value| {
            let mut v = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}],
                "listenerPath": "/run/agent.sock",
                "listenerMetadata": "meta",
            });
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            v
        };
        let c = compiled(base(
            json!({"flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
        ));
        assert!(c.listener);
        assert_eq!(
            c.flags,
            libc::SECCOMP_FILTER_FLAG_TSYNC
                | libc::SECCOMP_FILTER_FLAG_LOG
                | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
                | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
        );
        assert_eq!(c.listener_path.as_deref(), Some("/run/agent.sock"));
        assert_eq!(c.listener_metadata.as_deref(), Some("meta"));
        assert_eq!(
            run(&c, AUDIT_ARCH_X86_64, nr64("mount"), [0; 6]),
            libc::SECCOMP_RET_USER_NOTIF
        );
        let c = compiled(base(json!({"flags": []})));
        assert_eq!(c.flags, libc::SECCOMP_FILTER_FLAG_NEW_LISTENER);
        let c = compiled(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}),
        );
        assert_eq!(
            c.flags,
            libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            "no listener, no WAIT_KILLABLE_RECV"
        );
        assert!(
            err(base(json!({"listenerPath": ""}))).contains("linux.seccomp.listenerPath: missing")
        );
    }

    #[test]
    fn nothing_asked_is_no_filter() {
        assert!(compile(&json!({})).unwrap().is_none());
        assert!(compile(&json!({"architectures": ["SCMP_ARCH_X86"]}))
            .unwrap()
            .is_none());
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW"},
                  {"names": ["b"], "action": "SCMP_ACT_ALLOW"}, {"names": ["c"], "action": "SCMP_ACT_ALLOW"},
                  {"names": ["read"], "action": "SCMP_ACT_FOO"}]}),
                r#"invalid config: linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO""#,
            ),
            (
                json!({"defaultAction": "SCMP_ACT_NOPE"}),
                r#"invalid config: linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE""#,
            ),
            (
                json!({"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}),
                "invalid config: linux.seccomp.defaultAction: missing",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}),
                "invalid config: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5}),
                "invalid config: linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno (got 5)",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
                "invalid config: linux.seccomp.defaultErrnoRet: 70000 does not fit the 16 bits seccomp returns",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"]}),
                r#"invalid config: linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_VAX""#,
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}),
                r#"invalid config: linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_NEW_LISTENER""#,
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
                "invalid config: linux.seccomp.syscalls[0].args[1].index: 6 is out of range (a syscall has arguments 0 to 5)",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BETWEEN"}]}]}),
                r#"invalid config: linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_BETWEEN""#,
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}),
                "invalid config: linux.seccomp.syscalls[0].names: empty",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read", ""], "action": "SCMP_ACT_ERRNO"}]}),
                "invalid config: linux.seccomp.syscalls[0].names[1]: empty",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}),
                "invalid config: linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_ALLOW takes no errno (got 1)",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x", "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]}),
                "invalid config: linux.seccomp.syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be used for write",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                  "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}),
                "invalid config: linux.seccomp.syscalls[0].args[0].value: invalid value: integer `-1`, expected u64",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"]}]}),
                "invalid config: linux.seccomp.syscalls[0]: missing field `action`",
            ),
            (
                json!("SCMP_ACT_ALLOW"),
                "invalid config: linux.seccomp: invalid type: string \"SCMP_ACT_ALLOW\", expected struct Spec",
            ),
        ];
        for (v, want) in cases {
            assert_eq!(err(v), want);
        }
    }

    #[test]
    fn unknown_properties_are_reported() {
        let c = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "comment": "x",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "comment": "",
                          "args": null, "includes": {}}],
        }));
        assert_eq!(
            c.unknown,
            [
                "linux.seccomp.comment",
                "linux.seccomp.syscalls[0].comment",
                "linux.seccomp.syscalls[0].includes"
            ]
        );
    }

    // --- Docker's default profile -----------------------------------------

    /// Docker's default profile in its own format, as Debian ships it
    /// (golang-github-containers-common: the profile Podman and Docker use).
    const DOCKER_PROFILE: &str = "/usr/share/containers/seccomp.json";

    /// The default capabilities of that package's containers.conf.
    const DEFAULT_CAPS: [&str; 11] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SETFCAP",
        "CAP_SETGID",
        "CAP_SETPCAP",
        "CAP_SETUID",
        "CAP_SYS_CHROOT",
    ];

    /// Docker's format to the OCI object for an amd64 host and `caps`, the
    /// way Docker and Podman convert it: archMap gives the architectures,
    /// includes/excludes select the entries (minKernel: none in the file).
    fn docker_to_oci(d: &Value, caps: &[&str]) -> Value {
        let has = |list: &Value, x: &str| list.as_array().is_some_and(|l| l.iter().any(|v| v == x));
        let arches: Vec<Value> = d["archMap"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["architecture"] == "SCMP_ARCH_X86_64")
            .flat_map(|m| {
                std::iter::once(m["architecture"].clone()).chain(
                    m["subArchitectures"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .cloned(),
                )
            })
            .collect();
        let mut syscalls = Vec::new();
        for s in d["syscalls"].as_array().unwrap() {
            let (inc, exc) = (&s["includes"], &s["excludes"]);
            if inc["arches"].is_array() && !has(&inc["arches"], "amd64") {
                continue;
            }
            if has(&exc["arches"], "amd64") {
                continue;
            }
            if let Some(need) = inc["caps"].as_array() {
                if !need.iter().all(|c| caps.iter().any(|h| c == h)) {
                    continue;
                }
            }
            if let Some(not) = exc["caps"].as_array() {
                if not.iter().any(|c| caps.iter().any(|h| c == h)) {
                    continue;
                }
            }
            assert!(inc["minKernel"].is_null(), "minKernel is not converted");
            let mut o = serde_json::Map::new();
            for k in ["names", "action", "errnoRet", "args"] {
                if !s[k].is_null() {
                    o.insert(k.into(), s[k].clone());
                }
            }
            syscalls.push(Value::Object(o));
        }
        json!({
            "defaultAction": d["defaultAction"],
            "defaultErrnoRet": d["defaultErrnoRet"],
            "architectures": arches,
            "syscalls": syscalls,
        })
    }

    /// The converted profile, or None (with a note) where the package is
    /// not installed.
    fn docker_profile() -> Option<Value> {
        match std::fs::read(DOCKER_PROFILE) {
            Ok(b) => {
                let d: Value = serde_json::from_slice(&b).unwrap();
                Some(docker_to_oci(&d, &DEFAULT_CAPS))
            }
            Err(e) => panic!(
                "{DOCKER_PROFILE}: {e} (scripts/deps.sh installs golang-github-containers-common)"
            ),
        }
    }

    /// What the filter must return, straight from the OCI object: the first
    /// entry naming the syscall whose conditions hold, else the default.
    fn expected(v: &Value, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let arches: Vec<&str> = v["architectures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .collect();
        let default = match v["defaultAction"].as_str().unwrap() {
            "SCMP_ACT_ERRNO" => errno(v["defaultErrnoRet"].as_u64().unwrap_or(1) as u32),
            "SCMP_ACT_ALLOW" => ALLOW,
            a => panic!("{a}"),
        };
        let (table, wide): (&[(&str, u32)], bool) = match arch {
            AUDIT_ARCH_X86_64 if nr == u32::MAX => return default,
            AUDIT_ARCH_X86_64 if nr >= X32_SYSCALL_BIT => {
                if !arches.contains(&"SCMP_ARCH_X32") {
                    return KILL;
                }
                (&syscalls::X32, false)
            }
            AUDIT_ARCH_X86_64 => (&syscalls::X86_64, true),
            AUDIT_ARCH_I386 if arches.contains(&"SCMP_ARCH_X86") => (&syscalls::X86, false),
            _ => return KILL,
        };
        let Some(&(name, _)) = table.iter().find(|e| e.1 == nr) else {
            return default;
        };
        for s in v["syscalls"].as_array().unwrap() {
            if !s["names"].as_array().unwrap().iter().any(|n| n == name) {
                continue;
            }
            let holds = s["args"].as_array().into_iter().flatten().all(|a| {
                let c = Cond {
                    index: a["index"].as_u64().unwrap() as u8,
                    op: op(a["op"].as_str().unwrap()).unwrap(),
                    value: a["value"].as_u64().unwrap(),
                    value_two: a["valueTwo"].as_u64().unwrap_or(0),
                };
                c.matches(args[usize::from(c.index)], wide)
            });
            if holds {
                return match s["action"].as_str().unwrap() {
                    "SCMP_ACT_ALLOW" => ALLOW,
                    "SCMP_ACT_ERRNO" => errno(s["errnoRet"].as_u64().unwrap_or(1) as u32),
                    a => panic!("{a}"),
                };
            }
        }
        default
    }

    /// Argument vectors that hit every rule of the profile both ways.
    fn probe_args() -> Vec<[u64; 6]> {
        let vals = [
            0u64,
            1,
            2,
            3,
            8,
            9,
            10,
            16,
            17,
            0x20000,
            0x20008,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_0000_0010,
            0x1_ffff_ffff,
            u64::MAX,
        ];
        let mut out = Vec::new();
        for &a in &vals {
            for &c in &[0u64, 9, 0x1_0000_0009, 10] {
                out.push([a, 1, c, 0, 0, 0]);
            }
        }
        out
    }

    #[test]
    fn docker_profile_by_interpretation() {
        let Some(v) = docker_profile() else { return };
        let t = std::time::Instant::now();
        let c = compiled(v.clone());
        let took = t.elapsed();
        assert!(c.program.len() < 1000, "{} instructions", c.program.len());
        bpf::check(&c.program).unwrap();
        assert_eq!(c.flags, libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW);
        assert!(c.unknown.is_empty(), "{:?}", c.unknown);

        let x = AUDIT_ARCH_X86_64;
        let i = AUDIT_ARCH_I386;
        let enosys = errno(38);
        // Allowed, denied with EPERM, and not listed (ENOSYS).
        // (This profile is Podman's variant: it allows mount, setns, chroot
        // with CAP_SYS_CHROOT, and leaves io_uring out.)
        for n in [
            "read", "write", "openat", "execve", "clone", "clone3", "futex", "mount", "setns",
            "chroot",
        ] {
            assert_eq!(run(&c, x, nr64(n), [0; 6]), ALLOW, "{n}");
        }
        for n in [
            "kexec_load",
            "kexec_file_load",
            "userfaultfd",
            "swapon",
            "bpf",
            "init_module",
            "ioperm",
            "acct",
            "open_by_handle_at",
        ] {
            assert_eq!(run(&c, x, nr64(n), [0; 6]), errno(1), "{n}");
        }
        assert_eq!(run(&c, x, nr64("io_uring_setup"), [0; 6]), enosys);
        assert_eq!(run(&c, x, 500, [0; 6]), enosys);
        assert_eq!(run(&c, x, 100_000, [0; 6]), enosys);
        // personality: five values, compared on 64 bits.
        let pers = nr64("personality");
        for p in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
            assert_eq!(run(&c, x, pers, [p, 0, 0, 0, 0, 0]), ALLOW, "{p:#x}");
            assert_eq!(
                run(&c, x, pers, [p | 0x1_0000_0000, 0, 0, 0, 0, 0]),
                enosys,
                "{p:#x}"
            );
        }
        assert_eq!(run(&c, x, pers, [1, 0, 0, 0, 0, 0]), enosys);
        // socket: no NETLINK_AUDIT without CAP_AUDIT_WRITE.
        let socket = nr64("socket");
        let (netlink, audit) = (libc::AF_NETLINK as u64, libc::NETLINK_AUDIT as u64);
        assert_eq!(run(&c, x, socket, [netlink, 3, audit, 0, 0, 0]), errno(22));
        assert_eq!(run(&c, x, socket, [netlink, 3, 0, 0, 0, 0]), ALLOW);
        assert_eq!(
            run(&c, x, socket, [libc::AF_INET as u64, 1, audit, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(
            run(&c, x, socket, [netlink | 1 << 32, 3, audit, 0, 0, 0]),
            ALLOW
        );
        // x32 and i386 through their own numbers.
        assert_eq!(run(&c, x, nrx32("read"), [0; 6]), ALLOW);
        assert_eq!(run(&c, x, nrx32("rt_sigaction"), [0; 6]), ALLOW);
        assert_eq!(run(&c, x, nrx32("kexec_load"), [0; 6]), errno(1));
        assert_eq!(run(&c, x, X32_SYSCALL_BIT + 13, [0; 6]), enosys);
        assert_eq!(
            run(&c, x, nrx32("personality"), [0x1_0000_0008, 0, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(
            run(
                &c,
                x,
                nrx32("socket"),
                [netlink | 1 << 32, 3, audit, 0, 0, 0]
            ),
            errno(22)
        );
        assert_eq!(run(&c, i, nr32("read"), [0; 6]), ALLOW);
        assert_eq!(run(&c, i, nr32("socketcall"), [0; 6]), ALLOW);
        assert_eq!(run(&c, i, nr32("_llseek"), [0; 6]), ALLOW);
        assert_eq!(run(&c, i, nr32("kexec_load"), [0; 6]), errno(1));
        assert_eq!(run(&c, i, nr32("modify_ldt"), [0; 6]), ALLOW);
        assert_eq!(run(&c, x, nr64("arch_prctl"), [0; 6]), ALLOW);
        // includes.arches picks entries by the host's architecture: on amd64
        // the entry applies to all the filter's ABIs, i386 too.
        assert_eq!(run(&c, i, nr32("arch_prctl"), [0; 6]), ALLOW);
        assert_eq!(run(&c, AUDIT_ARCH_AARCH64, 63, [0; 6]), KILL);
        assert_eq!(run(&c, 0, 0, [0; 6]), KILL);

        // Every number of every table (and the gaps), against the profile.
        let mut max_steps = (0, 0, 0);
        let probes = probe_args();
        let mut checked = 0usize;
        for (arch, range) in [
            (x, 0..600u32),
            (x, X32_SYSCALL_BIT..X32_SYSCALL_BIT + 600),
            (i, 0..600),
            (x, u32::MAX - 1..u32::MAX),
        ] {
            for nr in range.chain(std::iter::once(u32::MAX)) {
                for args in &probes {
                    let (got, steps) = run_on(&c, arch, nr, *args);
                    assert_eq!(
                        got,
                        expected(&v, arch, nr, *args),
                        "arch {arch:#x} nr {nr:#x} args {args:x?}"
                    );
                    checked += 1;
                    if steps > max_steps.0 {
                        max_steps = (steps, arch, nr);
                    }
                }
            }
        }
        println!(
            "docker profile: {} instructions, at most {} executed (arch {:#x} nr {:#x}), {checked} cases checked, compiled in {took:?} (this build)",
            c.program.len(),
            max_steps.0,
            max_steps.1,
            max_steps.2
        );
        assert!(max_steps.0 < 40, "{max_steps:?}");
    }

    /// Runs `f` in a forked child; its wait status. The child must only
    /// make raw syscalls (the parent may have other threads).
    fn in_child(f: impl FnOnce() -> i32) -> i32 {
        // SAFETY: the child runs `f`, which makes raw syscalls only, then
        // _exits: it touches no lock or allocation another thread may hold.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            // No core file from the children that are meant to be killed.
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: a valid resource and a pointer to a live rlimit.
            unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
            let code = f();
            // SAFETY: _exit ends the child without unwinding or atexit.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waiting for our own child, with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(r, pid);
        status
    }

    /// An i386 syscall without arguments through the int 0x80 gate: what
    /// the kernel returns in eax (-errno on failure).
    fn int80(nr: u32) -> i32 {
        let mut eax = nr;
        // SAFETY: a syscall without arguments that touches no memory of
        // ours; r8-r11, which the 64-bit kernel may clear, are declared.
        unsafe {
            std::arch::asm!(
                "int 0x80",
                inout("eax") eax,
                out("r8") _, out("r9") _, out("r10") _, out("r11") _,
                options(nostack),
            );
        }
        eax as i32
    }

    fn errno_of(r: libc::c_long) -> i32 {
        if r == -1 {
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
        } else {
            0
        }
    }

    /// Sets no_new_privs and loads `c` in a child: 10 and 11 on failure.
    fn nnp_and_install(c: &Compiled) -> i32 {
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return 10;
        }
        if install(c).is_err() {
            return 11;
        }
        0
    }

    /// The kernel takes the program: a forked child loads a filter and
    /// reports, by its exit status, what its syscalls returned -- x86_64,
    /// x32 (seen by the filter even where the kernel has no x32 ABI) and
    /// i386 through int 0x80 (where the kernel has IA32 emulation).
    #[test]
    fn kernel_accepts_the_program() {
        let c = compiled(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": ["uname", "exit_group", "exit"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
                {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 43,
                 "args": [{"index": 0, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_EQ"}]},
                {"names": ["getpgid"], "action": "SCMP_ACT_ALLOW"},
            ]
        }));
        let ia32 = in_child(|| {
            int80(20); // getpid
            0
        }) == 0;
        if !ia32 {
            eprintln!("NOTE: no IA32 emulation in this kernel: the i386 checks are skipped");
        }
        let status = in_child(|| {
            let r = nnp_and_install(&c);
            if r != 0 {
                return r;
            }
            let mut uts = std::mem::MaybeUninit::<libc::utsname>::uninit();
            let x32 = |nr: u32| libc::c_long::from(X32_SYSCALL_BIT + nr);
            // SAFETY: raw syscalls with plain integers or a pointer to a
            // utsname-sized buffer.
            unsafe {
                if errno_of(libc::syscall(libc::SYS_getppid)) != 42 {
                    12
                } else if libc::syscall(libc::SYS_uname, uts.as_mut_ptr()) != 0 {
                    13
                } else if errno_of(libc::syscall(libc::SYS_getpid)) != libc::EPERM {
                    14
                } else if errno_of(libc::syscall(libc::SYS_getpgid, 0x1_0000_0000u64)) != 43 {
                    15
                } else if libc::syscall(libc::SYS_getpgid, 0) < 0 {
                    16
                } else if errno_of(libc::syscall(x32(110))) != 42 {
                    17 // x32 getppid
                } else if errno_of(libc::syscall(x32(39))) != libc::EPERM {
                    18 // x32 getpid
                } else if ia32 && int80(64) != -42 {
                    19 // i386 getppid
                } else if ia32 && int80(20) != -libc::EPERM {
                    20 // i386 getpid
                } else {
                    0
                }
            }
        });
        assert!(libc::WIFEXITED(status), "child status {status:#x}");
        let what = match libc::WEXITSTATUS(status) {
            0 => "",
            10 => "prctl(PR_SET_NO_NEW_PRIVS) failed",
            11 => "the kernel refused the filter",
            12 => "getppid did not fail with errno 42",
            13 => "uname failed",
            14 => "getpid did not fail with EPERM (the default)",
            15 => "getpgid(1<<32) did not fail with errno 43",
            16 => "getpgid(0) failed",
            17 => "x32 getppid did not fail with errno 42",
            18 => "x32 getpid did not fail with EPERM",
            19 => "i386 getppid did not return -42",
            20 => "i386 getpid did not return -EPERM",
            _ => "unexpected exit status",
        };
        assert_eq!(libc::WEXITSTATUS(status), 0, "{what}");
    }

    /// Without SCMP_ARCH_X86 and SCMP_ARCH_X32 in the filter, their calls
    /// kill the process (SIGSYS); x86_64 calls go on.
    #[test]
    fn kernel_kills_unlisted_abis() {
        let c = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": []}));
        assert_eq!(c.flags, 0);
        let ia32 = in_child(|| {
            int80(20);
            0
        }) == 0;
        let x32 = in_child(|| {
            let r = nnp_and_install(&c);
            if r != 0 {
                return r;
            }
            // SAFETY: raw syscalls with plain integers.
            unsafe {
                if libc::syscall(libc::SYS_getpid) <= 0 {
                    return 12;
                }
                libc::syscall(libc::c_long::from(X32_SYSCALL_BIT + 39));
            }
            13
        });
        assert!(
            libc::WIFSIGNALED(x32) && libc::WTERMSIG(x32) == libc::SIGSYS,
            "x32 call: status {x32:#x}"
        );
        if ia32 {
            let i386 = in_child(|| {
                let r = nnp_and_install(&c);
                if r != 0 {
                    return r;
                }
                int80(20);
                13
            });
            assert!(
                libc::WIFSIGNALED(i386) && libc::WTERMSIG(i386) == libc::SIGSYS,
                "i386 call: status {i386:#x}"
            );
        }
    }

    /// The kernel runs a long program, whose search tree needs `ja`
    /// trampolines, and Docker's profile, as the interpreter does.
    #[test]
    fn kernel_runs_long_and_docker_programs() {
        // Every x86_64 syscall: errno i+1 when argument i%6 is i*(2^32+1).
        let value = |i: usize| i as u64 * 0x1_0000_0001;
        let syscalls: Vec<Value> = syscalls::X86_64
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": i + 1,
                       "args": [{"index": i % 6, "value": value(i), "op": "SCMP_CMP_EQ"}]})
            })
            .collect();
        let long = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls}));
        assert!(long.program.iter().any(|i| i.code == compile::JA));
        let i = syscalls::X86_64
            .iter()
            .position(|e| e.0 == "getppid")
            .unwrap();
        let mut args = [0u64; 6];
        args[i % 6] = value(i);
        let status = in_child(|| {
            let r = nnp_and_install(&long);
            if r != 0 {
                return r;
            }
            let getppid = |a: [u64; 6]| {
                // SAFETY: getppid reads no argument; the filter sees them.
                errno_of(unsafe {
                    libc::syscall(libc::SYS_getppid, a[0], a[1], a[2], a[3], a[4], a[5])
                })
            };
            if getppid(args) != i as i32 + 1 {
                return 12;
            }
            args[i % 6] ^= 1 << 32;
            if getppid(args) != 0 {
                return 13;
            }
            0
        });
        assert!(libc::WIFEXITED(status), "child status {status:#x}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "long program: 10 nnp, 11 install, 12/13 getppid"
        );

        let Some(v) = docker_profile() else { return };
        let docker = compiled(v);
        let status = in_child(|| {
            let r = nnp_and_install(&docker);
            if r != 0 {
                return r;
            }
            let (netlink, raw, audit) = (libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_AUDIT);
            // SAFETY: raw syscalls with integer arguments; the filter
            // answers the ones that matter before the kernel runs them.
            unsafe {
                if errno_of(libc::syscall(libc::SYS_getppid)) != 0 {
                    12
                } else if errno_of(libc::syscall(libc::SYS_userfaultfd, 0)) != libc::EPERM {
                    13
                } else if errno_of(libc::syscall(libc::SYS_io_uring_setup, 0, 0)) != libc::ENOSYS {
                    14
                } else if errno_of(libc::syscall(libc::SYS_socket, netlink, raw, audit))
                    != libc::EINVAL
                {
                    15
                } else if errno_of(libc::syscall(libc::SYS_personality, 0xffff_ffffu64)) != 0 {
                    16
                } else if errno_of(libc::syscall(libc::SYS_personality, 1)) != libc::ENOSYS {
                    17
                } else {
                    0
                }
            }
        });
        assert!(libc::WIFEXITED(status), "child status {status:#x}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "docker profile: 10 nnp, 11 install, 12.. the checks in order"
        );
    }
}
