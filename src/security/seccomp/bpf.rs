//! A classic BPF interpreter over `struct seccomp_data`, and the checks the
//! kernel makes when a filter is loaded: the tests run generated programs
//! here, without root or a kernel.

use super::compile::{Insn, AND, JA, JEQ, JGE, JGT, JSET, LD_ABS, MAX_INSNS, RET};

/// `struct seccomp_data`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl Data {
    /// The 32-bit word at `offset`, as BPF_LD|BPF_W|BPF_ABS loads it on a
    /// little-endian machine.
    fn word(&self, offset: u32) -> Option<u32> {
        let wide = |v: u64, hi: bool| if hi { (v >> 32) as u32 } else { v as u32 };
        match offset {
            0 => Some(self.nr),
            4 => Some(self.arch),
            8 | 12 => Some(wide(self.instruction_pointer, offset == 12)),
            16..=60 if offset % 4 == 0 => {
                let i = (offset as usize - 16) / 8;
                Some(wide(self.args[i], offset % 8 == 4))
            }
            _ => None,
        }
    }
}

/// Runs `prog` on `d`: the value returned and the number of instructions
/// executed.
pub fn run(prog: &[Insn], d: &Data) -> Result<(u32, usize), String> {
    let mut a: u32 = 0;
    let mut pc = 0usize;
    let mut steps = 0usize;
    loop {
        let Some(i) = prog.get(pc) else {
            return Err(format!("pc {pc} ran off the end"));
        };
        steps += 1;
        if steps > prog.len() {
            return Err("a loop".into());
        }
        let cond = |taken: bool| pc + 1 + usize::from(if taken { i.jt } else { i.jf });
        pc = match i.code {
            LD_ABS => {
                a = d
                    .word(i.k)
                    .ok_or_else(|| format!("pc {pc}: load from offset {}", i.k))?;
                pc + 1
            }
            AND => {
                a &= i.k;
                pc + 1
            }
            JA => pc + 1 + i.k as usize,
            JEQ => cond(a == i.k),
            JGT => cond(a > i.k),
            JGE => cond(a >= i.k),
            JSET => cond(a & i.k != 0),
            RET => return Ok((i.k, steps)),
            c => return Err(format!("pc {pc}: opcode {c:#x}")),
        };
    }
}

/// The kernel's checks (bpf_check_classic, seccomp_check_filter) as far as
/// the generator's instructions go: size, known opcodes, loads inside
/// seccomp_data and aligned, jumps forward inside the program, a `ret` last.
pub fn check(prog: &[Insn]) -> Result<(), String> {
    if prog.is_empty() || prog.len() > MAX_INSNS {
        return Err(format!("{} instructions", prog.len()));
    }
    for (pc, i) in prog.iter().enumerate() {
        let end = |off: usize| -> Result<(), String> {
            if pc + 1 + off >= prog.len() {
                Err(format!("pc {pc}: jump past the end"))
            } else {
                Ok(())
            }
        };
        match i.code {
            LD_ABS if i.k % 4 == 0 && i.k < 64 => {}
            AND | RET => {}
            JA => end(i.k as usize)?,
            JEQ | JGT | JGE | JSET => {
                end(usize::from(i.jt))?;
                end(usize::from(i.jf))?;
            }
            _ => return Err(format!("pc {pc}: bad instruction {i:?}")),
        }
    }
    match prog.last() {
        Some(i) if i.code == RET => Ok(()),
        _ => Err("the last instruction is not a ret".into()),
    }
}

/// The program as text, one instruction a line, for test failures.
pub fn disassemble(prog: &[Insn]) -> String {
    let mut out = String::new();
    for (pc, i) in prog.iter().enumerate() {
        let to = |off: u8| pc + 1 + usize::from(off);
        let line = match i.code {
            LD_ABS => format!("ld [{}]", i.k),
            AND => format!("and #{:#x}", i.k),
            JA => format!("ja {}", pc + 1 + i.k as usize),
            JEQ => format!("jeq #{:#x}, {}, {}", i.k, to(i.jt), to(i.jf)),
            JGT => format!("jgt #{:#x}, {}, {}", i.k, to(i.jt), to(i.jf)),
            JGE => format!("jge #{:#x}, {}, {}", i.k, to(i.jt), to(i.jf)),
            JSET => format!("jset #{:#x}, {}, {}", i.k, to(i.jt), to(i.jf)),
            RET => format!("ret #{:#x}", i.k),
            _ => format!("{i:?}"),
        };
        out.push_str(&format!("{pc:4}: {line}\n"));
    }
    out
}
