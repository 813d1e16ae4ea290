//! moat's syscall policy: one table giving every x86_64 system call one
//! fate, and the seccomp programs compiled from it and from OCI profiles.
//!
//! # Three fates
//!
//! | fate | in the kernel | meaning |
//! |---|---|---|
//! | native (optionally with argument checks) | `SECCOMP_RET_ALLOW`, else an errno | the host kernel serves the call |
//! | emulated | `SECCOMP_RET_USER_NOTIF` | the sentry answers, in the handler module the table names |
//! | denied | `SECCOMP_RET_ERRNO` | fails at once; the sentry never sees it |
//!
//! Numbers the table does not know (gaps, newer kernels' calls) fail with
//! ENOSYS. Calls through the i386 entry (`int 0x80`) kill the process;
//! calls through the x32 ABI fail with ENOSYS.
//!
//! # Stacking
//!
//! A workload carries two filters: [`moat_filter`], which owns the notify
//! listener, and the profile of its `config.json` compiled by
//! [`compile_oci`]. The kernel runs every filter of a thread and applies the
//! verdict of highest precedence:
//!
//! KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW
//!
//! so a denial in either filter wins over the other's notify or allow, and
//! the OCI profile keeps its meaning. Between two verdicts of the same
//! action, the data (the errno) comes from the filter installed last. The
//! calls the sentry emulates are compiled as ALLOW into the OCI filter
//! (`passthrough`), or the profile's errno would keep them from the sentry.
//!
//! # Use
//!
//! ```no_run
//! # fn main() -> Result<(), moat_policy::PolicyError> {
//! # let spec_profile: oci_spec::runtime::LinuxSeccomp = Default::default();
//! use moat_policy::{compile_oci, emulated_nrs, install, moat_filter};
//! let moat = moat_filter();
//! let passthrough: Vec<u32> = emulated_nrs().collect();
//! let oci = compile_oci(&spec_profile, &passthrough)?;
//! // In the workload, with no_new_privs set, before execve:
//! let listener = install(&moat, moat_policy::SECCOMP_FILTER_FLAG_NEW_LISTENER)?;
//! install(&oci.program, oci.flags)?;
//! # let _ = listener; Ok(()) }
//! ```

#[cfg(not(target_arch = "x86_64"))]
compile_error!("moat's syscall policy covers x86_64 only: the table holds x86_64 numbers");

mod bpf;
pub mod capabilities;
mod cond;
pub mod confine;
mod dispatch;
mod docs;
mod error;
mod fate;
mod filter;
mod install;
mod oci;
mod other_arch;
pub mod server;
mod table;

#[cfg(test)]
#[path = "../tests/common/interp.rs"]
mod interp;

pub use docs::Counts;
pub use error::PolicyError;
pub use fate::{ArgCheck, CmpOp, Entry, Fate};
pub use filter::moat_filter;
pub use install::{install, SECCOMP_FILTER_FLAG_NEW_LISTENER};
pub use oci::{compile_oci, CompiledProfile};
pub use table::MAX_NR;

/// The whole table, sorted by number, one entry per number.
pub fn table() -> &'static [Entry] {
    table::TABLE
}

/// The entry of the system call named `name` (x86_64 names only).
pub fn lookup_name(name: &str) -> Option<&'static Entry> {
    table().iter().find(|e| e.name == name)
}

/// The entry of system call number `nr`.
pub fn lookup_nr(nr: u32) -> Option<&'static Entry> {
    let t = table();
    t.binary_search_by_key(&nr, |e| e.nr).ok().map(|i| &t[i])
}

/// A system call's name, for strace-like logs.
pub fn syscall_name(nr: u64) -> Option<&'static str> {
    u32::try_from(nr).ok().and_then(lookup_nr).map(|e| e.name)
}

/// The numbers moat's filter routes to the sentry.
pub fn emulated_nrs() -> impl Iterator<Item = u32> {
    table()
        .iter()
        .filter(|e| matches!(e.fate, Fate::Emulated { .. }))
        .map(|e| e.nr)
}

/// The table as text, `NR NAME FATE HANDLER/ERRNO`, one line per system
/// call and a last line for the numbers it does not list (`moat policy`).
pub fn render_table() -> String {
    fate::render(table())
}

/// How many calls have each fate.
pub fn counts() -> Counts {
    docs::counts(table())
}

/// The README's summary of the counts (between `<!-- policy:counts -->`
/// markers there).
pub fn counts_summary() -> String {
    docs::summary(table())
}

/// SECURITY.md's table of fates (between `<!-- policy:fates -->` markers
/// there).
pub fn fates_table() -> String {
    docs::fates_table(table())
}
