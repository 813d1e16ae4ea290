//! Compiling an OCI `linux.seccomp` profile (Docker's default, Kubernetes'
//! RuntimeDefault, a user's own) into one seccomp filter with runc's
//! semantics: rules of a syscall are tried in order and the first that
//! matches decides; the conditions of a rule are ANDed, except that a rule
//! naming one argument index twice becomes one rule per condition (ORed),
//! as runc does.

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator as Op,
};
use std::collections::BTreeMap;

use crate::bpf::{self, off_arg_hi, off_arg_lo, Asm, To};
use crate::{lookup_name, PolicyError};

/// A compiled profile and the `seccomp(2)` flags it asks for.
#[derive(Debug, Clone)]
pub struct CompiledProfile {
    pub program: Vec<libc::sock_filter>,
    pub flags: u32,
}

struct Rule<'a> {
    conds: Vec<&'a LinuxSeccompArg>,
    ret: u32,
}

/// Compile `profile`. Numbers in `passthrough` (calls the sentry answers
/// from the sandbox's own state: they reach no host object) are allowed
/// whatever the profile says; moat's filter routes them to the sentry.
pub fn compile_oci(
    profile: &LinuxSeccomp,
    passthrough: &[u32],
) -> Result<CompiledProfile, PolicyError> {
    if profile.listener_path().is_some() {
        return Err(PolicyError::Unsupported(
            "listenerPath is not supported: moat's sentry owns the seccomp listener".into(),
        ));
    }
    let default = ret_of(profile.default_action(), profile.default_errno_ret())?;
    let mut rules: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
    for sc in profile.syscalls().as_deref().unwrap_or_default() {
        let ret = ret_of(sc.action(), sc.errno_ret())?;
        let args: Vec<&LinuxSeccompArg> = sc.args().as_deref().unwrap_or_default().iter().collect();
        if let Some(a) = args.iter().find(|a| a.index() > 5) {
            return Err(PolicyError::Unsupported(format!(
                "argument index {} out of range",
                a.index()
            )));
        }
        for name in sc.names() {
            let Some(nr) = resolve(name)? else { continue };
            if passthrough.contains(&nr) {
                continue;
            }
            rules.entry(nr).or_default().extend(split(&args, ret));
        }
    }
    let mut a = Asm::default();
    bpf::prologue(&mut a);
    for nr in passthrough {
        let skip = a.label();
        a.jeq(*nr, To::Next, To::L(skip));
        a.ret(bpf::RET_ALLOW);
        a.bind(skip);
    }
    let mut blocks = Vec::new();
    for nr in rules.keys() {
        let skip = a.label();
        let block = a.label();
        a.jeq(*nr, To::Next, To::L(skip));
        a.ja(block);
        a.bind(skip);
        blocks.push(block);
    }
    a.ret(default);
    for (block, rs) in blocks.into_iter().zip(rules.values()) {
        a.bind(block);
        for r in rs {
            let next = a.label();
            for c in &r.conds {
                emit_cond(&mut a, c, next);
            }
            a.ret(r.ret);
            a.bind(next);
        }
        a.ret(default);
    }
    Ok(CompiledProfile {
        program: a.finish()?,
        flags: flags_of(profile),
    })
}

/// runc's rule shape: one rule with every condition, or one rule per
/// condition when an argument index repeats.
fn split<'a>(args: &[&'a LinuxSeccompArg], ret: u32) -> Vec<Rule<'a>> {
    let mut seen = [false; 6];
    let repeats = args
        .iter()
        .any(|a| std::mem::replace(&mut seen[a.index()], true));
    if repeats {
        args.iter()
            .map(|a| Rule {
                conds: vec![*a],
                ret,
            })
            .collect()
    } else {
        vec![Rule {
            conds: args.to_vec(),
            ret,
        }]
    }
}

/// A syscall name's x86_64 number; `None` for a real syscall of another
/// architecture (profiles list those and they cannot happen here).
fn resolve(name: &str) -> Result<Option<u32>, PolicyError> {
    if let Some(e) = lookup_name(name) {
        return Ok(Some(e.nr));
    }
    if crate::oci_names::OTHER_ARCH.contains(&name) {
        return Ok(None);
    }
    Err(PolicyError::UnknownSyscall(name.to_string()))
}

fn ret_of(action: Action, errno_ret: Option<u32>) -> Result<u32, PolicyError> {
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
            return Err(PolicyError::Unsupported(
                "SCMP_ACT_NOTIFY is not supported: moat's sentry owns the seccomp listener".into(),
            ))
        }
    })
}

fn flags_of(profile: &LinuxSeccomp) -> u32 {
    profile
        .flags()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|f| match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => 1,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => 2,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => 4,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 1 << 5,
        })
        .fold(0, |a, b| a | b)
}

/// Emit one 64-bit comparison; falls through when it holds, jumps to `fail` otherwise.
fn emit_cond(a: &mut Asm, c: &LinuxSeccompArg, fail: bpf::Label) {
    let (i, v) = (c.index() as u8, c.value());
    let (vh, vl) = ((v >> 32) as u32, v as u32);
    let f = To::L(fail);
    let pass = a.label();
    let p = To::L(pass);
    match c.op() {
        Op::ScmpCmpEq => {
            a.load(off_arg_hi(i));
            a.jeq(vh, To::Next, f);
            a.load(off_arg_lo(i));
            a.jeq(vl, To::Next, f);
        }
        Op::ScmpCmpNe => {
            a.load(off_arg_hi(i));
            a.jeq(vh, To::Next, p);
            a.load(off_arg_lo(i));
            a.jeq(vl, f, To::Next);
        }
        Op::ScmpCmpGt | Op::ScmpCmpGe => {
            a.load(off_arg_hi(i));
            a.jgt(vh, p, To::Next);
            a.jeq(vh, To::Next, f);
            a.load(off_arg_lo(i));
            if c.op() == Op::ScmpCmpGt {
                a.jgt(vl, To::Next, f);
            } else {
                a.jge(vl, To::Next, f);
            }
        }
        Op::ScmpCmpLt | Op::ScmpCmpLe => {
            a.load(off_arg_hi(i));
            a.jgt(vh, f, To::Next);
            a.jeq(vh, To::Next, p);
            a.load(off_arg_lo(i));
            if c.op() == Op::ScmpCmpLt {
                a.jge(vl, f, To::Next);
            } else {
                a.jgt(vl, f, To::Next);
            }
        }
        Op::ScmpCmpMaskedEq => {
            let want = c.value_two().unwrap_or(0);
            a.load(off_arg_hi(i));
            a.and(vh);
            a.jeq((want >> 32) as u32, To::Next, f);
            a.load(off_arg_lo(i));
            a.and(vl);
            a.jeq(want as u32, To::Next, f);
        }
    }
    a.bind(pass);
}
