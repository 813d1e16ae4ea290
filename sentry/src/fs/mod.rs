//! The container's files as the sentry resolves them: a [`Vfs`] over the
//! container's gofer, which serves `/` of the init's mount namespace
//! (it joins it, so later mounts are seen too).
//!
//! Because the gofer sees the kernel's mount table (rootfs, volumes, the
//! files Docker binds in), the VFS mount table holds only what that view
//! lacks: the container's non-bind mounts (`/proc`, `/sys`, `/dev` and
//! what lies below them, tmpfs mounts) are [`native::NativeFs`] mounts,
//! and calls reaching them run natively (the sentry has no synthetic
//! `/proc` yet, and the gofer is outside the container's pid namespace).
//!
//! The dentry cache ([`moat_vfs::dcache`]) keeps found names of the
//! rootfs (its device), which only this sentry changes: every call that
//! removes a name (`syscalls::{unlink, rename}`) forgets it, every change
//! of attributes by path or descriptor (`syscalls::{chmod, chown, utimes,
//! truncate, xattr, fdattr}`) drops the whole cache, and so does giving
//! the gofer's handles back ([`Files::trim`]). Volumes and absent names
//! are asked each time.

pub mod caller;
pub mod gofer_backend;
pub mod launch;
pub mod native;
pub mod perm;
pub mod setattr;
#[cfg(test)]
mod tests;

use std::os::fd::OwnedFd;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use anyhow::{Context, Result};
use moat_vfs::{Location, MountFlags, MountId, MountSource, Node, Vfs};
use oci_spec::runtime::Spec;

use gofer_backend::GoferBackend;
use native::NativeFs;

/// Past this many gofer handles, the sentry gives them all back.
const MAX_HANDLES: usize = 8192;

/// Names the dentry cache keeps: a few thousand (each holds a gofer
/// handle, a descriptor in the gofer, until [`Files::trim`]).
const DCACHE_ENTRIES: usize = 4096;

pub struct Files {
    pub vfs: Vfs,
    pub gofer: Arc<GoferBackend>,
    native: Vec<MountId>,
    /// Walks hold it shared; giving gofer handles back holds it alone.
    gate: RwLock<()>,
}

impl Files {
    /// The VFS of the container described by `spec`, over the gofer
    /// connected on `sock`.
    pub fn new(spec: &Spec, sock: OwnedFd) -> Result<Files> {
        let gofer = Arc::new(GoferBackend::connect(sock).context("connecting to the gofer")?);
        let mut vfs = Vfs::new(gofer.clone(), MountFlags::default(), DCACHE_ENTRIES)
            .map_err(|e| anyhow::anyhow!("the gofer's root: {e}"))?;
        let mut native = Vec::new();
        let mut dests: Vec<Vec<u8>> = Vec::new();
        let source = MountSource::Tree {
            backend: Arc::new(NativeFs),
            root: None,
        };
        for m in spec.mounts().iter().flatten() {
            let opts = m.options().as_deref().unwrap_or_default();
            let bind = m.typ().as_deref() == Some("bind")
                || opts.iter().any(|o| o == "bind" || o == "rbind");
            let dest = m.destination().as_os_str().as_encoded_bytes().to_vec();
            if bind || dests.iter().any(|d| below(&dest, d)) {
                continue;
            }
            match vfs.mount(&dest, source.clone(), MountFlags::from_options(opts)) {
                Ok(id) => {
                    native.push(id);
                    dests.push(dest);
                }
                Err(e) => tracing::warn!(
                    "leaving {} to the gofer's view: {e}",
                    m.destination().display()
                ),
            }
        }
        Ok(Files {
            vfs,
            gofer,
            native,
            gate: RwLock::new(()),
        })
    }

    /// Held across one walk and the gofer calls on its result.
    pub fn walking(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Called with no walk held by this thread: gives the gofer's handles
    /// back once there are many (the dentry cache, which names them,
    /// first).
    pub fn trim(&self) {
        if self.gofer.len() > MAX_HANDLES {
            let _alone = self.gate.write().unwrap_or_else(|e| e.into_inner());
            if self.gofer.len() > MAX_HANDLES {
                self.vfs.invalidate_all();
                self.gofer.reset(&self.mount_points());
            }
        }
    }

    /// Gives every gofer handle back now: the kernel refuses to unmount
    /// (`EBUSY`) a mount the gofer still holds a descriptor on, so
    /// `umount2` calls it before the kernel runs. Called with no walk
    /// held by this thread.
    pub fn drop_handles(&self) {
        let _alone = self.gate.write().unwrap_or_else(|e| e.into_inner());
        self.vfs.invalidate_all();
        self.gofer.reset(&self.mount_points());
    }

    /// A mount or umount the kernel is about to run may change what a
    /// name leads to, which the dentry cache would not see: from now on
    /// every walk of this container asks the gofer.
    pub fn stop_caching(&self) {
        self.vfs.disable_dcache();
    }

    /// The gofer nodes the VFS's mounts are attached to.
    fn mount_points(&self) -> Vec<Node> {
        let on_gofer = |m: &moat_vfs::Mount| match m.parent {
            Some((MountId(0), node)) => Some(node),
            _ => None,
        };
        self.vfs.mounts().iter().filter_map(on_gofer).collect()
    }

    /// The gofer node `loc` names, or `None` where the kernel answers.
    pub fn gofer_node(&self, loc: &Location) -> Option<Node> {
        (loc.mount() == MountId(0)).then(|| loc.node())
    }

    pub fn is_native(&self, loc: &Location) -> bool {
        self.native.contains(&loc.mount())
    }

    /// A mount the kernel serves lies at or below `loc` (a recursive bind
    /// of `loc` would copy it onto the gofer's tree).
    pub fn has_native_below(&self, loc: &Location) -> bool {
        let dir = loc.path();
        let native = |m: &moat_vfs::Mount| self.native.contains(&m.id) && below(&m.path, &dir);
        self.vfs.mounts().iter().any(native)
    }
}

/// `path` is `dir` or below it.
fn below(path: &[u8], dir: &[u8]) -> bool {
    let dir = dir.strip_suffix(b"/").unwrap_or(dir);
    path.starts_with(dir) && (path.len() == dir.len() || path[dir.len()] == b'/' || dir.is_empty())
}

#[cfg(test)]
mod unit {
    #[test]
    fn below() {
        assert!(super::below(b"/dev/pts", b"/dev"));
        assert!(super::below(b"/dev", b"/dev"));
        assert!(!super::below(b"/devices", b"/dev"));
        assert!(super::below(b"/x", b"/"));
    }
}
