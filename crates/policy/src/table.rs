//! The policy table: every x86_64 system call through Linux 6.18, each with
//! its fate. Numbers absent here (337..=423, 470 and up, which includes the
//! x32-only 512..=547) are unknown and get ENOSYS.
//!
//! Reviewed like code: changing a fate changes what every sandbox may do.
//! Calls that take paths stay native until the sentry's file system takes
//! them over; so far the stat family, `readlink(at)`, `access`/
//! `faccessat(2)`, the open family (open, openat, openat2, creat) and the
//! calls that change the tree or a file's attributes by path (mkdir,
//! mknod, unlink, rmdir, rename, link, symlink, chmod, chown, utimes,
//! truncate, the xattr calls, and their `*at` forms; `fchmod`, `fchown`
//! and `fsetxattr`/`fremovexattr`, whose changes the sentry's dentry
//! cache must see; the new `setxattrat`/`removexattrat` get ENOSYS, as
//! from a kernel before 6.13) are
//! supervised: the OCI profile's verdict applies first, then the sentry
//! resolves the path through the gofer and answers, or lets the kernel
//! run a call it cannot serve yet, such as one on `/proc`. `mknod` of a
//! device is refused (`EPERM`) by its handler.
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
/// `sendto` the sentry need not see: no address (a connected socket's
/// `send`), or one of the size of an IPv4 or IPv6 address (16, 28
/// bytes). A path Unix address of either size is not seen either (the
/// filter cannot read the address): the caller's kernel checks it alone.
static SENDTO_NATIVE: &[&[ArgCheck]] = &[
    &[check(4, u64::MAX, CmpOp::Eq, 0)],
    &[int_is(5, 16)],
    &[int_is(5, 28)],
];
const fn native(nr: u32, name: &'static str) -> Entry {
    Entry {
        nr,
        name,
        fate: Fate::Native,
    }
}

const fn native_if(
    nr: u32,
    name: &'static str,
    any_of: &'static [&'static [ArgCheck]],
    errno: i32,
) -> Entry {
    Entry {
        nr,
        name,
        fate: Fate::NativeIf { any_of, errno },
    }
}

const fn emulated(nr: u32, name: &'static str, handler: &'static str) -> Entry {
    Entry {
        nr,
        name,
        fate: Fate::Emulated { handler },
    }
}

const fn supervised(nr: u32, name: &'static str, handler: &'static str) -> Entry {
    Entry {
        nr,
        name,
        fate: Fate::Supervised { handler },
    }
}

const fn supervised_unless(
    nr: u32,
    name: &'static str,
    handler: &'static str,
    native_if: &'static [&'static [ArgCheck]],
) -> Entry {
    Entry {
        nr,
        name,
        fate: Fate::SupervisedUnless { native_if, handler },
    }
}

const fn denied(nr: u32, name: &'static str, errno: i32) -> Entry {
    Entry {
        nr,
        name,
        fate: Fate::Denied { errno },
    }
}

