//! The code generator: a checked filter (syscall numbers, rules, actions) to
//! a classic BPF program over `struct seccomp_data`.
//!
//! The program, in order:
//!
//! ```text
//!     ld  arch
//!     jeq AUDIT_ARCH_X86_64  -> x86_64 tree
//!     jeq AUDIT_ARCH_I386    -> i386 tree           (when SCMP_ARCH_X86 is listed)
//!     ret KILL_PROCESS                              (any other architecture)
//! x86_64 tree:
//!     ld  nr
//!     binary search on nr (jge) over the intervals of the number line
//!     that share one outcome, down to a `ret` or a syscall's rule block
//! i386 tree: the same
//! ```
//!
//! x86_64 and x32 share AUDIT_ARCH_X86_64; x32 numbers carry the x32 bit
//! (0x40000000), so one search over the whole 32-bit number line serves both:
//! below the bit are x86_64 numbers, from it up x32 numbers (or, when
//! SCMP_ARCH_X32 is not listed, the bad-architecture action, as libseccomp
//! does), and nr -1 -- which a tracer uses to skip a syscall -- gets the
//! default action. Neighbouring numbers with the same outcome (a run of
//! allowed syscalls) are one interval, so the search is O(log intervals) deep.
//!
//! A syscall with argument rules gets a block: its rules in order, each the
//! AND of its comparisons, the first that matches returns its action, none
//! returns the default action. Comparisons are 64-bit on x86_64 (high word,
//! then low word of `args[i]`) and 32-bit on i386 and x32, whose arguments are
//! 32-bit: there, as libseccomp does, only the low words are compared. Rules
//! in a row on the same argument share what is known of it: a rule that saw
//! the high word differ skips the next rule's test of it (see [`Shape`]).
//!
//! The program is emitted backwards, from its last instruction to its first,
//! so every jump target is already placed and its distance known. Conditional
//! jumps reach 255 instructions: a target further away gets, right behind the
//! jump, a copy of its `ret` (when it is one) or a `ja` with a 32-bit offset.
//! `ret` instructions are placed where first needed and shared by the jumps
//! within reach, so the common outcomes (allow, the default errno) cost one
//! instruction per neighbourhood, not one per syscall.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Result};

use super::syscalls::{self, X32_SYSCALL_BIT};

/// linux/audit.h: the architectures a seccomp filter sees on x86_64.
pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;

/// The kernel's limit on a classic BPF program (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

/// Opcodes (linux/filter.h, linux/bpf_common.h): BPF_LD|BPF_W|BPF_ABS,
/// BPF_JMP|BPF_JA, BPF_JMP|BPF_J*|BPF_K, BPF_ALU|BPF_AND|BPF_K, BPF_RET|BPF_K.
pub const LD_ABS: u16 = 0x20;
pub const JA: u16 = 0x05;
pub const JEQ: u16 = 0x15;
pub const JGT: u16 = 0x25;
pub const JGE: u16 = 0x35;
#[cfg(test)]
pub const JSET: u16 = 0x45;
pub const AND: u16 = 0x54;
pub const RET: u16 = 0x06;

/// Offsets in `struct seccomp_data`: nr, arch, then the 64-bit arguments
/// from 16, each low word first (little-endian).
pub const OFF_NR: u32 = 0;
pub const OFF_ARCH: u32 = 4;
fn arg_lo(index: u8) -> u32 {
    16 + 8 * u32::from(index)
}
fn arg_hi(index: u8) -> u32 {
    arg_lo(index) + 4
}

/// One instruction, laid out as the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

const _: () = {
    assert!(std::mem::size_of::<Insn>() == std::mem::size_of::<libc::sock_filter>());
    assert!(std::mem::align_of::<Insn>() == std::mem::align_of::<libc::sock_filter>());
};

/// An argument comparison, SCMP_CMP_*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & value) == value_two`
    MaskedEq,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cond {
    /// 0 to 5.
    pub index: u8,
    pub op: Op,
    pub value: u64,
    pub value_two: u64,
}

impl Cond {
    /// The comparison as the filter makes it: on the full 64 bits (`wide`)
    /// or on the low 32 bits of both sides.
    #[cfg(test)]
    pub fn matches(&self, arg: u64, wide: bool) -> bool {
        let m = if wide { u64::MAX } else { u64::from(u32::MAX) };
        let (a, v, v2) = (arg & m, self.value & m, self.value_two & m);
        match self.op {
            Op::Ne => a != v,
            Op::Lt => a < v,
            Op::Le => a <= v,
            Op::Eq => a == v,
            Op::Ge => a >= v,
            Op::Gt => a > v,
            Op::MaskedEq => a & v == v2,
        }
    }
}

