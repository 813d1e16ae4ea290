//! The policy's numbers as the documentation prints them: SECURITY.md's
//! table of fates and the README's counts are these strings, between
//! marker comments, and `tests/docs.rs` fails when they differ (run it
//! with `MOAT_WRITE_DOCS=1` to rewrite them).

use std::fmt::Write as _;

use crate::fate::{Entry, Fate};

/// How many calls have each fate.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Native, argument checks included.
    pub native: usize,
    /// Native when their argument checks hold.
    pub checked: usize,
    pub emulated: usize,
    pub supervised: usize,
    pub denied: usize,
}

pub(crate) fn counts(entries: &[Entry]) -> Counts {
    let mut c = Counts::default();
    for e in entries {
        match e.fate {
            Fate::Native => c.native += 1,
            Fate::NativeIf { .. } => {
                c.native += 1;
                c.checked += 1;
            }
            Fate::Emulated { .. } => c.emulated += 1,
            Fate::Supervised { .. } | Fate::SupervisedUnless { .. } => c.supervised += 1,
            Fate::Denied { .. } => c.denied += 1,
        }
    }
    c
}

fn names(entries: &[Entry], pick: impl Fn(&Fate) -> bool) -> String {
    let n: Vec<String> = entries
        .iter()
        .filter(|e| pick(&e.fate))
        .map(|e| format!("`{}`", e.name))
        .collect();
    n.join(", ")
}

/// The README's one-line summary of the counts.
pub(crate) fn summary(entries: &[Entry]) -> String {
    let c = counts(entries);
    format!(
        "{} native ({} of them with argument checks), {} emulated, {} supervised, {} denied",
        c.native, c.checked, c.emulated, c.supervised, c.denied
    )
}

/// SECURITY.md's table of fates.
pub(crate) fn fates_table(entries: &[Entry]) -> String {
    let c = counts(entries);
    let denied_with = |errno: i32| {
        entries
            .iter()
            .filter(|e| matches!(e.fate, Fate::Denied { errno: x } if x == errno))
            .count()
    };
    let mut out = String::new();
    let _ = writeln!(out, "| fate | how many | what it means |\n|---|---|---|");
    let _ = writeln!(
        out,
        "| **native** | {} ({} of them with argument checks: {}) | the host kernel serves the call directly; each row of `moat policy` says why |",
        c.native,
        c.checked,
        names(entries, |f| matches!(f, Fate::NativeIf { .. }))
    );
    let _ = writeln!(
        out,
        "| **emulated** | {} | the kernel stops the caller and the sentry answers from the sandbox's own state ({}) |",
        c.emulated,
        names(entries, |f| matches!(f, Fate::Emulated { .. }))
    );
    let _ = writeln!(
        out,
        "| **supervised** | {} | the OCI profile's verdict applies first, then the gofer receives the call: it performs the open, mutating, xattr and mount calls as the caller, continues those the kernel checks again as the caller with nothing for the sandbox to decide (the metadata reads, `execve`, `chdir`, path socket `bind`/`connect`/`sendto`...), and forwards the rest to the sentry; three run natively for an argument the filter reads (`newfstatat`/`statx` with `AT_EMPTY_PATH`, glibc's `fstat`; `sendto` without a path-sized address) |",
        c.supervised
    );
    let _ = writeln!(
        out,
        "| **denied** | {} ({} EPERM, {} ENOSYS) | fails in the kernel; the sentry never sees it; each row of `moat policy` says what it would reach |",
        c.denied,
        denied_with(libc::EPERM),
        denied_with(libc::ENOSYS)
    );
    out
}
