//! Device access on cgroup v2: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE)
//! built from the device rules and attached to the container's cgroup,
//! replacing the one berth attached before, never stacking on it.
//!
//! Semantics, as the v1 devices controller's: a new cgroup starts from its
//! parent's (everything allowed, as far as this program goes); the rules
//! apply in order, the last that matches a request decides. The program
//! therefore tries the rules from the last to the first: an allow rule
//! matches when it grants every access asked for, a deny rule when it
//! forbids any of them; with no match, the access is allowed.

use super::resources::DeviceRule;
use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

const LDX_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const MOV64_X: u8 = 0xbf;
const MOV64_K: u8 = 0xb7;
const AND64_K: u8 = 0x57;
const RSH64_K: u8 = 0x77;
const JNE_K: u8 = 0x55;
const JEQ_K: u8 = 0x15;
const EXIT: u8 = 0x95;

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

fn access_bits(access: &str) -> i32 {
    access.chars().fold(0, |a, c| {
        a | match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        }
    })
}

/// The program for `rules`, tried last to first.
pub fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    // r2 = access_type; r3 = type (low 16 bits); r4 = access (high 16);
    // r5 = major; r6 = minor.
    let mut p = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(MOV64_X, 3, 2, 0, 0),
        insn(AND64_K, 3, 0, 0, 0xffff),
        insn(MOV64_X, 4, 2, 0, 0),
        insn(RSH64_K, 4, 0, 0, 16),
        insn(LDX_W, 5, 1, 4, 0),
        insn(LDX_W, 6, 1, 8, 0),
    ];
    for r in rules.iter().rev() {
        let mut block: Vec<Insn> = Vec::new();
        // Each test jumps to the end of the block (patched below) on a mismatch.
        match r.kind.as_deref() {
            Some("b") => block.push(insn(JNE_K, 3, 0, 0, DEV_BLOCK)),
            Some("c") => block.push(insn(JNE_K, 3, 0, 0, DEV_CHAR)),
            _ => {}
        }
        if let Some(m) = r.major.filter(|m| *m >= 0) {
            block.push(insn(JNE_K, 5, 0, 0, m as i32));
        }
        if let Some(m) = r.minor.filter(|m| *m >= 0) {
            block.push(insn(JNE_K, 6, 0, 0, m as i32));
        }
        let bits = access_bits(r.access.as_deref().unwrap_or("rwm"));
        block.push(insn(MOV64_X, 7, 4, 0, 0));
        if r.allow {
            // Matches when nothing outside the rule's access is asked for.
            block.push(insn(AND64_K, 7, 0, 0, !bits & 0xffff));
            block.push(insn(JNE_K, 7, 0, 0, 0));
        } else {
            // Matches when any of the rule's access is asked for.
            block.push(insn(AND64_K, 7, 0, 0, bits));
            block.push(insn(JEQ_K, 7, 0, 0, 0));
        }
        block.push(insn(MOV64_K, 0, 0, 0, i32::from(r.allow)));
        block.push(insn(EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JNE_K || ins.code == JEQ_K {
                ins.off = (len - i - 1) as i16;
            }
        }
        p.extend(block);
    }
    p.push(insn(MOV64_K, 0, 0, 0, 1));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

/// What `program` decides for a request, without a kernel (for tests).
#[cfg(test)]
fn decide(rules: &[DeviceRule], kind: char, major: i64, minor: i64, access: &str) -> bool {
    let req = access_bits(access);
    for r in rules.iter().rev() {
        let kind_ok = match r.kind.as_deref() {
            Some("b") => kind == 'b',
            Some("c") => kind == 'c',
            _ => true,
        };
        let major_ok = r.major.filter(|m| *m >= 0).is_none_or(|m| m == major);
        let minor_ok = r.minor.filter(|m| *m >= 0).is_none_or(|m| m == minor);
        let bits = access_bits(r.access.as_deref().unwrap_or("rwm"));
        let access_ok = if r.allow {
            req & !bits == 0
        } else {
            req & bits != 0
        };
        if kind_ok && major_ok && minor_ok && access_ok {
            return r.allow;
        }
    }
    true
}

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
const BPF_F_REPLACE: u32 = 4;

/// The bpf(2) attribute union, as large as the commands here need.
#[repr(C)]
#[derive(Default)]
struct Attr {
    words: [u64; 16],
}

fn bpf(cmd: libc::c_int, attr: &mut Attr) -> nix::Result<i64> {
    // SAFETY: `attr` is a zero-initialised, properly sized bpf_attr for cmd.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut Attr,
            std::mem::size_of::<Attr>(),
        )
    };
    Errno::result(r)
}

fn set_u32(a: &mut Attr, offset: usize, v: u32) {
    let w = &mut a.words[offset / 8];
    let shift = (offset % 8) * 8;
    *w = (*w & !(0xffff_ffffu64 << shift)) | (u64::from(v) << shift);
}

fn set_u64(a: &mut Attr, offset: usize, v: u64) {
    a.words[offset / 8] = v;
}