/// A rule: when every condition holds (none: always), return `action`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    pub conds: Vec<Cond>,
    /// A SECCOMP_RET_* value with its data.
    pub action: u32,
}

/// A syscall's numbers on the three ABIs, where it has one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nrs {
    pub x86_64: Option<u32>,
    pub x86: Option<u32>,
    pub x32: Option<u32>,
}

impl Nrs {
    pub fn known(&self) -> bool {
        self.x86_64.is_some() || self.x86.is_some() || self.x32.is_some()
    }
}

/// A name's numbers, from berth's tables.
pub fn resolve(name: &str) -> Nrs {
    index().get(name).copied().unwrap_or_default()
}

/// The three tables by name, built on first use: a binary search costs
/// about 130 ns (its branches do not predict), three per name a third of
/// the compile time of Docker's profile; a hash lookup about 20 ns.
fn index() -> &'static HashMap<&'static str, Nrs, BuildHasherDefault<Fnv>> {
    static INDEX: OnceLock<HashMap<&'static str, Nrs, BuildHasherDefault<Fnv>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut m =
            HashMap::with_capacity_and_hasher(syscalls::X86.len() + 128, Default::default());
        for &(name, nr) in &syscalls::X86_64 {
            m.entry(name).or_insert_with(Nrs::default).x86_64 = Some(nr);
        }
        for &(name, nr) in &syscalls::X86 {
            m.entry(name).or_insert_with(Nrs::default).x86 = Some(nr);
        }
        for &(name, nr) in &syscalls::X32 {
            m.entry(name).or_insert_with(Nrs::default).x32 = Some(nr);
        }
        m
    })
}

/// FNV-1a: short keys, no adversary (the keys are the tables' names).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// One table, by name.
#[cfg(test)]
pub fn lookup(table: &[(&str, u32)], name: &str) -> Option<u32> {
    table
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| table[i].1)
}

/// What the generator compiles. x86_64 is always in the filter (the native
/// architecture).
#[derive(Debug, Clone)]
pub struct Filter {
    pub default_action: u32,
    /// For architectures not in the filter, and x32 numbers without x32.
    pub bad_arch_action: u32,
    pub x86: bool,
    pub x32: bool,
    pub rules: Vec<Rule>,
    /// A syscall and one of `rules`, in the order they are tried.
    pub calls: Vec<(Nrs, usize)>,
}

/// Compiles `f` to a program the kernel accepts.
pub fn generate(f: &Filter) -> Result<Vec<Insn>> {
    // (nr, rule) in the order given, per number line.
    let mut line_64: Vec<(u32, usize)> = Vec::with_capacity(2 * f.calls.len());
    let mut line_x86: Vec<(u32, usize)> = Vec::new();
    for &(nrs, rule) in &f.calls {
        if let Some(nr) = nrs.x86_64 {
            line_64.push((nr, rule));
        }
        if let (true, Some(nr)) = (f.x32, nrs.x32) {
            line_64.push((nr, rule));
        }
        if let (true, Some(nr)) = (f.x86, nrs.x86) {
            line_x86.push((nr, rule));
        }
    }

    let mut leaves = Leaves::default();
    let default = leaves.id(Leaf::Ret(f.default_action));
    let bad = leaves.id(Leaf::Ret(f.bad_arch_action));
    // The AUDIT_ARCH_X86_64 number line: x86_64 below the x32 bit, x32 from
    // it, and -1 (a tracer's skipped syscall) alone at the top.
    let base_64 = [
        (0, default),
        (X32_SYSCALL_BIT, if f.x32 { default } else { bad }),
        (u32::MAX, default),
    ];
    let points = leaves.points(line_64, &f.rules, |nr| nr < X32_SYSCALL_BIT);
    let tree_64 = intervals(&base_64, &points);
    let tree_x86 = if f.x86 {
        let points = leaves.points(line_x86, &f.rules, |_| false);
        Some(intervals(&[(0, default)], &points))
    } else {
        None
    };

    // Backwards: the i386 tree last in the program, then x86_64, then the
    // architecture dispatch.
    let mut e = Emitter::new(&leaves.list, &f.rules, f.default_action);
    let x86_entry = match &tree_x86 {
        Some(t) => {
            let root = e.tree(t)?;
            Some(e.entry(root)?)
        }
        None => None,
    };
    let root = e.tree(&tree_64)?;
    let x64_entry = e.entry(root)?;
    let other = Target::Ret(f.bad_arch_action);
    let not_64 = match x86_entry {
        Some(x86) => Target::At(e.jump(JEQ, AUDIT_ARCH_I386, x86, other)?),
        None => other,
    };
    e.jump(JEQ, AUDIT_ARCH_X86_64, x64_entry, not_64)?;
    e.load(OFF_ARCH);

    let mut prog = e.rev;
    prog.reverse();
    if prog.len() > MAX_INSNS {
        bail!(
            "the filter compiles to {} instructions, more than the kernel's limit of {MAX_INSNS}",
            prog.len()
        );
    }
    Ok(prog)
}

