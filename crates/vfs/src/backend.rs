//! The narrow interface the walk needs from a file server.
//!
//! A [`Backend`] is one file tree: the container's rootfs served by its
//! gofer, a volume, a tmpfs, a synthetic `/proc`, or [`crate::memfs`] in
//! tests. Nodes are opaque `u64` ids the backend hands out; the walk never
//! interprets them. A backend resolves **one component at a time and never
//! follows symlinks**: symlinks, `.`, `..` and mount crossings are the walk's
//! job, so a hostile tree cannot make the server leave its root.

use moat_goferproto::Acl;

use crate::errno::Result;
use crate::location::Location;

/// An opaque node id, meaningful only to the backend that issued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node(pub u64);

/// File type of a node, as far as the walk cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    Dir,
    Regular,
    Symlink,
    CharDev,
    BlockDev,
    Fifo,
    Socket,
}

impl FileType {
    /// From the `S_IFMT` bits of a `st_mode`.
    pub fn from_mode(mode: u32) -> FileType {
        match mode & libc::S_IFMT {
            libc::S_IFDIR => FileType::Dir,
            libc::S_IFLNK => FileType::Symlink,
            libc::S_IFCHR => FileType::CharDev,
            libc::S_IFBLK => FileType::BlockDev,
            libc::S_IFIFO => FileType::Fifo,
            libc::S_IFSOCK => FileType::Socket,
            _ => FileType::Regular,
        }
    }

    /// Device files, fifos and sockets may be written on read-only mounts.
    pub fn writable_on_ro_mount(self) -> bool {
        matches!(
            self,
            FileType::CharDev | FileType::BlockDev | FileType::Fifo | FileType::Socket
        )
    }
}

/// The attributes of a node that the walk and the dentry cache keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attr {
    pub kind: FileType,
    /// Permission bits (`st_mode & 0o7777`).
    pub perm: u32,
    /// Owner, as the workload sees it (after the container's id mapping).
    pub uid: u32,
    pub gid: u32,
    /// Host identity of the object, for `st_dev`/`st_ino` and for tests.
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    /// A "magic link" (`/proc/<pid>/fd/<n>`, `/proc/<pid>/exe`...): a
    /// symlink whose target is an object rather than a path. Only synthetic
    /// backends set it; `RESOLVE_NO_MAGICLINKS` refuses to follow it.
    pub magic: bool,
    /// The POSIX access ACL, which search permission consults.
    pub acl: Option<Acl>,
}

impl Attr {
    pub fn is_dir(&self) -> bool {
        self.kind == FileType::Dir
    }

    pub fn is_symlink(&self) -> bool {
        self.kind == FileType::Symlink
    }
}

/// One file tree the walk can descend.
///
/// Implementations must be cheap to call repeatedly (the dentry cache keeps
/// most lookups away, but not all) and must never resolve `.`/`..` or follow
/// symlinks themselves: the walk never passes those names, and a backend that
/// receives them should answer `EINVAL`.
pub trait Backend: Send + Sync {
    /// The node the tree starts at.
    fn root(&self) -> Node;

    /// The child `name` (one component, no `/`) of directory `dir`, without
    /// following it if it is a symlink. `ENOENT` if absent, `ENOTDIR` if
    /// `dir` is not a directory.
    fn lookup(&self, dir: Node, name: &[u8]) -> Result<(Node, Attr)>;

    /// [`Backend::lookup`] down a chain: `names[0]` in `dir`, each next
    /// name in what the previous one found, in order, stopping after a
    /// result that is not a directory (a symlink is not followed) and
    /// after the first error, which is the last element. A backend that
    /// pays per request (the gofer) answers in one; the default looks the
    /// names up one at a time. Never empty for a non-empty `names`.
    fn lookup_chain(&self, dir: Node, names: &[&[u8]]) -> Vec<Result<(Node, Attr)>> {
        let mut out = Vec::with_capacity(names.len());
        let mut at = dir;
        for name in names {
            let r = self.lookup(at, name);
            let go_on = matches!(&r, Ok((_, a)) if a.is_dir());
            if let Ok((n, _)) = &r {
                at = *n;
            }
            out.push(r);
            if !go_on {
                break;
            }
        }
        out
    }

    /// The attributes of `node`.
    fn stat(&self, node: Node) -> Result<Attr>;

    /// The target of symlink `node` (`EINVAL` if it is not one).
    fn readlink(&self, node: Node) -> Result<Vec<u8>>;

    /// Where magic link `node` jumps (the sentry's `/proc/<pid>/fd/<n>`,
    /// `cwd`, `root`, `exe`: an object, not a path), or `None` to follow
    /// its text like any symlink. Only synthetic backends override this.
    fn follow_magic(&self, _node: Node) -> Result<Option<Location>> {
        Ok(None)
    }
}
