//! moat's own filter, compiled from the policy table.
//!
//! Layout: the prologue (architecture, x32), a binary search over the
//! syscall number whose leaves return a constant verdict, then one block
//! per argument-checked call. Native → ALLOW, emulated → USER_NOTIF,
//! denied → ERRNO, numbers not in the table → ERRNO(ENOSYS); an
//! argument-checked call is ALLOW when its checks hold, else ERRNO
//! (native-if) or USER_NOTIF (supervised unless).

use std::collections::BTreeMap;

use crate::bpf::{self, Asm, Label};
use crate::cond::{self, Cmp, Op};
use crate::dispatch::{self, Target};
use crate::fate::{ArgCheck, CmpOp, Fate};
use crate::{lookup_nr, table, PolicyError};

/// The workload filter: install it with `SECCOMP_FILTER_FLAG_NEW_LISTENER`
/// and hand the listener to the sentry.
///
/// # Panics
///
/// Only if the static table does not compile, which the crate's tests rule out.
pub fn moat_filter() -> Vec<libc::sock_filter> {
    match compile() {
        Ok(p) => p,
        Err(e) => panic!("moat's policy table does not compile: {e}"),
    }
}

fn compile() -> Result<Vec<libc::sock_filter>, PolicyError> {
    let mut a = Asm::default();
    bpf::prologue(&mut a);
    let blocks: BTreeMap<u32, Label> = table()
        .iter()
        .filter(|e| {
            matches!(
                e.fate,
                Fate::NativeIf { .. } | Fate::SupervisedUnless { .. }
            )
        })
        .map(|e| (e.nr, a.label()))
        .collect();
    let verdict = |nr: u32| match lookup_nr(nr).map(|e| &e.fate) {
        None => Target::Ret(bpf::errno(libc::ENOSYS as u32)),
        Some(Fate::Native) => Target::Ret(bpf::RET_ALLOW),
        Some(Fate::Emulated { .. } | Fate::Supervised { .. }) => Target::Ret(bpf::RET_USER_NOTIF),
        Some(Fate::Denied { errno }) => Target::Ret(bpf::errno(*errno as u32)),
        Some(Fate::NativeIf { .. } | Fate::SupervisedUnless { .. }) => match blocks.get(&nr) {
            Some(l) => Target::Block(*l),
            None => Target::Ret(bpf::errno(libc::ENOSYS as u32)),
        },
    };
    let segs = dispatch::segments(dispatch::edges(table().iter().map(|e| e.nr)), verdict);
    dispatch::emit(&mut a, &segs);
    for (nr, label) in &blocks {
        a.bind(*label);
        match lookup_nr(*nr).map(|e| &e.fate) {
            Some(Fate::NativeIf { any_of, errno }) => {
                emit_alternatives(&mut a, any_of, bpf::errno(*errno as u32))
            }
            Some(Fate::SupervisedUnless { native_if, .. }) => {
                emit_alternatives(&mut a, native_if, bpf::RET_USER_NOTIF)
            }
            _ => {}
        }
    }
    a.finish()
}

/// ALLOW when every check of one alternative holds, else `otherwise`.
pub(crate) fn emit_alternatives(a: &mut Asm, any_of: &[&[ArgCheck]], otherwise: u32) {
    for all in any_of {
        let next = a.label();
        for c in all.iter() {
            cond::emit(a, &cmp(c), next);
        }
        a.ret(bpf::RET_ALLOW);
        a.bind(next);
    }
    a.ret(otherwise);
}

fn cmp(c: &ArgCheck) -> Cmp {
    Cmp {
        arg: c.arg,
        mask: c.mask,
        op: match c.op {
            CmpOp::Eq => Op::Eq,
            CmpOp::Ne => Op::Ne,
        },
        value: c.value,
    }
}
