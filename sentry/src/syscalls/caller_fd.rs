//! A copy of one of the caller's descriptors in the sentry
//! (`pidfd_getfd`), for the handlers that act on what the caller's
//! descriptor names: `inotify_add_watch` adds its watch to the caller's
//! inotify instance, `bind`/`connect` ask what kind of socket it is.
//!
//! The pidfd is opened on the calling thread (`PIDFD_THREAD`) and the
//! notification checked still pending afterwards, so the pidfd names the
//! caller and not a thread that reused its id. `pidfd_getfd` needs
//! ptrace access to the caller, which the sentry's CAP_SYS_PTRACE gives
//! it; the workload's own `pidfd_getfd` stays denied by the policy table.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use super::Call;
use crate::notify::mem::pidfd_open_thread;

/// A copy (close-on-exec) of the caller's descriptor `fd`: `EBADF` if it
/// has none such.
pub fn take(call: &Call, fd: i32) -> Result<OwnedFd, Errno> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    let pidfd = pidfd_open_thread(call.pid).ok_or(Errno::ESRCH)?;
    call.still_pending()?;
    // SAFETY: pidfd_getfd takes three integers and returns a new
    // descriptor of the sentry's.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    let r = Errno::result(r)?;
    // SAFETY: a non-negative result is a new descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
}
