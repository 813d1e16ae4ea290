//! A small classic-BPF assembler for seccomp programs.
//!
//! Jumps name labels and go forward only. A conditional jump reaches at
//! most 255 instructions ahead; `finish` lays the program out and, for
//! every conditional jump whose target is farther, inserts an unconditional
//! `ja` (32-bit offset) right after it and points the short jump there.

use crate::PolicyError;
use libc::sock_filter;

pub(crate) const RET_KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;
pub(crate) const RET_KILL_THREAD: u32 = libc::SECCOMP_RET_KILL_THREAD;
pub(crate) const RET_TRAP: u32 = libc::SECCOMP_RET_TRAP;
pub(crate) const RET_ERRNO: u32 = libc::SECCOMP_RET_ERRNO;
pub(crate) const RET_USER_NOTIF: u32 = libc::SECCOMP_RET_USER_NOTIF;
pub(crate) const RET_TRACE: u32 = libc::SECCOMP_RET_TRACE;
pub(crate) const RET_LOG: u32 = libc::SECCOMP_RET_LOG;
pub(crate) const RET_ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const RET_DATA: u32 = libc::SECCOMP_RET_DATA;

/// `AUDIT_ARCH_X86_64`: EM_X86_64 (62) | `__AUDIT_ARCH_64BIT` | `__AUDIT_ARCH_LE`.
pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// Numbers with this bit come through the x32 ABI.
pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// The kernel's limit on one filter (`BPF_MAXINSNS`).
pub(crate) const MAX_INSNS: usize = 4096;

/// Offsets into `struct seccomp_data` (little endian).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const ALU_AND_K: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const JMP_K: u16 = (libc::BPF_JMP | libc::BPF_K) as u16;

/// `SECCOMP_RET_ERRNO` with `e` as data.
pub(crate) fn errno(e: u32) -> u32 {
    RET_ERRNO | (e & RET_DATA)
}

/// The comparisons of conditional jumps (unsigned, against a constant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Jmp {
    Eq,
    Gt,
    Ge,
    /// `A & k != 0`.
    Set,
}