/// What the search ends in for an interval of syscall numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Leaf {
    Ret(u32),
    /// Rules (indices) tried in order, the first with conditions, on 64-bit
    /// or 32-bit arguments.
    Chain {
        wide: bool,
        rules: Vec<usize>,
    },
}

/// Leaves, each once, by id. There are few (the distinct actions and the
/// syscalls with argument rules): a list is faster than a hash map.
#[derive(Default)]
struct Leaves {
    list: Vec<Leaf>,
}

impl Leaves {
    fn id(&mut self, leaf: Leaf) -> usize {
        if let Some(id) = self.list.iter().position(|l| *l == leaf) {
            return id;
        }
        self.list.push(leaf);
        self.list.len() - 1
    }

    /// The leaf of each syscall number with rules, sorted by number:
    /// `line` holds (nr, rule) in the order the rules are tried; `wide`
    /// tells the numbers whose arguments are 64-bit.
    fn points(
        &mut self,
        mut line: Vec<(u32, usize)>,
        rules: &[Rule],
        wide: impl Fn(u32) -> bool,
    ) -> Vec<(u32, usize)> {
        // Stable: a number's rules stay in order.
        line.sort_by_key(|p| p.0);
        let mut out = Vec::with_capacity(line.len());
        for group in line.chunk_by(|a, b| a.0 == b.0) {
            let nr = group[0].0;
            let first = &rules[group[0].1];
            let leaf = if first.conds.is_empty() {
                Leaf::Ret(first.action)
            } else {
                // Up to the first rule without conditions: it always
                // matches, what follows never runs.
                let mut chain = Vec::new();
                for &(_, r) in group {
                    chain.push(r);
                    if rules[r].conds.is_empty() {
                        break;
                    }
                }
                Leaf::Chain {
                    wide: wide(nr),
                    rules: chain,
                }
            };
            out.push((nr, self.id(leaf)));
        }
        out
    }
}

/// The number line cut into intervals `(start, leaf)`, sorted, each up to
/// the next start, neighbours with different leaves. `base` gives the leaf
/// of numbers without rules (sorted, from 0); `points` the leaf of each
/// syscall number that has rules (sorted, each number once).
fn intervals(base: &[(u32, usize)], points: &[(u32, usize)]) -> Vec<(u32, usize)> {
    const END: u64 = 1 << 32;
    let mut out: Vec<(u32, usize)> = Vec::with_capacity(2 * points.len() + base.len());
    let mut push = |start: u64, leaf: usize| {
        if !matches!(out.last(), Some(l) if l.1 == leaf) {
            out.push((start as u32, leaf));
        }
    };
    let mut cur: u64 = 0; // the first number not covered yet
    let stops = points.iter().map(|&(nr, leaf)| (u64::from(nr), Some(leaf)));
    for (at, leaf) in stops.chain(std::iter::once((END, None))) {
        // The base up to the stop.
        while cur < at {
            let seg = base
                .iter()
                .rposition(|s| u64::from(s.0) <= cur)
                .unwrap_or(0);
            push(cur, base[seg].1);
            let seg_end = base.get(seg + 1).map_or(END, |s| u64::from(s.0));
            cur = seg_end.min(at);
        }
        if let Some(leaf) = leaf {
            push(at, leaf);
            cur = at + 1;
        }
    }
    out
}

/// Where a jump goes: a `ret` of this value (any copy in reach), or a
/// placed instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Ret(u32),
    At(Label),
}

