//! An in-memory [`Backend`] for tests and fuzzing.
//!
//! Directories, regular files, symlinks and device nodes, nothing else:
//! modes and owners are kept for the walk's search checks, file contents
//! are only a size. It counts the lookups that reach it, so tests can prove
//! the dentry cache works.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::backend::{Attr, Backend, FileType, Node};
use crate::errno::{Errno, Result};

static NEXT_DEV: AtomicU64 = AtomicU64::new(0x4d45_0000);

enum Body {
    Dir(BTreeMap<Vec<u8>, Node>),
    Symlink(Vec<u8>),
    Other,
}

struct MemNode {
    attr: Attr,
    body: Body,
}

/// An in-memory file tree.
pub struct MemFs {
    dev: u64,
    nodes: Mutex<Vec<MemNode>>,
    lookups: AtomicU64,
}

impl Default for MemFs {
    fn default() -> Self {
        MemFs::new()
    }
}

impl MemFs {
    /// A tree holding only an empty root directory (node 0).
    pub fn new() -> MemFs {
        let dev = NEXT_DEV.fetch_add(1, Ordering::Relaxed);
        let fs = MemFs {
            dev,
            nodes: Mutex::new(Vec::new()),
            lookups: AtomicU64::new(0),
        };
        fs.push(FileType::Dir, Body::Dir(BTreeMap::new()), 0o755);
        fs
    }

