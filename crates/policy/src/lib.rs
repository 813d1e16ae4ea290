//! moat's syscall policy: one table giving every x86_64 system call one of
//! three fates, and the seccomp programs compiled from it and from OCI
//! profiles.
//!
//! | fate | in the kernel |
//! |---|---|
//! | native (optionally with argument checks) | `SECCOMP_RET_ALLOW`, else an errno |
//! | emulated | `SECCOMP_RET_USER_NOTIF`: the sentry answers |
//! | denied | `SECCOMP_RET_ERRNO` |
//!
//! Unknown numbers get ENOSYS; the i386 entry (`int 0x80`) kills the process
//! and the x32 entry gets ENOSYS. Filters stack: the kernel runs all of a
//! thread's filters and takes the verdict of highest precedence (KILL >
//! TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW), so the OCI profile
//! installed beside moat's filter keeps its meaning.

#[cfg(not(target_arch = "x86_64"))]
compile_error!("moat's syscall policy covers x86_64 only");

mod bpf;
mod filter;
mod install;
mod oci;
mod oci_names;
mod table;

pub use filter::moat_filter;
pub use install::install;
pub use oci::{compile_oci, CompiledProfile};

/// A condition on one argument, compared on its low 32 bits (every
/// argument checked is an `int` or keeps its flags there).
#[derive(Debug)]
pub enum ArgCheck {
    /// `arg & mask == 0`.
    MaskedZero { arg: u8, mask: u64 },
    /// `arg` is one of `values`.
    OneOf { arg: u8, values: &'static [u64] },
    /// `arg & mask` is none of `values`.
    MaskedNoneOf {
        arg: u8,
        mask: u64,
        values: &'static [u64],
    },
}

/// What happens to a system call.
#[derive(Debug)]
pub enum Fate {
    Native,
    /// Native when every check holds, else `errno`.
    NativeIf {
        checks: &'static [ArgCheck],
        errno: i32,
    },
    /// Answered by the sentry's handler module of this name.
    Emulated {
        handler: &'static str,
    },
    Denied {
        errno: i32,
    },
}

/// One row of the table.
#[derive(Debug)]
pub struct Entry {
    pub nr: u32,
    pub name: &'static str,
    pub fate: Fate,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("unknown syscall {0:?} in linux.seccomp")]
    UnknownSyscall(String),
    #[error("linux.seccomp: {0}")]
    Unsupported(String),
    #[error("seccomp program too long ({0} instructions)")]
    TooLong(usize),
    #[error("installing seccomp filter: {0}")]
    Install(std::io::Error),
}

/// The whole table, sorted by number.
pub fn table() -> &'static [Entry] {
    table::TABLE
}

pub fn lookup_name(name: &str) -> Option<&'static Entry> {
    table().iter().find(|e| e.name == name)
}

pub fn lookup_nr(nr: u32) -> Option<&'static Entry> {
    table()
        .binary_search_by_key(&nr, |e| e.nr)
        .ok()
        .map(|i| &table()[i])
}

/// A syscall's name, for logs.
pub fn syscall_name(nr: u64) -> Option<&'static str> {
    u32::try_from(nr).ok().and_then(lookup_nr).map(|e| e.name)
}

/// Numbers routed to the sentry.
pub fn emulated_nrs() -> impl Iterator<Item = u32> {
    table()
        .iter()
        .filter(|e| matches!(e.fate, Fate::Emulated { .. }))
        .map(|e| e.nr)
}

fn errno_name(e: i32) -> String {
    match e {
        libc::EPERM => "EPERM".into(),
        libc::ENOSYS => "ENOSYS".into(),
        libc::EAFNOSUPPORT => "EAFNOSUPPORT".into(),
        n => format!("errno {n}"),
    }
}

/// The table as text, one line per syscall (`moat policy`).
pub fn render_table() -> String {
    let mut out = format!("{:>4}  {:<24} {:<9} {}\n", "NR", "NAME", "FATE", "DETAIL");
    for e in table() {
        let (fate, detail) = match &e.fate {
            Fate::Native => ("native", String::new()),
            Fate::NativeIf { checks, errno } => (
                "native",
                format!("if {}, else {}", describe(checks), errno_name(*errno)),
            ),
            Fate::Emulated { handler } => ("emulated", format!("sentry handler {handler}")),
            Fate::Denied { errno } => ("denied", errno_name(*errno)),
        };
        out.push_str(&format!(
            "{:>4}  {:<24} {:<9} {}\n",
            e.nr, e.name, fate, detail
        ));
    }
    out.push_str("other numbers: denied ENOSYS; i386 entry: process killed; x32 entry: ENOSYS\n");
    out
}

fn describe(checks: &[ArgCheck]) -> String {
    let parts: Vec<String> = checks
        .iter()
        .map(|c| match c {
            ArgCheck::MaskedZero { arg, mask } => format!("arg{arg} & {mask:#x} == 0"),
            ArgCheck::OneOf { arg, values } => format!("arg{arg} in {values:?}"),
            ArgCheck::MaskedNoneOf { arg, mask, values } => {
                format!(
                    "arg{arg} & {mask:#o} not in {:?}",
                    values.iter().map(|v| format!("{v:#o}")).collect::<Vec<_>>()
                )
            }
        })
        .collect();
    parts.join(" and ")
}
