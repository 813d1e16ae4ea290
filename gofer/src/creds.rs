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

/// What a worker wears between calls: the last caller's ids and umask
/// (with its own capabilities: see [`restore`]), so that a call from the
/// same user costs two `capset`s and nothing else.
#[derive(Default)]
pub struct Worn {
    ids: Option<(u32, u32, Vec<u32>)>,
    umask: Option<u32>,
}

/// Wear `c`: its groups, fsgid and fsuid (unless worn already), its
/// effective capabilities (those the gofer holds: it keeps the
/// container's) and its umask.
pub fn wear(own: &Own, worn: &mut Worn, c: &Creds) -> Result<(), Errno> {
    let same = worn
        .ids
        .as_ref()
        .is_some_and(|(u, g, groups)| (*u, *g) == (c.fsuid, c.fsgid) && *groups == c.groups);
    if !same {
        let ids = (c.fsuid, c.fsgid, c.groups.clone());
        // Whatever fails half-way, nothing is taken as worn.
        worn.ids = None;
        sys::capset(own.effective | own.permitted, own.permitted)?;
        sys::setgroups(&c.groups)?;
        sys::setfsgid(c.fsgid)?;
        sys::setfsuid(c.fsuid)?;
        worn.ids = Some(ids);
    }
    sys::capset(c.effective & own.permitted, own.permitted)?;
    if worn.umask != Some(c.umask) {
        sys::umask(c.umask);
        worn.umask = Some(c.umask);
    }
    Ok(())
}

/// Back to the worker's own capabilities. Its ids stay the last caller's:
/// what a worker does between calls (reading callers' status, memory,
/// cwd and descriptors in the host's procfs) its own capabilities allow
/// whatever its fsuid. A failure here would leave a worker acting with
/// the caller's capabilities: the worker must stop.
pub fn restore(own: &Own) -> Result<(), Errno> {
    sys::capset(own.effective, own.permitted)
}
