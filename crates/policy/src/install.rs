//! Loading a program with seccomp(2).

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use crate::bpf::MAX_INSNS;
use crate::PolicyError;

/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: `install` returns the notify listener.
pub const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
const TSYNC: u32 = libc::SECCOMP_FILTER_FLAG_TSYNC as u32;

/// Install `prog` on the calling thread with `flags`
/// (`SECCOMP_FILTER_FLAG_*`). With `SECCOMP_FILTER_FLAG_NEW_LISTENER`
/// returns the notify listener. The caller needs no_new_privs or
/// CAP_SYS_ADMIN; the filter stays for the thread's lifetime and passes to
/// its children and across execve.
pub fn install(prog: &[libc::sock_filter], flags: u32) -> Result<Option<OwnedFd>, PolicyError> {
    if prog.len() > MAX_INSNS {
        return Err(PolicyError::TooLong(prog.len()));
    }
    let fprog = libc::sock_fprog {
        // Fits: at most 4096.
        len: prog.len() as u16,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points at `len` initialized instructions that outlive
    // the call; the kernel copies the program and never writes through the
    // pointer.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(flags),
            &fprog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        return Err(PolicyError::Install(std::io::Error::last_os_error()));
    }
    if flags & SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        let fd = RawFd::try_from(r)
            .map_err(|_| PolicyError::Install(std::io::Error::other("listener fd out of range")))?;
        // SAFETY: with NEW_LISTENER the kernel returns a new descriptor,
        // owned by nobody else.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    if flags & TSYNC != 0 && r > 0 {
        // TSYNC without TSYNC_ESRCH reports the thread that failed.
        return Err(PolicyError::Tsync(r));
    }
    Ok(None)
}
