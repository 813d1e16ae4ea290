//! The sentry's own allowlists. A notify thread reads pointers chosen by
//! the workload, so it runs under a filter of its own (per thread, as
//! Firecracker does) allowing only what serving a call needs; anything
//! else fails with EPERM.

use libc::sock_filter;

use crate::bpf::{self, Asm, Jmp, To};
use crate::{lookup_name, PolicyError};

/// What a notify thread may call: waiting for and answering notifications,
/// the caller's memory and status through /proc, sysinfo, logging, memory
/// management and thread exit.
pub const NOTIFY_THREAD: &[&str] = &[
    "poll",
    "ppoll",
    "ioctl",
    "read",
    "pread64",
    "write",
    "pwrite64",
    "writev",
    "openat",
    "close",
    "fstat",
    "newfstatat",
    "statx",
    "lseek",
    "getdents64",
    "pidfd_open",
    "sysinfo",
    "getpid",
    "gettid",
    "clock_gettime",
    "getrandom",
    "futex",
    "sched_yield",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "brk",
    "madvise",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "restart_syscall",
    "exit",
    "exit_group",
];

/// What the whole sentry may call once the sandbox is built (every thread;
/// notify threads add their stricter list on top): its threads, memory and
/// signals, its descriptors and /proc files, the control and spawner
/// sockets, reaping and signalling its children, installing the notify
/// threads' filters. No execve, no new sockets, no mounts, namespaces,
/// ptrace or cross-process memory calls: exec stages come from the
/// spawner, started before the sentry confined itself.
pub const SENTRY: &[&str] = &[
    // threads, memory, signals
    "clone",
    "clone3",
    "set_robust_list",
    "rseq",
    "futex",
    "sched_yield",
    "sched_getaffinity",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "brk",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigtimedwait",
    "sigaltstack",
    "restart_syscall",
    "prctl",
    "gettid",
    "getpid",
    "getuid",
    "geteuid",
    "getrandom",
    "clock_gettime",
    "clock_nanosleep",
    "nanosleep",
    "exit",
    "exit_group",
    // descriptors and /proc files
    "read",
    "write",
    "writev",
    "pread64",
    "pwrite64",
    "lseek",
    "openat",
    "close",
    "fstat",
    "newfstatat",
    "statx",
    "getdents64",
    "fcntl",
    "ioctl",
    "poll",
    "ppoll",
    // the control and spawner sockets
    "accept4",
    "recvmsg",
    "sendmsg",
    "recvfrom",
    "sendto",
    "getsockopt",
    "socketpair",
    // children
    "wait4",
    "waitid",
    "kill",
    "tgkill",
    "pidfd_open",
    "pidfd_send_signal",
    // notify threads
    "seccomp",
    "sysinfo",
];

/// An allowlist program: the named calls are allowed, every other number
/// fails with EPERM; foreign architectures kill, as everywhere.
pub fn allowlist_filter(names: &[&str]) -> Result<Vec<sock_filter>, PolicyError> {
    let mut nrs = Vec::with_capacity(names.len());
    for n in names {
        let e = lookup_name(n).ok_or_else(|| PolicyError::UnknownSyscall(n.to_string()))?;
        nrs.push(e.nr);
    }
    nrs.sort_unstable();
    nrs.dedup();
    let mut a = Asm::default();
    bpf::prologue(&mut a);
    let allow = a.label();
    for nr in nrs {
        a.jump(Jmp::Eq, nr, To::L(allow), To::Next);
    }
    a.ret(bpf::errno(libc::EPERM as u32));
    a.bind(allow);
    a.ret(bpf::RET_ALLOW);
    a.finish()
}

/// The allowlists as text (`moat policy --sentry`).
pub fn render_allowlists() -> String {
    format!(
        "sentry, every thread ({} calls, anything else EPERM):\n  {}\n\
         sentry notify threads, on top ({} calls, anything else EPERM):\n  {}\n",
        SENTRY.len(),
        SENTRY.join(" "),
        NOTIFY_THREAD.len(),
        NOTIFY_THREAD.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_thread_list_is_small_and_known() {
        assert!(
            NOTIFY_THREAD.len() < 40,
            "the notify allowlist grew to {}",
            NOTIFY_THREAD.len()
        );
        let prog = allowlist_filter(NOTIFY_THREAD).unwrap();
        assert!(prog.len() < 60);
        for banned in [
            "execve", "clone", "socket", "connect", "ptrace", "mount", "setns", "kill",
        ] {
            assert!(!NOTIFY_THREAD.contains(&banned), "{banned}");
        }
        assert!(allowlist_filter(&["nosuchcall"]).is_err());
    }

    #[test]
    fn sentry_list_is_small_and_cannot_leave_the_sandbox() {
        assert!(
            SENTRY.len() < 70,
            "the sentry allowlist grew to {}",
            SENTRY.len()
        );
        assert!(allowlist_filter(SENTRY).is_ok());
        for banned in [
            "execve",
            "execveat",
            "socket",
            "connect",
            "bind",
            "ptrace",
            "mount",
            "umount2",
            "setns",
            "unshare",
            "pivot_root",
            "chroot",
            "process_vm_readv",
            "process_vm_writev",
            "open_by_handle_at",
            "bpf",
            "capset",
            "setuid",
        ] {
            assert!(!SENTRY.contains(&banned), "{banned}");
        }
        // Filters stack: a notify thread can only use what the sentry may.
        for name in NOTIFY_THREAD {
            assert!(SENTRY.contains(name), "{name} is in the notify list only");
        }
    }
}
