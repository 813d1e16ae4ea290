//! The kernel loads both programs and enforces the stack: a forked child
//! installs moat's filter (taking the listener) and the Docker-like
//! profile, makes calls, and reports the first unexpected result in its
//! exit status.

mod common;

use common::child::{assert_checks_in_child, sys, Check};

use moat_policy::{
    compile_oci, emulated_nrs, install, moat_filter, SECCOMP_FILTER_FLAG_NEW_LISTENER,
};

const CHECKS: &[Check] = &[
    Check {
        what: "getpid runs",
        call: || sys(libc::SYS_getpid, [0; 3]),
        errno: 0,
    },
    Check {
        what: "bpf is denied by moat",
        call: || sys(libc::SYS_bpf, [0; 3]),
        errno: libc::EPERM,
    },
    Check {
        what: "an unknown number is ENOSYS",
        call: || sys(999, [0; 3]),
        errno: libc::ENOSYS,
    },
    Check {
        what: "clone3 is ENOSYS",
        call: || sys(libc::SYS_clone3, [0; 3]),
        errno: libc::ENOSYS,
    },
    Check {
        what: "uname goes to the (closed) listener",
        call: || sys(libc::SYS_uname, [0; 3]),
        errno: libc::ENOSYS,
    },
    Check {
        what: "syslog passes the profile and goes to the listener",
        call: || sys(libc::SYS_syslog, [10, 0, 0]),
        errno: libc::ENOSYS,
    },
    Check {
        what: "unshare(CLONE_NEWUSER) is refused",
        call: || sys(libc::SYS_unshare, [libc::CLONE_NEWUSER as _, 0, 0]),
        errno: libc::EPERM,
    },
    Check {
        what: "socket(AF_PACKET) is refused",
        call: || {
            sys(
                libc::SYS_socket,
                [libc::AF_PACKET as _, libc::SOCK_RAW as _, 0],
            )
        },
        errno: libc::EAFNOSUPPORT,
    },
    Check {
        what: "socket(AF_VSOCK): both filters refuse, the profile's errno wins",
        call: || {
            sys(
                libc::SYS_socket,
                [libc::AF_VSOCK as _, libc::SOCK_STREAM as _, 0],
            )
        },
        errno: libc::EPERM,
    },
    Check {
        what: "personality(ADDR_NO_RANDOMIZE) is refused by the profile",
        call: || sys(libc::SYS_personality, [libc::ADDR_NO_RANDOMIZE as _, 0, 0]),
        errno: libc::EPERM,
    },
    Check {
        what: "personality with upper bits set is refused by the profile",
        call: || sys(libc::SYS_personality, [1 << 32, 0, 0]),
        errno: libc::EPERM,
    },
    Check {
        what: "personality(0xffffffff) queries",
        call: || sys(libc::SYS_personality, [0xffff_ffff, 0, 0]),
        errno: 0,
    },
];

/// In the child: install, run the checks; the exit status is 0 or the
/// 1-based index of the first failing check (100+ for install failures).
#[test]
fn kernel_enforces_the_stack() {
    let moat = moat_filter();
    let passthrough: Vec<u32> = emulated_nrs().collect();
    let oci = match compile_oci(&common::docker_default(), &passthrough) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let setup = || {
        match install(&moat, SECCOMP_FILTER_FLAG_NEW_LISTENER) {
            Ok(Some(listener)) => drop(listener),
            Ok(None) => return Err(101),
            Err(_) => return Err(102),
        }
        install(&oci.program, oci.flags)
            .map(|_| ())
            .map_err(|_| 103)
    };
    assert_checks_in_child(
        setup,
        CHECKS,
        &[
            (101, "no listener returned"),
            (102, "the kernel refused moat's filter"),
            (103, "the kernel refused the OCI profile"),
        ],
    );
}
