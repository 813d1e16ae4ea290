//! Compiling an OCI `linux.seccomp` profile (Docker's default, Kubernetes'
//! RuntimeDefault, a user's own) into one seccomp filter, with runc's
//! reading of the spec:
//!
//! - `defaultAction` (+ `defaultErrnoRet`, EPERM when absent) for every
//!   number no rule decides;
//! - a syscall group's conditions (`args`) are ANDed, except that a group
//!   naming one argument index twice becomes one rule per condition (ORed),
//!   as runc does for libseccomp's sake;
//! - several rules for one syscall are tried in profile order and the first
//!   full match decides; a group whose action equals the default action is
//!   skipped, as runc skips it;
//! - runc's ENOSYS rule: unless the default action lets calls through
//!   (ALLOW, LOG, TRACE), numbers above the largest one the profile names
//!   get ENOSYS, so that programs fall back from system calls newer than
//!   the profile instead of failing with EPERM.
//!
//! moat only runs x86_64 code: the program starts like moat's own filter
//! (other architectures killed, x32 ENOSYS) whatever `architectures` says.

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompArg, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Operator,
};
use std::collections::BTreeMap;

use crate::bpf::{self, Asm, Label};
use crate::cond::{self, Cmp, Op};
use crate::dispatch::{self, Target};
use crate::{lookup_name, other_arch, PolicyError};

/// A compiled profile and the `seccomp(2)` flags it asks for.
#[derive(Debug, Clone)]
pub struct CompiledProfile {
    pub program: Vec<libc::sock_filter>,
    /// `SECCOMP_FILTER_FLAG_*` bits to install `program` with.
    pub flags: u32,
}

struct Rule {
    conds: Vec<Cmp>,
    ret: u32,
}

/// Compile `profile` into one filter.
///
/// Numbers in `passthrough` are allowed whatever the profile says. The
/// caller passes the calls its sentry virtualizes (`uname`, `sethostname`,
/// ...): moat's own filter sends them to the sentry, which answers from the
/// sandbox's virtual state and touches nothing of the host, so the profile
/// has nothing to protect there; and since the kernel takes the strictest
/// verdict of all filters, an ERRNO here would keep them from the sentry.
pub fn compile_oci(
    profile: &LinuxSeccomp,
    passthrough: &[u32],
) -> Result<CompiledProfile, PolicyError> {
    if profile.listener_path().is_some() {
        return Err(unsupported(
            "listenerPath is not supported: moat's sentry owns the seccomp listener",
        ));
    }
    let default = action(profile.default_action(), profile.default_errno_ret())?;
    let flags = flags(profile)?;

    let mut rules: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
    let mut largest: Option<u32> = None;
    for group in profile.syscalls().as_deref().unwrap_or_default() {
        let ret = action(group.action(), group.errno_ret())?;
        let args = group.args().as_deref().unwrap_or_default();
        let conds = args.iter().map(condition).collect::<Result<Vec<_>, _>>()?;
        let mut nrs = Vec::new();
        for name in group.names() {
            if let Some(nr) = resolve(name)? {
                nrs.push(nr);
                largest = largest.max(Some(nr));
            }
        }
        if ret == default {
            continue;
        }
        for nr in nrs {
            if !passthrough.contains(&nr) {
                rules.entry(nr).or_default().extend(split(&conds, ret));
            }
        }
    }
    // A rule without conditions decides: later rules are unreachable.
    for rs in rules.values_mut() {
        if let Some(i) = rs.iter().position(|r| r.conds.is_empty()) {
            rs.truncate(i + 1);
        }
    }
    let enosys_above = if lets_through(default) { None } else { largest };

    let mut a = Asm::default();
    bpf::prologue(&mut a);
    let blocks: BTreeMap<u32, Label> = rules
        .iter()
        .filter(|(_, rs)| rs.first().is_some_and(|r| !r.conds.is_empty()))
        .map(|(nr, _)| (*nr, a.label()))
        .collect();
    let verdict = |nr: u32| {
        if passthrough.contains(&nr) {
            Target::Ret(bpf::RET_ALLOW)
        } else if let Some(l) = blocks.get(&nr) {
            Target::Block(*l)
        } else if let Some(r) = rules.get(&nr).and_then(|rs| rs.first()) {
            Target::Ret(r.ret)
        } else if enosys_above.is_some_and(|m| nr > m) {
            Target::Ret(bpf::errno(libc::ENOSYS as u32))
        } else {
            Target::Ret(default)
        }
    };
    let points = dispatch::edges(passthrough.iter().chain(rules.keys()).copied())
        .chain(enosys_above.and_then(|m| m.checked_add(1)));
    let segs = dispatch::segments(points, verdict);
    dispatch::emit(&mut a, &segs);
    for (nr, label) in &blocks {
        a.bind(*label);
        for rule in rules.get(nr).map(Vec::as_slice).unwrap_or_default() {
            let next = a.label();
            for c in &rule.conds {
                cond::emit(&mut a, c, next);
            }
            a.ret(rule.ret);
            a.bind(next);
        }
        a.ret(default);
    }
    Ok(CompiledProfile {
        program: a.finish()?,
        flags,
    })
}