/// An instruction's index in the reversed program (0 is the last one).
type Label = usize;

/// A placed comparison of an argument against a value, for jump threading:
/// `ld hi; (tests of hi against vh); ld lo; (one test of lo)` when wide,
/// `ld lo; (one test)` when not.
///
/// A jump into it from code that knows the high word equals `vh` and holds
/// the low word of the same argument in A may go straight to `lo_test`;
/// one that knows the high word differs from `vh` may go where the
/// comparison then goes, `hi_ne` (for EQ and NE, which go one way then).
/// Rules on the same argument in a row (personality's five values, socket's
/// family and protocol) then test each word once, not once a rule.
#[derive(Debug, Clone, Copy)]
struct Shape {
    index: u8,
    wide: bool,
    vh: u32,
    hi_ne: Option<Target>,
    lo_test: Label,
}

/// Builds the program backwards.
struct Emitter<'a> {
    rev: Vec<Insn>,
    /// The latest (so nearest) copy of each `ret`: few values, a list.
    rets: Vec<(u32, Label)>,
    /// Where each leaf's block was placed, by leaf id.
    blocks: Vec<Option<Target>>,
    /// The comparisons placed, by their first instruction, for threading.
    shapes: Vec<(Label, Shape)>,
    leaves: &'a [Leaf],
    rules: &'a [Rule],
    default_action: u32,
}

impl<'a> Emitter<'a> {
    fn new(leaves: &'a [Leaf], rules: &'a [Rule], default_action: u32) -> Self {
        Emitter {
            rev: Vec::with_capacity(512),
            rets: Vec::new(),
            blocks: vec![None; leaves.len()],
            shapes: Vec::new(),
            leaves,
            rules,
            default_action,
        }
    }

    /// The label the next instruction gets.
    fn here(&self) -> Label {
        self.rev.len()
    }

    fn push(&mut self, code: u16, jt: u8, jf: u8, k: u32) -> Label {
        self.rev.push(Insn { code, jt, jf, k });
        self.rev.len() - 1
    }

    fn load(&mut self, offset: u32) -> Label {
        self.push(LD_ABS, 0, 0, offset)
    }

    fn ret(&mut self, k: u32) -> Label {
        let at = self.push(RET, 0, 0, k);
        match self.rets.iter_mut().find(|r| r.0 == k) {
            Some(r) => r.1 = at,
            None => self.rets.push((k, at)),
        }
        at
    }

    /// The offset a jump placed next needs to reach `at`.
    fn distance(&self, at: Label) -> usize {
        self.here() - at - 1
    }

    /// A label for `t` that a conditional jump placed after at most `slack`
    /// more instructions can reach: the target itself, or a new `ret` copy
    /// or `ja` placed now.
    fn near(&mut self, t: Target, slack: usize) -> Result<Label> {
        let placed = match t {
            Target::Ret(k) => self.rets.iter().find(|r| r.0 == k).map(|r| r.1),
            Target::At(at) => Some(at),
        };
        match (placed, t) {
            (Some(at), _) if self.distance(at) + slack <= usize::from(u8::MAX) => Ok(at),
            (_, Target::Ret(k)) => Ok(self.ret(k)),
            (_, Target::At(at)) => {
                let k = u32::try_from(self.distance(at))?;
                Ok(self.push(JA, 0, 0, k))
            }
        }
    }

    /// `if (A <code> k) goto t else goto f`.
    fn jump(&mut self, code: u16, k: u32, t: Target, f: Target) -> Result<Label> {
        // The false side first: a helper for the true side may still follow.
        let f = self.near(f, 1)?;
        let t = self.near(t, 0)?;
        let out_of_reach = |_| anyhow!("internal error: a jump out of reach");
        let jt = u8::try_from(self.distance(t)).map_err(out_of_reach)?;
        let jf = u8::try_from(self.distance(f)).map_err(out_of_reach)?;
        Ok(self.push(code, jt, jf, k))
    }

    /// The code that starts a search tree: load nr, unless the tree is a
    /// single `ret`.
    fn entry(&mut self, root: Target) -> Result<Target> {
        match root {
            Target::Ret(_) => Ok(root),
            Target::At(at) => {
                if at + 1 != self.here() {
                    let k = u32::try_from(self.distance(at))?;
                    self.push(JA, 0, 0, k);
                }
                Ok(Target::At(self.load(OFF_NR)))
            }
        }
    }

