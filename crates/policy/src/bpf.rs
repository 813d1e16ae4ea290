//! A tiny classic-BPF assembler for seccomp programs, with labels.
//!
//! Conditional jumps reach at most 255 instructions ahead; the compilers
//! keep them local and cross long distances with `ja`, whose offset is 32
//! bits. `finish` checks every offset.

use crate::PolicyError;

pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// Syscall numbers with this bit come through the x32 ABI.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Offsets into `struct seccomp_data`.
pub const OFF_NR: u32 = 0;
pub const OFF_ARCH: u32 = 4;
pub fn off_arg_lo(i: u8) -> u32 {
    16 + 8 * i as u32
}
pub fn off_arg_hi(i: u8) -> u32 {
    off_arg_lo(i) + 4
}

pub fn errno(e: i32) -> u32 {
    RET_ERRNO | (e as u32 & 0xffff)
}

const LD_W_ABS: u16 = 0x20;
const ALU_AND_K: u16 = 0x54;
const RET_K: u16 = 0x06;
const JA: u16 = 0x05;
const JEQ_K: u16 = 0x15;
const JGT_K: u16 = 0x25;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// Where a conditional jump goes.
#[derive(Clone, Copy, Debug)]
pub enum To {
    /// The next instruction.
    Next,
    L(Label),
}

#[derive(Debug)]
enum Insn {
    Stmt(u16, u32),
    Cond(u16, u32, To, To),
    Ja(Label),
}

#[derive(Default)]
pub struct Asm {
    code: Vec<Insn>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// The next instruction emitted is `l`.
    pub fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.code.len());
    }

    pub fn load(&mut self, off: u32) {
        self.code.push(Insn::Stmt(LD_W_ABS, off));
    }

    pub fn and(&mut self, k: u32) {
        self.code.push(Insn::Stmt(ALU_AND_K, k));
    }

    pub fn ret(&mut self, k: u32) {
        self.code.push(Insn::Stmt(RET_K, k));
    }

    pub fn ja(&mut self, l: Label) {
        self.code.push(Insn::Ja(l));
    }

    pub fn jeq(&mut self, k: u32, t: To, f: To) {
        self.code.push(Insn::Cond(JEQ_K, k, t, f));
    }

    pub fn jgt(&mut self, k: u32, t: To, f: To) {
        self.code.push(Insn::Cond(JGT_K, k, t, f));
    }

    pub fn jge(&mut self, k: u32, t: To, f: To) {
        self.code.push(Insn::Cond(JGE_K, k, t, f));
    }

    pub fn jset(&mut self, k: u32, t: To, f: To) {
        self.code.push(Insn::Cond(JSET_K, k, t, f));
    }

    /// Resolve labels into a loadable program.
    pub fn finish(self) -> Result<Vec<libc::sock_filter>, PolicyError> {
        let too_long = || PolicyError::TooLong(self.code.len());
        if self.code.len() > 4096 {
            return Err(too_long());
        }
        let target = |l: Label| self.labels[l.0].ok_or_else(too_long);
        let mut out = Vec::with_capacity(self.code.len());
        for (i, insn) in self.code.iter().enumerate() {
            let rel = |to: To| -> Result<u8, PolicyError> {
                match to {
                    To::Next => Ok(0),
                    To::L(l) => {
                        let t = target(l)?;
                        t.checked_sub(i + 1)
                            .and_then(|d| u8::try_from(d).ok())
                            .ok_or_else(too_long)
                    }
                }
            };
            out.push(match *insn {
                Insn::Stmt(code, k) => stmt(code, k),
                Insn::Cond(code, k, t, f) => libc::sock_filter {
                    code,
                    jt: rel(t)?,
                    jf: rel(f)?,
                    k,
                },
                Insn::Ja(l) => {
                    let t = target(l)?;
                    let d = t.checked_sub(i + 1).ok_or_else(too_long)?;
                    stmt(JA, d as u32)
                }
            });
        }
        Ok(out)
    }
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// Every program's start: kill foreign architectures (this closes the
/// i386 `int 0x80` entry), refuse the x32 ABI, load the syscall number.
pub fn prologue(a: &mut Asm) {
    let native = a.label();
    a.load(OFF_ARCH);
    a.jeq(AUDIT_ARCH_X86_64, To::L(native), To::Next);
    a.ret(RET_KILL_PROCESS);
    a.bind(native);
    a.load(OFF_NR);
    let not_x32 = a.label();
    a.jset(X32_SYSCALL_BIT, To::Next, To::L(not_x32));
    a.ret(errno(libc::ENOSYS));
    a.bind(not_x32);
}
