//! The policy table: every x86_64 system call through Linux 6.18, each with
//! its fate. Numbers absent here (337..=423, 470 and up, which includes the
//! x32-only 512..=547) are unknown and get ENOSYS.
//!
//! Reviewed like code: changing a fate changes what every sandbox may do.
//! **Deny by default**: a call reaches the host kernel only where its row
//! says `native` with a one-line reason (why workloads need it and why the
//! host may serve it); the review set it against gVisor's amd64 syscall
//! table and Docker's default profile, and keeps at most 200 such rows (a
//! test counts them). Calls added to Linux after this review are not here,
//! so they fail with ENOSYS whatever the container's own profile says
//! (also under `seccomp=unconfined`).
//!
//! Every path-taking call is supervised: the OCI profile's verdict applies
//! first, then the gofer performs it as the caller, continues it to the
//! kernel, or forwards it to the sentry (`server`), or it is denied where
//! there is no handler yet (`setxattrat`, `getxattrat`, `listxattrat`,
//! `removexattrat`, `file_getattr`, `file_setattr`: ENOSYS, as from an
//! older kernel). `mknod` of a device is refused (`EPERM`) by its handler.
//! The exceptions are argument-filtered (`supervised_unless`) where the
//! filter can tell the sandbox has nothing to decide: glibc's `fstat`
//! (`newfstatat`/`statx` with `AT_EMPTY_PATH`) and `sendto` without a
//! path-sized address.
//! Numbers are written out; a test checks them against `libc::SYS_*` where
//! libc has the constant.

use crate::fate::{ArgCheck, CmpOp, Entry, Fate};
use libc::{EAFNOSUPPORT, ENOSYS, EPERM};

/// The largest number in the table (`file_setattr`, Linux 6.17).
pub const MAX_NR: u32 = 469;

/// Namespace flags of clone(2): namespaces are the sentry's business.
/// CLONE_NEWTIME (0x80) is not here: in clone(2) the low byte of the flags
/// is the exit signal, and only unshare(2) and clone3(2) take NEWTIME.
const CLONE_NS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u64;
const UNSHARE_NS: u64 = CLONE_NS | libc::CLONE_NEWTIME as u64;

/// `int` arguments: the kernel reads the low 32 bits only.
const INT: u64 = 0xffff_ffff;
const NETLINK_ROUTE: u64 = 0;

const fn check(arg: u8, mask: u64, op: CmpOp, value: u64) -> ArgCheck {
    ArgCheck {
        arg,
        mask,
        op,
        value,
    }
}

/// `(int)arg == value`.
const fn int_is(arg: u8, value: i32) -> ArgCheck {
    check(arg, INT, CmpOp::Eq, value as u64)
}

