//! [`Vfs`]: one container's mount table and dentry cache, and the entry
//! points of the walk.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::backend::{Attr, Backend, Node};
use crate::creds::Creds;
use crate::dcache::{Cached, Dcache, Stats};
use crate::errno::{Errno, Result};
use crate::flags::WalkFlags;
use crate::location::{Location, Step};
use crate::mount::{MaskedFs, MountFlags, MountId, MountTable};
use crate::walk::{Resolved, Walker};

/// Default bound of the dentry cache.
pub const DEFAULT_DCACHE_ENTRIES: usize = 64 * 1024;

/// What to mount at a destination.
#[derive(Clone)]
pub enum MountSource {
    /// The root (or `Some` node) of a tree: a volume's gofer, a tmpfs, a
    /// synthetic file system.
    Tree {
        backend: Arc<dyn Backend>,
        root: Option<Node>,
    },
    /// What a container path shows now (a bind inside the container, as
    /// `linux.readonlyPaths` does with the path itself).
    Bind(Vec<u8>),
    /// runc's masking: empty read-only directory or `/dev/null`-like file.
    Masked,
}

/// One container's file-system view.
pub struct Vfs {
    mounts: MountTable,
    root: Location,
    dcache: Mutex<Dcache>,
}

impl Vfs {
    /// A view whose root is the root of `rootfs`.
    pub fn new(rootfs: Arc<dyn Backend>, flags: MountFlags, dcache_entries: usize) -> Result<Vfs> {
        let mounts = MountTable::new(rootfs, flags)?;
        let m = mounts.get(MountId(0))?;
        let root = Location::new_root(m.id, m.root, m.root_attr);
        Ok(Vfs {
            mounts,
            root,
            dcache: Mutex::new(Dcache::new(dcache_entries)),
        })
    }

    pub fn mounts(&self) -> &MountTable {
        &self.mounts
    }

    pub(crate) fn mount_flags(&self, id: MountId) -> Result<MountFlags> {
        Ok(self.mounts.get(id)?.flags)
    }

    /// The container root.
    pub fn root(&self) -> Location {
        self.root.clone()
    }

    /// Resolves `path` from `start` (cwd or a dirfd's location) with the
    /// container root as root.
    pub fn resolve(&self, start: &Location, path: &[u8], flags: &WalkFlags) -> Result<Resolved> {
        self.resolve_in(&self.root, start, path, flags)
    }

    /// Resolves `path` from `start` with `root` as the process's root
    /// (after `chroot`); `start` should lie within `root`.
    pub fn resolve_in(
        &self,
        root: &Location,
        start: &Location,
        path: &[u8],
        flags: &WalkFlags,
    ) -> Result<Resolved> {
        Walker::new(self, root, start, flags, None).run(path)
    }

    /// Resolves `path` as [`Vfs::resolve_in`] does, checking search
    /// permission on each directory for `creds`: how the sentry resolves
    /// the workload's paths. (Without credentials, as the other entry
    /// points do, is for the sentry's own trusted walks: mount setup.)
    pub fn resolve_as(
        &self,
        creds: &Creds,
        root: &Location,
        start: &Location,
        path: &[u8],
        flags: &WalkFlags,
    ) -> Result<Resolved> {
        Walker::new(self, root, start, flags, Some(creds)).run(path)
    }

    /// Mounts `source` at `dest` (resolved from the container root,
    /// following symlinks, as runc resolves destinations inside the rootfs).
    /// The destination must exist.
    /// A bind keeps the restrictions of the mount it copies.
    pub fn mount(
        &mut self,
        dest: &[u8],
        source: MountSource,
        mut flags: MountFlags,
    ) -> Result<MountId> {
        let at = self
            .resolve(&self.root(), dest, &WalkFlags::default())?
            .found()?;
        let (backend, root) = match source {
            MountSource::Tree { backend, root } => {
                let root = root.unwrap_or_else(|| backend.root());
                (backend, root)
            }
            MountSource::Bind(path) => {
                let src = self
                    .resolve(&self.root(), &path, &WalkFlags::default())?
                    .found()?;
                let from = self.mounts.get(src.mount())?;
                // Linux copies the source mount's flags to a bind (and a
                // read-only file system stays read-only); runc's remount
                // then adds the options asked for.
                flags = flags.union(from.flags);
                (from.backend.clone(), src.node())
            }
            MountSource::Masked => (
                Arc::new(MaskedFs::new(at.attr().is_dir())) as Arc<dyn Backend>,
                Node(0),
            ),
        };
        let point = (at.mount(), at.node(), at.attr());
        self.mounts.attach(point, backend, root, flags, at.path())
    }