fn load(prog: &[Insn]) -> Result<OwnedFd> {
    let license = c"Apache-2.0";
    let mut a = Attr::default();
    set_u32(&mut a, 0, BPF_PROG_TYPE_CGROUP_DEVICE);
    set_u32(&mut a, 4, prog.len() as u32);
    set_u64(&mut a, 8, prog.as_ptr() as u64);
    set_u64(&mut a, 16, license.as_ptr() as u64);
    let fd =
        bpf(BPF_PROG_LOAD, &mut a).context("load the device eBPF program (bpf BPF_PROG_LOAD)")?;
    // SAFETY: BPF_PROG_LOAD returned a new fd that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The programs attached to a cgroup for device access, by fd.
fn attached(cgroup: &OwnedFd) -> Result<Vec<OwnedFd>> {
    let mut ids = [0u32; 64];
    let mut a = Attr::default();
    set_u32(&mut a, 0, cgroup.as_raw_fd() as u32);
    set_u32(&mut a, 4, BPF_CGROUP_DEVICE);
    set_u64(&mut a, 16, ids.as_mut_ptr() as u64);
    set_u32(&mut a, 24, ids.len() as u32);
    bpf(BPF_PROG_QUERY, &mut a).context("list the cgroup's device programs (BPF_PROG_QUERY)")?;
    let count = (a.words[3] & 0xffff_ffff) as usize;
    let mut out = Vec::new();
    for id in ids.iter().take(count.min(ids.len())) {
        let mut a = Attr::default();
        set_u32(&mut a, 0, *id);
        let fd = bpf(BPF_PROG_GET_FD_BY_ID, &mut a).context("open an attached device program")?;
        // SAFETY: BPF_PROG_GET_FD_BY_ID returned a new fd that we own.
        out.push(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
    }
    Ok(out)
}

/// Builds, loads and attaches the program for `rules` to the cgroup at
/// `dir`, replacing what is attached there already.
pub fn attach(dir: &std::path::Path, rules: &[DeviceRule]) -> Result<()> {
    let prog = load(&program(rules))?;
    let cg = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("open cgroup {}", dir.display()))?;
    let old = attached(&cg)?;
    let mut a = Attr::default();
    set_u32(&mut a, 0, cg.as_raw_fd() as u32);
    set_u32(&mut a, 4, prog.as_raw_fd() as u32);
    set_u32(&mut a, 8, BPF_CGROUP_DEVICE);
    if let [one] = old.as_slice() {
        set_u32(&mut a, 12, BPF_F_ALLOW_MULTI | BPF_F_REPLACE);
        set_u32(&mut a, 16, one.as_raw_fd() as u32);
        bpf(BPF_PROG_ATTACH, &mut a).context("replace the device program (BPF_PROG_ATTACH)")?;
        return Ok(());
    }
    set_u32(&mut a, 12, BPF_F_ALLOW_MULTI);
    bpf(BPF_PROG_ATTACH, &mut a).context("attach the device program (BPF_PROG_ATTACH)")?;
    for o in old {
        let mut a = Attr::default();
        set_u32(&mut a, 0, cg.as_raw_fd() as u32);
        set_u32(&mut a, 4, o.as_raw_fd() as u32);
        set_u32(&mut a, 8, BPF_CGROUP_DEVICE);
        if let Err(e) = bpf(BPF_PROG_DETACH, &mut a) {
            bail!("detach an old device program: {e}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(allow: bool, kind: &str, major: i64, minor: i64, access: &str) -> DeviceRule {
        DeviceRule {
            allow,
            kind: Some(kind.into()),
            major: Some(major),
            minor: Some(minor),
            access: Some(access.into()),
        }
    }

    fn deny_all() -> DeviceRule {
        DeviceRule {
            allow: false,
            kind: None,
            major: None,
            minor: None,
            access: Some("rwm".into()),
        }
    }

    #[test]
    fn last_matching_rule_decides() {
        let rules = [
            deny_all(),
            rule(true, "c", 1, 3, "rwm"),
            rule(false, "c", 1, 3, "w"),
        ];
        assert!(decide(&rules, 'c', 1, 3, "r"));
        assert!(!decide(&rules, 'c', 1, 3, "w"));
        assert!(!decide(&rules, 'c', 1, 3, "rw"));
        assert!(!decide(&rules, 'c', 1, 5, "r"));
        assert!(!decide(&rules, 'b', 8, 0, "r"));
        assert!(decide(&[], 'b', 8, 0, "rwm"));
        let wild = [deny_all(), rule(true, "c", 136, -1, "rwm")];
        assert!(decide(&wild, 'c', 136, 7, "rw"));
        assert!(!decide(&wild, 'b', 136, 7, "rw"));
    }

    #[test]
    fn jumps_stay_inside_their_block() {
        let rules = [
            deny_all(),
            rule(true, "c", 1, 3, "rwm"),
            rule(false, "b", -1, -1, "m"),
        ];
        let p = program(&rules);
        for (i, ins) in p.iter().enumerate() {
            if ins.code == JNE_K || ins.code == JEQ_K {
                let to = i + 1 + ins.off as usize;
                assert!(to < p.len(), "jump out of the program at {i}");
                // A mismatch lands on the first instruction of the next block
                // (an access test or a type test), never on an exit.
                assert_ne!(p[to].code, EXIT);
            }
        }
        assert_eq!(p.last().unwrap().code, EXIT);
    }
}