static CLONE: &[&[ArgCheck]] = &[&[check(0, CLONE_NS, CmpOp::Eq, 0)]];
static UNSHARE: &[&[ArgCheck]] = &[&[check(0, UNSHARE_NS, CmpOp::Eq, 0)]];
/// The socket type without SOCK_NONBLOCK and SOCK_CLOEXEC.
const SOCK_TYPE_MASK: u64 = 0xf;
/// The obsolete packet type (libc deprecates its constant).
const SOCK_PACKET: u64 = 10;
/// Internet sockets, but not raw ones (SOCK_RAW, the old SOCK_PACKET):
/// those forge packets and sniff the namespace's traffic, and Docker hands
/// out CAP_NET_RAW by default.
const NOT_RAW: [ArgCheck; 2] = [
    check(1, SOCK_TYPE_MASK, CmpOp::Ne, libc::SOCK_RAW as u64),
    check(1, SOCK_TYPE_MASK, CmpOp::Ne, SOCK_PACKET),
];
static SOCKET: &[&[ArgCheck]] = &[
    &[int_is(0, libc::AF_UNIX)],
    &[int_is(0, libc::AF_INET), NOT_RAW[0], NOT_RAW[1]],
    &[int_is(0, libc::AF_INET6), NOT_RAW[0], NOT_RAW[1]],
    &[
        int_is(0, libc::AF_NETLINK),
        check(2, INT, CmpOp::Eq, NETLINK_ROUTE),
    ],
];
static SOCKETPAIR: &[&[ArgCheck]] = &[&[int_is(0, libc::AF_UNIX)]];
/// `ioctl` requests refused on every descriptor: `TIOCSTI` pushes input
/// into a terminal another process reads (the sentry's console, a shell
/// outside), `TIOCLINUX` reaches the virtual console driver, `TIOCCONS`
/// redirects the console, and `TIOCSETD` attaches a line discipline (the
/// n_gsm use-after-frees were reached through a pty this way).
const TIOCSTI: u64 = 0x5412;
const TIOCCONS: u64 = 0x541d;
const TIOCLINUX: u64 = 0x541c;
const TIOCSETD: u64 = 0x5423;
static IOCTL: &[&[ArgCheck]] = &[&[
    check(1, INT, CmpOp::Ne, TIOCSTI),
    check(1, INT, CmpOp::Ne, TIOCCONS),
    check(1, INT, CmpOp::Ne, TIOCLINUX),
    check(1, INT, CmpOp::Ne, TIOCSETD),
]];
/// `prctl(PR_SET_MM, ...)` rewrites the caller's memory map descriptors
/// and its `/proc/self/exe` (with CAP_SYS_RESOURCE, which `--privileged`
/// hands out): what the sentry reads to vet an exec.
const PR_SET_MM: u64 = 35;
static PRCTL: &[&[ArgCheck]] = &[&[check(0, INT, CmpOp::Ne, PR_SET_MM)]];
/// Docker's default profile's personalities: PER_LINUX, PER_LINUX32,
/// UNAME26 and both, and the query `0xffffffff`. Not READ_IMPLIES_EXEC
/// or MMAP_PAGE_ZERO (a mapping at 0 turns kernel NULL dereferences into
/// exploits) or ADDR_NO_RANDOMIZE.
static PERSONALITY: &[&[ArgCheck]] = &[
    &[check(0, INT, CmpOp::Eq, 0)],
    &[check(0, INT, CmpOp::Eq, 0x8)],
    &[check(0, INT, CmpOp::Eq, 0x2_0000)],
    &[check(0, INT, CmpOp::Eq, 0x2_0008)],
    &[check(0, INT, CmpOp::Eq, 0xffff_ffff)],
];
/// `sendto` the sentry need not see: no address (a connected socket's
/// `send`), or one of the size of an IPv4 or IPv6 address (16, 28
/// bytes). A path Unix address of either size is not seen either (the
/// filter cannot read the address): the caller's kernel checks it alone.
static SENDTO_NATIVE: &[&[ArgCheck]] = &[
    &[check(4, u64::MAX, CmpOp::Eq, 0)],
    &[int_is(5, 16)],
    &[int_is(5, 28)],
];
/// `newfstatat`/`statx` with `AT_EMPTY_PATH` (argument 3 and 2): glibc's
/// `fstat` (`fstatat(fd, "", buf, AT_EMPTY_PATH)`), the descriptor's own
/// metadata, native as `fstat` is. The filter cannot read the path: a
/// non-empty one is resolved by the kernel as the caller, in the
/// caller's root, which is what continuing the supervised form does too
/// (a stat decides nothing in the sandbox), so this spelling reaches
/// nothing another does not.
const AT_EMPTY_PATH: u64 = libc::AT_EMPTY_PATH as u64;
static NEWFSTATAT_FD: &[&[ArgCheck]] = &[&[check(3, AT_EMPTY_PATH, CmpOp::Eq, AT_EMPTY_PATH)]];
static STATX_FD: &[&[ArgCheck]] = &[&[check(2, AT_EMPTY_PATH, CmpOp::Eq, AT_EMPTY_PATH)]];
const fn entry(nr: u32, name: &'static str, fate: Fate, reason: &'static str) -> Entry {
    Entry {
        nr,
        name,
        fate,
        reason,
    }
}

/// A call the host kernel serves; `reason` says why the workload needs it
/// and why the host may serve it.
const fn native(nr: u32, name: &'static str, reason: &'static str) -> Entry {
    entry(nr, name, Fate::Native, reason)
}

const fn native_if(
    nr: u32,
    name: &'static str,
    any_of: &'static [&'static [ArgCheck]],
    errno: i32,
    reason: &'static str,
) -> Entry {
    entry(nr, name, Fate::NativeIf { any_of, errno }, reason)
}

const fn emulated(nr: u32, name: &'static str, handler: &'static str) -> Entry {
    entry(nr, name, Fate::Emulated { handler }, "")
}

const fn supervised(nr: u32, name: &'static str, handler: &'static str) -> Entry {
    entry(nr, name, Fate::Supervised { handler }, "")
}

const fn supervised_unless(
    nr: u32,
    name: &'static str,
    handler: &'static str,
    native_if: &'static [&'static [ArgCheck]],
) -> Entry {
    entry(nr, name, Fate::SupervisedUnless { native_if, handler }, "")
}

const fn denied(nr: u32, name: &'static str, errno: i32, reason: &'static str) -> Entry {
    entry(nr, name, Fate::Denied { errno }, reason)
}