    /// How many [`Backend::lookup`] calls reached this tree.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    fn nodes(&self) -> std::sync::MutexGuard<'_, Vec<MemNode>> {
        // A panic while holding the lock leaves the tree consistent (every
        // mutation is one push or one map insert), so poisoning is ignored.
        self.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, kind: FileType, body: Body, perm: u32) -> Node {
        let mut nodes = self.nodes();
        let id = nodes.len() as u64;
        let attr = Attr {
            kind,
            perm,
            dev: self.dev,
            ino: id + 1,
            size: 0,
            uid: 0,
            gid: 0,
            magic: false,
            acl: None,
        };
        nodes.push(MemNode { attr, body });
        Node(id)
    }

    fn add(&self, dir: Node, name: &[u8], kind: FileType, body: Body) -> Result<Node> {
        check_name(name)?;
        let size = match &body {
            Body::Symlink(t) => t.len() as u64,
            _ => 0,
        };
        let perm = match kind {
            FileType::Symlink => 0o777,
            FileType::Dir => 0o755,
            _ => 0o644,
        };
        if self.child(dir, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let node = self.push(kind, body, perm);
        let mut nodes = self.nodes();
        nodes[node.0 as usize].attr.size = size;
        match nodes.get_mut(dir.0 as usize).map(|n| &mut n.body) {
            Some(Body::Dir(children)) => {
                children.insert(name.to_vec(), node);
                Ok(node)
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn child(&self, dir: Node, name: &[u8]) -> Result<Option<Node>> {
        let nodes = self.nodes();
        match nodes.get(dir.0 as usize).map(|n| &n.body) {
            Some(Body::Dir(children)) => Ok(children.get(name).copied()),
            Some(_) => Err(Errno::ENOTDIR),
            None => Err(Errno::EBADF),
        }
    }

    /// Creates directory `name` in `dir`.
    pub fn mkdir(&self, dir: Node, name: &[u8]) -> Result<Node> {
        self.add(dir, name, FileType::Dir, Body::Dir(BTreeMap::new()))
    }

    /// Creates an empty regular file `name` in `dir`.
    pub fn create(&self, dir: Node, name: &[u8]) -> Result<Node> {
        self.add(dir, name, FileType::Regular, Body::Other)
    }

    /// Creates a node of another type (device, fifo, socket) in `dir`.
    pub fn mknod(&self, dir: Node, name: &[u8], kind: FileType) -> Result<Node> {
        match kind {
            FileType::Dir | FileType::Symlink => Err(Errno::EINVAL),
            _ => self.add(dir, name, kind, Body::Other),
        }
    }

    /// Creates symlink `name` in `dir` pointing at `target`.
    pub fn symlink(&self, dir: Node, name: &[u8], target: &[u8]) -> Result<Node> {
        self.add(dir, name, FileType::Symlink, Body::Symlink(target.to_vec()))
    }

    /// Marks symlink `node` as a magic link (as `/proc/self/exe` would be).
    pub fn set_magic(&self, node: Node) -> Result<()> {
        let mut nodes = self.nodes();
        let n = nodes.get_mut(node.0 as usize).ok_or(Errno::EBADF)?;
        n.attr.magic = n.attr.kind == FileType::Symlink;
        Ok(())
    }

    /// Sets the permission bits of `node`.
    pub fn chmod(&self, node: Node, perm: u32) -> Result<()> {
        let mut nodes = self.nodes();
        let n = nodes.get_mut(node.0 as usize).ok_or(Errno::EBADF)?;
        n.attr.perm = perm & 0o7777;
        Ok(())
    }

    /// Sets the owner of `node`.
    pub fn chown(&self, node: Node, uid: u32, gid: u32) -> Result<()> {
        let mut nodes = self.nodes();
        let n = nodes.get_mut(node.0 as usize).ok_or(Errno::EBADF)?;
        (n.attr.uid, n.attr.gid) = (uid, gid);
        Ok(())
    }

    /// Removes `name` from `dir` (the node itself stays valid, as an open
    /// file would).
    pub fn unlink(&self, dir: Node, name: &[u8]) -> Result<()> {
        let mut nodes = self.nodes();
        match nodes.get_mut(dir.0 as usize).map(|n| &mut n.body) {
            Some(Body::Dir(children)) => children.remove(name).map(|_| ()).ok_or(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// The node at `path` below the root, following no symlinks and creating
    /// missing directories. For building test trees.
    pub fn mkdir_all(&self, path: &str) -> Result<Node> {
        let mut node = self.root();
        for name in path.split('/').filter(|c| !c.is_empty()) {
            node = match self.child(node, name.as_bytes())? {
                Some(n) => n,
                None => self.mkdir(node, name.as_bytes())?,
            };
        }
        Ok(node)
    }

    /// Splits `path` into its parent (created as directories) and last name.
    fn parent_of<'p>(&self, path: &'p str) -> Result<(Node, &'p str)> {
        let path = path.trim_end_matches('/');
        match path.rsplit_once('/') {
            Some((dir, name)) => Ok((self.mkdir_all(dir)?, name)),
            None => Ok((self.root(), path)),
        }
    }

    /// Test helper: a regular file at `path`, parents created.
    pub fn put_file(&self, path: &str) -> Result<Node> {
        let (dir, name) = self.parent_of(path)?;
        self.create(dir, name.as_bytes())
    }

    /// Test helper: a symlink at `path` to `target`, parents created.
    pub fn put_symlink(&self, path: &str, target: &str) -> Result<Node> {
        let (dir, name) = self.parent_of(path)?;
        self.symlink(dir, name.as_bytes(), target.as_bytes())
    }
}

fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

impl Backend for MemFs {
    fn root(&self) -> Node {
        Node(0)
    }

    fn lookup(&self, dir: Node, name: &[u8]) -> Result<(Node, Attr)> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        check_name(name)?;
        let node = self.child(dir, name)?.ok_or(Errno::ENOENT)?;
        Ok((node, self.stat(node)?))
    }

    fn stat(&self, node: Node) -> Result<Attr> {
        self.nodes()
            .get(node.0 as usize)
            .map(|n| n.attr)
            .ok_or(Errno::EBADF)
    }

    fn readlink(&self, node: Node) -> Result<Vec<u8>> {
        match self.nodes().get(node.0 as usize).map(|n| &n.body) {
            Some(Body::Symlink(t)) => Ok(t.clone()),
            Some(_) => Err(Errno::EINVAL),
            None => Err(Errno::EBADF),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_looks_up() {
        let fs = MemFs::new();
        let f = fs.put_file("a/b/f").unwrap();
        let l = fs.put_symlink("a/l", "b/f").unwrap();
        let a = fs.lookup(fs.root(), b"a").unwrap().0;
        assert_eq!(fs.lookup(a, b"l").unwrap(), (l, fs.stat(l).unwrap()));
        assert_eq!(fs.readlink(l).unwrap(), b"b/f");
        assert_eq!(fs.lookup(f, b"x"), Err(Errno::ENOTDIR));
        assert_eq!(fs.lookup(a, b"zz"), Err(Errno::ENOENT));
        assert_eq!(fs.lookup(a, b".."), Err(Errno::EINVAL));
        assert_eq!(fs.create(a, b"l"), Err(Errno::EEXIST));
        assert_eq!(fs.lookups(), 5);
        fs.unlink(a, b"l").unwrap();
        assert_eq!(fs.lookup(a, b"l"), Err(Errno::ENOENT));
    }
}