fn unsupported(what: &str) -> PolicyError {
    PolicyError::Unsupported(what.to_string())
}

/// runc's rule shape: one rule with every condition, or one rule per
/// condition when an argument index repeats.
fn split(conds: &[Cmp], ret: u32) -> Vec<Rule> {
    let mut seen = [false; 6];
    let repeats = conds.iter().any(|c| {
        seen.get_mut(usize::from(c.arg))
            .is_some_and(|s| std::mem::replace(s, true))
    });
    if repeats {
        conds
            .iter()
            .map(|c| Rule {
                conds: vec![*c],
                ret,
            })
            .collect()
    } else {
        vec![Rule {
            conds: conds.to_vec(),
            ret,
        }]
    }
}

/// A name's x86_64 number; `None` for names a profile may carry that have
/// no x86_64 number here (other architectures' calls, newer calls).
fn resolve(name: &str) -> Result<Option<u32>, PolicyError> {
    if let Some(e) = lookup_name(name) {
        return Ok(Some(e.nr));
    }
    if other_arch::ignorable(name) {
        return Ok(None);
    }
    Err(PolicyError::UnknownSyscall(name.to_string()))
}

fn condition(a: &LinuxSeccompArg) -> Result<Cmp, PolicyError> {
    let arg = u8::try_from(a.index())
        .ok()
        .filter(|i| *i <= 5)
        .ok_or_else(|| {
            PolicyError::Unsupported(format!(
                "argument index {} out of range (0 to 5)",
                a.index()
            ))
        })?;
    let (mask, op, value) = match a.op() {
        Operator::ScmpCmpNe => (u64::MAX, Op::Ne, a.value()),
        Operator::ScmpCmpLt => (u64::MAX, Op::Lt, a.value()),
        Operator::ScmpCmpLe => (u64::MAX, Op::Le, a.value()),
        Operator::ScmpCmpEq => (u64::MAX, Op::Eq, a.value()),
        Operator::ScmpCmpGe => (u64::MAX, Op::Ge, a.value()),
        Operator::ScmpCmpGt => (u64::MAX, Op::Gt, a.value()),
        // `(arg & value) == valueTwo`.
        Operator::ScmpCmpMaskedEq => (a.value(), Op::Eq, a.value_two().unwrap_or(0)),
    };
    Ok(Cmp {
        arg,
        mask,
        op,
        value,
    })
}

/// The `SECCOMP_RET_*` value of an action; the data of ERRNO and TRACE is
/// `errno_ret`, EPERM when absent (runc's choice).
fn action(action: Action, errno_ret: Option<u32>) -> Result<u32, PolicyError> {
    let data = errno_ret.unwrap_or(libc::EPERM as u32) & 0xffff;
    Ok(match action {
        Action::ScmpActAllow => bpf::RET_ALLOW,
        Action::ScmpActErrno => bpf::RET_ERRNO | data,
        Action::ScmpActKill | Action::ScmpActKillThread => bpf::RET_KILL_THREAD,
        Action::ScmpActKillProcess => bpf::RET_KILL_PROCESS,
        Action::ScmpActTrap => bpf::RET_TRAP,
        Action::ScmpActTrace => bpf::RET_TRACE | data,
        Action::ScmpActLog => bpf::RET_LOG,
        Action::ScmpActNotify => {
            return Err(unsupported(
                "SCMP_ACT_NOTIFY is not supported: moat's sentry owns the seccomp listener",
            ))
        }
    })
}

/// Actions under which a call still runs: no ENOSYS rule for those.
fn lets_through(ret: u32) -> bool {
    let act = ret & libc::SECCOMP_RET_ACTION_FULL;
    act == bpf::RET_ALLOW || act == bpf::RET_LOG || act == bpf::RET_TRACE
}

/// The profile's filter flags. TSYNC is dropped, as runc drops it: the
/// filter goes on the workload's one thread before it executes, and synced
/// onto a multi-threaded installer it would reach threads that are not the
/// workload's.
fn flags(profile: &LinuxSeccomp) -> Result<u32, PolicyError> {
    let mut bits = 0;
    for f in profile.flags().as_deref().unwrap_or_default() {
        bits |=
            match f {
                Flag::SeccompFilterFlagTsync => 0,
                Flag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
                Flag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
                Flag::SeccompFilterFlagWaitKillableRecv => return Err(unsupported(
                    "flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV applies to a notify listener, \
                     and moat's sentry owns the listener",
                )),
            } as u32;
    }
    Ok(bits)
}
