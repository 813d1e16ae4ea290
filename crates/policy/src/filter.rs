//! Compiling the policy table into moat's own seccomp filter.
//!
//! Numbers are grouped into consecutive ranges of equal verdict and tested
//! in ascending order, two instructions per range. Argument-checked calls
//! jump to a block of their own at the end. The kernel's seccomp action
//! cache answers unconditionally allowed numbers without running this.

use crate::bpf::{self, off_arg_lo, Asm, Label, To};
use crate::{table, ArgCheck, Entry, Fate};

/// The verdict of a number when it needs no argument checks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    Ret(u32),
    Checked(usize),
}

fn verdict(i: usize, e: &Entry) -> Verdict {
    match e.fate {
        Fate::Native => Verdict::Ret(bpf::RET_ALLOW),
        Fate::Emulated { .. } => Verdict::Ret(bpf::RET_USER_NOTIF),
        Fate::Denied { errno } => Verdict::Ret(bpf::errno(errno)),
        Fate::NativeIf { .. } => Verdict::Checked(i),
    }
}

/// moat's filter for workloads: native → allow, emulated → user notify,
/// denied → errno, unknown → ENOSYS.
pub fn moat_filter() -> Vec<libc::sock_filter> {
    match compile() {
        Ok(p) => p,
        // The table is static: a failure here is a bug caught by the tests.
        Err(e) => panic!("moat's policy table does not compile: {e}"),
    }
}

fn compile() -> Result<Vec<libc::sock_filter>, crate::PolicyError> {
    let entries = table();
    let unknown = Verdict::Ret(bpf::errno(libc::ENOSYS));
    // Ranges (last number, verdict) covering 0..=u32::MAX in order.
    let mut ranges: Vec<(u32, Verdict)> = Vec::new();
    let mut next = 0u32;
    for (i, e) in entries.iter().enumerate() {
        if e.nr > next {
            push(&mut ranges, e.nr - 1, unknown);
        }
        push(&mut ranges, e.nr, verdict(i, e));
        next = e.nr + 1;
    }
    push(&mut ranges, u32::MAX, unknown);

    let mut a = Asm::default();
    bpf::prologue(&mut a);
    let mut blocks: Vec<(usize, Label)> = Vec::new();
    for (hi, v) in &ranges {
        let skip = a.label();
        if *hi != u32::MAX {
            a.jgt(*hi, To::L(skip), To::Next);
        }
        match v {
            Verdict::Ret(k) => a.ret(*k),
            Verdict::Checked(i) => {
                let l = a.label();
                blocks.push((*i, l));
                a.ja(l);
            }
        }
        a.bind(skip);
    }
    a.ret(bpf::errno(libc::ENOSYS));
    for (i, l) in blocks {
        a.bind(l);
        if let Fate::NativeIf { checks, errno } = entries[i].fate {
            emit_checks(&mut a, checks, errno);
        }
    }
    a.finish()
}

fn push(ranges: &mut Vec<(u32, Verdict)>, hi: u32, v: Verdict) {
    match ranges.last_mut() {
        Some((last_hi, last_v)) if *last_v == v && matches!(v, Verdict::Ret(_)) => *last_hi = hi,
        _ => ranges.push((hi, v)),
    }
}

/// All checks must hold for ALLOW; any failure returns `errno`.
fn emit_checks(a: &mut Asm, checks: &[ArgCheck], errno: i32) {
    let fail = a.label();
    for c in checks {
        match *c {
            ArgCheck::MaskedZero { arg, mask } => {
                a.load(off_arg_lo(arg));
                a.jset(mask as u32, To::L(fail), To::Next);
            }
            ArgCheck::OneOf { arg, values } => {
                let ok = a.label();
                a.load(off_arg_lo(arg));
                for v in values {
                    a.jeq(*v as u32, To::L(ok), To::Next);
                }
                a.ja(fail);
                a.bind(ok);
            }
            ArgCheck::MaskedNoneOf { arg, mask, values } => {
                a.load(off_arg_lo(arg));
                a.and(mask as u32);
                for v in values {
                    a.jeq(*v as u32, To::L(fail), To::Next);
                }
            }
        }
    }
    a.ret(bpf::RET_ALLOW);
    a.bind(fail);
    a.ret(bpf::errno(errno));
}
