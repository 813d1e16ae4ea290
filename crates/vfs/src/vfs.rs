//! [`Vfs`]: one container's mount table and dentry cache, and the entry
//! points of the walk.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::backend::{Attr, Backend, Node};
use crate::creds::Creds;
use crate::dcache::{Dcache, Stats, TreeId};
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
    /// The tree and device whose entries the cache keeps: the rootfs's
    /// (see [`crate::dcache`], "What is cached").
    exclusive: (TreeId, u64),
}

impl Vfs {
    /// A view whose root is the root of `rootfs`.
    pub fn new(rootfs: Arc<dyn Backend>, flags: MountFlags, dcache_entries: usize) -> Result<Vfs> {
        let mounts = MountTable::new(rootfs, flags)?;
        let m = mounts.get(MountId(0))?;
        let root = Location::new_root(m.id, m.root, m.root_attr);
        let exclusive = (m.tree, m.root_attr.dev);
        Ok(Vfs {
            mounts,
            root,
            dcache: Mutex::new(Dcache::new(dcache_entries)),
            exclusive,
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
        let mut found = self.lookup_chain(dir, &[name]);
        found.pop().unwrap_or(Err(Errno::EIO))
    }

    /// Lookups of `names` down a chain from `dir` ([`Backend::lookup_chain`]),
    /// for a walk to use in order: the cache answers as far as it can, the
    /// backend the rest in one request. The answer may be shorter than
    /// `names` (it ends at the first failure; a backend may stop early).
    pub(crate) fn lookup_chain(
        &self,
        dir: &Location,
        names: &[&[u8]],
    ) -> Vec<Result<(Node, Attr)>> {
        let m = match self.mounts.get(dir.mount()) {
            Ok(m) => m,
            Err(e) => return vec![Err(e)],
        };
        let mut out = Vec::with_capacity(names.len());
        let mut at = dir.node();
        let generation;
        {
            let mut cache = self.dcache();
            generation = cache.generation();
            for name in names {
                match cache.get(m.tree, at, name) {
                    Some((node, attr)) => {
                        out.push(Ok((node, attr)));
                        at = node;
                        // A symlink or a mount point: the walk goes
                        // elsewhere from here and asks again.
                        let covered = self.mounts.covering(dir.mount(), node).is_some();
                        if !attr.is_dir() || covered {
                            return out;
                        }
                    }
                    None => break,
                }
            }
        }
        let rest = &names[out.len()..];
        if rest.is_empty() {
            return out;
        }
        // The backend call (a gofer round trip) runs without the lock.
        let looked = if rest.len() == 1 {
            vec![m.backend.lookup(at, rest[0])]
        } else {
            m.backend.lookup_chain(at, rest)
        };
        let mut cache = self.dcache();
        for (name, result) in rest.iter().zip(&looked) {
            let Ok((node, attr)) = result else { break };
            if (m.tree, attr.dev) == self.exclusive {
                cache.insert_since(generation, m.tree, at, name, (*node, *attr));
            }
            at = *node;
        }
        out.extend(looked);
        out
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

    /// Forgets the cached entry `name` of directory `dir` (after unlink,
    /// rmdir, rename of that name).
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

    /// Forgets every cached entry: after any change of a file's
    /// attributes (it may have other names), and before the backend's
    /// nodes are given back.
    pub fn invalidate_all(&self) {
        self.dcache().clear();
    }

    /// Forgets every cached entry and caches nothing more: names may now
    /// lead elsewhere behind the sentry (a mount the kernel makes).
    pub fn disable_dcache(&self) {
        self.dcache().disable();
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
