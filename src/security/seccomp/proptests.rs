//! Property tests of the compiler: random `linux.seccomp` objects compile
//! without panic, and the program, run in the BPF interpreter on random
//! (arch, nr, args), returns what a straightforward reading of the OCI
//! object says it should (first matching rule wins, as the module
//! documents, with runc's rules for default-action rules and repeated
//! arguments). Random, malformed objects are errors, never panics.
//!
//! 256 cases a property (PROPTEST_CASES overrides it, PROPTEST_RNG_SEED
//! fixes the seed); no regression files are written.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

use super::bpf::{self, Data};
use super::compile::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
use super::syscalls::{self, X32_SYSCALL_BIT};

const ACTIONS: [&str; 9] = [
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

const OPS: [&str; 7] = [
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

const ARCHES: [&str; 5] = [
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_S390X",
];

const FLAGS: [&str; 4] = [
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// Names many rules share, so that rules of one syscall pile up, with
/// names of one ABI only (socketcall, _llseek on i386; the x32 ones).
const HOT: [&str; 10] = [
    "getppid",
    "personality",
    "socket",
    "ioctl",
    "clone",
    "mmap",
    "socketcall",
    "_llseek",
    "rt_sigaction",
    "no_such_syscall",
];

/// Comparison values around the 32-bit boundaries.
const VALUES: [u64; 12] = [
    0,
    1,
    5,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0005,
    0x2_0000_0000,
    0xffff_ffff_0000_0005,
    0xff00_0000_0000_00f0,
    u64::MAX,
];

const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;

fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    }
}

fn name() -> impl Strategy<Value = String> {
    let all: Vec<&'static str> = syscalls::X86_64
        .iter()
        .chain(&syscalls::X86)
        .chain(&syscalls::X32)
        .map(|e| e.0)
        .collect();
    prop_oneof![
        3 => proptest::sample::select(&HOT[..]).prop_map(str::to_owned),
        1 => proptest::sample::select(all).prop_map(str::to_owned),
    ]
}

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => proptest::sample::select(&VALUES[..]),
        1 => any::<u64>(),
    ]
}

/// An action and its errnoRet (only ERRNO and TRACE take one).
fn action(notify: bool) -> impl Strategy<Value = (&'static str, Option<u32>)> {
    let names: Vec<&'static str> = ACTIONS
        .iter()
        .copied()
        .filter(|a| notify || *a != "SCMP_ACT_NOTIFY")
        .collect();
    (
        proptest::sample::select(names),
        prop_oneof![Just(None), Just(Some(1u32)), (0u32..=0xffff).prop_map(Some)],
    )
        .prop_map(|(a, e)| match a {
            "SCMP_ACT_ERRNO" | "SCMP_ACT_TRACE" => (a, e),
            _ => (a, None),
        })
}

fn arg() -> impl Strategy<Value = Value> {
    (0u32..6, proptest::sample::select(&OPS[..]), value(), value()).prop_map(
        |(index, op, value, value_two)| {
            json!({"index": index, "op": op, "value": value, "valueTwo": value_two})
        },
    )
}

fn rule() -> impl Strategy<Value = Value> {
    (
        proptest::collection::vec(name(), 1..4),
        action(true),
        proptest::collection::vec(arg(), 0..4),
    )
        .prop_map(|(mut names, (action, errno), args)| {
            if action == "SCMP_ACT_NOTIFY" {
                // Refused for write (runc's rule): not what this tests.
                names.retain(|n| n != "write");
                if names.is_empty() {
                    names.push("getppid".into());
                }
            }
            let mut r = json!({"names": names, "action": action});
            if let Some(e) = errno {
                r["errnoRet"] = json!(e);
            }
            if !args.is_empty() {
                r["args"] = json!(args);
            }
            r
        })
}

/// A valid linux.seccomp object.
fn seccomp() -> impl Strategy<Value = Value> {
    (
        action(false),
        proptest::collection::vec(proptest::sample::select(&ARCHES[..]), 0..4),
        proptest::option::of(proptest::collection::vec(
            proptest::sample::select(&FLAGS[..]),
            0..3,
        )),
        proptest::collection::vec(rule(), 0..10),
    )
        .prop_map(|((default, errno), arches, flags, syscalls)| {
            let mut v = json!({
                "defaultAction": default,
                "architectures": arches,
                "listenerPath": "/run/agent.sock",
                "syscalls": syscalls,
            });
            if let Some(e) = errno {
                v["defaultErrnoRet"] = json!(e);
            }
            if let Some(f) = flags {
                v["flags"] = json!(f);
            }
            v
        })
}

