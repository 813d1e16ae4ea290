//! Names a profile may use that are not x86_64 system calls of the table.
//!
//! OCI profiles are written once for many architectures: Docker's and
//! containerd's defaults list i386's `chown32`, arm's `arm_fadvise64_64`,
//! the `*_time64` family of 32-bit ABIs, s390's `s390_*` and so on. On
//! x86_64 those names cannot occur and are ignored; a name in neither this
//! list nor the table is an error, because it is a typo or an invention.
//!
//! The list holds every name of the per-architecture syscall tables of Linux
//! (alpha, arc, arm, arm64, csky, hexagon, i386, loongarch, m68k,
//! microblaze, mips o32/n32/n64, nios2, openrisc, parisc, powerpc, riscv,
//! s390, sh, sparc, x32, xtensa, and the retired blackfin, cris, frv, h8300,
//! ia64, m32r, metag, mn10300, nds32, score, tile, unicore32) and of
//! libseccomp's table, minus the x86_64 names. Sorted, one word each.

/// Real system calls of other architectures (see the module docs).
const OTHER_ARCH: &str = "
_llseek _newselect arc_gettls arc_settls arc_usr_cmpxchg arm_fadvise64_64
arm_sync_file_range atomic_barrier atomic_cmpxchg_32 bdflush bfin_spinlock break
breakpoint cache_sync cachectl cacheflush chown32 clock_adjtime64
clock_getres_time64 clock_gettime64 clock_nanosleep_time64 clock_settime64 clone2
dipc dma_memcpy exec_with_loader execv fadvise64_64 fchown32 fcntl64 fp_udfiex_crtl
fstat64 fstatat64 fstatfs64 ftime ftruncate64 futex_time64 get_tls getdomainname
getdtablesize getegid32 geteuid32 getgid32 getgroups32 gethostname getpagesize
getresgid32 getresuid32 getuid32 getunwind getxgid getxpid getxuid gtty idle
io_pgetevents_time64 ipc kern_features lchown32 llseek lock lstat64 madvise1
memory_ordering mmap2 mpx mq_timedreceive_time64 mq_timedsend_time64 multiplexer
nice old_adjtimex old_getpagesize oldfstat oldlstat oldolduname oldstat oldumount
olduname oldwait4 or1k_atomic osf_adjtime osf_afs_syscall osf_alt_plock
osf_alt_setsid osf_alt_sigpending osf_asynch_daemon osf_audcntl osf_audgen
osf_chflags osf_execve osf_exportfs osf_fchflags osf_fdatasync osf_fpathconf
osf_fstat osf_fstatfs osf_fstatfs64 osf_fuser osf_getaddressconf osf_getdirentries
osf_getdomainname osf_getfh osf_getfsstat osf_gethostid osf_getitimer osf_getlogin
osf_getmnt osf_getrusage osf_getsysinfo osf_gettimeofday osf_kloadcall osf_kmodcall
osf_lstat osf_memcntl osf_mincore osf_mount osf_mremap osf_msfs_syscall osf_msleep
osf_mvalid osf_mwakeup osf_naccept osf_nfssvc osf_ngetpeername osf_ngetsockname
osf_nrecvfrom osf_nrecvmsg osf_nsendmsg osf_ntp_adjtime osf_ntp_gettime
osf_old_creat osf_old_fstat osf_old_getpgrp osf_old_killpg osf_old_lstat
osf_old_open osf_old_sigaction osf_old_sigblock osf_old_sigreturn osf_old_sigsetmask
osf_old_sigvec osf_old_stat osf_old_vadvise osf_old_vtrace osf_old_wait osf_oldquota
osf_pathconf osf_pid_block osf_pid_unblock osf_plock osf_priocntlset osf_profil
osf_proplist_syscall osf_reboot osf_revoke osf_sbrk osf_security osf_select
osf_set_program_attributes osf_set_speculative osf_sethostid osf_setitimer
osf_setlogin osf_setsysinfo osf_settimeofday osf_shmat osf_signal osf_sigprocmask
osf_sigsendset osf_sigstack osf_sigwaitprim osf_sstk osf_stat osf_statfs
osf_statfs64 osf_subsys_info osf_swapctl osf_swapon osf_syscall osf_sysinfo
osf_table osf_uadmin osf_usleep_thread osf_uswitch osf_utc_adjtime osf_utc_gettime
osf_utimes osf_utsname osf_wait4 osf_waitid pciconfig_iobase pciconfig_read
pciconfig_write perfctr ppoll_time64 pread prof profil pselect6_time64 pwrite
readdir recv recvmmsg_time64 riscv_flush_icache riscv_hwprobe rt_sigtimedwait_time64
rtas s390_guarded_storage s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr
s390_sthyi sched_get_affinity sched_rr_get_interval_time64 sched_set_affinity
semtimedop_time64 send sendfile64 set_tls setfsgid32 setfsuid32 setgid32 setgroups32
sethae setpgrp setregid32 setresgid32 setresuid32 setreuid32 setuid32 sgetmask
sigaction signal sigpending sigprocmask sigreturn sigsuspend socketcall spu_create
spu_run sram_alloc sram_free ssetmask stat64 statfs64 stime stty subpage_prot
swapcontext switch_endian sync_file_range2 sys_debug_setcontext sys_epoll_create
sys_epoll_ctl sys_epoll_wait syscall sysmips tas timer_gettime64 timer_settime64
timerfd timerfd_gettime64 timerfd_settime64 truncate64 ugetrlimit ulimit umount
usr26 usr32 utimensat_time64 utrap_install vm86 vm86old waitpid
";

/// x86_64 system calls newer than the table (Linux 6.19 and later). moat's
/// own filter answers them ENOSYS as unknown numbers; a profile may still
/// name them.
const NEWER_X86_64: &[&str] = &["listns", "rseq_slice_yield"];

/// Whether a profile may name `name` although the table does not know it.
pub(crate) fn ignorable(name: &str) -> bool {
    NEWER_X86_64.contains(&name) || names().any(|n| n == name)
}

/// The other-architecture names, sorted.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    OTHER_ARCH.split_ascii_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_foreign_to_the_table() {
        let v: Vec<&str> = names().collect();
        assert!(
            v.windows(2).all(|w| w[0] < w[1]),
            "not sorted or not unique"
        );
        for n in v.iter().chain(NEWER_X86_64) {
            assert!(crate::lookup_name(n).is_none(), "{n} is in the table");
        }
        for n in [
            "_llseek",
            "chown32",
            "clock_gettime64",
            "socketcall",
            "s390_sthyi",
            "usr32",
        ] {
            assert!(ignorable(n), "{n}");
        }
        assert!(!ignorable("read") && !ignorable("nosuchcall"));
    }
}
