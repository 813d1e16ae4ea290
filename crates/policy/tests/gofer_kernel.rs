//! The kernel enforces the gofer's allowlist: a forked child installs
//! `gofer_filter()` and makes calls; its exit status names the first one
//! with an unexpected result.

use moat_policy::{confine::gofer_filter, install};

struct Check {
    what: &'static str,
    call: fn() -> libc::c_long,
    /// The errno it must fail with; 0: it must succeed.
    errno: i32,
}

fn sys(nr: libc::c_long, a: [libc::c_long; 3]) -> libc::c_long {
    // SAFETY: raw system calls whose pointer arguments are null or point
    // at static, NUL-terminated strings.
    unsafe { libc::syscall(nr, a[0], a[1], a[2]) }
}

static ROOT: &[u8] = b"/\0";
static SH: &[u8] = b"/bin/sh\0";

const CHECKS: &[Check] = &[
    Check {
        what: "an AF_UNIX socket may be made",
        call: || {
            sys(
                libc::SYS_socket,
                [libc::AF_UNIX as _, libc::SOCK_STREAM as _, 0],
            )
        },
        errno: 0,
    },
    Check {
        what: "an AF_INET socket may not",
        call: || {
            sys(
                libc::SYS_socket,
                [libc::AF_INET as _, libc::SOCK_STREAM as _, 0],
            )
        },
        errno: libc::EPERM,
    },
    Check {
        what: "AF_UNIX with garbage in the upper half is still AF_UNIX (int argument)",
        call: || {
            sys(
                libc::SYS_socket,
                [(1 << 32) | libc::AF_UNIX as libc::c_long, 1, 0],
            )
        },
        errno: 0,
    },
    Check {
        what: "openat is refused (only openat2)",
        call: || {
            sys(
                libc::SYS_openat,
                [libc::AT_FDCWD as _, ROOT.as_ptr() as _, libc::O_PATH as _],
            )
        },
        errno: libc::EPERM,
    },
    Check {
        what: "execve is refused",
        call: || sys(libc::SYS_execve, [SH.as_ptr() as _, 0, 0]),
        errno: libc::EPERM,
    },
    Check {
        what: "mount is refused",
        call: || sys(libc::SYS_mount, [0, 0, 0]),
        errno: libc::EPERM,
    },
    Check {
        what: "unshare is refused",
        call: || sys(libc::SYS_unshare, [libc::CLONE_NEWNS as _, 0, 0]),
        errno: libc::EPERM,
    },
    Check {
        what: "kill is refused",
        call: || sys(libc::SYS_kill, [1, 0, 0]),
        errno: libc::EPERM,
    },
    Check {
        what: "an unknown number is refused",
        call: || sys(999, [0; 3]),
        errno: libc::EPERM,
    },
];

fn child(prog: &[libc::sock_filter]) -> i32 {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return 100;
    }
    if install(prog, 0).is_err() {
        return 101;
    }
    for (i, c) in CHECKS.iter().enumerate() {
        let r = (c.call)();
        // SAFETY: reading this thread's errno.
        let e = if r < 0 {
            unsafe { *libc::__errno_location() }
        } else {
            0
        };
        if e != c.errno {
            return i as i32 + 1;
        }
    }
    0
}

#[test]
fn kernel_enforces_the_gofer_allowlist() {
    let prog = match gofer_filter() {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    // SAFETY: the child makes system calls only (no allocation, no locks)
    // and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = child(&prog);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
    let code = libc::WEXITSTATUS(status);
    let what = match code {
        0 => "",
        100 => "PR_SET_NO_NEW_PRIVS failed",
        101 => "the kernel refused the gofer's filter",
        i => CHECKS.get(i as usize - 1).map_or("?", |c| c.what),
    };
    assert_eq!(code, 0, "{what}");
}