/// The SECCOMP_RET_* value of an action, from the kernel's ABI.
fn ret_of(action: &str, errno: Option<u64>) -> u32 {
    let data = errno.unwrap_or(1) as u32; // EPERM, as runc
    match action {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => 0,
        "SCMP_ACT_KILL_PROCESS" => 0x8000_0000,
        "SCMP_ACT_TRAP" => 0x0003_0000,
        "SCMP_ACT_ERRNO" => 0x0005_0000 | data,
        "SCMP_ACT_TRACE" => 0x7ff0_0000 | data,
        "SCMP_ACT_LOG" => 0x7ffc_0000,
        "SCMP_ACT_ALLOW" => 0x7fff_0000,
        "SCMP_ACT_NOTIFY" => 0x7fc0_0000,
        a => panic!("not an action: {a}"),
    }
}

const KILL_PROCESS: u32 = 0x8000_0000;

/// What the OCI object says the filter returns for a call: the reference
/// the compiled program is checked against.
///
/// - x86_64 is always filtered; i386 (AUDIT_ARCH_I386) when SCMP_ARCH_X86
///   is listed, x32 (AUDIT_ARCH_X86_64 numbers from the x32 bit up) when
///   SCMP_ARCH_X32 is; other architectures and unlisted ABIs:
///   KILL_PROCESS. Number -1 (a tracer's skipped call) gets the default
///   action.
/// - Arguments are 64-bit on x86_64, 32-bit (the low words of both sides)
///   on i386 and x32.
/// - The entries naming the call are tried in order; the first that holds
///   decides. An entry whose action is the default action is dropped
///   (runc); an entry naming an argument twice holds when any of its
///   conditions does (runc makes one rule per condition), else when all
///   do. No entry: the default action.
fn reference(v: &Value, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let default = ret_of(
        v["defaultAction"].as_str().unwrap(),
        v["defaultErrnoRet"].as_u64(),
    );
    let listed = |a: &str| {
        v["architectures"]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x == a))
    };
    let (table, wide): (&[(&str, u32)], bool) = match arch {
        AUDIT_ARCH_X86_64 if nr == u32::MAX => return default,
        // From the x32 bit up (unsigned), as libseccomp splits the line.
        AUDIT_ARCH_X86_64 if nr >= X32_SYSCALL_BIT => {
            if !listed("SCMP_ARCH_X32") {
                return KILL_PROCESS;
            }
            (&syscalls::X32, false)
        }
        AUDIT_ARCH_X86_64 => (&syscalls::X86_64, true),
        AUDIT_ARCH_I386 if listed("SCMP_ARCH_X86") => (&syscalls::X86, false),
        _ => return KILL_PROCESS,
    };
    let Some(&(name, _)) = table.iter().find(|e| e.1 == nr) else {
        return default;
    };
    let mask = if wide { u64::MAX } else { 0xffff_ffff };
    for s in v["syscalls"].as_array().into_iter().flatten() {
        if !s["names"].as_array().unwrap().iter().any(|n| n == name) {
            continue;
        }
        let action = ret_of(s["action"].as_str().unwrap(), s["errnoRet"].as_u64());
        if action == default {
            continue;
        }
        let conds: Vec<&Value> = s["args"].as_array().into_iter().flatten().collect();
        let holds = |c: &&Value| {
            let a = args[c["index"].as_u64().unwrap() as usize] & mask;
            let x = c["value"].as_u64().unwrap() & mask;
            let y = c["valueTwo"].as_u64().unwrap_or(0) & mask;
            match c["op"].as_str().unwrap() {
                "SCMP_CMP_NE" => a != x,
                "SCMP_CMP_LT" => a < x,
                "SCMP_CMP_LE" => a <= x,
                "SCMP_CMP_EQ" => a == x,
                "SCMP_CMP_GE" => a >= x,
                "SCMP_CMP_GT" => a > x,
                "SCMP_CMP_MASKED_EQ" => a & x == y,
                op => panic!("not an operator: {op}"),
            }
        };
        let mut indices: Vec<u64> = conds.iter().map(|c| c["index"].as_u64().unwrap()).collect();
        indices.sort_unstable();
        let repeated = indices.windows(2).any(|w| w[0] == w[1]);
        let matched = if repeated {
            conds.iter().any(holds)
        } else {
            conds.iter().all(holds)
        };
        if matched {
            return action;
        }
    }
    default
}

