//! Loading a program with seccomp(2).

use std::os::fd::{FromRawFd, OwnedFd};

use crate::PolicyError;

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 1 << 3;

/// Install `prog` on the calling thread. With
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER` in `flags`, returns the listener.
/// The caller needs no_new_privs or CAP_SYS_ADMIN.
pub fn install(prog: &[libc::sock_filter], flags: u32) -> Result<Option<OwnedFd>, PolicyError> {
    let len = u16::try_from(prog.len()).map_err(|_| PolicyError::TooLong(prog.len()))?;
    let fprog = libc::sock_fprog {
        len,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points at `len` valid instructions that outlive the
    // call; the kernel copies the program.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        return Err(PolicyError::Install(std::io::Error::last_os_error()));
    }
    if flags & SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        // SAFETY: with NEW_LISTENER the kernel returns a new descriptor we own.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(r as i32) }))
    } else {
        Ok(None)
    }
}
