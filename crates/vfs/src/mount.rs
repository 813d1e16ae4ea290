//! The container's mount table.
//!
//! A mount attaches the root node of a backend tree on top of a node of
//! another mount (the *mount point*). The walk asks [`MountTable::covering`]
//! after every step: if the node it reached is a mount point it continues at
//! the mounted root instead (repeatedly, for stacked mounts). Leaving a
//! mount by `..` needs no lookup here: the walk keeps the chain of
//! directories it came through (see [`crate::Location`]).
//!
//! The sentry builds the table once per container, in the order of the OCI
//! `mounts` array, with [`crate::Vfs::mount`] or
//! [`crate::Vfs::apply_oci_mounts`]: the rootfs tree first, then each mount
//! at its destination, then `linux.maskedPaths` and `linux.readonlyPaths`
//! ([`crate::Vfs::apply_oci_paths`]). A bind copies the flags of the mount
//! it binds from, as Linux does, and adds the ones asked for.
//!
//! Masking follows runc: a masked directory becomes an empty read-only
//! directory (runc: a read-only tmpfs), a masked file an empty character
//! device that reads as nothing (runc: a bind of `/dev/null`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::backend::{Attr, Backend, FileType, Node};
use crate::dcache::TreeId;
use crate::errno::{Errno, Result};

/// Index of a mount in its table; the container root is `MountId(0)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MountId(pub u32);

/// The per-mount flags the walk and the sentry enforce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountFlags {
    /// Writes, creates and removals fail with `EROFS`.
    pub read_only: bool,
    /// set-id bits are ignored by `execve` (the sentry's exec check).
    pub nosuid: bool,
    /// Device nodes cannot be opened (`EACCES`, the sentry's open).
    pub nodev: bool,
    /// Files cannot be executed (`EACCES`, the sentry's exec check).
    pub noexec: bool,
}

impl MountFlags {
    /// From OCI mount `options` (`ro`, `nosuid`...); others are ignored.
    pub fn from_options<S: AsRef<str>>(options: &[S]) -> MountFlags {
        let mut f = MountFlags::default();
        for o in options {
            match o.as_ref() {
                "ro" => f.read_only = true,
                "rw" => f.read_only = false,
                "nosuid" => f.nosuid = true,
                "suid" => f.nosuid = false,
                "nodev" => f.nodev = true,
                "dev" => f.nodev = false,
                "noexec" => f.noexec = true,
                "exec" => f.noexec = false,
                _ => {}
            }
        }
        f
    }

    /// Both sets of restrictions.
    pub fn union(self, other: MountFlags) -> MountFlags {
        MountFlags {
            read_only: self.read_only || other.read_only,
            nosuid: self.nosuid || other.nosuid,
            nodev: self.nodev || other.nodev,
            noexec: self.noexec || other.noexec,
        }
    }

    /// The read-only flags of a masked path.
    pub fn masked() -> MountFlags {
        MountFlags {
            read_only: true,
            nosuid: true,
            nodev: false,
            noexec: true,
        }
    }
}

/// One mount of the table.
#[derive(Clone)]
pub struct Mount {
    pub id: MountId,
    pub tree: TreeId,
    pub backend: Arc<dyn Backend>,
    /// The node of `backend` this mount shows at its mount point.
    pub root: Node,
    pub root_attr: Attr,
    pub flags: MountFlags,
    /// The mount it is attached to, and the node it covers there (`None`
    /// for the container root).
    pub parent: Option<(MountId, Node)>,
    /// Where it was mounted, in the container's view, for `/proc/mounts`.
    pub path: Vec<u8>,
}

/// The container's mounts.
pub struct MountTable {
    mounts: Vec<Mount>,
    trees: Vec<Arc<dyn Backend>>,
    /// `(mount, node)` → the most recent mount on top of it.
    covers: HashMap<(MountId, Node), MountId>,
}

impl MountTable {
    /// A table whose root mount shows the root node of `backend`.
    pub fn new(backend: Arc<dyn Backend>, flags: MountFlags) -> Result<MountTable> {
        let root = backend.root();
        let root_attr = backend.stat(root)?;
        if !root_attr.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mut table = MountTable {
            mounts: Vec::new(),
            trees: Vec::new(),
            covers: HashMap::new(),
        };
        let tree = table.tree_of(&backend);
        let id = MountId(0);
        let path = b"/".to_vec();
        table.mounts.push(Mount {
            id,
            tree,
            backend,
            root,
            root_attr,
            flags,
            parent: None,
            path,
        });
        Ok(table)
    }