impl Jmp {
    fn code(self) -> u16 {
        JMP_K
            | match self {
                Jmp::Eq => libc::BPF_JEQ,
                Jmp::Gt => libc::BPF_JGT,
                Jmp::Ge => libc::BPF_JGE,
                Jmp::Set => libc::BPF_JSET,
            } as u16
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Label(usize);

/// Where a conditional jump goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum To {
    /// The next instruction.
    Next,
    L(Label),
}

#[derive(Debug)]
enum Insn {
    Stmt(u16, u32),
    Cond(Jmp, u32, To, To),
    Ja(Label),
}

#[derive(Default)]
pub(crate) struct Asm {
    code: Vec<Insn>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    pub(crate) fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// The next instruction emitted is `l`.
    pub(crate) fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.code.len());
    }

    pub(crate) fn load_nr(&mut self) {
        self.code.push(Insn::Stmt(LD_W_ABS, OFF_NR));
    }

    pub(crate) fn load_arch(&mut self) {
        self.code.push(Insn::Stmt(LD_W_ABS, OFF_ARCH));
    }

    /// Load the upper (`hi`) or lower half of argument `i` (0..=5).
    pub(crate) fn load_arg(&mut self, i: u8, hi: bool) {
        let off = OFF_ARGS + 8 * u32::from(i) + if hi { 4 } else { 0 };
        self.code.push(Insn::Stmt(LD_W_ABS, off));
    }

    pub(crate) fn and(&mut self, k: u32) {
        self.code.push(Insn::Stmt(ALU_AND_K, k));
    }

    pub(crate) fn ret(&mut self, k: u32) {
        self.code.push(Insn::Stmt(RET_K, k));
    }

    pub(crate) fn ja(&mut self, l: Label) {
        self.code.push(Insn::Ja(l));
    }

    /// `if A <op> k goto t else goto f`.
    pub(crate) fn jump(&mut self, op: Jmp, k: u32, t: To, f: To) {
        self.code.push(Insn::Cond(op, k, t, f));
    }

    /// Index of the instruction a jump from `i` lands on.
    fn target(&self, i: usize, to: To) -> Result<usize, PolicyError> {
        let t = match to {
            To::Next => i + 1,
            To::L(l) => {
                self.labels[l.0].ok_or(PolicyError::Assemble("jump to an unbound label"))?
            }
        };
        if t <= i || t >= self.code.len() {
            return Err(PolicyError::Assemble("jump backwards or past the end"));
        }
        Ok(t)
    }

    /// Lay out the program, inserting long jumps where needed.
    pub(crate) fn finish(self) -> Result<Vec<sock_filter>, PolicyError> {
        let n = self.code.len();
        match self.code.last() {
            Some(Insn::Stmt(RET_K, _)) => {}
            _ => return Err(PolicyError::Assemble("program does not end in a return")),
        }
        // Resolved targets of every jump.
        let mut targets = Vec::with_capacity(n);
        for (i, insn) in self.code.iter().enumerate() {
            targets.push(match *insn {
                Insn::Stmt(..) => (0, 0),
                Insn::Cond(_, _, t, f) => (self.target(i, t)?, self.target(i, f)?),
                Insn::Ja(l) => (self.target(i, To::L(l))?, 0),
            });
        }
        // far[i]: whether jt / jf of instruction i go through a trampoline.
        // Growing the program only lengthens jumps, so this settles.
        let mut far = vec![(false, false); n];
        let pos = loop {
            let pos = layout(&far);
            let mut changed = false;
            for (i, insn) in self.code.iter().enumerate() {
                if let Insn::Cond(..) = insn {
                    let (t, f) = targets[i];
                    let from = pos[i] + 1;
                    if !far[i].0 && pos[t] - from > 255 {
                        far[i].0 = true;
                        changed = true;
                    }
                    if !far[i].1 && pos[f] - from > 255 {
                        far[i].1 = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break pos;
            }
        };
        if pos[n] > MAX_INSNS {
            return Err(PolicyError::TooLong(pos[n]));
        }
        let mut out = Vec::with_capacity(pos[n]);
        for (i, insn) in self.code.iter().enumerate() {
            let from = pos[i] + 1;
            match *insn {
                Insn::Stmt(code, k) => out.push(stmt(code, k)),
                Insn::Ja(_) => out.push(stmt(JA, (pos[targets[i].0] - from) as u32)),
                Insn::Cond(op, k, _, _) => {
                    let (t, f) = targets[i];
                    let (far_t, far_f) = far[i];
                    // Trampolines follow the jump: first jt's, then jf's.
                    let jt = if far_t { 0 } else { pos[t] - from };
                    let jf = if far_f {
                        usize::from(far_t)
                    } else {
                        pos[f] - from
                    };
                    out.push(sock_filter {
                        code: op.code(),
                        jt: jt as u8,
                        jf: jf as u8,
                        k,
                    });
                    if far_t {
                        let at = out.len() + 1;
                        out.push(stmt(JA, (pos[t] - at) as u32));
                    }
                    if far_f {
                        let at = out.len() + 1;
                        out.push(stmt(JA, (pos[f] - at) as u32));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Where each instruction lands (and, last, the program's length), given
/// which conditional jumps carry trampolines.
fn layout(far: &[(bool, bool)]) -> Vec<usize> {
    let mut pos = Vec::with_capacity(far.len() + 1);
    let mut p = 0;
    for &(t, f) in far {
        pos.push(p);
        p += 1 + usize::from(t) + usize::from(f);
    }
    pos.push(p);
    pos
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// Every program's start: kill the process on a foreign architecture
/// (this closes the i386 `int 0x80` entry), refuse the x32 ABI with ENOSYS
/// (like an x86_64 kernel built without x32 support), and leave the
/// syscall number in A.
pub(crate) fn prologue(a: &mut Asm) {
    let native = a.label();
    a.load_arch();
    a.jump(Jmp::Eq, AUDIT_ARCH_X86_64, To::L(native), To::Next);
    a.ret(RET_KILL_PROCESS);
    a.bind(native);
    a.load_nr();
    let not_x32 = a.label();
    a.jump(Jmp::Set, X32_SYSCALL_BIT, To::Next, To::L(not_x32));
    a.ret(errno(libc::ENOSYS as u32));
    a.bind(not_x32);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp;

    /// A jump over `gap` instructions: `A == 7 ? gap returns, then 1 : 2`.
    fn far_program(gap: usize, far_true: bool) -> Vec<sock_filter> {
        let mut a = Asm::default();
        let there = a.label();
        a.load_nr();
        if far_true {
            a.jump(Jmp::Eq, 7, To::L(there), To::Next);
        } else {
            a.jump(Jmp::Eq, 7, To::Next, To::L(there));
        }
        let skip = a.label();
        a.ja(skip);
        for _ in 0..gap {
            a.ret(99);
        }
        a.bind(skip);
        a.ret(2);
        a.bind(there);
        a.ret(1);
        match a.finish() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn short_jumps_stay_short() {
        let p = far_program(200, true);
        assert_eq!(p.len(), 1 + 1 + 1 + 200 + 2);
        assert_eq!(interp::run(&p, AUDIT_ARCH_X86_64, 7, [0; 6]), 1);
        assert_eq!(interp::run(&p, AUDIT_ARCH_X86_64, 8, [0; 6]), 2);
    }

    #[test]
    fn long_jumps_get_trampolines() {
        for far_true in [true, false] {
            let p = far_program(1000, far_true);
            assert_eq!(p.len(), 1 + 2 + 1 + 1000 + 2, "one trampoline");
            interp::validate(&p);
            let (hit, miss) = if far_true { (1, 2) } else { (2, 1) };
            assert_eq!(interp::run(&p, AUDIT_ARCH_X86_64, 7, [0; 6]), hit);
            assert_eq!(interp::run(&p, AUDIT_ARCH_X86_64, 8, [0; 6]), miss);
        }
    }

    #[test]
    fn both_branches_far() {
        let mut a = Asm::default();
        let (t, f) = (a.label(), a.label());
        a.load_nr();
        a.jump(Jmp::Gt, 10, To::L(t), To::L(f));
        for _ in 0..300 {
            a.ret(99);
        }
        a.bind(t);
        a.ret(1);
        for _ in 0..300 {
            a.ret(98);
        }
        a.bind(f);
        a.ret(2);
        let p = a.finish().map_err(|e| e.to_string()).unwrap_or_default();
        interp::validate(&p);
        assert_eq!(interp::run(&p, AUDIT_ARCH_X86_64, 11, [0; 6]), 1);
        assert_eq!(interp::run(&p, AUDIT_ARCH_X86_64, 10, [0; 6]), 2);
    }

    #[test]
    fn malformed_programs_are_errors() {
        let mut a = Asm::default();
        let l = a.label();
        a.load_nr();
        a.jump(Jmp::Eq, 1, To::L(l), To::Next);
        a.ret(0);
        assert!(matches!(a.finish(), Err(PolicyError::Assemble(_))));
        let mut a = Asm::default();
        a.load_nr();
        assert!(matches!(a.finish(), Err(PolicyError::Assemble(_))));
        let mut a = Asm::default();
        for _ in 0..=MAX_INSNS {
            a.ret(0);
        }
        assert!(matches!(a.finish(), Err(PolicyError::TooLong(4097))));
    }

    #[test]
    fn prologue_closes_other_entries() {
        let mut a = Asm::default();
        prologue(&mut a);
        a.ret(RET_ALLOW);
        let p = a.finish().map_err(|e| e.to_string()).unwrap_or_default();
        assert_eq!(interp::run(&p, AUDIT_ARCH_X86_64, 39, [0; 6]), RET_ALLOW);
        assert_eq!(interp::run(&p, 0x4000_0003, 20, [0; 6]), RET_KILL_PROCESS);
        let x32_getpid = X32_SYSCALL_BIT | 39;
        assert_eq!(
            interp::run(&p, AUDIT_ARCH_X86_64, x32_getpid, [0; 6]),
            errno(libc::ENOSYS as u32)
        );
    }
}
