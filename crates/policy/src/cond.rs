//! 64-bit argument comparisons in a 32-bit machine.
//!
//! classic BPF loads 32-bit words, so a condition on a 64-bit argument
//! looks at the upper half first: where it decides (`arg` above or below
//! `value` for an ordering, different for an equality) the lower half is
//! not read; where the upper halves are equal, the lower half decides.

use crate::bpf::{Asm, Jmp, Label, To};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// `(args[arg] & mask) <op> value`, unsigned, on all 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cmp {
    pub arg: u8,
    pub mask: u64,
    pub op: Op,
    pub value: u64,
}

/// What the comparison of the upper halves leads to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Then {
    Pass,
    Fail,
    /// Compare the lower halves.
    Low,
}

impl Op {
    /// Outcome when the upper half is below, equal to, above the value's.
    fn upper(self) -> (Then, Then, Then) {
        use Then::*;
        match self {
            Op::Eq => (Fail, Low, Fail),
            Op::Ne => (Pass, Low, Pass),
            Op::Lt | Op::Le => (Pass, Low, Fail),
            Op::Gt | Op::Ge => (Fail, Low, Pass),
        }
    }

    fn holds(self, x: u32, v: u32) -> bool {
        match self {
            Op::Eq => x == v,
            Op::Ne => x != v,
            Op::Lt => x < v,
            Op::Le => x <= v,
            Op::Gt => x > v,
            Op::Ge => x >= v,
        }
    }
}

/// Emit `c`: fall through when it holds, jump to `fail` when it does not.
/// Clobbers A.
pub(crate) fn emit(a: &mut Asm, c: &Cmp, fail: Label) {
    let pass = a.label();
    let to = |t: Then| match t {
        Then::Pass => To::L(pass),
        Then::Fail => To::L(fail),
        Then::Low => To::Next,
    };
    let (mask_hi, mask_lo) = ((c.mask >> 32) as u32, c.mask as u32);
    let (v_hi, v_lo) = ((c.value >> 32) as u32, c.value as u32);
    let (below, equal, above) = c.op.upper();

    // Upper half.
    let mut low_needed = true;
    if mask_hi == 0 {
        // The masked upper half is 0: decide now.
        let then = match 0u32.cmp(&v_hi) {
            std::cmp::Ordering::Less => below,
            std::cmp::Ordering::Equal => equal,
            std::cmp::Ordering::Greater => above,
        };
        match then {
            Then::Low => {}
            Then::Pass => low_needed = false,
            Then::Fail => {
                a.ja(fail);
                low_needed = false;
            }
        }
    } else {
        a.load_arg(c.arg, true);
        if mask_hi != u32::MAX {
            a.and(mask_hi);
        }
        if below == above {
            a.jump(Jmp::Eq, v_hi, to(equal), to(below));
        } else {
            a.jump(Jmp::Gt, v_hi, to(above), To::Next);
            a.jump(Jmp::Eq, v_hi, to(equal), to(below));
        }
    }

    // Lower half, reached when the upper halves are equal.
    if low_needed {
        if mask_lo == 0 {
            if !c.op.holds(0, v_lo) {
                a.ja(fail);
            }
        } else {
            a.load_arg(c.arg, false);
            if mask_lo != u32::MAX {
                a.and(mask_lo);
            }
            let (f, n) = (To::L(fail), To::Next);
            match c.op {
                Op::Eq => a.jump(Jmp::Eq, v_lo, n, f),
                Op::Ne => a.jump(Jmp::Eq, v_lo, f, n),
                Op::Gt => a.jump(Jmp::Gt, v_lo, n, f),
                Op::Ge => a.jump(Jmp::Ge, v_lo, n, f),
                Op::Lt => a.jump(Jmp::Ge, v_lo, f, n),
                Op::Le => a.jump(Jmp::Gt, v_lo, f, n),
            }
        }
    }
    a.bind(pass);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::AUDIT_ARCH_X86_64;
    use crate::interp;

    fn holds(c: Cmp, arg: u64) -> bool {
        let mut a = Asm::default();
        let fail = a.label();
        emit(&mut a, &c, fail);
        a.ret(1);
        a.bind(fail);
        a.ret(0);
        let p = match a.finish() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        interp::validate(&p);
        let mut args = [0xdead_beef_dead_beef; 6];
        args[usize::from(c.arg)] = arg;
        interp::run(&p, AUDIT_ARCH_X86_64, 0, args) == 1
    }

    fn reference(c: Cmp, arg: u64) -> bool {
        let x = arg & c.mask;
        match c.op {
            Op::Eq => x == c.value,
            Op::Ne => x != c.value,
            Op::Lt => x < c.value,
            Op::Le => x <= c.value,
            Op::Gt => x > c.value,
            Op::Ge => x >= c.value,
        }
    }

    /// Every operator and mask shape against 64-bit reference arithmetic,
    /// on values around the interesting edges of both halves.
    #[test]
    fn matches_64_bit_arithmetic() {
        let edges = [
            0,
            1,
            2,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_0000_0001,
            0x1_ffff_ffff,
            0x2_0000_0000,
            0xffff_ffff_0000_0000,
            0xffff_ffff_ffff_fffe,
            u64::MAX,
        ];
        let masks = [
            u64::MAX,
            0xffff_ffff,
            0xffff_ffff_0000_0000,
            0x7e02_0000,
            0xf000_0000_00f0,
        ];
        let ops = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];
        for &mask in &masks {
            for &value in &edges {
                for &op in &ops {
                    let c = Cmp {
                        arg: 3,
                        mask,
                        op,
                        value,
                    };
                    for &arg in &edges {
                        assert_eq!(holds(c, arg), reference(c, arg), "{c:?} on {arg:#x}");
                    }
                }
            }
        }
    }
}
