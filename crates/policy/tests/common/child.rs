//! Calls made in a forked child under installed filters: the child runs
//! a setup (installing filters), then each [`Check`], and leaves with the
//! number of the first failure (1-based) or the setup's own code (>= 100).

/// One call in the child and the errno it must fail with (0: it must succeed).
pub struct Check {
    pub what: &'static str,
    pub call: fn() -> libc::c_long,
    pub errno: i32,
}

pub fn sys(nr: libc::c_long, a: [libc::c_long; 3]) -> libc::c_long {
    // SAFETY: raw system calls whose pointer arguments are null or point
    // at static, NUL-terminated strings.
    unsafe { libc::syscall(nr, a[0], a[1], a[2]) }
}

fn run_checks(checks: &[Check]) -> i32 {
    for (i, c) in checks.iter().enumerate() {
        let r = (c.call)();
        let e = if r < 0 {
            // SAFETY: reading this thread's errno.
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

/// Fork; in the child set no_new_privs, run `setup` (an `Err(code)` with
/// code >= 101 ends it) and the checks; in the parent assert the child
/// passed, naming the failed check or `setup_errors`' text for a code.
pub fn assert_checks_in_child(
    setup: impl FnOnce() -> Result<(), i32>,
    checks: &[Check],
    setup_errors: &[(i32, &str)],
) {
    // SAFETY: the child makes system calls only (no allocation, no locks)
    // and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: prctl with integer arguments.
        let code = if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            100
        } else {
            match setup() {
                Ok(()) => run_checks(checks),
                Err(code) => code,
            }
        };
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
        c if c >= 100 => setup_errors
            .iter()
            .find(|(n, _)| *n == c)
            .map_or("?", |(_, w)| w),
        i => checks.get(i as usize - 1).map_or("?", |c| c.what),
    };
    assert_eq!(code, 0, "{what}");
}
