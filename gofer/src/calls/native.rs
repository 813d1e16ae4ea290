//! Continued calls with an effect on the gofer ([`super::Route::Continue`]
//! is the rest, answered by the receiving worker): the kernel keeps the
//! root a `chroot` sets, and a worker serves a `chroot`ed caller from its
//! root, read per call, from then on.

use nix::errno::Errno;

use crate::call::{Call, Reply};

/// `chroot`: continued, but from now on every caller's root is read.
pub fn chroot(c: &mut Call) -> Result<Reply, Errno> {
    c.svc.saw_chroot();
    Ok(Reply::Continue)
}
