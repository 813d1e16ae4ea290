//! [`moat_vfs::Backend`] over the gofer protocol: the sentry's walk asks
//! the container's gofer for one component at a time.
//!
//! Vfs [`Node`]s are gofer [`Handle`]s. The gofer hands out a new handle
//! (an `O_PATH` descriptor it holds) for every `WalkStat`, so the adapter
//! keeps one handle per (directory handle, name) while that name still
//! names the same file (device and inode), and closes the duplicates in
//! batches. Not per inode: one file seen through two mounts (a volume
//! bound read-write and read-only) must keep both handles, whose mount
//! flags differ. A name that now names another file gets the new handle;
//! the old one is retired (a walk on another thread may still use it).
//! Handles still grow with the names a workload looks at: the owner calls
//! [`GoferBackend::reset`] (with no walk in flight) past
//! [`GoferBackend::len`] limits; the root handle is never closed.
//!
//! Each lookup's attributes are kept with its handle, for the permission
//! checks of the handlers ([`GoferBackend::walked_stat`]: type, mode and
//! owner are as current as the dentry cache, see [`moat_vfs::dcache`]),
//! and so that a handler can answer `stat` for a node its own walk just
//! looked up without asking again ([`GoferBackend::just_walked_stat`]).

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::os::fd::OwnedFd;
use std::sync::{Mutex, MutexGuard};

use moat_goferproto::{Client, ClientError, Handle, Name, Stat, Statfs};
use moat_vfs::{Attr, Backend, Errno, FileType, Node, Result};

thread_local! {
    /// The handle this thread's latest lookup ended on, since its latest
    /// [`GoferBackend::begin_walk`].
    static LAST_LOOKUP: Cell<Option<Handle>> = const { Cell::new(None) };
}

/// Duplicate handles are closed once this many are waiting.
const CLOSE_BATCH: usize = 64;

pub struct GoferBackend {
    root: Handle,
    inner: Mutex<Inner>,
}

struct Inner {
    client: Client,
    /// (directory, name) → the handle kept for that name.
    names: HashMap<(Handle, Vec<u8>), Handle>,
    /// The attributes each kept handle had when last looked up.
    walked: HashMap<Handle, Stat>,
    /// Handles nobody holds, to give back to the gofer.
    to_close: Vec<Handle>,
    /// Handles replaced while a walk may still hold them: closed on reset.
    retired: Vec<Handle>,
}

/// The errno of a failed gofer call: the gofer's own, or EIO when the
/// link to the gofer is broken (it died: killed, out of memory in the
/// container's cgroup). Fail closed: a workload that kills its gofer must
/// not get the host kernel's path walk back.
fn errno(e: ClientError) -> Errno {
    match e {
        ClientError::Remote(e) => Errno(e as i32),
        e => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| tracing::error!("gofer: {e}; file calls fail with EIO"));
            Errno(libc::EIO)
        }
    }
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
        acl: st.acl,
    }
}

impl GoferBackend {
    /// Shake hands with the gofer on `sock`.
    pub fn connect(sock: OwnedFd) -> std::result::Result<GoferBackend, ClientError> {
        let client = Client::new(sock)?;
        let (root, _) = client.root();
        Ok(GoferBackend {
            root,
            inner: Mutex::new(Inner {
                client,
                names: HashMap::new(),
                walked: HashMap::new(),
                to_close: Vec::new(),
                retired: Vec::new(),
            }),
        })
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every operation leaves the maps consistent before it can panic.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run one or more requests on the gofer's connection (open, create,
    /// mkdir, unlink...), with its errors mapped as a walk's are. Nodes a
    /// request hands back are the caller's to close ([`Client::close`]).
    pub fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> std::result::Result<T, ClientError>,
    ) -> Result<T> {
        f(&mut self.inner().client).map_err(errno)
    }

