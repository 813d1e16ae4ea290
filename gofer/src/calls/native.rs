//! Calls the kernel runs itself once notified
//! (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`): it checks them under the
//! caller's own credentials, resolving in the caller's root and cwd, and
//! the sandbox has nothing of its own to decide.
//!
//! - `chdir`, `chroot`: the kernel keeps the cwd and root (a worker
//!   serves a `chroot`ed caller from its root, read per call);
//! - `bind`, `connect`, `sendto` of path sockets: the socket is the
//!   caller's, and the kernel records the caller as the peer
//!   (`SO_PEERCRED`);
//! - `fchmod`, `fchown`, `fsetxattr`, `fremovexattr`: descriptor calls,
//!   no path;
//! - `execve`, `execveat`: the kernel loads the program the caller names.

use nix::errno::Errno;

use crate::call::{Call, Reply};

pub fn native(_: &mut Call) -> Result<Reply, Errno> {
    Ok(Reply::Continue)
}

/// `chroot`: continued, but from now on every caller's root is read.
pub fn chroot(c: &mut Call) -> Result<Reply, Errno> {
    c.svc.saw_chroot();
    Ok(Reply::Continue)
}