// Reasons several native rows share.
const FD: &str = "a descriptor the workload holds; opening it was vetted";
const ID: &str = "the caller's own credentials, bounded by its capabilities";
const SOCK: &str =
    "a socket of an allowed family (socket is checked) in the container's net namespace";
const EVENT: &str = "an event descriptor of the caller's own";
const MEM: &str = "the caller's own address space";
const SCHED: &str = "the caller's scheduling, within its cgroup's cpuset";
const SYSV: &str = "System V IPC of the container's own IPC namespace";
const TIME: &str = "reads clocks or sleeps; setting clocks is denied";
const FDTABLE: &str = "the caller's descriptor table";
const SIG: &str = "signals stay in the sandbox's pid namespace";
const TIMER: &str = "POSIX timers of the caller";
const WAIT: &str = "waits on the caller's descriptors";
const LIFE: &str = "process life cycle inside the sandbox's pid namespace";
const ITIMER: &str = "the caller's interval timers";
const PIDS: &str = "ids in the sandbox's pid namespace";
const PGRP: &str = "process groups inside the sandbox";
const SIGSTATE: &str = "the caller's signal state";
const AIO: &str = "kernel AIO contexts of the caller";
const LANDLOCK: &str = "the caller sandboxes itself further";

/// Sorted by number, one entry per number.
pub(crate) static TABLE: &[Entry] = &[
    native(0, "read", FD),
    native(1, "write", FD),
    supervised(2, "open", "open"),
    native(3, "close", FDTABLE),
    supervised(4, "stat", "stat"),
    native(5, "fstat", FD),
    supervised(6, "lstat", "stat"),
    native(7, "poll", WAIT),
    native(8, "lseek", FD),
    native(9, "mmap", "the caller's own address space; file mappings need a held descriptor"),
    native(10, "mprotect", MEM),
    native(11, "munmap", MEM),
    native(12, "brk", MEM),
    native(13, "rt_sigaction", "the caller's signal handlers"),
    native(14, "rt_sigprocmask", "the caller's signal mask"),
    native(15, "rt_sigreturn", "returns from the caller's signal handler"),
    native_if(16, "ioctl", IOCTL, EPERM, "a descriptor the workload holds; opening it was vetted; no terminal injection or line disciplines"),
    native(17, "pread64", FD),
    native(18, "pwrite64", FD),
    native(19, "readv", FD),
    native(20, "writev", FD),
    supervised(21, "access", "access"),
    native(22, "pipe", "a pipe of the caller's own (musl's pipe())"),
    native(23, "select", WAIT),
    native(24, "sched_yield", SCHED),
    native(25, "mremap", MEM),
    native(26, "msync", MEM),
    native(27, "mincore", "the caller's own address space (only pages it could write, since Linux 5.0)"),
    native(28, "madvise", MEM),
    native(29, "shmget", SYSV),
    native(30, "shmat", SYSV),
    native(31, "shmctl", SYSV),
    native(32, "dup", FDTABLE),
    native(33, "dup2", FDTABLE),
    native(34, "pause", "waits for a signal"),
    native(35, "nanosleep", TIME),
    native(36, "getitimer", ITIMER),
    native(37, "alarm", ITIMER),
    native(38, "setitimer", ITIMER),
    native(39, "getpid", PIDS),
    native(40, "sendfile", "copies between two held descriptors"),
    native_if(41, "socket", SOCKET, EAFNOSUPPORT, "AF_UNIX, AF_INET, AF_INET6 (not raw), route netlink"),
    supervised(42, "connect", "unix"),
    native(43, "accept", SOCK),
    supervised_unless(44, "sendto", "unix", SENDTO_NATIVE),
    native(45, "recvfrom", SOCK),
    native(46, "sendmsg", SOCK),
    native(47, "recvmsg", SOCK),
    native(48, "shutdown", SOCK),
    supervised(49, "bind", "unix"),
    native(50, "listen", SOCK),
    native(51, "getsockname", SOCK),
    native(52, "getpeername", SOCK),
    native_if(53, "socketpair", SOCKETPAIR, EAFNOSUPPORT, "AF_UNIX only"),
    native(54, "setsockopt", SOCK),
    native(55, "getsockopt", SOCK),
    native_if(56, "clone", CLONE, EPERM, "no namespace flags: namespaces are the sentry's"),
    native(57, "fork", "process life cycle inside the sandbox's pid namespace (musl's fork())"),
    native(58, "vfork", "process life cycle inside the sandbox's pid namespace (glibc's vfork, posix_spawn)"),
    supervised(59, "execve", "exec"),
    native(60, "exit", LIFE),
    native(61, "wait4", LIFE),
    native(62, "kill", SIG),
    emulated(63, "uname", "uname"),
    native(64, "semget", SYSV),
    native(65, "semop", SYSV),
    native(66, "semctl", SYSV),
    native(67, "shmdt", SYSV),
    denied(68, "msgget", ENOSYS, "System V message queues: the kernel exploits' favourite heap spray (msg_msg); rare in programs"),
    denied(69, "msgsnd", ENOSYS, "System V message queues (see msgget)"),
    denied(70, "msgrcv", ENOSYS, "System V message queues (see msgget)"),
    denied(71, "msgctl", ENOSYS, "System V message queues (see msgget)"),
    native(72, "fcntl", FD),
    native(73, "flock", "a descriptor the workload holds; opening it was vetted; advisory locks"),
    native(74, "fsync", FD),
    native(75, "fdatasync", FD),
    supervised(76, "truncate", "truncate"),
    native(77, "ftruncate", "a descriptor the workload holds; opening it was vetted; Landlock still walls the rootfs"),
    native(78, "getdents", "a descriptor the workload holds; opening it was vetted (directory listing)"),
    native(79, "getcwd", "names the cwd as the caller's root sees it"),
    supervised(80, "chdir", "chdir"),
    native(81, "fchdir", "a directory descriptor the workload holds"),
    supervised(82, "rename", "rename"),
    supervised(83, "mkdir", "mkdir"),
    supervised(84, "rmdir", "unlink"),
    supervised(85, "creat", "open"),
    supervised(86, "link", "link"),
    supervised(87, "unlink", "unlink"),
    supervised(88, "symlink", "link"),
    supervised(89, "readlink", "readlink"),
    supervised(90, "chmod", "chmod"),
    supervised(91, "fchmod", "fdattr"),
    supervised(92, "chown", "chown"),
    supervised(93, "fchown", "fdattr"),
    supervised(94, "lchown", "chown"),
    native(95, "umask", "the caller's own file mode mask"),
    native(96, "gettimeofday", TIME),
    native(97, "getrlimit", "the caller's own limits"),
    native(98, "getrusage", "the caller's own resource usage"),
    emulated(99, "sysinfo", "sysinfo"),
    native(100, "times", "the caller's own CPU times"),
    denied(101, "ptrace", EPERM, "a tracer could rewrite calls after the sentry vetted them"),
    native(102, "getuid", ID),
    emulated(103, "syslog", "syslog"), // the sandbox's own kernel log
    native(104, "getgid", ID),
    native(105, "setuid", ID),
    native(106, "setgid", ID),
    native(107, "geteuid", ID),
    native(108, "getegid", ID),
    native(109, "setpgid", PGRP),
    native(110, "getppid", PIDS),
    native(111, "getpgrp", PGRP),
    native(112, "setsid", "sessions inside the sandbox"),
    native(113, "setreuid", ID),
    native(114, "setregid", ID),
    native(115, "getgroups", ID),
    native(116, "setgroups", ID),
    native(117, "setresuid", ID),
    native(118, "getresuid", ID),
    native(119, "setresgid", ID),
    native(120, "getresgid", ID),
    native(121, "getpgid", PGRP),
    native(122, "setfsuid", ID),
    native(123, "setfsgid", ID),
    native(124, "getsid", "sessions inside the sandbox"),
    native(125, "capget", ID),
    native(126, "capset", "the caller's own credentials, bounded by its capabilities (only lowers or moves within the bounding set)"),
    native(127, "rt_sigpending", SIGSTATE),
    native(128, "rt_sigtimedwait", SIGSTATE),
    native(129, "rt_sigqueueinfo", SIG),
    native(130, "rt_sigsuspend", SIGSTATE),
    native(131, "sigaltstack", "the caller's signal stack"),
    supervised(132, "utime", "utimes"),
    supervised(133, "mknod", "mknod"),
    denied(134, "uselib", ENOSYS, "a.out library loader, obsolete"),
    native_if(135, "personality", PERSONALITY, EPERM, "the caller's own execution domain: Docker's values only"),
    denied(136, "ustat", ENOSYS, "obsolete (statfs); runsc lacks it; Docker denies it"),
    supervised(137, "statfs", "statfs"),
    native(138, "fstatfs", FD),
    denied(139, "sysfs", ENOSYS, "obsolete file-system type query; runsc lacks it; Docker denies it"),
    native(140, "getpriority", SCHED),
    native(141, "setpriority", "the caller's scheduling, within its cgroup's cpuset; raising needs CAP_SYS_NICE"),
    native(142, "sched_setparam", SCHED),
    native(143, "sched_getparam", SCHED),
    native(144, "sched_setscheduler", SCHED),
    native(145, "sched_getscheduler", SCHED),
    native(146, "sched_get_priority_max", "constants of the scheduler"),
    native(147, "sched_get_priority_min", "constants of the scheduler"),
    native(148, "sched_rr_get_interval", "the caller's scheduling, within its cgroup's cpuset (CPython's test_posix calls it)"),
    native(149, "mlock", "the caller's own address space; bounded by RLIMIT_MEMLOCK and the memory cgroup"),
    native(150, "munlock", MEM),
    native(151, "mlockall", "the caller's own address space; bounded by RLIMIT_MEMLOCK and the memory cgroup"),
    native(152, "munlockall", MEM),
    denied(153, "vhangup", EPERM, "hangs up the controlling terminal"),
    denied(154, "modify_ldt", EPERM, "16-bit segments: a history of kernel bugs; Docker denies it too"),
    denied(155, "pivot_root", EPERM, "the container's root is the sentry's to set"),
    denied(156, "_sysctl", ENOSYS, "removed in Linux 5.5"),
    native_if(157, "prctl", PRCTL, EPERM, "the caller's own process attributes; no PR_SET_MM"),
    native(158, "arch_prctl", "the caller's own FS/GS base and CPU features (glibc's TLS)"),
    denied(159, "adjtimex", EPERM, "sets the host clock; read-only use hides in a struct BPF cannot read"),
    native(160, "setrlimit", "the caller's own limits; raising needs CAP_SYS_RESOURCE"),
    supervised(161, "chroot", "chroot"),
    denied(162, "sync", EPERM, "flushes every file system of the host; fsync and syncfs serve (sync() returns void)"),
    denied(163, "acct", EPERM, "process accounting writes a host file"),
    denied(164, "settimeofday", EPERM, "the realtime clock is not namespaced"),
    supervised(165, "mount", "mount"),
    supervised(166, "umount2", "mount"),
    denied(167, "swapon", EPERM, "host swap"),
    denied(168, "swapoff", EPERM, "host swap"),
    denied(169, "reboot", EPERM, "the host's power state"),
    emulated(170, "sethostname", "hostname"),
    emulated(171, "setdomainname", "hostname"),
    denied(172, "iopl", EPERM, "raw I/O ports"),
    denied(173, "ioperm", EPERM, "raw I/O ports"),
    denied(174, "create_module", ENOSYS, "174..=185: removed or never implemented"),
    denied(175, "init_module", EPERM, "host kernel modules"),
    denied(176, "delete_module", EPERM, "host kernel modules"),
    denied(177, "get_kernel_syms", ENOSYS, "removed in Linux 2.6"),
    denied(178, "query_module", ENOSYS, "removed in Linux 2.6"),
    denied(179, "quotactl", EPERM, "host disk quotas"),
    denied(180, "nfsservctl", ENOSYS, "removed in Linux 3.1"),
    denied(181, "getpmsg", ENOSYS, "never implemented"),
    denied(182, "putpmsg", ENOSYS, "never implemented"),
    denied(183, "afs_syscall", ENOSYS, "never implemented"),
    denied(184, "tuxcall", ENOSYS, "never implemented"),
    denied(185, "security", ENOSYS, "never implemented"),
    native(186, "gettid", PIDS),
    native(187, "readahead", "a descriptor the workload holds; opening it was vetted (page-cache hint)"),
    supervised(188, "setxattr", "xattr"),
    supervised(189, "lsetxattr", "xattr"),
    supervised(190, "fsetxattr", "fdattr"),
    supervised(191, "getxattr", "xattr"),
    supervised(192, "lgetxattr", "xattr"),
    native(193, "fgetxattr", "a descriptor the workload holds; opening it was vetted; reads only"),
    supervised(194, "listxattr", "xattr"),
    supervised(195, "llistxattr", "xattr"),
    native(196, "flistxattr", "a descriptor the workload holds; opening it was vetted; reads only"),
    supervised(197, "removexattr", "xattr"),
    supervised(198, "lremovexattr", "xattr"),
    supervised(199, "fremovexattr", "fdattr"),
    native(200, "tkill", "signals stay in the sandbox's pid namespace (musl's pthread_kill)"),
    native(201, "time", TIME),
    native(202, "futex", "waits on the caller's memory"),
    native(203, "sched_setaffinity", SCHED),
    native(204, "sched_getaffinity", SCHED),
    denied(205, "set_thread_area", ENOSYS, "32-bit TLS; runsc returns ENOSYS on amd64"),
    native(206, "io_setup", "kernel AIO contexts of the caller (libaio: MariaDB, QEMU)"),
    native(207, "io_destroy", AIO),
    native(208, "io_getevents", AIO),
    native(209, "io_submit", "kernel AIO on held descriptors"),
    native(210, "io_cancel", AIO),
    denied(211, "get_thread_area", ENOSYS, "32-bit TLS; runsc returns ENOSYS on amd64"),
    denied(212, "lookup_dcookie", ENOSYS, "oprofile's dcookies, removed from the kernel"),
    native(213, "epoll_create", EVENT),
    denied(214, "epoll_ctl_old", ENOSYS, "never implemented"),
    denied(215, "epoll_wait_old", ENOSYS, "never implemented"),
    denied(216, "remap_file_pages", ENOSYS, "deprecated since Linux 3.16; runsc lacks it"),
    native(217, "getdents64", "a descriptor the workload holds; opening it was vetted (directory listing)"),
    native(218, "set_tid_address", "the caller's own thread bookkeeping"),
    native(219, "restart_syscall", "restarts the caller's interrupted call"),
    native(220, "semtimedop", SYSV),
    native(221, "fadvise64", "a descriptor the workload holds; opening it was vetted (page-cache hint)"),
    native(222, "timer_create", TIMER),
    native(223, "timer_settime", TIMER),
    native(224, "timer_gettime", TIMER),
    native(225, "timer_getoverrun", TIMER),
    native(226, "timer_delete", TIMER),
    denied(227, "clock_settime", EPERM, "the realtime clock is not namespaced"),
    native(228, "clock_gettime", TIME),
    native(229, "clock_getres", TIME),
    native(230, "clock_nanosleep", TIME),
    native(231, "exit_group", LIFE),
    native(232, "epoll_wait", EVENT),
    native(233, "epoll_ctl", EVENT),
    native(234, "tgkill", SIG),
    supervised(235, "utimes", "utimes"),
    denied(236, "vserver", ENOSYS, "never implemented"),
    denied(237, "mbind", EPERM, "NUMA placement: Docker denies it without CAP_SYS_NICE"),
    denied(238, "set_mempolicy", EPERM, "NUMA placement: Docker denies it without CAP_SYS_NICE"),
    denied(239, "get_mempolicy", EPERM, "NUMA placement: host topology; numactl copes"),
    denied(240, "mq_open", ENOSYS, "POSIX message queues: rare in containers; mq_notify was a kernel exploit (CVE-2017-11176)"),
    denied(241, "mq_unlink", ENOSYS, "POSIX message queues (see mq_open)"),
    denied(242, "mq_timedsend", ENOSYS, "POSIX message queues (see mq_open)"),
    denied(243, "mq_timedreceive", ENOSYS, "POSIX message queues (see mq_open)"),
    denied(244, "mq_notify", ENOSYS, "POSIX message queues (see mq_open)"),
    denied(245, "mq_getsetattr", ENOSYS, "POSIX message queues (see mq_open)"),
    denied(246, "kexec_load", EPERM, "loads a new host kernel"),
    native(247, "waitid", LIFE),
    denied(248, "add_key", EPERM, "248..=250: the keyrings are not namespaced"),
    denied(249, "request_key", EPERM, "the keyrings are not namespaced"),
    denied(250, "keyctl", EPERM, "the keyrings are not namespaced"),
    denied(251, "ioprio_set", ENOSYS, "I/O priorities of the host's block layer; ionice reports it"),
    denied(252, "ioprio_get", ENOSYS, "I/O priorities of the host's block layer"),
    native(253, "inotify_init", "an event descriptor of the caller's own (watches are added through the sentry)"),
    supervised(254, "inotify_add_watch", "inotify"),
    native(255, "inotify_rm_watch", EVENT),
    denied(256, "migrate_pages", EPERM, "moves another process's pages between NUMA nodes; Docker denies it"),
    supervised(257, "openat", "open"),
    supervised(258, "mkdirat", "mkdir"),
    supervised(259, "mknodat", "mknod"),
    supervised(260, "fchownat", "chown"),
    supervised(261, "futimesat", "utimes"),
    supervised_unless(262, "newfstatat", "stat", NEWFSTATAT_FD),
    supervised(263, "unlinkat", "unlink"),
    supervised(264, "renameat", "rename"),
    supervised(265, "linkat", "link"),
    supervised(266, "symlinkat", "link"),
    supervised(267, "readlinkat", "readlink"),
    supervised(268, "fchmodat", "chmod"),
    supervised(269, "faccessat", "access"),
    native(270, "pselect6", WAIT),
    native(271, "ppoll", WAIT),
    native_if(272, "unshare", UNSHARE, EPERM, "no namespace flags"),
    native(273, "set_robust_list", "the caller's own thread bookkeeping (glibc)"),
    denied(274, "get_robust_list", EPERM, "reads another thread's robust list pointer; no libc calls it"),
    native(275, "splice", "moves data between held descriptors"),
    denied(276, "tee", ENOSYS, "pipe-to-pipe duplication, rare; splice serves"),
    native(277, "sync_file_range", "a descriptor the workload holds; opening it was vetted (PostgreSQL's writeback hints)"),
    denied(278, "vmsplice", EPERM, "maps user pages into pipes, a history of exploits; Podman denies it"),
    denied(279, "move_pages", EPERM, "moves another process's pages; Docker denies it without CAP_SYS_NICE"),
    supervised(280, "utimensat", "utimes"),
    native(281, "epoll_pwait", EVENT),
    denied(282, "signalfd", ENOSYS, "superseded by signalfd4 (2.6.27), which glibc and musl call"),
    native(283, "timerfd_create", EVENT),
    denied(284, "eventfd", ENOSYS, "superseded by eventfd2 (2.6.27), which glibc and musl call"),
    native(285, "fallocate", FD),
    native(286, "timerfd_settime", EVENT),
    native(287, "timerfd_gettime", EVENT),
    native(288, "accept4", SOCK),
    native(289, "signalfd4", EVENT),
    native(290, "eventfd2", EVENT),
    native(291, "epoll_create1", EVENT),
    native(292, "dup3", FDTABLE),
    native(293, "pipe2", "a pipe of the caller's own"),
    native(294, "inotify_init1", "an event descriptor of the caller's own (watches are added through the sentry)"),
    native(295, "preadv", FD),
    native(296, "pwritev", FD),
    native(297, "rt_tgsigqueueinfo", SIG),
    denied(298, "perf_event_open", EPERM, "host-wide counters, a long CVE history"),
    native(299, "recvmmsg", SOCK),
    denied(300, "fanotify_init", EPERM, "can watch whole host mounts"),
    denied(301, "fanotify_mark", EPERM, "needs an fanotify descriptor, which fanotify_init denies"),
    native(302, "prlimit64", "limits of processes in the sandbox's pid namespace"),
    denied(303, "name_to_handle_at", EPERM, "file handles skip the path walk"),
    denied(304, "open_by_handle_at", EPERM, "the \"shocker\" container escape"),
    denied(305, "clock_adjtime", EPERM, "like adjtimex"),
    native(306, "syncfs", "a descriptor the workload holds; opening it was vetted; flushes that descriptor's file system"),
    native(307, "sendmmsg", SOCK),
    denied(308, "setns", EPERM, "namespaces are the sentry's business"),
    native(309, "getcpu", "the CPU the caller runs on (within its cpuset)"),
    denied(310, "process_vm_readv", EPERM, "cross-process memory access"),
    denied(311, "process_vm_writev", EPERM, "cross-process memory access"),
    denied(312, "kcmp", EPERM, "compares kernel objects across processes"),
    denied(313, "finit_module", EPERM, "host kernel modules"),
    denied(314, "sched_setattr", ENOSYS, "SCHED_DEADLINE and utilisation clamps; runsc lacks it"),
    denied(315, "sched_getattr", ENOSYS, "pairs with sched_setattr; runsc lacks it"),
    supervised(316, "renameat2", "rename"),
    native(317, "seccomp", "filters only stack and tighten; a second listener gets EBUSY"),
    native(318, "getrandom", "the kernel's random numbers"),
    native(319, "memfd_create", "anonymous memory files of the caller"),
    denied(320, "kexec_file_load", EPERM, "loads a new host kernel"),
    denied(321, "bpf", EPERM, "kernel programs and maps: a long CVE history"),
    supervised(322, "execveat", "exec"),
    denied(323, "userfaultfd", EPERM, "turns kernel races into reliable exploits"),
    native(324, "membarrier", "barriers over the caller's own threads (JITs)"),
    native(325, "mlock2", "the caller's own address space; bounded by RLIMIT_MEMLOCK"),
    native(326, "copy_file_range", "copies between two held descriptors"),
    native(327, "preadv2", FD),
    native(328, "pwritev2", FD),
    denied(329, "pkey_mprotect", ENOSYS, "memory protection keys: runsc lacks them; glibc copes"),
    denied(330, "pkey_alloc", ENOSYS, "memory protection keys: runsc lacks them; glibc copes"),
    denied(331, "pkey_free", ENOSYS, "memory protection keys: runsc lacks them"),
    supervised_unless(332, "statx", "stat", STATX_FD),
    denied(333, "io_pgetevents", ENOSYS, "AIO with a signal mask: libaio's io_getevents serves; runsc lacks it"),
    native(334, "rseq", "the caller's restartable sequences (glibc)"),
    native(335, "uretprobe", "only from a uprobe trampoline; new kernels skip seccomp for it"),
    native(336, "uprobe", "likewise (Linux 6.18)"),
    native(424, "pidfd_send_signal", SIG),
    denied(425, "io_uring_setup", EPERM, "425..=427: work done by kernel threads seccomp never sees"),
    denied(426, "io_uring_enter", EPERM, "see io_uring_setup"),
    denied(427, "io_uring_register", EPERM, "see io_uring_setup"),
    denied(428, "open_tree", EPERM, "428..=433: the new mount API"),
    denied(429, "move_mount", EPERM, "the new mount API bypasses the sentry's mount checks"),
    denied(430, "fsopen", EPERM, "the new mount API"),
    denied(431, "fsconfig", EPERM, "the new mount API"),
    denied(432, "fsmount", EPERM, "the new mount API"),
    denied(433, "fspick", EPERM, "the new mount API"),
    native(434, "pidfd_open", "a pidfd of a process the caller can see (its pid namespace)"),
    denied(435, "clone3", ENOSYS, "its flags live in memory BPF cannot read; glibc falls back to clone"),
    native(436, "close_range", FDTABLE),
    supervised(437, "openat2", "open"),
    denied(438, "pidfd_getfd", EPERM, "takes descriptors out of other processes"),
    supervised(439, "faccessat2", "access"),
    denied(440, "process_madvise", EPERM, "advises on another process's memory"),
    denied(441, "epoll_pwait2", ENOSYS, "Linux 5.11: callers fall back to epoll_pwait"),
    denied(442, "mount_setattr", EPERM, "changes mount attributes outside the sentry"),
    denied(443, "quotactl_fd", EPERM, "host disk quotas"),
    native(444, "landlock_create_ruleset", LANDLOCK),
    native(445, "landlock_add_rule", LANDLOCK),
    native(446, "landlock_restrict_self", LANDLOCK),
    denied(447, "memfd_secret", ENOSYS, "off in most kernels (secretmem.enable); runsc lacks it"),
    denied(448, "process_mrelease", ENOSYS, "an OOM killer's call on another process; runsc lacks it"),
    denied(449, "futex_waitv", ENOSYS, "futex2 (Wine only, which falls back); runsc lacks it"),
    denied(450, "set_mempolicy_home_node", EPERM, "NUMA placement: Docker denies it without CAP_SYS_NICE"),
    denied(451, "cachestat", ENOSYS, "page-cache state: a side channel on files shared with other containers"),
    supervised(452, "fchmodat2", "chmod"),
    native(453, "map_shadow_stack", "the caller's own address space (CET shadow stacks of glibc 2.39+)"),
    denied(454, "futex_wake", ENOSYS, "futex2 (Linux 6.7): no libc uses it; futex serves"),
    denied(455, "futex_wait", ENOSYS, "futex2 (Linux 6.7): no libc uses it; futex serves"),
    denied(456, "futex_requeue", ENOSYS, "futex2 (Linux 6.7): no libc uses it; futex serves"),
    denied(457, "statmount", ENOSYS, "would print the host's mount table (overlay lowerdirs under /var/lib/docker)"),
    denied(458, "listmount", ENOSYS, "would list the host's mounts; /proc/self/mountinfo is the scrubbed table"),
    denied(459, "lsm_get_self_attr", ENOSYS, "names the host's security modules; as a kernel before 6.8"),
    denied(460, "lsm_set_self_attr", ENOSYS, "host security module state; as a kernel before 6.8"),
    denied(461, "lsm_list_modules", ENOSYS, "names the host's security modules; as a kernel before 6.8"),
    native(462, "mseal", "the caller's own address space; only forbids later changes"),
    denied(463, "setxattrat", ENOSYS, "its ACLs would bypass the sentry"),
    denied(464, "getxattrat", ENOSYS, "takes a path the sentry does not resolve yet; as a kernel before 6.13"),
    denied(465, "listxattrat", ENOSYS, "takes a path the sentry does not resolve yet; as a kernel before 6.13"),
    denied(466, "removexattrat", ENOSYS, "takes a path the sentry does not resolve yet; as a kernel before 6.13"),
    denied(467, "open_tree_attr", EPERM, "the new mount API"),
    denied(468, "file_getattr", ENOSYS, "takes a path the sentry does not resolve yet; as a kernel before 6.17"),
    denied(469, "file_setattr", ENOSYS, "takes a path the sentry does not resolve yet; as a kernel before 6.17"),
];
