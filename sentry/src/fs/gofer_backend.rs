//! [`moat_vfs::Backend`] over the gofer protocol: the sentry's walk asks
//! the container's gofer for one component at a time.
//!
//! Vfs [`Node`]s are gofer [`Handle`]s. The gofer hands out a new handle
//! (an `O_PATH` descriptor it holds) for every `WalkStat`, so the adapter
//! keeps one handle per file (by device and inode, which stay unique while
//! a handle pins the inode) and closes duplicates in batches. The number
//! of handles still grows with the files a workload looks at: the owner
//! calls [`GoferBackend::reset`] (with no walk in flight) past
//! [`GoferBackend::len`] limits; the root handle is never closed.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Mutex, MutexGuard};

use moat_goferproto::{Client, ClientError, Handle, Name, Stat, Statfs};
use moat_vfs::{Attr, Backend, Errno, FileType, Node, Result};

/// Duplicate handles are closed once this many are waiting.
const CLOSE_BATCH: usize = 64;

pub struct GoferBackend {
    root: Handle,
    /// The root's (dev, ino).
    root_id: (u64, u64),
    inner: Mutex<Inner>,
}

struct Inner {
    client: Client,
    /// (dev, ino) → the handle kept for that file.
    by_id: HashMap<(u64, u64), Handle>,
    /// Handles to give back to the gofer.
    to_close: Vec<Handle>,
}

/// The errno a workload sees for a failed gofer call (EIO for a broken
/// link to the gofer: it is the file system's failure, not the caller's).
fn errno(e: ClientError) -> Errno {
    if !matches!(e, ClientError::Remote(_)) {
        tracing::warn!("gofer: {e}");
    }
    Errno(e.errno() as i32)
}

/// The walk's view of gofer attributes.
pub fn attr_of(st: &Stat) -> Attr {
    Attr {
        kind: FileType::from_mode(st.mode),
        perm: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        dev: st.dev,
        ino: st.ino,
        size: st.size,
        magic: false,
    }
}

impl GoferBackend {
    /// Shake hands with the gofer on `sock`.
    pub fn connect(sock: OwnedFd) -> std::result::Result<GoferBackend, ClientError> {
        let client = Client::new(sock)?;
        let (root, st) = client.root();
        let mut by_id = HashMap::new();
        by_id.insert((st.dev, st.ino), root);
        Ok(GoferBackend {
            root,
            root_id: (st.dev, st.ino),
            inner: Mutex::new(Inner {
                client,
                by_id,
                to_close: Vec::new(),
            }),
        })
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every operation leaves the maps consistent before it can panic.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything `fstat` says about `node`, fresh from the gofer.
    pub fn full_stat(&self, node: Node) -> Result<Stat> {
        self.inner().client.stat(node.0).map_err(errno)
    }

    /// The statistics (and mount flags: `ST_RDONLY`, `ST_NOEXEC`) of the
    /// file system holding `node`, as the workload's mount sees it.
    pub fn statfs(&self, node: Node) -> Result<Statfs> {
        self.inner().client.statfs(node.0).map_err(errno)
    }

    /// Handles held for the walk (the root included).
    pub fn len(&self) -> usize {
        self.inner().by_id.len()
    }

    /// Gives back every handle but the root's. No node this backend
    /// handed out may be used afterwards: call it with no walk in flight.
    pub fn reset(&self) {
        let mut inner = self.inner();
        let root = self.root;
        let mut all: Vec<Handle> = inner.by_id.drain().map(|(_, h)| h).collect();
        all.append(&mut inner.to_close);
        all.retain(|h| *h != root);
        inner.by_id.insert(self.root_id, root);
        for chunk in all.chunks(moat_goferproto::MAX_CLOSE) {
            if let Err(e) = inner.client.close(chunk) {
                tracing::warn!("closing gofer handles: {e}");
            }
        }
    }
}

impl Inner {
    /// The handle kept for the file `h` names: `h` itself, or the one
    /// already held for the same file (then `h` is closed later).
    fn keep(&mut self, h: Handle, st: &Stat) -> Handle {
        match self.by_id.get(&(st.dev, st.ino)) {
            Some(&old) if old != h => {
                self.to_close.push(h);
                if self.to_close.len() >= CLOSE_BATCH {
                    let batch = std::mem::take(&mut self.to_close);
                    if let Err(e) = self.client.close(&batch) {
                        tracing::warn!("closing gofer handles: {e}");
                    }
                }
                old
            }
            Some(&old) => old,
            None => {
                self.by_id.insert((st.dev, st.ino), h);
                h
            }
        }
    }
}

impl Backend for GoferBackend {
    fn root(&self) -> Node {
        Node(self.root)
    }

    fn lookup(&self, dir: Node, name: &[u8]) -> Result<(Node, Attr)> {
        let name = Name::new(name).map_err(|_| Errno::EINVAL)?;
        let mut inner = self.inner();
        let (h, st) = inner.client.walk_stat(dir.0, &name).map_err(errno)?;
        let h = inner.keep(h, &st);
        Ok((Node(h), attr_of(&st)))
    }

    fn stat(&self, node: Node) -> Result<Attr> {
        Ok(attr_of(&self.full_stat(node)?))
    }

    fn readlink(&self, node: Node) -> Result<Vec<u8>> {
        self.inner().client.readlink(node.0).map_err(errno)
    }
}
