//! inotify_add_watch(2): the watch is added to the caller's own inotify
//! instance (its open file, taken with `pidfd_getfd`), by the worker as
//! the caller, so the kernel checks read permission on what it watches.

use nix::errno::Errno;

use super::value;
use crate::call::{Call, Reply};

/// `IN_DONT_FOLLOW`.
const DONT_FOLLOW: u32 = 0x0200_0000;

pub fn inotify_add_watch(c: &mut Call) -> Result<Reply, Errno> {
    let mask = c.args[2] as u32;
    let p = c.path(1)?;
    let instance = c.file(c.int(0))?;
    c.at(libc::AT_FDCWD, &p, mask & DONT_FOLLOW == 0, |_, p| {
        // SAFETY: the kernel reads the path.
        value(unsafe { libc::syscall(libc::SYS_inotify_add_watch, instance, p.as_ptr(), mask) })
    })
}
