//! The vocabulary of the policy table: entries, fates and argument checks,
//! and the table's printed form.

use std::fmt::{self, Write as _};

/// How an argument check compares `arg & mask` with its `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `arg & mask == value`. With `value` 0: none of the mask's bits is set.
    Eq,
    /// `arg & mask != value`. With `value` 0: some bit of the mask is set.
    Ne,
}

/// One condition on one system call argument. All 64 bits take part: the
/// compiled program compares the upper and the lower half of the argument.
/// An `int` argument, which the kernel truncates, is checked with a mask of
/// `0xffff_ffff`, so that garbage in the upper half cannot change the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgCheck {
    /// Argument index, 0..=5.
    pub arg: u8,
    pub mask: u64,
    pub op: CmpOp,
    pub value: u64,
}

/// What happens to a system call.
#[derive(Debug)]
pub enum Fate {
    /// Allowed in the kernel (`SECCOMP_RET_ALLOW`).
    Native,
    /// Allowed in the kernel when, for at least one of the alternatives,
    /// every check holds; otherwise the call fails with `errno`.
    NativeIf {
        any_of: &'static [&'static [ArgCheck]],
        errno: i32,
    },
    /// Sent to the sentry (`SECCOMP_RET_USER_NOTIF`), which answers it in
    /// its handler module of this name.
    Emulated { handler: &'static str },
    /// Sent to the sentry like an emulated call, which checks it and lets
    /// the kernel run it (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`), or answers
    /// it (the file calls the sentry resolves). Unlike an emulated call,
    /// the OCI profile's verdict on it still applies first.
    Supervised { handler: &'static str },
    /// Allowed in the kernel when, for at least one of the alternatives,
    /// every check holds (the cheap case: `sendto` without an address);
    /// otherwise [`Fate::Supervised`].
    SupervisedUnless {
        native_if: &'static [&'static [ArgCheck]],
        handler: &'static str,
    },
    /// Fails in the kernel with `errno` (`SECCOMP_RET_ERRNO`); the sentry
    /// never sees it.
    Denied { errno: i32 },
}

/// One row of the table: one x86_64 system call.
#[derive(Debug)]
pub struct Entry {
    pub nr: u32,
    pub name: &'static str,
    pub fate: Fate,
    /// Why the call has this fate: for a native call, why workloads need
    /// it and why the host kernel may serve it (every native row has one);
    /// for a denied call, what it would reach. Empty for calls the sentry
    /// handles (the handler says it).
    pub reason: &'static str,
}

impl Entry {
    /// The sentry handler module, for emulated calls.
    pub fn handler(&self) -> Option<&'static str> {
        match self.fate {
            Fate::Emulated { handler }
            | Fate::Supervised { handler }
            | Fate::SupervisedUnless { handler, .. } => Some(handler),
            _ => None,
        }
    }
}

/// The symbolic name of the errnos the policy uses.
pub(crate) fn errno_name(e: i32) -> String {
    match e {
        libc::EPERM => "EPERM".into(),
        libc::ENOSYS => "ENOSYS".into(),
        libc::EAFNOSUPPORT => "EAFNOSUPPORT".into(),
        n => format!("errno {n}"),
    }
}

impl fmt::Display for ArgCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        };
        match self.mask {
            u64::MAX => write!(f, "arg{} {op} {:#x}", self.arg, self.value),
            0xffff_ffff => write!(f, "(u32)arg{} {op} {:#x}", self.arg, self.value),
            m => write!(f, "arg{} & {m:#x} {op} {:#x}", self.arg, self.value),
        }
    }
}

fn describe(any_of: &[&[ArgCheck]]) -> String {
    let alternatives: Vec<String> = any_of
        .iter()
        .map(|all| {
            let s: Vec<String> = all.iter().map(ToString::to_string).collect();
            if all.len() > 1 && any_of.len() > 1 {
                format!("({})", s.join(" and "))
            } else {
                s.join(" and ")
            }
        })
        .collect();
    alternatives.join(" or ")
}

/// The table as text, one line per system call (`moat policy`).
pub(crate) fn render(entries: &[Entry]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>3}  {:<24} {:<10} HANDLER/ERRNO",
        "NR", "NAME", "FATE"
    );
    for e in entries {
        let (fate, detail) = match &e.fate {
            Fate::Native => ("native", String::new()),
            Fate::NativeIf { any_of, errno } => (
                "native-if",
                format!("{} unless {}", errno_name(*errno), describe(any_of)),
            ),
            Fate::Emulated { handler } => ("emulated", (*handler).to_string()),
            Fate::Supervised { handler } => ("supervised", (*handler).to_string()),
            Fate::SupervisedUnless { native_if, handler } => (
                "supervised",
                format!("{handler}, native if {}", describe(native_if)),
            ),
            Fate::Denied { errno } => ("denied", errno_name(*errno)),
        };
        let detail = match (detail.is_empty(), e.reason.is_empty()) {
            (_, true) => detail,
            (true, false) => format!("# {}", e.reason),
            (false, false) => format!("{detail}  # {}", e.reason),
        };
        let line = format!("{:>3}  {:<24} {:<10} {detail}", e.nr, e.name, fate);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "other numbers: denied ENOSYS; i386 entry (int 0x80): process killed; x32 entry: ENOSYS"
    );
    out
}
