//! A fork-like raw `clone(2)`: the sentry's processes are made with the
//! flags std's process API cannot pass (new namespaces, `CLONE_PARENT`).

/// Who we are after [`clone_fork`].
pub enum Forked {
    Child,
    Parent(i32),
}

/// `clone(flags)` with a null stack, which makes it fork-like.
///
/// # Safety
/// The caller must be single-threaded (or the child must call only
/// async-signal-safe functions until it execs): the child runs ordinary
/// Rust code on a copy of the caller's memory.
pub unsafe fn clone_fork(flags: libc::c_int) -> std::io::Result<Forked> {
    // SAFETY: the caller upholds the single-thread contract above; a null
    // stack and null tid/tls pointers make the kernel copy the caller's.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match pid {
        -1 => Err(std::io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as i32)),
    }
}
