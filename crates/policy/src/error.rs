//! The crate's one error type; every message is one line.

/// What can go wrong compiling or installing a seccomp program.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A profile names a system call that exists on no Linux architecture.
    #[error("unknown syscall {0:?} in linux.seccomp")]
    UnknownSyscall(String),
    /// A profile asks for something moat does not do (notify actions,
    /// `listenerPath`, an argument index above 5, ...).
    #[error("linux.seccomp: {0}")]
    Unsupported(String),
    /// The program does not fit the kernel's limit of 4096 instructions.
    #[error("seccomp program too long: {0} instructions, the kernel takes at most 4096")]
    TooLong(usize),
    /// The assembler was handed an inconsistent program: a bug in this crate.
    #[error("internal error assembling a seccomp program: {0}")]
    Assemble(&'static str),
    /// `seccomp(2)` refused the program.
    #[error("installing seccomp filter: {0}")]
    Install(std::io::Error),
    /// With `SECCOMP_FILTER_FLAG_TSYNC`, another thread could not take the filter.
    #[error("installing seccomp filter: thread {0} could not be synchronized")]
    Tsync(i64),
}