    /// A balanced binary search over `iv` (A holds nr).
    fn tree(&mut self, iv: &[(u32, usize)]) -> Result<Target> {
        match iv {
            [] => Ok(Target::Ret(self.default_action)),
            [(_, leaf)] => self.leaf(*leaf),
            _ => {
                let mid = iv.len() / 2;
                let upper = self.tree(&iv[mid..])?;
                let lower = self.tree(&iv[..mid])?;
                Ok(Target::At(self.jump(JGE, iv[mid].0, upper, lower)?))
            }
        }
    }

    fn leaf(&mut self, id: usize) -> Result<Target> {
        if let Some(t) = self.blocks[id] {
            return Ok(t);
        }
        let leaves = self.leaves;
        let rules = self.rules;
        let t = match &leaves[id] {
            Leaf::Ret(k) => Target::Ret(*k),
            Leaf::Chain { wide, rules: chain } => {
                let mut next = Target::Ret(self.default_action);
                for &r in chain.iter().rev() {
                    let rule = &rules[r];
                    let mut t = Target::Ret(rule.action);
                    for c in rule.conds.iter().rev() {
                        t = self.cond(c, *wide, t, next)?;
                    }
                    next = t;
                }
                next
            }
        };
        self.blocks[id] = Some(t);
        Ok(t)
    }

    fn shape(&self, t: Target, index: u8, wide: bool) -> Option<Shape> {
        let Target::At(at) = t else { return None };
        self.shapes
            .iter()
            .find(|(start, s)| *start == at && s.index == index && s.wide == wide)
            .map(|(_, s)| *s)
    }

    /// `t` reached with A holding the low word of argument `index` and (when
    /// wide) its high word known to equal `vh`.
    fn thread_lo(&self, t: Target, index: u8, wide: bool, vh: u32) -> Target {
        match self.shape(t, index, wide) {
            Some(s) if !wide || s.vh == vh => Target::At(s.lo_test),
            _ => t,
        }
    }

    /// `t` reached with the high word of argument `index` known to differ
    /// from `vh`.
    fn thread_hi_ne(&self, t: Target, index: u8, vh: u32) -> Target {
        match self.shape(t, index, true) {
            Some(Shape {
                vh: s_vh,
                hi_ne: Some(next),
                ..
            }) if s_vh == vh => next,
            _ => t,
        }
    }

    /// The code for one comparison: on to `pass` when it holds, else `fail`.
    fn cond(&mut self, c: &Cond, wide: bool, pass: Target, fail: Target) -> Result<Target> {
        let (vl, vh) = (c.value as u32, (c.value >> 32) as u32);
        let (tl, th) = (c.value_two as u32, (c.value_two >> 32) as u32);
        if c.op == Op::MaskedEq {
            // Bits expected outside the mask: never true.
            if tl & !vl != 0 || (wide && th & !vh != 0) {
                return Ok(fail);
            }
        }

        // The low word, with the outcome decided there. Except for
        // MASKED_EQ (A holds lo & mask), A holds the low word there and the
        // high word equals vh: the outcomes may be threaded.
        let plain = c.op != Op::MaskedEq;
        let mut lo_test = None;
        let low = if c.op == Op::MaskedEq && vl == 0 {
            pass // (x & 0) == 0
        } else {
            let (code, k, t, f) = match c.op {
                Op::Eq => (JEQ, vl, pass, fail),
                Op::Ne => (JEQ, vl, fail, pass),
                Op::Gt => (JGT, vl, pass, fail),
                Op::Ge => (JGE, vl, pass, fail),
                Op::Lt => (JGE, vl, fail, pass),
                Op::Le => (JGT, vl, fail, pass),
                Op::MaskedEq => (JEQ, tl, pass, fail),
            };
            let (t, f) = if plain {
                let t = self.thread_lo(t, c.index, wide, vh);
                (t, self.thread_lo(f, c.index, wide, vh))
            } else {
                (t, f)
            };
            lo_test = Some(self.jump(code, k, t, f)?);
            if c.op == Op::MaskedEq && vl != u32::MAX {
                self.push(AND, 0, 0, vl);
            }
            Target::At(self.load(arg_lo(c.index)))
        };
        if !wide {
            if let (true, Some(lo_test), Target::At(start)) = (plain, lo_test, low) {
                self.shapes.push((
                    start,
                    Shape {
                        index: c.index,
                        wide,
                        vh: 0,
                        hi_ne: None,
                        lo_test,
                    },
                ));
            }
            return Ok(low);
        }

        // The high word: decides, or equal goes on to the low word.
        let (above, below) = match c.op {
            Op::Gt | Op::Ge => (pass, fail),
            Op::Lt | Op::Le => (fail, pass),
            Op::Eq => (fail, fail),
            Op::Ne => (pass, pass),
            Op::MaskedEq => {
                if vh == 0 {
                    return Ok(low); // (x & 0) == 0
                }
                self.jump(JEQ, th, low, fail)?;
                if vh != u32::MAX {
                    self.push(AND, 0, 0, vh);
                }
                return Ok(Target::At(self.load(arg_hi(c.index))));
            }
        };
        // Both are reached with the high word different from vh.
        let above = self.thread_hi_ne(above, c.index, vh);
        let below = self.thread_hi_ne(below, c.index, vh);
        if above == below {
            self.jump(JEQ, vh, low, above)?;
        } else if vh == 0 {
            // Nothing is below 0: not above means equal.
            self.jump(JGT, 0, above, low)?;
        } else if vh == u32::MAX {
            // Nothing is above: not equal means below.
            self.jump(JEQ, vh, low, below)?;
        } else {
            let eq = self.jump(JEQ, vh, low, below)?;
            self.jump(JGT, vh, above, Target::At(eq))?;
        }
        let start = self.load(arg_hi(c.index));
        if let (true, Some(lo_test)) = (plain, lo_test) {
            self.shapes.push((
                start,
                Shape {
                    index: c.index,
                    wide,
                    vh,
                    hi_ne: (above == below).then_some(above),
                    lo_test,
                },
            ));
        }
        Ok(Target::At(start))
    }
}

