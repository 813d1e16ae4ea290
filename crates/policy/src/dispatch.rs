//! From syscall number to verdict in a few compares.
//!
//! The numbers 0..=u32::MAX are cut into segments of equal verdict, and a
//! balanced binary search over the segment starts (`jge`) finds a number's
//! segment in about log2(segments) jumps: seven or eight for moat's table.
//! The kernel's seccomp action cache then answers every number whose
//! verdict is a constant ALLOW without running the program at all.

use std::collections::BTreeSet;

use crate::bpf::{Asm, Jmp, Label, To};

/// A segment's verdict: a constant, or a block of argument checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Ret(u32),
    Block(Label),
}

/// The segments of `verdict`, which may change only at the numbers in
/// `points`: `(first number, target)`, sorted, starting at 0, each running
/// up to the next start (the last to `u32::MAX`), neighbours distinct.
pub(crate) fn segments(
    points: impl IntoIterator<Item = u32>,
    verdict: impl Fn(u32) -> Target,
) -> Vec<(u32, Target)> {
    let mut starts: BTreeSet<u32> = points.into_iter().collect();
    starts.insert(0);
    let mut out: Vec<(u32, Target)> = Vec::new();
    for p in starts {
        let t = verdict(p);
        if out.last().map(|&(_, last)| last) != Some(t) {
            out.push((p, t));
        }
    }
    out
}

/// The change points of a set of numbers: each number and its successor.
pub(crate) fn edges(nrs: impl IntoIterator<Item = u32>) -> impl Iterator<Item = u32> {
    nrs.into_iter()
        .flat_map(|n| std::iter::once(n).chain(n.checked_add(1)))
}

/// Emit the search over `segs` (as `segments` returns them), with the
/// syscall number in A.
pub(crate) fn emit(a: &mut Asm, segs: &[(u32, Target)]) {
    match segs {
        [] => {}
        [(_, t)] => match *t {
            Target::Ret(k) => a.ret(k),
            Target::Block(l) => a.ja(l),
        },
        _ => {
            let mid = segs.len() / 2;
            let upper = a.label();
            a.jump(Jmp::Ge, segs[mid].0, To::L(upper), To::Next);
            emit(a, &segs[..mid]);
            a.bind(upper);
            emit(a, &segs[mid..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::AUDIT_ARCH_X86_64;
    use crate::interp;

    #[test]
    fn segments_merge_equal_neighbours() {
        let v = |n: u32| {
            Target::Ret(if (10..20).contains(&n) || n == 25 {
                1
            } else {
                0
            })
        };
        let s = segments(edges([10, 11, 19, 25]).chain([20]), v);
        assert_eq!(
            s,
            vec![
                (0, Target::Ret(0)),
                (10, Target::Ret(1)),
                (20, Target::Ret(0)),
                (25, Target::Ret(1)),
                (26, Target::Ret(0)),
            ]
        );
    }

    #[test]
    fn search_finds_every_segment() {
        let starts: Vec<u32> = (0..200).map(|i| i * 7).collect();
        let segs: Vec<(u32, Target)> = starts.iter().map(|&s| (s, Target::Ret(s))).collect();
        let mut a = Asm::default();
        a.load_nr();
        emit(&mut a, &segs);
        let p = match a.finish() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        interp::validate(&p);
        for n in [0, 1, 6, 7, 8, 700, 1392, 1393, 5000, u32::MAX] {
            let want = starts.iter().rev().find(|&&s| s <= n).copied();
            assert_eq!(
                Some(interp::run(&p, AUDIT_ARCH_X86_64, n, [0; 6])),
                want,
                "{n}"
            );
        }
    }
}