    /// Mounts the OCI `mounts` of `spec` in order. `source_for` says what
    /// each one shows (the sentry: a gofer tree for binds, a tmpfs, its
    /// synthetic `/proc`...; `None` leaves that mount out); the flags come
    /// from its options. Destinations must exist already (the sentry makes
    /// missing mount points through the gofer first, as runc does).
    pub fn apply_oci_mounts<F>(
        &mut self,
        spec: &oci_spec::runtime::Spec,
        mut source_for: F,
    ) -> Result<()>
    where
        F: FnMut(&oci_spec::runtime::Mount) -> Result<Option<MountSource>>,
    {
        for m in spec.mounts().iter().flatten() {
            let Some(source) = source_for(m)? else {
                continue;
            };
            let flags = MountFlags::from_options(m.options().as_deref().unwrap_or_default());
            let dest = m.destination().as_os_str().as_encoded_bytes();
            self.mount(dest, source, flags)?;
        }
        Ok(())
    }

    /// Applies `linux.maskedPaths` and `linux.readonlyPaths` of `spec`, as
    /// runc does after the mounts: missing paths are skipped.
    pub fn apply_oci_paths(&mut self, spec: &oci_spec::runtime::Spec) -> Result<()> {
        let Some(linux) = spec.linux() else {
            return Ok(());
        };
        for p in linux.masked_paths().iter().flatten() {
            skip_enoent(self.mount(p.as_bytes(), MountSource::Masked, MountFlags::masked()))?;
        }
        let ro = MountFlags {
            read_only: true,
            nosuid: true,
            nodev: true,
            noexec: true,
        };
        for p in linux.readonly_paths().iter().flatten() {
            let src = MountSource::Bind(p.as_bytes().to_vec());
            skip_enoent(self.mount(p.as_bytes(), src, ro))?;
        }
        Ok(())
    }

    fn dcache(&self) -> MutexGuard<'_, Dcache> {
        // The cache stays consistent across a panic (each operation is
        // complete before it returns), so poisoning is ignored.
        self.dcache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One lookup of `name` in the directory `dir`, through the cache.
    pub(crate) fn lookup(&self, dir: &Location, name: &[u8]) -> Result<(Node, Attr)> {
        let m = self.mounts.get(dir.mount())?;
        match self.dcache().get(m.tree, dir.node(), name) {
            Some(Cached::Found(node, attr)) => return Ok((node, attr)),
            Some(Cached::Absent) => return Err(Errno::ENOENT),
            None => {}
        }
        // The backend call (a gofer round trip) runs without the lock.
        let result = m.backend.lookup(dir.node(), name);
        let cached = match result {
            Ok((node, attr)) => Cached::Found(node, attr),
            Err(Errno::ENOENT) => Cached::Absent,
            Err(_) => return result,
        };
        self.dcache().insert(m.tree, dir.node(), name, cached);
        result
    }

    /// Lookups of `names` down a chain from `dir` ([`Backend::lookup_chain`]),
    /// for a walk to use in order. With the dentry cache on, only the first
    /// name is looked up (through the cache); the cache then answers the
    /// rest without a round trip anyway.
    pub(crate) fn lookup_chain(
        &self,
        dir: &Location,
        names: &[&[u8]],
    ) -> Vec<Result<(Node, Attr)>> {
        let Some(first) = names.first() else {
            return Vec::new();
        };
        if names.len() == 1 || self.dcache().enabled() {
            return vec![self.lookup(dir, first)];
        }
        match self.mounts.get(dir.mount()) {
            Ok(m) => m.backend.lookup_chain(dir.node(), names),
            Err(e) => vec![Err(e)],
        }
    }

    /// The child `name` of directory `dir`, through the cache and into a
    /// mount on top of it, never following a symlink: the final lookup of
    /// unlink, rmdir, rename and mkdir after a [`WalkFlags::parent`] walk.
    pub fn child(&self, dir: &Location, name: &[u8]) -> Result<Location> {
        if !dir.attr().is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if name.len() > crate::flags::NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let (node, attr) = self.lookup(dir, name)?;
        let mut step = Step {
            mount: dir.mount(),
            node,
            attr,
            name: name.into(),
        };
        while let Some(m) = self.mounts.covering(step.mount, step.node) {
            step = Step {
                mount: m.id,
                node: m.root,
                attr: m.root_attr,
                name: step.name,
            };
        }
        let mut loc = dir.clone();
        loc.push(step);
        Ok(loc)
    }

    /// Forgets the cached entry `name` of directory `dir` (after create,
    /// unlink, rename, setattr of that name).
    pub fn invalidate(&self, dir: &Location, name: &[u8]) -> Result<()> {
        let tree = self.mounts.get(dir.mount())?.tree;
        self.dcache().invalidate(tree, dir.node(), name);
        Ok(())
    }

    /// Forgets every cached entry of directory `dir` (rmdir, rename over).
    pub fn invalidate_dir(&self, dir: &Location) -> Result<()> {
        let tree = self.mounts.get(dir.mount())?.tree;
        self.dcache().invalidate_dir(tree, dir.node());
        Ok(())
    }

    pub fn dcache_stats(&self) -> Stats {
        self.dcache().stats()
    }
}

fn skip_enoent(r: Result<MountId>) -> Result<()> {
    match r {
        Ok(_) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_between_notify_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Vfs>();
        send_sync::<Location>();
    }
}
