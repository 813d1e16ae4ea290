//! Taking on a caller's credentials for one call. Linux keeps the file
//! system ids, the supplementary groups, the capability sets, and (after
//! `unshare(CLONE_FS)`) the root, cwd and umask per thread, so a worker
//! wears them without touching the gofer's other threads, as virtiofsd
//! and knfsd serve files. The kernel then applies every permission rule
//! itself: modes, ACLs, sticky and set-group-ID directories,
//! `fs.protected_*`, leases, immutable files.

use nix::errno::Errno;

use crate::caller::Creds;
use crate::sys;

/// The worker's own identity between calls.
#[derive(Clone, Copy, Debug)]
pub struct Own {
    /// Capabilities the gofer uses itself (effective between calls).
    pub effective: u64,
    /// Every capability a worker may wear (the gofer's permitted set).
    pub permitted: u64,
}

/// Wear `c`: groups, fsgid, fsuid, then the caller's effective
/// capabilities (those the gofer holds: it keeps the container's), and
/// its umask. Undone by [`restore`], also when this fails half-way.
pub fn wear(own: &Own, c: &Creds) -> Result<(), Errno> {
    sys::setgroups(&c.groups)?;
    sys::setfsgid(c.fsgid)?;
    sys::setfsuid(c.fsuid)?;
    sys::capset(c.effective & own.permitted, own.permitted)?;
    sys::umask(c.umask);
    Ok(())
}

/// Back to the gofer's own identity. A failure here would leave a worker
/// acting as the last caller: the worker must stop (the caller gets EIO).
pub fn restore(own: &Own) -> Result<(), Errno> {
    sys::capset(own.effective | own.permitted, own.permitted)?;
    sys::setfsuid(0)?;
    sys::setfsgid(0)?;
    sys::setgroups(&[])?;
    sys::umask(0);
    sys::capset(own.effective, own.permitted)
}