/// Calls to try on a filter: the numbers of its names on every ABI, random
/// numbers, x32 and -1, on x86_64, i386 and a foreign architecture, with
/// arguments near the rules' values (and their other words) or random.
fn probes(v: &Value) -> impl Strategy<Value = Vec<(u32, u32, [u64; 6])>> {
    let mut nrs: Vec<(u32, u32)> = vec![(AUDIT_ARCH_X86_64, u32::MAX)];
    let mut vals: Vec<u64> = VALUES.to_vec();
    for s in v["syscalls"].as_array().into_iter().flatten() {
        for n in s["names"].as_array().unwrap() {
            let n = n.as_str().unwrap();
            let find = |t: &[(&str, u32)]| t.iter().find(|e| e.0 == n).map(|e| e.1);
            nrs.extend(find(&syscalls::X86_64).map(|nr| (AUDIT_ARCH_X86_64, nr)));
            nrs.extend(find(&syscalls::X32).map(|nr| (AUDIT_ARCH_X86_64, nr)));
            nrs.extend(find(&syscalls::X86).map(|nr| (AUDIT_ARCH_I386, nr)));
        }
        for a in s["args"].as_array().into_iter().flatten() {
            for k in ["value", "valueTwo"] {
                let x = a[k].as_u64().unwrap();
                vals.extend([
                    x,
                    x.wrapping_add(1),
                    x.wrapping_sub(1),
                    x ^ 0xffff_ffff_0000_0000,
                    x ^ 0x1_0000_0000,
                    x & 0xffff_ffff,
                ]);
            }
        }
    }
    let call = (
        prop_oneof![
            4 => proptest::sample::select(nrs),
            1 => (
                proptest::sample::select(vec![AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64]),
                prop_oneof![0u32..600, X32_SYSCALL_BIT..X32_SYSCALL_BIT + 600, any::<u32>()],
            ),
            1 => (any::<u32>(), any::<u32>()),
        ],
        proptest::array::uniform6(prop_oneof![
            4 => proptest::sample::select(vals),
            1 => any::<u64>(),
        ]),
    )
        .prop_map(|((arch, nr), args)| (arch, nr, args));
    proptest::collection::vec(call, 64)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn compiled_filters_agree_with_the_oci_semantics(
        (v, calls) in seccomp().prop_flat_map(|v| {
            let p = probes(&v);
            (Just(v), p)
        })
    ) {
        let c = match super::compile(&v) {
            Ok(Some(c)) => c,
            Ok(None) => panic!("no filter for {v:#}"),
            Err(e) => panic!("a valid object was refused: {e:#}\n{v:#}"),
        };
        bpf::check(&c.program).map_err(|e| TestCaseError::fail(format!("{e}\n{v:#}")))?;
        for (arch, nr, args) in calls {
            let d = Data { nr, arch, instruction_pointer: 0x7fff_0000_1234, args };
            let (got, _) = bpf::run(&c.program, &d)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{}", bpf::disassemble(&c.program))))?;
            let want = reference(&v, arch, nr, args);
            prop_assert_eq!(
                got, want,
                "arch {:#x} nr {:#x} args {:x?}\nobject {:#}\n{}",
                arch, nr, args, v, bpf::disassemble(&c.program)
            );
        }
    }

    #[test]
    fn malformed_objects_are_errors_not_panics(v in crate::testutil::json_value(words())) {
        // Whatever comes back, the call returns; a filter it makes passes
        // the kernel's checks.
        if let Ok(Some(c)) = super::compile(&v) {
            bpf::check(&c.program).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn objects_with_wrong_pieces_are_errors_not_panics(
        mut v in seccomp(),
        path in proptest::sample::select(&[
            "defaultAction", "defaultErrnoRet", "architectures", "flags",
            "listenerPath", "listenerMetadata", "syscalls",
        ][..]),
        at in any::<proptest::sample::Index>(),
        junk in crate::testutil::json_value(words()),
    ) {
        // One field, or one field of one rule, replaced by anything.
        let rules = v["syscalls"].as_array().map_or(0, Vec::len);
        if rules > 0 && at.index(2) == 0 {
            let r = at.index(rules);
            let key = ["names", "action", "errnoRet", "args"][at.index(4)];
            v["syscalls"][r][key] = junk;
        } else {
            v[path] = junk;
        }
        if let Ok(Some(c)) = super::compile(&v) {
            bpf::check(&c.program).map_err(TestCaseError::fail)?;
        }
    }
}

/// Strings a seccomp object is made of, and some that are not.
fn words() -> Vec<&'static str> {
    let mut w: Vec<&str> = "x -1 write getppid no_such_syscall SCMP_ACT_BOGUS SCMP_CMP_BETWEEN \
        SCMP_ARCH_VAX defaultAction defaultErrnoRet syscalls names action args index value \
        valueTwo op errnoRet architectures flags listenerPath listenerMetadata"
        .split_whitespace()
        .collect();
    w.push("");
    w.extend(ACTIONS);
    w.extend(OPS);
    w.extend(ARCHES);
    w.extend(FLAGS);
    w
}