    fn tree_of(&mut self, backend: &Arc<dyn Backend>) -> TreeId {
        let found = self.trees.iter().position(|b| Arc::ptr_eq(b, backend));
        let index = found.unwrap_or_else(|| {
            self.trees.push(backend.clone());
            self.trees.len() - 1
        });
        TreeId(index as u32)
    }

    /// The mount `id` (`EINVAL` for an id this table never issued).
    pub fn get(&self, id: MountId) -> Result<&Mount> {
        self.mounts.get(id.0 as usize).ok_or(Errno::EINVAL)
    }

    /// All mounts, in mount order (the order of `/proc/self/mountinfo`).
    pub fn iter(&self) -> impl Iterator<Item = &Mount> {
        self.mounts.iter()
    }

    /// The mount on top of `node` of mount `mount`, if any.
    pub fn covering(&self, mount: MountId, node: Node) -> Option<&Mount> {
        let id = self.covers.get(&(mount, node))?;
        self.mounts.get(id.0 as usize)
    }

    /// Attaches `root` of `backend` on top of `(mount, node)` whose
    /// attributes are `at_attr`. Directories go on directories, other files
    /// on other files, as for Linux bind mounts.
    pub fn attach(
        &mut self,
        at: (MountId, Node, Attr),
        backend: Arc<dyn Backend>,
        root: Node,
        flags: MountFlags,
        path: Vec<u8>,
    ) -> Result<MountId> {
        let (mount, node, at_attr) = at;
        self.get(mount)?;
        let root_attr = backend.stat(root)?;
        // Linux's graft_tree: a directory only on a directory.
        if at_attr.is_dir() != root_attr.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if at_attr.is_symlink() || root_attr.is_symlink() {
            return Err(Errno::EINVAL);
        }
        let tree = self.tree_of(&backend);
        let id = MountId(self.mounts.len() as u32);
        let parent = Some((mount, node));
        self.mounts.push(Mount {
            id,
            tree,
            backend,
            root,
            root_attr,
            flags,
            parent,
            path,
        });
        self.covers.insert((mount, node), id);
        Ok(id)
    }
}

static MASKED_DEV: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x6d61_0000);

/// The one-node tree a masked path is replaced by: an empty directory, or an
/// empty character device standing in for `/dev/null`.
pub struct MaskedFs {
    attr: Attr,
}

impl MaskedFs {
    /// Masks a directory (`dir == true`) or a file.
    pub fn new(dir: bool) -> MaskedFs {
        let dev = MASKED_DEV.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (kind, perm) = if dir {
            (FileType::Dir, 0o555)
        } else {
            (FileType::CharDev, 0o666)
        };
        MaskedFs {
            attr: Attr {
                kind,
                perm,
                dev,
                ino: 1,
                size: 0,
                uid: 0,
                gid: 0,
                magic: false,
                acl: None,
            },
        }
    }
}

impl Backend for MaskedFs {
    fn root(&self) -> Node {
        Node(0)
    }

    fn lookup(&self, _dir: Node, _name: &[u8]) -> Result<(Node, Attr)> {
        Err(if self.attr.is_dir() {
            Errno::ENOENT
        } else {
            Errno::ENOTDIR
        })
    }

    fn stat(&self, node: Node) -> Result<Attr> {
        if node == Node(0) {
            Ok(self.attr)
        } else {
            Err(Errno::EINVAL)
        }
    }

    fn readlink(&self, _node: Node) -> Result<Vec<u8>> {
        Err(Errno::EINVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_from_oci_options() {
        let f = MountFlags::from_options(&["rbind", "ro", "nosuid", "nodev", "noexec"]);
        assert_eq!(
            f,
            MountFlags {
                read_only: true,
                nosuid: true,
                nodev: true,
                noexec: true
            }
        );
        assert_eq!(
            MountFlags::from_options(&["ro", "rw"]),
            MountFlags::default()
        );
        let nosuid = MountFlags {
            nosuid: true,
            ..MountFlags::default()
        };
        assert_eq!(nosuid.union(MountFlags::masked()), MountFlags::masked());
    }

    #[test]
    fn masked_trees() {
        let d = MaskedFs::new(true);
        assert!(d.stat(d.root()).unwrap().is_dir());
        assert_eq!(d.lookup(d.root(), b"x"), Err(Errno::ENOENT));
        let f = MaskedFs::new(false);
        assert_eq!(f.stat(f.root()).unwrap().kind, FileType::CharDev);
        assert_eq!(f.lookup(f.root(), b"x"), Err(Errno::ENOTDIR));
    }
}