/// The most instructions any syscall can run through `prog`: the longest
/// path from the first instruction to a return (jumps only go forward).
pub fn max_depth(prog: &[Insn]) -> usize {
    let mut depth = vec![0usize; prog.len() + 1];
    for i in (0..prog.len()).rev() {
        let ins = prog[i];
        let at = |j: usize| depth.get(j).copied().unwrap_or(0);
        let next = match ins.code {
            RET => 0,
            JA => at(i + 1 + ins.k as usize),
            c if c & 0x07 == 0x05 => at(i + 1 + ins.jt as usize).max(at(i + 1 + ins.jf as usize)),
            _ => at(i + 1),
        };
        depth[i] = 1 + next;
    }
    depth[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::seccomp::bpf::{self, Data};

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
    const EPERM: u32 = libc::SECCOMP_RET_ERRNO | 1;

    fn filter(rules: Vec<(&str, Rule)>) -> Filter {
        Filter {
            default_action: EPERM,
            bad_arch_action: KILL,
            x86: false,
            x32: false,
            calls: rules
                .iter()
                .enumerate()
                .map(|(i, (n, _))| (resolve(n), i))
                .collect(),
            rules: rules.into_iter().map(|(_, r)| r).collect(),
        }
    }

    fn run(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let d = Data {
            nr,
            arch,
            instruction_pointer: 0,
            args,
        };
        match bpf::run(prog, &d) {
            Ok((r, _)) => r,
            Err(e) => panic!("{e}\n{}", bpf::disassemble(prog)),
        }
    }

    #[test]
    fn intervals_merge_neighbours() {
        let points = [(1, 1), (2, 1), (3, 2), (5, 0)];
        assert_eq!(
            intervals(&[(0, 0), (100, 3)], &points),
            [(0, 0), (1, 1), (3, 2), (4, 0), (100, 3)]
        );
        assert_eq!(intervals(&[(0, 0)], &[]), [(0, 0)]);
        assert_eq!(
            intervals(&[(0, 0)], &[(u32::MAX, 1)]),
            [(0, 0), (u32::MAX, 1)]
        );
        assert_eq!(intervals(&[(0, 0)], &[(0, 1)]), [(0, 1), (1, 0)]);
        assert_eq!(
            intervals(
                &[(0, 0), (10, 1), (u32::MAX, 0)],
                &[(9, 2), (10, 0), (20, 1)]
            ),
            [(0, 0), (9, 2), (10, 0), (11, 1), (u32::MAX, 0)]
        );
    }

    #[test]
    fn empty_filter_is_arch_check_and_default() {
        let prog = generate(&filter(vec![])).unwrap();
        bpf::check(&prog).unwrap();
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 0, [0; 6]), EPERM);
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, u32::MAX, [0; 6]), EPERM);
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT, [0; 6]), KILL);
        assert_eq!(run(&prog, AUDIT_ARCH_I386, 0, [0; 6]), KILL);
        assert!(prog.len() < 10, "{}", bpf::disassemble(&prog));
    }

    /// Every comparison, on values around the boundaries of both words,
    /// against `Cond::matches`.
    #[test]
    fn comparisons_match_their_definition() {
        let values: [u64; 9] = [
            0,
            1,
            0x7fff_ffff,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_0000_0001,
            0x2_ffff_fffe,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut probes: Vec<u64> = Vec::new();
        for v in values {
            for d in [0u64, 1, u64::MAX, 0x1_0000_0000, 0xffff_ffff_0000_0000] {
                probes.push(v.wrapping_add(d));
            }
        }
        let ops = [Op::Ne, Op::Lt, Op::Le, Op::Eq, Op::Ge, Op::Gt, Op::MaskedEq];
        for op in ops {
            for &value in &values {
                for value_two in [0, value, value & 0xffff_0000_ffff, 1] {
                    let c = Cond {
                        index: 3,
                        op,
                        value,
                        value_two,
                    };
                    let mut f = filter(vec![(
                        "getppid",
                        Rule {
                            conds: vec![c],
                            action: ALLOW,
                        },
                    )]);
                    f.x32 = true;
                    f.x86 = true;
                    let prog = generate(&f).unwrap();
                    bpf::check(&prog).unwrap();
                    for &a in &probes {
                        let args = [0, 0, 0, a, 0, 0];
                        for (arch, nr, wide) in [
                            (AUDIT_ARCH_X86_64, 110, true),
                            (AUDIT_ARCH_X86_64, X32_SYSCALL_BIT + 110, false),
                            (AUDIT_ARCH_I386, 64, false),
                        ] {
                            let want = if c.matches(a, wide) { ALLOW } else { EPERM };
                            assert_eq!(
                                run(&prog, arch, nr, args),
                                want,
                                "{c:?} arg {a:#x} arch {arch:#x} nr {nr:#x}\n{}",
                                bpf::disassemble(&prog)
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn rules_are_tried_in_order_and_conditions_anded() {
        let eq = |index, value| Cond {
            index,
            op: Op::Eq,
            value,
            value_two: 0,
        };
        let f = filter(vec![
            (
                "dup3",
                Rule {
                    conds: vec![eq(0, 1), eq(1, 2)],
                    action: libc::SECCOMP_RET_ERRNO | 7,
                },
            ),
            (
                "dup3",
                Rule {
                    conds: vec![eq(0, 1)],
                    action: libc::SECCOMP_RET_TRAP,
                },
            ),
            (
                "dup3",
                Rule {
                    conds: vec![],
                    action: ALLOW,
                },
            ),
            (
                "dup3",
                Rule {
                    conds: vec![eq(0, 5)],
                    action: KILL,
                },
            ),
        ]);
        let prog = generate(&f).unwrap();
        bpf::check(&prog).unwrap();
        let dup3 = 292;
        let x = AUDIT_ARCH_X86_64;
        assert_eq!(
            run(&prog, x, dup3, [1, 2, 0, 0, 0, 0]),
            libc::SECCOMP_RET_ERRNO | 7
        );
        assert_eq!(
            run(&prog, x, dup3, [1, 3, 0, 0, 0, 0]),
            libc::SECCOMP_RET_TRAP
        );
        assert_eq!(run(&prog, x, dup3, [5, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&prog, x, dup3 + 1, [0; 6]), EPERM);
    }

    /// xorshift64*: reproducible pseudo-random numbers for the tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn pick<T: Copy>(&mut self, from: &[T]) -> T {
            from[(self.next() % from.len() as u64) as usize]
        }
    }

    /// Random rule chains on a few arguments and values that share high
    /// words (where threading applies), against first-match evaluation.
    #[test]
    fn random_rule_chains_match_first_match_semantics() {
        let values: [u64; 8] = [
            0,
            1,
            9,
            16,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_0000_0009,
            0xffff_ffff_ffff_fff0,
        ];
        let ops = [Op::Ne, Op::Lt, Op::Le, Op::Eq, Op::Ge, Op::Gt, Op::MaskedEq];
        let actions: [u32; 4] = [
            ALLOW,
            KILL,
            libc::SECCOMP_RET_ERRNO | 22,
            libc::SECCOMP_RET_TRAP,
        ];
        let names = ["socket", "personality", "ioctl"];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..300 {
            let mut rules = Vec::new();
            for _ in 0..(1 + rng.next() % 8) {
                let conds = (0..(rng.next() % 3))
                    .map(|_| Cond {
                        index: rng.pick(&[0u8, 0, 2]),
                        op: rng.pick(&ops),
                        value: rng.pick(&values),
                        value_two: rng.pick(&values),
                    })
                    .collect();
                rules.push((
                    rng.pick(&names),
                    Rule {
                        conds,
                        action: rng.pick(&actions),
                    },
                ));
            }
            let mut f = filter(rules.clone());
            f.x86 = true;
            f.x32 = true;
            let prog = generate(&f).unwrap();
            bpf::check(&prog).unwrap();
            for _ in 0..200 {
                let name = rng.pick(&names);
                let args = [rng.pick(&values), 0, rng.pick(&values), 0, 0, 0];
                let nrs = resolve(name);
                for (arch, nr, wide) in [
                    (AUDIT_ARCH_X86_64, nrs.x86_64.unwrap(), true),
                    (AUDIT_ARCH_X86_64, nrs.x32.unwrap(), false),
                    (AUDIT_ARCH_I386, nrs.x86.unwrap(), false),
                ] {
                    let want = rules
                        .iter()
                        .find(|(n, r)| {
                            *n == name
                                && r.conds
                                    .iter()
                                    .all(|c| c.matches(args[usize::from(c.index)], wide))
                        })
                        .map_or(EPERM, |(_, r)| r.action);
                    assert_eq!(
                        run(&prog, arch, nr, args),
                        want,
                        "round {round}: {name} {args:x?} arch {arch:#x} wide {wide}\n{rules:#?}\n{}",
                        bpf::disassemble(&prog)
                    );
                }
            }
        }
    }

    /// Far jumps: a profile whose blocks push the search tree's targets
    /// hundreds of instructions away.
    #[test]
    fn long_programs_use_trampolines() {
        let names: Vec<&str> = syscalls::X86_64.iter().map(|(n, _)| *n).collect();
        let rules: Vec<(&str, Rule)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    *n,
                    Rule {
                        conds: vec![Cond {
                            index: (i % 6) as u8,
                            op: Op::Eq,
                            value: i as u64 * 0x1_0000_0001,
                            value_two: 0,
                        }],
                        action: libc::SECCOMP_RET_ERRNO | (i as u32 % 4000 + 1),
                    },
                )
            })
            .collect();
        let f = filter(rules.clone());
        let prog = generate(&f).unwrap();
        bpf::check(&prog).unwrap();
        assert!(prog.len() > 1000, "{}", prog.len());
        assert!(prog.iter().any(|i| i.code == JA), "no long jump was needed");
        for (i, (name, rule)) in rules.iter().enumerate() {
            let nr = lookup(&syscalls::X86_64, name).unwrap();
            let mut args = [0u64; 6];
            args[i % 6] = i as u64 * 0x1_0000_0001;
            assert_eq!(
                run(&prog, AUDIT_ARCH_X86_64, nr, args),
                rule.action,
                "{name}"
            );
            args[i % 6] ^= 0x1_0000_0000;
            assert_eq!(run(&prog, AUDIT_ARCH_X86_64, nr, args), EPERM, "{name}");
        }
    }

    #[test]
    fn too_long_programs_are_refused() {
        let rules: Vec<(&str, Rule)> = syscalls::X86_64
            .iter()
            .map(|(n, nr)| {
                // Different values: identical blocks would be shared.
                let conds = (0..6)
                    .map(|i| Cond {
                        index: i,
                        op: Op::Ne,
                        value: 0x1234_0000_0000 + u64::from(*nr),
                        value_two: 0,
                    })
                    .collect();
                (
                    *n,
                    Rule {
                        conds,
                        action: ALLOW,
                    },
                )
            })
            .collect();
        let err = generate(&filter(rules)).unwrap_err().to_string();
        assert!(
            err.contains("more than the kernel's limit of 4096"),
            "{err}"
        );
    }
}