/// Sorted by number, one entry per number.
pub(crate) static TABLE: &[Entry] = &[
    native(0, "read"),
    native(1, "write"),
    supervised(2, "open", "open"),
    native(3, "close"),
    supervised(4, "stat", "stat"),
    native(5, "fstat"),
    supervised(6, "lstat", "stat"),
    native(7, "poll"),
    native(8, "lseek"),
    native(9, "mmap"),
    native(10, "mprotect"),
    native(11, "munmap"),
    native(12, "brk"),
    native(13, "rt_sigaction"),
    native(14, "rt_sigprocmask"),
    native(15, "rt_sigreturn"),
    native(16, "ioctl"), // acts on descriptors the workload already holds
    native(17, "pread64"),
    native(18, "pwrite64"),
    native(19, "readv"),
    native(20, "writev"),
    supervised(21, "access", "access"),
    native(22, "pipe"),
    native(23, "select"),
    native(24, "sched_yield"),
    native(25, "mremap"),
    native(26, "msync"),
    native(27, "mincore"),
    native(28, "madvise"),
    native(29, "shmget"),
    native(30, "shmat"),
    native(31, "shmctl"),
    native(32, "dup"),
    native(33, "dup2"),
    native(34, "pause"),
    native(35, "nanosleep"),
    native(36, "getitimer"),
    native(37, "alarm"),
    native(38, "setitimer"),
    native(39, "getpid"),
    native(40, "sendfile"),
    native_if(41, "socket", SOCKET, EAFNOSUPPORT), // unix, inet, inet6 (not raw), netlink (route only)
    supervised(42, "connect", "unix"),
    native(43, "accept"),
    supervised_unless(44, "sendto", "unix", SENDTO_NATIVE),
    native(45, "recvfrom"),
    native(46, "sendmsg"),
    native(47, "recvmsg"),
    native(48, "shutdown"),
    supervised(49, "bind", "unix"),
    native(50, "listen"),
    native(51, "getsockname"),
    native(52, "getpeername"),
    native_if(53, "socketpair", SOCKETPAIR, EAFNOSUPPORT), // AF_UNIX only
    native(54, "setsockopt"),
    native(55, "getsockopt"),
    native_if(56, "clone", CLONE, EPERM), // no namespace flags: namespaces are the sentry's
    native(57, "fork"),
    native(58, "vfork"),
    supervised(59, "execve", "exec"),
    native(60, "exit"),
    native(61, "wait4"),
    native(62, "kill"),
    emulated(63, "uname", "uname"),
    native(64, "semget"),
    native(65, "semop"),
    native(66, "semctl"),
    native(67, "shmdt"),
    native(68, "msgget"),
    native(69, "msgsnd"),
    native(70, "msgrcv"),
    native(71, "msgctl"),
    native(72, "fcntl"),
    native(73, "flock"),
    native(74, "fsync"),
    native(75, "fdatasync"),
    supervised(76, "truncate", "truncate"),
    native(77, "ftruncate"),
    native(78, "getdents"),
    native(79, "getcwd"),
    supervised(80, "chdir", "chdir"),
    native(81, "fchdir"),
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
    native(95, "umask"),
    native(96, "gettimeofday"),
    native(97, "getrlimit"),
    native(98, "getrusage"),
    emulated(99, "sysinfo", "sysinfo"),
    native(100, "times"),
    denied(101, "ptrace", EPERM), // a tracer could rewrite calls after the sentry vetted them
    native(102, "getuid"),
    emulated(103, "syslog", "syslog"), // the sandbox's own kernel log
    native(104, "getgid"),
    native(105, "setuid"),
    native(106, "setgid"),
    native(107, "geteuid"),
    native(108, "getegid"),
    native(109, "setpgid"),
    native(110, "getppid"),
    native(111, "getpgrp"),
    native(112, "setsid"),
    native(113, "setreuid"),
    native(114, "setregid"),
    native(115, "getgroups"),
    native(116, "setgroups"),
    native(117, "setresuid"),
    native(118, "getresuid"),
    native(119, "setresgid"),
    native(120, "getresgid"),
    native(121, "getpgid"),
    native(122, "setfsuid"),
    native(123, "setfsgid"),
    native(124, "getsid"),
    native(125, "capget"),
    native(126, "capset"),
    native(127, "rt_sigpending"),
    native(128, "rt_sigtimedwait"),
    native(129, "rt_sigqueueinfo"),
    native(130, "rt_sigsuspend"),
    native(131, "sigaltstack"),
    supervised(132, "utime", "utimes"),
    supervised(133, "mknod", "mknod"),
    denied(134, "uselib", ENOSYS), // a.out library loader, obsolete
    native(135, "personality"),    // the caller's own execution domain; OCI profiles narrow it
    native(136, "ustat"),
    supervised(137, "statfs", "statfs"),
    native(138, "fstatfs"),
    native(139, "sysfs"),
    native(140, "getpriority"),
    native(141, "setpriority"),
    native(142, "sched_setparam"),
    native(143, "sched_getparam"),
    native(144, "sched_setscheduler"),
    native(145, "sched_getscheduler"),
    native(146, "sched_get_priority_max"),
    native(147, "sched_get_priority_min"),
    native(148, "sched_rr_get_interval"),
    native(149, "mlock"),
    native(150, "munlock"),
    native(151, "mlockall"),
    native(152, "munlockall"),
    denied(153, "vhangup", EPERM), // hangs up the controlling terminal
    denied(154, "modify_ldt", EPERM), // 16-bit segments: a history of kernel bugs; Docker denies it too
    denied(155, "pivot_root", EPERM),
    denied(156, "_sysctl", ENOSYS), // removed in Linux 5.5
    native(157, "prctl"),
    native(158, "arch_prctl"),
    denied(159, "adjtimex", EPERM), // sets the host clock; read-only use hides in a struct BPF cannot read
    native(160, "setrlimit"),
    supervised(161, "chroot", "chroot"),
    native(162, "sync"),
    denied(163, "acct", EPERM), // process accounting writes a host file
    denied(164, "settimeofday", EPERM), // the realtime clock is not namespaced
    supervised(165, "mount", "mount"),
    supervised(166, "umount2", "mount"),
    denied(167, "swapon", EPERM),
    denied(168, "swapoff", EPERM),
    denied(169, "reboot", EPERM),
    emulated(170, "sethostname", "hostname"),
    emulated(171, "setdomainname", "hostname"),
    denied(172, "iopl", EPERM),           // raw I/O ports
    denied(173, "ioperm", EPERM),         // raw I/O ports
    denied(174, "create_module", ENOSYS), // 174..=185: removed or never implemented
    denied(175, "init_module", EPERM),
    denied(176, "delete_module", EPERM),
    denied(177, "get_kernel_syms", ENOSYS),
    denied(178, "query_module", ENOSYS),
    denied(179, "quotactl", EPERM),
    denied(180, "nfsservctl", ENOSYS),
    denied(181, "getpmsg", ENOSYS),
    denied(182, "putpmsg", ENOSYS),
    denied(183, "afs_syscall", ENOSYS),
    denied(184, "tuxcall", ENOSYS),
    denied(185, "security", ENOSYS),
    native(186, "gettid"),
    native(187, "readahead"),
    supervised(188, "setxattr", "xattr"),
    supervised(189, "lsetxattr", "xattr"),
    supervised(190, "fsetxattr", "fdattr"),
    supervised(191, "getxattr", "xattr"),
    supervised(192, "lgetxattr", "xattr"),
    native(193, "fgetxattr"),
    supervised(194, "listxattr", "xattr"),
    supervised(195, "llistxattr", "xattr"),
    native(196, "flistxattr"),
    supervised(197, "removexattr", "xattr"),
    supervised(198, "lremovexattr", "xattr"),
    supervised(199, "fremovexattr", "fdattr"),
    native(200, "tkill"),
    native(201, "time"),
    native(202, "futex"),
    native(203, "sched_setaffinity"),
    native(204, "sched_getaffinity"),
    native(205, "set_thread_area"),
    native(206, "io_setup"),
    native(207, "io_destroy"),
    native(208, "io_getevents"),
    native(209, "io_submit"),
    native(210, "io_cancel"),
    native(211, "get_thread_area"),
    denied(212, "lookup_dcookie", ENOSYS), // oprofile's dcookies, removed from the kernel
    native(213, "epoll_create"),
    denied(214, "epoll_ctl_old", ENOSYS),  // never implemented
    denied(215, "epoll_wait_old", ENOSYS), // never implemented
    native(216, "remap_file_pages"),
    native(217, "getdents64"),
    native(218, "set_tid_address"),
    native(219, "restart_syscall"),
    native(220, "semtimedop"),
    native(221, "fadvise64"),
    native(222, "timer_create"),
    native(223, "timer_settime"),
    native(224, "timer_gettime"),
    native(225, "timer_getoverrun"),
    native(226, "timer_delete"),
    denied(227, "clock_settime", EPERM), // the realtime clock is not namespaced
    native(228, "clock_gettime"),
    native(229, "clock_getres"),
    native(230, "clock_nanosleep"),
    native(231, "exit_group"),
    native(232, "epoll_wait"),
    native(233, "epoll_ctl"),
    native(234, "tgkill"),
    supervised(235, "utimes", "utimes"),
    denied(236, "vserver", ENOSYS), // never implemented
    native(237, "mbind"),
    native(238, "set_mempolicy"),
    native(239, "get_mempolicy"),
    native(240, "mq_open"),
    native(241, "mq_unlink"),
    native(242, "mq_timedsend"),
    native(243, "mq_timedreceive"),
    native(244, "mq_notify"),
    native(245, "mq_getsetattr"),
    denied(246, "kexec_load", EPERM),
    native(247, "waitid"),
    denied(248, "add_key", EPERM), // 248..=250: the keyrings are not namespaced
    denied(249, "request_key", EPERM),
    denied(250, "keyctl", EPERM),
    native(251, "ioprio_set"),
    native(252, "ioprio_get"),
    native(253, "inotify_init"),
    supervised(254, "inotify_add_watch", "inotify"),
    native(255, "inotify_rm_watch"),
    native(256, "migrate_pages"),
    supervised(257, "openat", "open"),
    supervised(258, "mkdirat", "mkdir"),
    supervised(259, "mknodat", "mknod"),
    supervised(260, "fchownat", "chown"),
    supervised(261, "futimesat", "utimes"),
    supervised(262, "newfstatat", "stat"),
    supervised(263, "unlinkat", "unlink"),
    supervised(264, "renameat", "rename"),
    supervised(265, "linkat", "link"),
    supervised(266, "symlinkat", "link"),
    supervised(267, "readlinkat", "readlink"),
    supervised(268, "fchmodat", "chmod"),
    supervised(269, "faccessat", "access"),
    native(270, "pselect6"),
    native(271, "ppoll"),
    native_if(272, "unshare", UNSHARE, EPERM), // no namespace flags
    native(273, "set_robust_list"),
    native(274, "get_robust_list"),
    native(275, "splice"),
    native(276, "tee"),
    native(277, "sync_file_range"),
    native(278, "vmsplice"),
    native(279, "move_pages"),
    supervised(280, "utimensat", "utimes"),
    native(281, "epoll_pwait"),
    native(282, "signalfd"),
    native(283, "timerfd_create"),
    native(284, "eventfd"),
    native(285, "fallocate"),
    native(286, "timerfd_settime"),
    native(287, "timerfd_gettime"),
    native(288, "accept4"),
    native(289, "signalfd4"),
    native(290, "eventfd2"),
    native(291, "epoll_create1"),
    native(292, "dup3"),
    native(293, "pipe2"),
    native(294, "inotify_init1"),
    native(295, "preadv"),
    native(296, "pwritev"),
    native(297, "rt_tgsigqueueinfo"),
    denied(298, "perf_event_open", EPERM), // host-wide counters, a long CVE history
    native(299, "recvmmsg"),
    denied(300, "fanotify_init", EPERM), // can watch whole host mounts
    native(301, "fanotify_mark"),        // needs a descriptor from fanotify_init
    native(302, "prlimit64"),
    denied(303, "name_to_handle_at", EPERM), // file handles skip the path walk
    denied(304, "open_by_handle_at", EPERM), // the "shocker" container escape
    denied(305, "clock_adjtime", EPERM),     // like adjtimex
    native(306, "syncfs"),
    native(307, "sendmmsg"),
    denied(308, "setns", EPERM), // namespaces are the sentry's business
    native(309, "getcpu"),
    denied(310, "process_vm_readv", EPERM), // cross-process memory access
    denied(311, "process_vm_writev", EPERM), // cross-process memory access
    denied(312, "kcmp", EPERM),             // compares kernel objects across processes
    denied(313, "finit_module", EPERM),
    native(314, "sched_setattr"),
    native(315, "sched_getattr"),
    supervised(316, "renameat2", "rename"),
    native(317, "seccomp"), // filters only stack and tighten; a second listener gets EBUSY
    native(318, "getrandom"),
    native(319, "memfd_create"),
    denied(320, "kexec_file_load", EPERM),
    denied(321, "bpf", EPERM),
    supervised(322, "execveat", "exec"),
    denied(323, "userfaultfd", EPERM), // turns kernel races into reliable exploits
    native(324, "membarrier"),
    native(325, "mlock2"),
    native(326, "copy_file_range"),
    native(327, "preadv2"),
    native(328, "pwritev2"),
    native(329, "pkey_mprotect"),
    native(330, "pkey_alloc"),
    native(331, "pkey_free"),
    supervised(332, "statx", "stat"),
    native(333, "io_pgetevents"),
    native(334, "rseq"),
    native(335, "uretprobe"), // only from a uprobe trampoline; new kernels skip seccomp for it
    native(336, "uprobe"),    // likewise (Linux 6.18)
    native(424, "pidfd_send_signal"),
    denied(425, "io_uring_setup", EPERM), // 425..=427: work done by kernel threads seccomp never sees
    denied(426, "io_uring_enter", EPERM),
    denied(427, "io_uring_register", EPERM),
    denied(428, "open_tree", EPERM), // 428..=433: the new mount API
    denied(429, "move_mount", EPERM),
    denied(430, "fsopen", EPERM),
    denied(431, "fsconfig", EPERM),
    denied(432, "fsmount", EPERM),
    denied(433, "fspick", EPERM),
    native(434, "pidfd_open"),
    denied(435, "clone3", ENOSYS), // its flags live in memory BPF cannot read; glibc falls back to clone
    native(436, "close_range"),
    supervised(437, "openat2", "open"),
    denied(438, "pidfd_getfd", EPERM), // takes descriptors out of other processes
    supervised(439, "faccessat2", "access"),
    native(440, "process_madvise"),
    native(441, "epoll_pwait2"),
    denied(442, "mount_setattr", EPERM),
    denied(443, "quotactl_fd", EPERM),
    native(444, "landlock_create_ruleset"),
    native(445, "landlock_add_rule"),
    native(446, "landlock_restrict_self"),
    native(447, "memfd_secret"), // memory even the kernel does not map: harmless to others
    native(448, "process_mrelease"),
    native(449, "futex_waitv"),
    native(450, "set_mempolicy_home_node"),
    native(451, "cachestat"),
    supervised(452, "fchmodat2", "chmod"),
    native(453, "map_shadow_stack"),
    native(454, "futex_wake"),
    native(455, "futex_wait"),
    native(456, "futex_requeue"),
    native(457, "statmount"), // mounts of namespaces the caller can see
    native(458, "listmount"), // mounts of namespaces the caller can see
    native(459, "lsm_get_self_attr"),
    native(460, "lsm_set_self_attr"),
    native(461, "lsm_list_modules"),
    native(462, "mseal"),
    denied(463, "setxattrat", ENOSYS), // its ACLs would bypass the sentry
    native(464, "getxattrat"),
    native(465, "listxattrat"),
    denied(466, "removexattrat", ENOSYS),
    denied(467, "open_tree_attr", EPERM),
    native(468, "file_getattr"),
    native(469, "file_setattr"),
];
