//! The kernel enforces the gofer's allowlist: a forked child installs
//! `gofer_filter()` and makes calls; its exit status names the first one
//! with an unexpected result.

mod common;

use common::child::{assert_checks_in_child, sys, Check};
use moat_policy::{confine::gofer_filter, install};

static ROOT: &[u8] = b"/\0";
static SH: &[u8] = b"/bin/sh\0";

const CHECKS: &[Check] = &[
    Check {
        what: "no socket may be made",
        call: || {
            sys(
                libc::SYS_socket,
                [libc::AF_UNIX as _, libc::SOCK_STREAM as _, 0],
            )
        },
        errno: libc::EPERM,
    },
    Check {
        what: "openat is allowed (the workers' calls)",
        call: || {
            sys(
                libc::SYS_openat,
                [libc::AT_FDCWD as _, ROOT.as_ptr() as _, libc::O_PATH as _],
            )
        },
        errno: 0,
    },
    Check {
        what: "unshare(CLONE_FS) is allowed",
        call: || sys(libc::SYS_unshare, [libc::CLONE_FS as _, 0, 0]),
        errno: 0,
    },
    Check {
        what: "unshare of a namespace is refused",
        call: || sys(libc::SYS_unshare, [libc::CLONE_NEWNS as _, 0, 0]),
        errno: libc::EPERM,
    },
    Check {
        what: "a fork (clone without CLONE_THREAD) is refused",
        call: || sys(libc::SYS_clone, [libc::SIGCHLD as _, 0, 0]),
        errno: libc::EPERM,
    },
    Check {
        what: "execve is refused",
        call: || sys(libc::SYS_execve, [SH.as_ptr() as _, 0, 0]),
        errno: libc::EPERM,
    },
    Check {
        what: "setns is refused",
        call: || sys(libc::SYS_setns, [0, 0, 0]),
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

#[test]
fn kernel_enforces_the_gofer_allowlist() {
    let prog = match gofer_filter() {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    assert_checks_in_child(
        || install(&prog, 0).map(|_| ()).map_err(|_| 101),
        CHECKS,
        &[(101, "the kernel refused the gofer's filter")],
    );
}