    /// Gives back a handle a request handed out (a created file's node),
    /// with the next batch of duplicates rather than in a round trip of
    /// its own.
    pub fn release(&self, h: Handle) {
        let mut inner = self.inner();
        inner.to_close.push(h);
        inner.flush_if_full();
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

    /// The attributes `node` had when a walk last looked it up (`None`
    /// for the root, which is never looked up). Its type, mode and owner
    /// are current (what the sentry's checks need); its size, times and
    /// link count may not be, when the dentry cache answered the walk.
    pub fn walked_stat(&self, node: Node) -> Option<Stat> {
        self.inner().walked.get(&node.0).copied()
    }

    /// A walk on this thread begins: forget which node its lookups last
    /// ended on.
    pub fn begin_walk(&self) {
        LAST_LOOKUP.set(None);
    }

    /// The attributes of `node` if this thread's walk (since
    /// [`GoferBackend::begin_walk`]) ended on it with a lookup of the
    /// gofer's, not the dentry cache's: fresh, as `stat` must answer.
    pub fn just_walked_stat(&self, node: Node) -> Option<Stat> {
        if LAST_LOOKUP.get() != Some(node.0) {
            return None;
        }
        self.walked_stat(node)
    }

    /// Handles held for walks (besides the root).
    pub fn len(&self) -> usize {
        let inner = self.inner();
        inner.names.len() + inner.retired.len()
    }

    /// Gives back every handle but the root's and those of `keep` (the
    /// nodes the VFS mounts are attached to) with the directories they
    /// were found in, up to the root: the mount table keys on those
    /// handles, and a walk finds its way to them again by name. No other
    /// node this backend handed out may be used afterwards: call it with
    /// no walk in flight.
    pub fn reset(&self, keep: &[Node]) {
        let mut inner = self.inner();
        let root = self.root;
        let mut kept: HashSet<Handle> = keep.iter().map(|n| n.0).collect();
        kept.insert(root);
        // Each round adds the directories of the handles kept so far.
        loop {
            let parents: Vec<Handle> = inner
                .names
                .iter()
                .filter(|(&(dir, _), h)| kept.contains(h) && !kept.contains(&dir))
                .map(|(&(dir, _), _)| dir)
                .collect();
            if parents.is_empty() {
                break;
            }
            kept.extend(parents);
        }
        let mut all: Vec<Handle> = Vec::new();
        inner.names.retain(|_, h| {
            let keep = kept.contains(h);
            if !keep {
                all.push(*h);
            }
            keep
        });
        all.append(&mut inner.to_close);
        all.append(&mut inner.retired);
        all.retain(|h| !kept.contains(h));
        all.sort_unstable();
        all.dedup();
        inner.walked.retain(|h, _| kept.contains(h));
        for chunk in all.chunks(moat_goferproto::MAX_CLOSE) {
            if let Err(e) = inner.client.close(chunk) {
                tracing::warn!("closing gofer handles: {e}");
            }
        }
    }
}

impl Inner {
    /// Closes the handles waiting in `to_close` once there are enough.
    fn flush_if_full(&mut self) {
        if self.to_close.len() >= CLOSE_BATCH {
            let batch = std::mem::take(&mut self.to_close);
            if let Err(e) = self.client.close(&batch) {
                tracing::warn!("closing gofer handles: {e}");
            }
        }
    }

    /// The handle kept for `name` in `dir`, which the gofer just walked to
    /// as the new handle `h` with attributes `st`: the one already kept if
    /// it is the same file (`h`, which nobody else has seen, is closed),
    /// else `h`.
    fn keep(&mut self, dir: Handle, name: &[u8], h: Handle, st: &Stat) -> Handle {
        let key = (dir, name.to_vec());
        let kept = match self.names.get(&key) {
            Some(&old) if old == h => h,
            Some(&old)
                if self
                    .walked
                    .get(&old)
                    .is_some_and(|o| (o.dev, o.ino) == (st.dev, st.ino)) =>
            {
                self.to_close.push(h);
                self.flush_if_full();
                old
            }
            Some(&old) => {
                self.retired.push(old);
                self.walked.remove(&old);
                self.names.insert(key, h);
                h
            }
            None => {
                self.names.insert(key, h);
                h
            }
        };
        self.walked.insert(kept, *st);
        kept
    }
}

impl Backend for GoferBackend {
    fn root(&self) -> Node {
        Node(self.root)
    }

    fn lookup(&self, dir: Node, name: &[u8]) -> Result<(Node, Attr)> {
        let wire = Name::new(name).map_err(|_| Errno::EINVAL)?;
        let mut inner = self.inner();
        let (h, st) = inner.client.walk_stat(dir.0, &wire).map_err(errno)?;
        let h = inner.keep(dir.0, name, h, &st);
        LAST_LOOKUP.set(Some(h));
        Ok((Node(h), attr_of(&st)))
    }

    /// One `WalkPath` request for the whole chain (names the protocol
    /// cannot carry end it early: the walk looks them up alone).
    fn lookup_chain(&self, dir: Node, names: &[&[u8]]) -> Vec<Result<(Node, Attr)>> {
        let wire: Vec<Name> = names
            .iter()
            .take(moat_goferproto::MAX_WALK)
            .map_while(|n| Name::new(*n).ok())
            .collect();
        if wire.len() < 2 {
            return names
                .first()
                .map_or_else(Vec::new, |n| vec![self.lookup(dir, n)]);
        }
        let mut inner = self.inner();
        let (steps, failed) = match inner.client.walk_path(dir.0, &wire) {
            Ok(r) => r,
            Err(e) => return vec![Err(errno(e))],
        };
        let mut out = Vec::with_capacity(steps.len() + 1);
        let mut at = dir.0;
        for ((h, st), name) in steps.iter().zip(names) {
            let h = inner.keep(at, name, *h, st);
            out.push(Ok((Node(h), attr_of(st))));
            at = h;
            LAST_LOOKUP.set(Some(h));
        }
        if let Some(e) = failed {
            out.push(Err(Errno(e as i32)));
        }
        if out.is_empty() {
            out.push(Err(Errno(libc::EIO)));
        }
        out
    }

    fn stat(&self, node: Node) -> Result<Attr> {
        Ok(attr_of(&self.full_stat(node)?))
    }

    fn readlink(&self, node: Node) -> Result<Vec<u8>> {
        self.inner().client.readlink(node.0).map_err(errno)
    }
}
