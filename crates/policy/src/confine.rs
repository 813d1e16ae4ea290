//! moat's own processes' allowlists: the sentry's, the gofer's, and the
//! stricter one of the sentry's thread that reads pointers chosen by the
//! workload (the calls the gofer forwards: `NOTIFY_THREAD`), a filter of
//! its own per thread, as Firecracker does; anything else fails with EPERM.

use libc::sock_filter;

use crate::bpf::{self, Asm, Jmp, To};
use crate::fate::{ArgCheck, CmpOp};
use crate::{lookup_name, PolicyError};

/// What a notify thread may call: waiting for and answering notifications,
/// the caller's memory and status through /proc, a copy of a descriptor
/// the caller names (`pidfd_getfd`: its inotify instance, its socket),
/// sysinfo, logging, memory management and thread exit.
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
    "readlinkat",
    "lseek",
    "getdents64",
    "pidfd_open",
    // the caller's descriptor a call names: inotify_add_watch adds its
    // watch to the caller's inotify instance; bind/connect check that
    // the descriptor is an AF_UNIX socket (SO_DOMAIN)
    "pidfd_getfd",
    "inotify_add_watch",
    "getsockopt",
    // synthetic /proc files
    "memfd_create",
    // the gofer socket
    "sendmsg",
    "recvmsg",
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
    "readlinkat",
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
    // notify threads: the caller's descriptors (inotify_add_watch, bind)
    "pidfd_getfd",
    "inotify_add_watch",
    // notify threads
    "seccomp",
    "memfd_create",
    "sysinfo",
];

/// What the gofer may call: what its workers perform for the workload
/// (every file call the policy routes to it, `mount`/`umount2` included,
/// which the kernel allows only with the caller's worn `CAP_SYS_ADMIN`),
/// taking on a caller's identity (`setfsuid`, `setfsgid`, `setgroups`,
/// `capset`, `umask`, `unshare(CLONE_FS)` only, `chroot`, `fchdir`), the
/// caller's memory and descriptors (`process_vm_*`, `pidfd_*`), the
/// notify ioctls and the socket to the sentry, threads, memory, logging
/// and exit. No execve, no new sockets, no namespaces, no ptrace.
pub const GOFER: &[&str] = &[
    // the socket to the sentry, the listeners
    "recvmsg",
    "sendmsg",
    "poll",
    "ioctl",
    // the calls the workers perform
    "openat",
    "openat2",
    "close",
    "read",
    "pread64",
    "newfstatat",
    "statx",
    "fstatfs",
    "readlinkat",
    "mkdirat",
    "mknodat",
    "unlinkat",
    "renameat2",
    "linkat",
    "symlinkat",
    "fchmodat2",
    "fchownat",
    "truncate",
    "utimensat",
    "futimesat",
    "utime",
    "setxattr",
    "lsetxattr",
    "getxattr",
    "lgetxattr",
    "listxattr",
    "llistxattr",
    "removexattr",
    "lremovexattr",
    "inotify_add_watch",
    "mount",
    "umount2",
    // the caller: its memory, its descriptors, its identity
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_open",
    "pidfd_getfd",
    "setfsuid",
    "setfsgid",
    "setgroups",
    "capset",
    "capget",
    "umask",
    "unshare",
    "chroot",
    "fchdir",
    // F_GETFD: std checks a descriptor before closing it (debug builds)
    "fcntl",
    // worker threads, waking them
    "clone",
    "clone3",
    "set_robust_list",
    "rseq",
    "gettid",
    "getpid",
    "tgkill",
    // memory, logging, exit
    "write",
    "writev",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "brk",
    "futex",
    "getrandom",
    "clock_gettime",
    "sched_yield",
    "sched_getaffinity",
    // the interrupting thread's tick (gofer/src/interrupt.rs)
    "clock_nanosleep",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "restart_syscall",
    "exit",
    "exit_group",
];

/// Calls of [`GOFER`] allowed only with these arguments (else EPERM):
/// `unshare(CLONE_FS)` (a worker's own root, cwd and umask), and `clone`
/// of threads only (`CLONE_THREAD`).
pub const GOFER_CHECKED: &[(&str, &[ArgCheck])] = &[
    (
        "unshare",
        &[ArgCheck {
            arg: 0,
            mask: 0xffff_ffff,
            op: CmpOp::Eq,
            value: libc::CLONE_FS as u64,
        }],
    ),
    (
        "clone",
        &[ArgCheck {
            arg: 0,
            mask: libc::CLONE_THREAD as u64,
            op: CmpOp::Eq,
            value: libc::CLONE_THREAD as u64,
        }],
    ),
];

/// The gofer's program: [`GOFER`] allowed, with [`GOFER_CHECKED`]'s
/// conditions; anything else EPERM; foreign architectures kill.
pub fn gofer_filter() -> Result<Vec<sock_filter>, PolicyError> {
    checked_allowlist_filter(GOFER, GOFER_CHECKED)
}

