//! The kernel loads both programs and enforces the stack: a forked child
//! installs moat's filter (taking the listener) and the Docker-like
//! profile, makes calls, and reports the first unexpected result in its
//! exit status.

mod common;

use moat_policy::{
    compile_oci, emulated_nrs, install, moat_filter, SECCOMP_FILTER_FLAG_NEW_LISTENER,
};

/// One call in the child and the errno it must fail with (0: it must succeed).
struct Check {
    what: &'static str,
    call: fn() -> libc::c_long,
    errno: i32,
}

fn sys(nr: libc::c_long, a: [libc::c_long; 3]) -> libc::c_long {
    // SAFETY: raw system calls whose pointer arguments are null or point
    // at static, NUL-terminated strings.
    unsafe { libc::syscall(nr, a[0], a[1], a[2]) }
}

static NODE: &[u8] = b"/nonexistent-moat-policy-test/node\0";

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
        what: "mknodat(S_IFCHR) is refused",
        call: || {
            let mode = (libc::S_IFCHR | 0o600) as libc::c_long;
            sys(
                libc::SYS_mknodat,
                [libc::AT_FDCWD as _, NODE.as_ptr() as _, mode],
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
fn child(moat: &[libc::sock_filter], oci: &moat_policy::CompiledProfile) -> i32 {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return 100;
    }
    match install(moat, SECCOMP_FILTER_FLAG_NEW_LISTENER) {
        Ok(Some(listener)) => drop(listener),
        Ok(None) => return 101,
        Err(_) => return 102,
    }
    if install(&oci.program, oci.flags).is_err() {
        return 103;
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
fn kernel_enforces_the_stack() {
    let moat = moat_filter();
    let passthrough: Vec<u32> = emulated_nrs().collect();
    let oci = match compile_oci(&common::docker_default(), &passthrough) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    // SAFETY: the child makes system calls only (no allocation, no locks)
    // and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = child(&moat, &oci);
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
        101 => "no listener returned",
        102 => "the kernel refused moat's filter",
        103 => "the kernel refused the OCI profile",
        i => CHECKS.get(i as usize - 1).map_or("?", |c| c.what),
    };
    assert_eq!(code, 0, "{what}");
}
