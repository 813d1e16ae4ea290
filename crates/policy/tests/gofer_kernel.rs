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