/// An allowlist program where the calls named in `checked` are allowed
/// only when all of their checks hold.
pub fn checked_allowlist_filter(
    names: &[&str],
    checked: &[(&str, &[ArgCheck])],
) -> Result<Vec<sock_filter>, PolicyError> {
    let mut nrs = Vec::with_capacity(names.len());
    for n in names {
        let e = lookup_name(n).ok_or_else(|| PolicyError::UnknownSyscall(n.to_string()))?;
        let checks = checked.iter().find(|(c, _)| c == n).map(|(_, c)| *c);
        nrs.push((e.nr, checks));
    }
    nrs.sort_unstable_by_key(|(nr, _)| *nr);
    nrs.dedup_by_key(|(nr, _)| *nr);
    let mut a = Asm::default();
    bpf::prologue(&mut a);
    let allow = a.label();
    let mut blocks = Vec::new();
    for (nr, checks) in nrs {
        let to = match checks {
            None => allow,
            Some(c) => {
                let l = a.label();
                blocks.push((l, c));
                l
            }
        };
        a.jump(Jmp::Eq, nr, To::L(to), To::Next);
    }
    a.ret(bpf::errno(libc::EPERM as u32));
    for (l, checks) in blocks {
        a.bind(l);
        crate::filter::emit_alternatives(&mut a, &[checks], bpf::errno(libc::EPERM as u32));
    }
    a.bind(allow);
    a.ret(bpf::RET_ALLOW);
    a.finish()
}

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

/// The allowlists as text (`moat policy`).
pub fn render_allowlists() -> String {
    format!(
        "sentry, every thread ({} calls, anything else EPERM):\n  {}\n\
         sentry threads that read workload memory (gofer-link), on top ({} calls, anything else EPERM):\n  {}\n\
         gofer ({} calls, anything else EPERM):\n  {}\n  with arguments: {}\n",
        SENTRY.len(),
        SENTRY.join(" "),
        NOTIFY_THREAD.len(),
        NOTIFY_THREAD.join(" "),
        GOFER.len(),
        GOFER.join(" "),
        render_checked(GOFER_CHECKED)
    )
}

fn render_checked(checked: &[(&str, &[ArgCheck])]) -> String {
    let one = |(name, checks): &(&str, &[ArgCheck])| {
        let conds: Vec<String> = checks
            .iter()
            .map(|c| {
                let op = if c.op == CmpOp::Eq { "==" } else { "!=" };
                format!("arg{} & {:#x} {op} {:#x}", c.arg, c.mask, c.value)
            })
            .collect();
        format!("{name}({})", conds.join(" && "))
    };
    checked.iter().map(one).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_thread_list_is_small_and_known() {
        assert!(
            NOTIFY_THREAD.len() < 43,
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

    #[test]
    fn gofer_list_is_small_and_file_only() {
        assert!(
            GOFER.len() < 90,
            "the gofer allowlist grew to {}",
            GOFER.len()
        );
        for banned in [
            "execve",
            "execveat",
            "open",
            "setns",
            "pivot_root",
            "ptrace",
            "kill",
            "socket",
            "socketpair",
            "accept4",
            "setuid",
            "open_by_handle_at",
            "bpf",
            "seccomp",
            "fsopen",
            "move_mount",
        ] {
            assert!(!GOFER.contains(&banned), "{banned}");
        }
        for (name, _) in GOFER_CHECKED {
            assert!(GOFER.contains(name), "{name}");
        }
        let prog = gofer_filter().unwrap();
        crate::interp::validate(&prog);
        let nr = |n: &str| lookup_name(n).map(|e| e.nr).unwrap_or(u32::MAX);
        let run = |n: &str, a0: u64| {
            crate::interp::run(&prog, bpf::AUDIT_ARCH_X86_64, nr(n), [a0, 0, 0, 0, 0, 0])
        };
        let eperm = bpf::errno(libc::EPERM as u32);
        assert_eq!(run("unshare", libc::CLONE_FS as u64), bpf::RET_ALLOW);
        assert_eq!(run("unshare", libc::CLONE_NEWNS as u64), eperm);
        assert_eq!(
            run("unshare", (libc::CLONE_FS | libc::CLONE_NEWUSER) as u64),
            eperm
        );
        let thread = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
        assert_eq!(run("clone", thread), bpf::RET_ALLOW);
        assert_eq!(run("clone", libc::SIGCHLD as u64), eperm);
        assert_eq!(run("openat2", 0), bpf::RET_ALLOW);
        assert_eq!(run("execve", 0), eperm);
        assert!(render_allowlists().contains("unshare(arg0 & 0xffffffff == 0x200)"));
    }
}
